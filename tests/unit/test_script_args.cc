// SPDX-License-Identifier: MIT
// learn-address / up / down arguments and environment as openvpn 2.6 builds them, the setenv
// family and `setenv opt` in server.conf, push-remove's matching, session-timeout, writepid and
// the `inactive` timer, connect-freq-initial's limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "dpvpn/client_options.h"
#include "dpvpn/config.h"
#include "dpvpn/first_reply_limit.h"
#include "dpvpn/inactivity.h"
#include "dpvpn/script_args.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

const std::string k_base =
    "dev tun\n"
    "server 10.8.0.0 255.255.255.0\n"
    "ca ca.crt\n"
    "cert server.crt\n"
    "key server.key\n"
    "script-security 2\n";

server_config parse(const std::string& extra) { return parse_server_config_text(k_base + extra, "/etc/dpvpn/s.conf"); }

std::string error_of(const std::string& extra) {
  try {
    parse(extra);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

const std::string* env_get(const script_env& e, const std::string& k) {
  auto it = std::find_if(e.begin(), e.end(), [&](const auto& kv) { return kv.first == k; });
  return it == e.end() ? nullptr : &it->second;
}

TEST(ScriptArgs, LearnedAddressesPrintAsOpenvpnDoes) {
  EXPECT_EQ(learn_addr_v4(0x0A080006, -1), "10.8.0.6");
  EXPECT_EQ(learn_addr_v4(0xC0A80100, 24), "192.168.1.0/24");
  EXPECT_EQ(learn_addr_v4(0xC0A80105, 32), "192.168.1.5/32");
  const ipv6_addr a = *parse_ipv6("fd00:8::1000");
  EXPECT_EQ(learn_addr_v6(a, -1), "fd00:8::1000");
  EXPECT_EQ(learn_addr_v6(*parse_ipv6("fd00:1::"), 64), "fd00:1::/64");
}

TEST(ScriptArgs, LearnAddressArgv) {
  const std::vector<std::string> cmd = {"/etc/openvpn/learn.sh", "--flag"};
  EXPECT_EQ(learn_address_argv(cmd, "add", "10.8.0.6", "client1"),
            (std::vector<std::string>{"/etc/openvpn/learn.sh", "--flag", "add", "10.8.0.6", "client1"}));
  EXPECT_EQ(learn_address_argv(cmd, "update", "192.168.1.0/24", "Jane Doe"),
            (std::vector<std::string>{"/etc/openvpn/learn.sh", "--flag", "update", "192.168.1.0/24", "Jane Doe"}));
  // The reaper's delete names no client.
  EXPECT_EQ(learn_address_argv(cmd, "delete", "10.8.0.6", "client1"),
            (std::vector<std::string>{"/etc/openvpn/learn.sh", "--flag", "delete", "10.8.0.6"}));
  // No common name: openvpn's tls_common_name says UNDEF; control bytes never reach argv.
  EXPECT_EQ(learn_address_argv(cmd, "add", "10.8.0.6", "").back(), "UNDEF");
  EXPECT_EQ(learn_address_argv(cmd, "add", "10.8.0.6", std::string("a\nb", 3)).back(), "a_b");
}

// F5 (issue 11): the via-file password file is two lines whatever the client sends; a CR or LF in
// the username (or password) is '_' as openvpn's verify_user_pass maps it.
TEST(ScriptArgs, UserPassFileHasExactlyTwoLines) {
  EXPECT_EQ(user_pass_file_text("alice", "secret"), "alice\nsecret\n");
  EXPECT_EQ(user_pass_file_text("alice\nsecret", "x"), "alice_secret\nx\n");
  EXPECT_EQ(user_pass_file_text("bob\r\n", "p\nq"), "bob__\np_q\n");
  EXPECT_EQ(user_pass_file_text("caf\xc3\xa9\x7f", ""), "caf\xc3\xa9_\n\n");  // UTF-8 stays, DEL goes
}

TEST(ScriptArgs, UpDownSubnet) {
  server_config c = parse("topology subnet\ntun-mtu 1400\nup \"/bin/up.sh x\"\nlocal 192.0.2.1\nserver-ipv6 fd00:8::/64\n");
  updown_info d;
  d.dev = "tun0";
  d.tun_mtu = c.tun_mtu;
  EXPECT_EQ(updown_argv(c.up, c, d),
            (std::vector<std::string>{"/bin/up.sh", "x", "tun0", "1400", "0", "10.8.0.1", "255.255.255.0", "init"}));
  const script_env e = updown_env(c, d, "up", 4242);
  EXPECT_EQ(*env_get(e, "script_type"), "up");
  EXPECT_EQ(*env_get(e, "script_context"), "init");
  EXPECT_EQ(*env_get(e, "dev"), "tun0");
  EXPECT_EQ(*env_get(e, "dev_type"), "tun");
  EXPECT_EQ(*env_get(e, "tun_mtu"), "1400");
  EXPECT_EQ(*env_get(e, "ifconfig_local"), "10.8.0.1");
  EXPECT_EQ(*env_get(e, "ifconfig_netmask"), "255.255.255.0");
  EXPECT_EQ(env_get(e, "ifconfig_remote"), nullptr);
  EXPECT_EQ(*env_get(e, "ifconfig_ipv6_local"), "fd00:8::1");
  EXPECT_EQ(*env_get(e, "ifconfig_ipv6_remote"), "fd00:8::2");
  EXPECT_EQ(*env_get(e, "ifconfig_ipv6_netbits"), "64");
  EXPECT_EQ(*env_get(e, "daemon_pid"), "4242");
  EXPECT_EQ(*env_get(e, "local_1"), "192.0.2.1");
  EXPECT_EQ(*env_get(e, "local_port_1"), "1194");
  EXPECT_EQ(*env_get(e, "config"), "/etc/dpvpn/s.conf");
  EXPECT_EQ(env_get(e, "signal"), nullptr);
}

TEST(ScriptArgs, DownNet30) {
  server_config c = parse("down /bin/down.sh\n");  // topology net30 is the default
  updown_info d;
  d.dev = "tun0";
  d.signal = "sigterm";
  EXPECT_EQ(updown_argv(c.down, c, d),
            (std::vector<std::string>{"/bin/down.sh", "tun0", "1500", "0", "10.8.0.1", "10.8.0.2", "init"}));
  const script_env e = updown_env(c, d, "down", 1);
  EXPECT_EQ(*env_get(e, "ifconfig_remote"), "10.8.0.2");
  EXPECT_EQ(env_get(e, "ifconfig_netmask"), nullptr);
  EXPECT_EQ(*env_get(e, "signal"), "sigterm");
  EXPECT_EQ(env_get(e, "dev_type"), nullptr);  // openvpn passes no dev_type to down
}

// dev tap: openvpn's ifconfig is NET+1 and the netmask whatever the topology; server-bridge has
// no ifconfig: two empty words in argv, no ifconfig_* in the environment.
TEST(ScriptArgs, UpDownTap) {
  const std::string tap = "dev tap\nca ca.crt\ncert server.crt\nkey server.key\nscript-security 2\nup /bin/up.sh\n";
  server_config c = parse_server_config_text(tap + "server 10.8.0.0 255.255.255.0\n", "s.conf");  // net30 default
  updown_info d;
  d.dev = "tap0";
  EXPECT_EQ(updown_argv(c.up, c, d),
            (std::vector<std::string>{"/bin/up.sh", "tap0", "1500", "0", "10.8.0.1", "255.255.255.0", "init"}));
  script_env e = updown_env(c, d, "up", 1);
  EXPECT_EQ(*env_get(e, "ifconfig_netmask"), "255.255.255.0");
  EXPECT_EQ(env_get(e, "ifconfig_remote"), nullptr);
  EXPECT_EQ(*env_get(e, "dev_type"), "tap");
  for (const char* bridge : {"server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 10.8.0.254\n", "server-bridge nogw\n",
                             "server-bridge\n"}) {
    c = parse_server_config_text(tap + bridge, "s.conf");
    EXPECT_EQ(updown_argv(c.up, c, d), (std::vector<std::string>{"/bin/up.sh", "tap0", "1500", "0", "", "", "init"}))
        << bridge;
    e = updown_env(c, d, "up", 1);
    EXPECT_EQ(env_get(e, "ifconfig_local"), nullptr) << bridge;
    EXPECT_EQ(env_get(e, "ifconfig_netmask"), nullptr) << bridge;
    EXPECT_EQ(env_get(e, "ifconfig_remote"), nullptr) << bridge;
  }
}

TEST(ScriptArgs, SetenvFamily) {
  server_config c = parse(
      "setenv SITE lab-1\n"
      "setenv-safe SITE safe\n"
      "setenv EMPTY\n"
      "setenv PUSH_PEER_INFO\n"          // client switches set nothing
      "setenv REMOTE_RANDOM_HOSTNAME\n"
      "setenv FORWARD_COMPATIBLE 1\n"
      "setenv common_name fake\n");
  EXPECT_EQ(c.setenv, (std::vector<std::pair<std::string, std::string>>{{"SITE", "lab-1"},
                                                                        {"OPENVPN_SITE", "safe"},
                                                                        {"EMPTY", ""},
                                                                        {"FORWARD_COMPATIBLE", "1"},
                                                                        {"common_name", "fake"}}));
  // A script's own variables win over setenv.
  script_env e = {{"common_name", "client1"}};
  add_setenv(e, c);
  EXPECT_EQ(*env_get(e, "common_name"), "client1");
  EXPECT_EQ(std::count_if(e.begin(), e.end(), [](const auto& kv) { return kv.first == "common_name"; }), 1);
  EXPECT_EQ(*env_get(e, "OPENVPN_SITE"), "safe");

  EXPECT_EQ(error_of("setenv A-B 1\n"),
            "/etc/dpvpn/s.conf:7: setenv: expected a variable name of 2 or more letters, digits and '_', got \"A-B\"");
  EXPECT_EQ(error_of("setenv X 1\n"),
            "/etc/dpvpn/s.conf:7: setenv: expected a variable name of 2 or more letters, digits and '_', got \"X\"");
  EXPECT_NE(error_of("setenv GENERIC_CONFIG 1\n").find("generic configuration"), std::string::npos);
  EXPECT_NE(error_of("setenv A B C\n").find("too many arguments"), std::string::npos);
}

TEST(ScriptArgs, SetenvOpt) {
  // A supported directive applies; one dpvpn would refuse is skipped with a warning.
  server_config c = parse("setenv opt session-timeout 30\nsetenv opt block-outside-dns\nsetenv opt no-such-thing 1\n");
  EXPECT_EQ(c.session_timeout, 30u);
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_NE(c.warnings[0].find("/etc/dpvpn/s.conf:8: setenv opt block-outside-dns: skipped"), std::string::npos);
  EXPECT_NE(c.warnings[1].find(":9: setenv opt no-such-thing: skipped (not an OpenVPN 2.6 option)"), std::string::npos);
  // A supported directive's errors still stop start-up.
  EXPECT_NE(error_of("setenv opt session-timeout x\n").find(":7: session-timeout: expected a number"), std::string::npos);
  EXPECT_NE(error_of("setenv opt\n").find("setenv opt DIRECTIVE"), std::string::npos);
}

TEST(ScriptArgs, ScriptDirectives) {
  server_config c = parse("learn-address \"/usr/bin/learn x\"\nwritepid run/dpvpn.pid\nsession-timeout 5\n");
  EXPECT_EQ(c.learn_address, (std::vector<std::string>{"/usr/bin/learn", "x"}));
  EXPECT_EQ(c.writepid, "run/dpvpn.pid");  // relative to the working directory (openvpn's rule)
  EXPECT_EQ(c.session_timeout, 5u);
}

// F4 (issue 11): tls-crypt-v2-verify (2.6) and tls-crypt-v2-max-age (2.7) as openvpn parses them;
// the script needs script-security 2 like every other.
TEST(ScriptArgs, TlsCryptV2VerifyAndMaxAge) {
  server_config c = parse("tls-crypt-v2-verify \"/bin/check-meta x\"\ntls-crypt-v2-max-age 365\n");
  EXPECT_EQ(c.tls_crypt_v2_verify, (std::vector<std::string>{"/bin/check-meta", "x"}));
  EXPECT_EQ(c.tls_crypt_v2_max_age, 365u);
  EXPECT_EQ(parse("").tls_crypt_v2_max_age, 0u);
  EXPECT_NE(error_of("tls-crypt-v2-max-age 0\n").find("tls-crypt-v2-max-age"), std::string::npos);
  EXPECT_NE(error_of("tls-crypt-v2-max-age x\n").find("expected a number"), std::string::npos);
  const std::string no_scripts = std::string(k_base).replace(k_base.find("script-security 2\n"), 18, "");
  try {
    parse_server_config_text(no_scripts + "tls-crypt-v2-verify /bin/true\n", "/etc/dpvpn/s.conf");
    ADD_FAILURE() << "accepted without script-security 2";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("script-security 2"), std::string::npos) << e.what();
  }
}

TEST(ScriptArgs, InactiveDirective) {
  server_config c = parse("inactive 30\n");
  EXPECT_EQ(c.inactive_s, 30u);
  EXPECT_EQ(c.inactive_bytes, 0u);
  c = parse("inactive 600 100000\n");
  EXPECT_EQ(c.inactive_s, 600u);
  EXPECT_EQ(c.inactive_bytes, 100000u);
  EXPECT_EQ(parse("").inactive_s, 0u);
  EXPECT_NE(error_of("inactive\n").find("inactive SECONDS [BYTES]"), std::string::npos);
  EXPECT_NE(error_of("inactive x\n").find(":7: inactive: expected a number"), std::string::npos);
  EXPECT_NE(error_of("inactive 1 2 3\n").find("too many arguments"), std::string::npos);
}

// Numbered cases of (time, totals) -> expired, as housekeeping feeds them every 500 ms.
TEST(ScriptArgs, InactivityTimer) {
  struct step {
    uint64_t ms, bytes, pkts;
    bool expired;
  };
  auto run = [](unsigned seconds, uint64_t min_bytes, std::initializer_list<step> steps) {
    inactivity_timer t;  // created at 0
    int i = 0;
    for (const step& s : steps) {
      ++i;
      EXPECT_EQ(t.update(s.ms, s.bytes, s.pkts, seconds, min_bytes), s.expired) << "step " << i;
    }
  };
  // 1. BYTES 0: any tunnel packet restarts the timer; none for 10 s ends the client.
  run(10, 0, {{5000, 84, 1, false}, {14500, 84, 1, false}, {15000, 84, 1, true}});
  // 2. pings only (16 bytes each) do not count: the timer runs out from creation.
  run(10, 0, {{4000, 16, 1, false}, {8000, 48, 3, false}, {10000, 64, 4, true}});
  // 3. BYTES 1000: traffic adds up across passes; the restart comes when the sum reaches 1000.
  run(10, 1000, {{1000, 600, 5, false}, {9000, 999, 9, false}, {10000, 999, 9, true}});
  run(10, 1000, {{1000, 600, 5, false}, {9000, 1000, 9, false}, {18500, 1000, 9, false}, {19000, 1000, 9, true}});
  // 4. a pass with data and a ping counts all of its bytes.
  run(10, 100, {{9000, 16 + 84, 2, false}, {18999, 100, 2, false}, {19000, 100, 2, true}});
}

TEST(ScriptArgs, ConnectFreqInitialDirective) {
  EXPECT_FALSE(parse("").connect_freq_initial);  // no default limit (openvpn's is 100 per 10 s)
  server_config c = parse("connect-freq-initial 100 10\n");
  ASSERT_TRUE(c.connect_freq_initial);
  EXPECT_EQ(c.connect_freq_initial->first, 100u);
  EXPECT_EQ(c.connect_freq_initial->second, 10u);
  EXPECT_NE(error_of("connect-freq-initial 100\n").find("connect-freq-initial MAX SECONDS"), std::string::npos);
  EXPECT_NE(error_of("connect-freq-initial 0 10\n").find(":7: connect-freq-initial"), std::string::npos);
  EXPECT_NE(error_of("connect-freq-initial 5 x\n").find("expected a number"), std::string::npos);
}

// openvpn's window: it ends when strictly more than SECONDS have passed since it began.
TEST(FirstReplyLimit, WindowAndCounts) {
  first_reply_limit l(2, 10);
  // 1-2. a window begins at t=100: two replies allowed
  EXPECT_TRUE(l.check(100).allow);
  EXPECT_TRUE(l.check(105).allow);
  // 3. the third is refused, and is the window's first refusal
  auto v = l.check(105);
  EXPECT_FALSE(v.allow);
  EXPECT_TRUE(v.first_refusal);
  EXPECT_EQ(l.window_end_s(), 110u);
  // 4. t=110 is still the same window (110 > 100 + 10 is false)
  v = l.check(110);
  EXPECT_FALSE(v.allow);
  EXPECT_FALSE(v.first_refusal);
  // 5. t=111 begins a new one and reports the two refused
  v = l.check(111);
  EXPECT_TRUE(v.allow);
  EXPECT_EQ(v.dropped_last, 2u);
  EXPECT_TRUE(l.check(111).allow);
  EXPECT_FALSE(l.check(111).allow);
  // 6. a quiet window reports nothing
  v = l.check(200);
  EXPECT_TRUE(v.allow);
  EXPECT_EQ(v.dropped_last, 1u);
  EXPECT_EQ(l.check(300).dropped_last, 0u);
}

TEST(ScriptArgs, ScriptsNeedScriptSecurity) {
  for (const char* d : {"learn-address /bin/true\n", "up /bin/true\n", "down /bin/true\n"}) {
    std::string err;
    try {
      parse_server_config_text(std::string("dev tun\nserver 10.8.0.0 255.255.255.0\nca a\ncert b\nkey c\n") + d, "s.conf");
    } catch (const config_error& e) {
      err = e.what();
    }
    EXPECT_NE(err.find("s.conf:6:"), std::string::npos) << d << err;
    EXPECT_NE(err.find("expected script-security 2 or higher"), std::string::npos) << d << err;
  }
}

TEST(ScriptArgs, PushRemoveIsCcdOnly) {
  EXPECT_NE(error_of("push-remove route\n").find("only valid in a client-config-dir file"), std::string::npos);
  // In a CCD file it removes every pushed option its text starts (openvpn's strncmp), so
  // "route-ipv6 2001:" takes only those routes.
  auto o = parse_client_connect("push-remove \"route-ipv6 2001:\"\npush-remove dhcp-option\n");
  ASSERT_TRUE(o.error.empty()) << o.error;
  std::vector<std::string> list = {"topology subnet", "route-ipv6 2001:db8::/32", "route-ipv6 fd00::/8",
                                   "dhcp-option DNS 10.8.0.1", "dhcp-option DOMAIN lab", "route 10.0.0.0 255.0.0.0"};
  apply_push_ops(list, 1, o.push_ops);
  EXPECT_EQ(list, (std::vector<std::string>{"topology subnet", "route-ipv6 fd00::/8", "route 10.0.0.0 255.0.0.0"}));
}

}  // namespace
