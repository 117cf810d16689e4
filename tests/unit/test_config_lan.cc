// SPDX-License-Identifier: MIT
// The LAN port's directives (control/config_lan.cc): dp-lan, dp-route and dp-wan as parsed, each
// line error with its text, and the checks across lines (a route's next hop on the LAN, the LAN
// prefixes clear of the VPN subnets, dp-wan apart from dp-lan), reported together.
#include <gtest/gtest.h>

#include <string>

#include "dpvpn/config.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

// The smallest config that passes the cross-checks: extra lines start at 8.
const std::string k_base =
    "dev tun\n"
    "server 10.8.0.0 255.255.255.0\n"
    "server-ipv6 fd00:8::/64\n"
    "ca ca.crt\n"
    "cert server.crt\n"
    "key server.key\n"
    "topology subnet\n";
const std::string k_lan = "dp-lan net_af_packet1 192.168.1.1/24 fd00:1::1/64\n";  // line 8 after k_base

server_config parse(const std::string& text) { return parse_server_config_text(text, "server.conf"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(parsed)";
}

ipv6_addr v6(const char* s) { return *parse_ipv6(s); }

TEST(config_lan, absent) {
  const server_config c = parse(k_base);
  EXPECT_FALSE(c.dp_lan);
  EXPECT_TRUE(c.dp_routes.empty());
  EXPECT_TRUE(c.dp_wan.empty());
}

TEST(config_lan, lan_routes_and_wan) {
  const server_config c = parse(k_base + k_lan +
                                "dp-route 10.50.0.0/16 192.168.1.254\n"
                                "dp-route 0.0.0.0/0 192.168.1.253\n"
                                "dp-route fd00:50::/48 fd00:1::fe\n"
                                "dp-route ::/0 fd00:1::fd\n"
                                "dp-route 10.60.0.7/32 192.168.1.254\n"
                                "dp-wan 0000:03:00.0\n");
  ASSERT_TRUE(c.dp_lan);
  EXPECT_EQ(c.dp_lan->port, "net_af_packet1");
  EXPECT_EQ(format_ipv4(c.dp_lan->addr), "192.168.1.1");  // the gateway's own address, not the network
  EXPECT_EQ(c.dp_lan->prefix, 24);
  ASSERT_TRUE(c.dp_lan->addr6);
  EXPECT_EQ(c.dp_lan->addr6->addr, v6("fd00:1::1"));
  EXPECT_EQ(c.dp_lan->addr6->len, 64u);
  ASSERT_EQ(c.dp_routes.size(), 5u);
  EXPECT_FALSE(c.dp_routes[0].v6);
  EXPECT_EQ(format_ipv4(c.dp_routes[0].net), "10.50.0.0");
  EXPECT_EQ(c.dp_routes[0].len, 16);
  EXPECT_EQ(format_ipv4(c.dp_routes[0].via), "192.168.1.254");
  EXPECT_EQ(c.dp_routes[1].net, 0u);
  EXPECT_EQ(c.dp_routes[1].len, 0);
  EXPECT_TRUE(c.dp_routes[2].v6);
  EXPECT_EQ(c.dp_routes[2].net6, v6("fd00:50::"));
  EXPECT_EQ(c.dp_routes[2].len, 48);
  EXPECT_EQ(c.dp_routes[2].via6, v6("fd00:1::fe"));
  EXPECT_TRUE(c.dp_routes[3].v6);
  EXPECT_EQ(c.dp_routes[3].len, 0);
  EXPECT_EQ(c.dp_routes[4].len, 32);
  EXPECT_EQ(c.dp_wan, "0000:03:00.0");
}

TEST(config_lan, forms_accepted) {
  // IPv4 only; routes before dp-lan; a /31 and a /32 (no network or broadcast address); names.
  server_config c = parse(k_base + "dp-route 10.50.0.0/16 192.168.1.254\ndp-lan net_memif1 192.168.1.1/24\n");
  EXPECT_FALSE(c.dp_lan->addr6);
  EXPECT_EQ(c.dp_routes.size(), 1u);
  c = parse(k_base + "dp-lan net_af_packet1 192.168.1.0/31\ndp-route 10.50.0.0/16 192.168.1.1\n");
  EXPECT_EQ(c.dp_lan->prefix, 31);
  c = parse(k_base + "dp-lan 0000:03:00.0 172.16.0.255/32 fe80::1/128\n");
  EXPECT_EQ(c.dp_lan->port, "0000:03:00.0");
  EXPECT_EQ(c.dp_lan->addr6->len, 128u);
  c = parse(k_base + "dp-lan net_af_packet1 192.168.1.1/30 fd00:1::/127\n");  // /127: no anycast address
  EXPECT_EQ(c.dp_lan->addr6->addr, v6("fd00:1::"));
  // A LAN next to the VPN subnets, not overlapping them.
  EXPECT_NO_THROW(parse(k_base + "dp-lan p 10.8.1.1/24 fd00:9::1/64\n"));
  EXPECT_NO_THROW(parse(k_base + "dp-lan p 10.9.0.1/16 fd00:8:0:1::1/64\n"));
  // Same network, different families; the same next hop for several networks.
  EXPECT_NO_THROW(parse(k_base + k_lan + "dp-route 10.50.0.0/16 192.168.1.254\ndp-route 10.51.0.0/16 192.168.1.254\n"));
  EXPECT_EQ(parse(k_base + "--dp-wan net_af_packet0\n").dp_wan, "net_af_packet0");
}

TEST(config_lan, dp_lan_errors) {
  const std::string p = "server.conf:8: dp-lan: ";
  EXPECT_EQ(error_of(k_base + "dp-lan net_af_packet1\n"),
            p + "expected \"dp-lan PORT ADDR/PREFIX [ADDR6/PREFIX6]\" (missing arguments)");
  EXPECT_EQ(error_of(k_base + "dp-lan net/af 192.168.1.1/24\n"),
            p + "expected an ethdev name as EAL created it, such as net_af_packet1, net_memif1 or 0000:03:00.0 "
                "(1..63 letters, digits, '_', '-', '.' or ':'), got \"net/af\"");
  EXPECT_NE(error_of(k_base + "dp-lan " + std::string(64, 'n') + " 192.168.1.1/24\n").find("expected an ethdev name"),
            std::string::npos);
  EXPECT_NO_THROW(parse(k_base + "dp-lan " + std::string(63, 'n') + " 192.168.1.1/24\n"));
  for (const char* bad : {"192.168.1.1", "192.168.1.1/0", "192.168.1.1/33", "192.168.1.1/024", "192.168.1/24",
                          "192.168.1.1/", "fd00:1::1/64"})
    EXPECT_EQ(error_of(k_base + "dp-lan p " + bad + "\n"),
              p + "expected the gateway's LAN address and prefix such as 192.168.1.1/24 (prefix 1..32), got \"" + bad +
                  "\"");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.0/24\n"),
            p + "expected a host address, not the network or broadcast address of 192.168.1.0/24, got "
                "\"192.168.1.0/24\"");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.255/24\n"),
            p + "expected a host address, not the network or broadcast address of 192.168.1.0/24, got "
                "\"192.168.1.255/24\"");
  EXPECT_NE(error_of(k_base + "dp-lan p 192.168.1.7/30\n").find("broadcast address of 192.168.1.4/30"),
            std::string::npos);
  for (const char* bad : {"224.0.0.1/24", "127.0.0.1/8", "0.0.0.1/8", "255.255.255.254/24", "240.0.0.1/4"})
    EXPECT_EQ(error_of(k_base + "dp-lan p " + bad + "\n"),
              p + "expected a unicast IPv4 address, got \"" + std::string(bad) + "\"");
  for (const char* bad : {"fd00:1::1", "fd00:1::1/0", "fd00:1::1/129", "192.168.2.1/24", "fd00:1::1/64x"})
    EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24 " + bad + "\n"),
              p + "expected the gateway's IPv6 LAN address and prefix such as fd00:1::1/64 (prefix 1..128), got \"" +
                  bad + "\"");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24 fd00:1::/64\n"),
            p + "expected a host address, not the all-zero host (subnet-router anycast) of fd00:1::/64, got "
                "\"fd00:1::/64\"");
  for (const char* bad : {"ff02::1/64", "::/64", "::1/128"})
    EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24 " + bad + "\n"),
              p + "expected a unicast IPv6 address, got \"" + std::string(bad) + "\"");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-lan net_af_packet2 192.168.2.1/24\n"),
            "server.conf:9: dp-lan: expected one dp-lan line, but one is given at line 8");
}

TEST(config_lan, dp_route_errors) {
  const std::string p = "server.conf:9: dp-route: ";
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16\n"),
            p + "expected \"dp-route NET/PREFIX NEXTHOP\" (missing arguments)");
  for (const char* bad : {"10.50.0.0", "10.50.0.0/33", "10.50.0/16", "fd00:50::/129", "fd00:50::", "default"})
    EXPECT_EQ(error_of(k_base + k_lan + "dp-route " + bad + " 192.168.1.254\n"),
              p + "expected NETWORK/PREFIX such as 10.50.0.0/16 or fd00:50::/48, got \"" + bad + "\"");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.1.0/16 192.168.1.254\n"),
            p + "expected the host bits of 10.50.1.0/16 to be zero: the network is 10.50.0.0/16");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.1/0 192.168.1.254\n"),
            p + "expected the host bits of 10.50.0.1/0 to be zero: the network is 0.0.0.0/0");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route fd00:50:0:1::/47 fd00:1::fe\n"),
            p + "expected the host bits of fd00:50:0:1::/47 to be zero: the network is fd00:50::/47");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 fd00:1::fe\n"),
            p + "expected an IPv4 next hop for an IPv4 network, such as 192.168.1.254, got \"fd00:1::fe\"");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route fd00:50::/48 192.168.1.254\n"),
            p + "expected an IPv6 next hop for an IPv6 network, such as fd00:1::fe, got \"192.168.1.254\"");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 router\n"),
            p + "expected an IPv4 next hop for an IPv4 network, such as 192.168.1.254, got \"router\"");
  // Duplicates: the same route twice, or the same network through two next hops.
  const std::string r = "dp-route 10.50.0.0/16 192.168.1.254\n";
  EXPECT_EQ(error_of(k_base + k_lan + r + r),
            "server.conf:10: dp-route: expected each route once: the same route is given at line 9");
  EXPECT_EQ(error_of(k_base + k_lan + r + "dp-route 10.50.0.0/16 192.168.1.253\n"),
            "server.conf:10: dp-route: expected one next hop per network: the route at line 9 is 10.50.0.0/16 via "
            "192.168.1.254");
  const std::string r6 = "dp-route fd00:50::/48 fd00:1::fe\n";
  EXPECT_EQ(error_of(k_base + k_lan + r6 + r + r6),
            "server.conf:11: dp-route: expected each route once: the same route is given at line 9");
  EXPECT_EQ(error_of(k_base + k_lan + r6 + "dp-route fd00:50::/48 fd00:1::fd\n"),
            "server.conf:10: dp-route: expected one next hop per network: the route at line 9 is fd00:50::/48 via "
            "fd00:1::fe");
  EXPECT_NO_THROW(parse(k_base + k_lan + r + "dp-route 10.50.0.0/17 192.168.1.254\n"));  // another prefix length
}

TEST(config_lan, dp_wan_errors) {
  EXPECT_EQ(error_of(k_base + "dp-wan net_af_packet0 net_af_packet1\n"),
            "server.conf:8: dp-wan: expected \"dp-wan PORT\" (too many arguments)");
  EXPECT_NE(error_of(k_base + "dp-wan \"net af\"\n").find("server.conf:8: dp-wan: expected an ethdev name"),
            std::string::npos);
  EXPECT_EQ(error_of(k_base + k_lan + "dp-wan net_af_packet1\n"),
            "server.conf:9: dp-wan: expected a port other than dp-lan's net_af_packet1 (dp-lan, line 8)");
}

TEST(config_lan, next_hop_on_the_lan) {
  const std::string p = "server.conf:9: dp-route: ";
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 192.168.2.254\n"),
            p + "expected a next hop inside dp-lan's 192.168.1.0/24, got 192.168.2.254");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 192.168.1.1\n"),
            p + "expected a next hop other than the gateway's own LAN address 192.168.1.1");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 192.168.1.255\n"),
            p + "expected a host next hop, not the network or broadcast address of 192.168.1.0/24, got 192.168.1.255");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route 10.50.0.0/16 192.168.1.0\n"),
            p + "expected a host next hop, not the network or broadcast address of 192.168.1.0/24, got 192.168.1.0");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route fd00:50::/48 fd00:2::fe\n"),
            p + "expected a next hop inside dp-lan's fd00:1::/64, got fd00:2::fe");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route fd00:50::/48 fd00:1::1\n"),
            p + "expected a next hop other than the gateway's own LAN address fd00:1::1");
  EXPECT_EQ(error_of(k_base + k_lan + "dp-route fd00:50::/48 fd00:1::\n"),
            p + "expected a host next hop, not the all-zero host of fd00:1::/64, got fd00:1::");
  EXPECT_EQ(error_of(k_base + "dp-route 10.50.0.0/16 192.168.1.254\n"),
            "server.conf:8: dp-route: expected a dp-lan line as well: a route leaves through the LAN port");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24\ndp-route fd00:50::/48 fd00:1::fe\n"),
            "server.conf:9: dp-route: expected an IPv6 address on the dp-lan line (dp-lan PORT ADDR/PREFIX "
            "ADDR6/PREFIX6) for an IPv6 route");
}

TEST(config_lan, lan_prefix_clear_of_the_vpn_subnets) {
  const std::string p = "server.conf:8: dp-lan: ";
  EXPECT_EQ(error_of(k_base + "dp-lan p 10.8.0.1/16\n"),
            p + "expected a LAN prefix that does not overlap the VPN subnet: 10.8.0.0/16 overlaps 10.8.0.0/24 (server, "
                "line 2)");
  EXPECT_EQ(error_of(k_base + "dp-lan p 10.8.0.129/25\n"),
            p + "expected a LAN prefix that does not overlap the VPN subnet: 10.8.0.128/25 overlaps 10.8.0.0/24 "
                "(server, line 2)");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24 fd00:8::1:1/48\n"),
            p + "expected an IPv6 LAN prefix that does not overlap the VPN subnet: fd00:8::/48 overlaps fd00:8::/64 "
                "(server-ipv6, line 3)");
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.1/24 fd00:8::1:0:1/96\n"),
            p + "expected an IPv6 LAN prefix that does not overlap the VPN subnet: fd00:8::1:0:0/96 overlaps "
                "fd00:8::/64 (server-ipv6, line 3)");
  // Without server-ipv6 an IPv6 LAN cannot overlap it.
  EXPECT_NO_THROW(parse("dev tun\nserver 10.8.0.0 255.255.255.0\nca a\ncert b\nkey c\ndp-lan p 192.168.1.1/24 "
                        "fd00:8::1/64\n"));
}

// Findings on several lines come in one error, as the parser reports bad lines.
TEST(config_lan, reported_together) {
  EXPECT_EQ(error_of(k_base + "dp-lan p 10.8.0.1/16 fd00:8::1/64\n"
                              "dp-route 10.50.0.0/16 192.168.2.254\n"
                              "dp-route fd00:50::/48 fd00:8::1\n"
                              "dp-wan p\n"),
            "server.conf: config: 5 lines are not accepted (docs/directives.md):\n"
            "  8: dp-lan: expected a LAN prefix that does not overlap the VPN subnet: 10.8.0.0/16 overlaps 10.8.0.0/24 "
            "(server, line 2)\n"
            "  8: dp-lan: expected an IPv6 LAN prefix that does not overlap the VPN subnet: fd00:8::/64 overlaps "
            "fd00:8::/64 (server-ipv6, line 3)\n"
            "  9: dp-route: expected a next hop inside dp-lan's 10.8.0.0/16, got 192.168.2.254\n"
            "  10: dp-route: expected a next hop other than the gateway's own LAN address fd00:8::1\n"
            "  11: dp-wan: expected a port other than dp-lan's p (dp-lan, line 8)");
  // Bad lines of each directive, listed with any other bad line of the file.
  EXPECT_EQ(error_of(k_base + "dp-lan p 192.168.1.0/24\ndp-route 10.50.1.0/16 192.168.1.254\nport 0\ndp-wan a/b\n"),
            "server.conf: config: 4 lines are not accepted (docs/directives.md):\n"
            "  8: dp-lan: expected a host address, not the network or broadcast address of 192.168.1.0/24, got "
            "\"192.168.1.0/24\"\n"
            "  9: dp-route: expected the host bits of 10.50.1.0/16 to be zero: the network is 10.50.0.0/16\n"
            "  10: port: expected a number 1..65535, got \"0\"\n"
            "  11: dp-wan: expected an ethdev name as EAL created it, such as net_af_packet1, net_memif1 or "
            "0000:03:00.0 (1..63 letters, digits, '_', '-', '.' or ':'), got \"a/b\"");
}

}  // namespace
