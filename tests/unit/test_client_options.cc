// SPDX-License-Identifier: MIT
// Per-client options (CCD files and client-connect output): every directive, errors, the merge of
// CCD and script output, push-list edits, and the CCD file-name rule for hostile common names.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dpvpn/client_options.h"

using namespace dpvpn::cp;

namespace {

TEST(ClientOptions, EveryDirective) {
  const auto o = parse_client_connect(
      "# a CCD file\n"
      "ifconfig-push 10.8.0.77 255.255.255.0\r\n"
      "ifconfig-ipv6-push fd00:8::77/64 fd00:8::1\n"
      "iroute 192.168.77.0 255.255.255.0\n"
      "iroute 192.168.78.9\n"
      "iroute 192.168.79.5 255.255.255.0\n"
      "iroute-ipv6 fd00:77::1/64\n"
      "push \"route 192.168.1.0 255.255.255.0\"\n"
      "push-remove dhcp-option\n"
      "push-reset\n"
      "push-remove ifconfig-ipv6\n"
      "comp-lzo no\n");
  ASSERT_EQ(o.error, "");
  ASSERT_TRUE(o.ifconfig_push);
  EXPECT_EQ(format_ipv4(o.ifconfig_push->first), "10.8.0.77");
  ASSERT_TRUE(o.ifconfig_ipv6_push);
  EXPECT_EQ(format_ipv6_net(*o.ifconfig_ipv6_push), "fd00:8::77/64");
  ASSERT_TRUE(o.ifconfig_ipv6_remote);
  EXPECT_EQ(format_ipv6(*o.ifconfig_ipv6_remote), "fd00:8::1");
  ASSERT_EQ(o.iroutes.size(), 3u);
  EXPECT_EQ(o.iroutes[0], (iroute4{*parse_ipv4("192.168.77.0"), 24}));
  EXPECT_EQ(o.iroutes[1], (iroute4{*parse_ipv4("192.168.78.9"), 32}));
  EXPECT_EQ(o.iroutes[2], (iroute4{*parse_ipv4("192.168.79.0"), 24})) << "host bits cleared, as OpenVPN";
  ASSERT_EQ(o.iroutes_v6.size(), 1u);
  EXPECT_EQ(format_ipv6_net(o.iroutes_v6[0]), "fd00:77::/64");
  ASSERT_EQ(o.push_ops.size(), 3u);
  EXPECT_EQ(o.push_ops[0].k, push_op::kind::add);
  EXPECT_EQ(o.push_ops[1].k, push_op::kind::remove);
  EXPECT_EQ(o.push_ops[2].k, push_op::kind::reset);
  EXPECT_TRUE(o.remove_ifconfig_ipv6);
  EXPECT_FALSE(o.remove_ifconfig);
  EXPECT_EQ(o.ignored, std::vector<std::string>{"comp-lzo"});
  EXPECT_FALSE(o.disable);
  EXPECT_TRUE(parse_client_connect("disable\n").disable);
}

TEST(ClientOptions, ErrorsNameTheLine) {
  struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"\nifconfig-push 10.8.0.300 255.255.255.0\n", "line 2: ifconfig-push: expected two IPv4 addresses"},
      {"ifconfig-push 10.8.0.3\n", "line 1: ifconfig-push: expected ADDRESS NETMASK|REMOTE"},
      {"iroute 192.168.0.0 255.0.255.0\n", "line 1: iroute: expected an IPv4 network and netmask, got '192.168.0.0 255.0.255.0'"},
      {"iroute-ipv6 nonsense\n", "line 1: iroute-ipv6: expected an IPv6 network/bits, got 'nonsense'"},
      {"ifconfig-ipv6-push fd00::1/64 x\n", "line 1: ifconfig-ipv6-push: expected an IPv6 remote, got 'x'"},
      {"disable now\n", "line 1: disable: expected no arguments"},
      {"push\n", "line 1: push: expected one quoted option"},
      {"push \"unterminated\n", nullptr},
  };
  for (const auto& c : cases) {
    const auto o = parse_client_connect(c.text);
    if (c.error) EXPECT_EQ(o.error, c.error) << c.text;
    else EXPECT_FALSE(o.error.empty()) << c.text;
  }
}

TEST(ClientOptions, ScriptOutputOverridesCcd) {
  auto ccd = parse_client_connect("ifconfig-push 10.8.0.50 255.255.255.0\niroute 10.1.0.0 255.255.0.0\npush \"a 1\"\n");
  merge_client_options(ccd, parse_client_connect("ifconfig-push 10.8.0.60 255.255.255.0\npush-reset\npush \"b 2\"\n"));
  EXPECT_EQ(format_ipv4(ccd.ifconfig_push->first), "10.8.0.60");
  EXPECT_EQ(ccd.iroutes.size(), 1u);
  std::vector<std::string> list = {"topology subnet", "route-gateway 10.8.0.1", "dhcp-option DNS 1.1.1.1"};
  apply_push_ops(list, 2, ccd.push_ops);
  EXPECT_EQ(list, (std::vector<std::string>{"topology subnet", "route-gateway 10.8.0.1", "b 2"}));
}

TEST(ClientOptions, PushRemoveIsAPrefixMatch) {
  std::vector<std::string> list = {"topology subnet", "route-gateway 10.8.0.1", "route 10.0.0.0 255.0.0.0",
                                   "dhcp-option DNS 1.1.1.1"};
  apply_push_ops(list, 2, {{push_op::kind::remove, "route"}, {push_op::kind::add, "route 10.9.0.0 255.255.0.0"},
                           {push_op::kind::reset, {}}, {push_op::kind::add, "x"}});
  // route-gateway went with "route" (OpenVPN's strncmp); the reset then kept only what is left of
  // the fixed part.
  EXPECT_EQ(list, (std::vector<std::string>{"topology subnet", "x"}));
}

TEST(ClientOptions, CcdFileNamesCannotLeaveTheDirectory) {
  EXPECT_EQ(ccd_file_name("client1"), "client1");
  EXPECT_EQ(ccd_file_name("Jane Doe"), "Jane Doe");
  EXPECT_EQ(ccd_file_name("../../etc/passwd"), ".._.._etc_passwd");
  EXPECT_EQ(ccd_file_name("/etc/shadow"), "_etc_shadow");
  EXPECT_EQ(ccd_file_name(std::string("a\nb\x01\x7f\xc3\xa9", 7)), "a_b____");
  EXPECT_EQ(ccd_file_name(".."), std::nullopt);
  EXPECT_EQ(ccd_file_name("."), std::nullopt);
  EXPECT_EQ(ccd_file_name(""), std::nullopt);
  EXPECT_EQ(ccd_file_name("..."), "...");
}

TEST(ClientOptions, SessionTimeoutOverridesPerClient) {
  EXPECT_EQ(parse_client_connect("iroute 10.1.0.0 255.255.0.0\n").session_timeout, std::nullopt);
  client_connect_options ccd = parse_client_connect("session-timeout 60\n");
  EXPECT_EQ(ccd.session_timeout, 60u);
  EXPECT_TRUE(ccd.ignored.empty());
  // client-connect output read after the CCD file replaces its value; 0 turns it off for this client
  merge_client_options(ccd, parse_client_connect("session-timeout 0\n"));
  EXPECT_EQ(ccd.session_timeout, 0u);
  // a script that does not mention it keeps the CCD file's value
  client_connect_options keep = parse_client_connect("session-timeout 5\n");
  merge_client_options(keep, parse_client_connect("push \"x\"\n"));
  EXPECT_EQ(keep.session_timeout, 5u);
  EXPECT_EQ(parse_client_connect("session-timeout\n").error, "line 1: session-timeout: expected SECONDS");
  EXPECT_NE(parse_client_connect("\nsession-timeout -1\n").error.find("line 2: session-timeout: expected a number"), std::string::npos);
  EXPECT_NE(parse_client_connect("session-timeout 99999999\n").error.find("0..1 year"), std::string::npos);
  EXPECT_NE(parse_client_connect("session-timeout 5 6\n").error, "");
}

}  // namespace
