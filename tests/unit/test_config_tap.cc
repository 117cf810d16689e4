// SPDX-License-Identifier: MIT
// TAP mode's directives (control/config_tap.cc): `dev tap` with `server` or the three forms of
// `server-bridge`, 802.1Q, tap-sleep; the values derived as OpenVPN 2.6's helper.c expands them, and
// every refusal with its text.
#include <gtest/gtest.h>

#include <string>

#include "dpvpn/config.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

// A tap server without its subnet line: extra lines start at 5.
const std::string k_tap =
    "dev tap\n"
    "ca ca.crt\n"
    "cert server.crt\n"
    "key server.key\n";

server_config parse(const std::string& text) { return parse_server_config_text(text, "server.conf"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(parsed)";
}

uint32_t ip(const char* s) { return *parse_ipv4(s); }

TEST(config_tap, tun_configs_are_untouched) {
  server_config c = parse("dev tun\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert server.crt\nkey server.key\n");
  EXPECT_EQ(c.server_bridge, bridge_mode::none);
  EXPECT_FALSE(c.tap_pool);
  EXPECT_FALSE(c.tap_gateway);
  EXPECT_EQ(c.tap_push_route_gateway, "");
  EXPECT_EQ(c.tap_max_frame, 0u);
  EXPECT_FALSE(c.vlan_tagging);
}

// helper.c: `server` with dev tap gives NET+1 to the device, the pool NET+2 .. BCAST-1 and pushes
// route-gateway NET+1, whatever the topology.
TEST(config_tap, server_with_tap) {
  server_config c = parse(k_tap + "server 10.8.0.0 255.255.255.0\n");
  EXPECT_EQ(c.dev_type, dev_kind::tap);
  EXPECT_EQ(c.dp_exception, exception_port_kind::tap);
  EXPECT_TRUE(c.mode_server);
  EXPECT_TRUE(c.tls_server);
  ASSERT_TRUE(c.tap_pool);
  EXPECT_EQ(c.tap_pool->first, ip("10.8.0.2"));
  EXPECT_EQ(c.tap_pool->second, ip("10.8.0.254"));
  EXPECT_EQ(c.tap_netmask, ip("255.255.255.0"));
  EXPECT_EQ(c.tap_gateway, ip("10.8.0.1"));
  EXPECT_EQ(c.tap_push_route_gateway, "route-gateway 10.8.0.1");
  EXPECT_EQ(c.tap_max_frame, 1514u);

  // A /30 is the smallest tap subnet (one client).
  c = parse(k_tap + "server 10.8.0.0 255.255.255.252\n");
  EXPECT_EQ(c.tap_pool->first, ip("10.8.0.2"));
  EXPECT_EQ(c.tap_pool->second, ip("10.8.0.2"));
  // ifconfig-pool replaces it (as it does for tun); nopool leaves none.
  c = parse(k_tap + "server 10.8.0.0 255.255.255.0\nifconfig-pool 10.8.0.100 10.8.0.199\n");
  EXPECT_EQ(c.tap_pool->first, ip("10.8.0.100"));
  EXPECT_EQ(c.tap_pool->second, ip("10.8.0.199"));
  c = parse(k_tap + "server 10.8.0.0 255.255.255.0 nopool\n");
  EXPECT_FALSE(c.tap_pool);
  EXPECT_EQ(c.tap_gateway, ip("10.8.0.1"));
  // dev-type decides over the name.
  c = parse("dev vpn0\ndev-type tap\nca ca.crt\ncert server.crt\nkey server.key\nserver 10.8.0.0 255.255.0.0\n");
  EXPECT_EQ(c.dev_type, dev_kind::tap);
  EXPECT_EQ(c.tap_pool->second, ip("10.8.255.254"));
}

TEST(config_tap, server_bridge_with_a_pool) {
  server_config c = parse(k_tap + "server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 10.8.0.254\n");
  EXPECT_FALSE(c.server);
  EXPECT_TRUE(c.mode_server);
  EXPECT_TRUE(c.tls_server);
  EXPECT_EQ(c.server_bridge, bridge_mode::pool);
  EXPECT_EQ(c.bridge_gateway, ip("10.8.0.4"));
  EXPECT_EQ(c.bridge_netmask, ip("255.255.255.0"));
  EXPECT_EQ(c.bridge_pool_first, ip("10.8.0.128"));
  EXPECT_EQ(c.bridge_pool_last, ip("10.8.0.254"));
  ASSERT_TRUE(c.tap_pool);
  EXPECT_EQ(*c.tap_pool, (std::pair<uint32_t, uint32_t>{ip("10.8.0.128"), ip("10.8.0.254")}));
  EXPECT_EQ(c.tap_netmask, ip("255.255.255.0"));
  EXPECT_EQ(c.tap_gateway, ip("10.8.0.4"));
  EXPECT_EQ(c.tap_push_route_gateway, "route-gateway 10.8.0.4");
  // A later line replaces an earlier one, as for every directive.
  c = parse(k_tap + "server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 10.8.0.254\nserver-bridge nogw\n");
  EXPECT_EQ(c.server_bridge, bridge_mode::nogw);
  EXPECT_EQ(c.bridge_gateway, 0u);
  EXPECT_FALSE(c.tap_pool);
}

// No pool: the clients ask the LAN's DHCP server through the bridge (dnsmasq in the interop test
// docs/tap.md plans). `nogw` pushes nothing; the bare form pushes `route-gateway dhcp`.
TEST(config_tap, server_bridge_without_a_pool) {
  server_config c = parse(k_tap + "server-bridge nogw\n");
  EXPECT_EQ(c.server_bridge, bridge_mode::nogw);
  EXPECT_TRUE(c.mode_server);
  EXPECT_FALSE(c.tap_pool);
  EXPECT_FALSE(c.tap_gateway);
  EXPECT_EQ(c.tap_push_route_gateway, "");
  EXPECT_EQ(c.tap_max_frame, 1514u);
  c = parse(k_tap + "server-bridge\n");
  EXPECT_EQ(c.server_bridge, bridge_mode::dhcp);
  EXPECT_FALSE(c.tap_pool);
  EXPECT_EQ(c.tap_push_route_gateway, "route-gateway dhcp");
}

TEST(config_tap, mtu_vlan_and_tap_sleep) {
  server_config c = parse(k_tap + "server-bridge nogw\ntun-mtu 1400\nvlan-tagging\nvlan-accept tagged\nvlan-pvid 42\n"
                          "tap-sleep 5\n");
  EXPECT_EQ(c.tun_mtu, 1400u);
  EXPECT_EQ(c.tap_max_frame, 1400u + 14 + 4);
  EXPECT_TRUE(c.vlan_tagging);
  EXPECT_EQ(c.vlan_accept, vlan_accept_mode::tagged);
  EXPECT_EQ(c.vlan_pvid, 42);
  EXPECT_EQ(c.tap_sleep, 5u);
  c = parse(k_tap + "server-bridge nogw\nvlan-tagging\nvlan-accept untagged\n");
  EXPECT_EQ(c.vlan_accept, vlan_accept_mode::untagged);
  EXPECT_EQ(c.vlan_pvid, 1);
  c = parse(k_tap + "server-bridge nogw\nvlan-tagging\nvlan-accept all\nvlan-pvid 4094\n");
  EXPECT_EQ(c.vlan_accept, vlan_accept_mode::all);
  EXPECT_EQ(c.vlan_pvid, 4094);
}

TEST(config_tap, line_errors) {
  const std::string bridge = "server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 10.8.0.254\n";
  struct {
    std::string extra, error;
  } cases[] = {
      // server-bridge's own arguments
      {"server-bridge nogx\n",
       "server.conf:5: server-bridge: expected \"server-bridge GW MASK POOL-START POOL-END\", \"server-bridge nogw\" "
       "or \"server-bridge\", got \"nogx\""},
      {"server-bridge 10.8.0.4 255.255.255.0\n",
       "server.conf:5: server-bridge: expected \"server-bridge GW MASK POOL-START POOL-END\", \"server-bridge nogw\" "
       "or \"server-bridge\" (2 arguments)"},
      {"server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 10.8.0.254 x\n",
       "server.conf:5: server-bridge: expected \"server-bridge [GW MASK POOL-START POOL-END | nogw]\" (too many "
       "arguments)"},
      {"server-bridge 0.0.0.0 255.255.255.0 10.8.0.128 10.8.0.254\n",
       "server.conf:5: server-bridge: expected an IPv4 address such as 10.8.0.4, got \"0.0.0.0\""},
      {"server-bridge 10.8.0.4 255.255.255.0 10.8.0.128 host\n",
       "server.conf:5: server-bridge: expected an IPv4 address such as 10.8.0.4, got \"host\""},
      {"server-bridge 10.8.0.4 255.0.255.0 10.8.0.128 10.8.0.254\n",
       "server.conf:5: server-bridge: expected a contiguous netmask such as 255.255.255.0, got \"255.0.255.0\""},
      {"server-bridge 10.8.0.4 255.255.255.0 10.8.0.254 10.8.0.128\n",
       "server.conf:5: server-bridge: expected POOL-START <= POOL-END, got 10.8.0.254 > 10.8.0.128"},
      {"server-bridge 10.0.0.1 255.0.0.0 10.0.0.2 10.1.0.2\n",
       "server.conf:5: server-bridge: expected a pool of at most 65536 addresses, got 10.0.0.2 .. 10.1.0.2"},
      {"server-bridge 10.8.1.4 255.255.255.0 10.8.0.128 10.8.0.254\n",
       "server.conf:5: server-bridge: expected GW, POOL-START and POOL-END in the same 255.255.255.0 subnet, got "
       "10.8.1.4, 10.8.0.128, 10.8.0.254"},
      {"server-bridge 10.8.0.200 255.255.255.0 10.8.0.128 10.8.0.254\n",
       "server.conf:5: server-bridge: expected GW outside the pool, got 10.8.0.200 in 10.8.0.128 .. 10.8.0.254"},
      // the others
      {"server-bridge nogw\nvlan-accept some\n",
       "server.conf:6: vlan-accept: expected tagged, untagged or all, got \"some\""},
      {"server-bridge nogw\nvlan-pvid 0\n", "server.conf:6: vlan-pvid: expected a number 1..4094, got \"0\""},
      {"server-bridge nogw\nvlan-pvid 4095\n", "server.conf:6: vlan-pvid: expected a number 1..4094, got \"4095\""},
      {"server-bridge nogw\nvlan-tagging on\n", "server.conf:6: vlan-tagging: expected \"vlan-tagging\" (too many arguments)"},
      {"server-bridge nogw\ntap-sleep 256\n", "server.conf:6: tap-sleep: expected a number 0..255, got \"256\""},
      // across lines
      {"", "server.conf: server: expected \"server NETWORK NETMASK\" or \"server-bridge ...\" (the clients' subnet) "
           "(required)"},
      {"server 10.8.0.0 255.255.255.0\n" + bridge,
       "server.conf:6: server-bridge: expected either server or server-bridge, not both (server at line 5)"},
      {bridge + "server 10.8.0.0 255.255.255.0\n",
       "server.conf:6: server: expected either server or server-bridge, not both (server-bridge at line 5)"},
      {bridge + "ifconfig-pool 10.8.0.10 10.8.0.20\n",
       "server.conf:6: ifconfig-pool: expected no ifconfig-pool line: server-bridge defines the pool (server-bridge at "
       "line 5)"},
      {"server-bridge nogw\nifconfig-pool 10.8.0.10 10.8.0.20\n",
       "server.conf:6: ifconfig-pool: expected no ifconfig-pool line: with server-bridge nogw or a bare server-bridge "
       "the clients take their addresses from DHCP through the bridge (server-bridge at line 5)"},
      {"server-bridge nogw\nvlan-accept tagged\n",
       "server.conf:6: vlan-accept: expected a vlan-tagging line as well: this option changes it"},
      {"server-bridge nogw\nvlan-pvid 7\n",
       "server.conf:6: vlan-pvid: expected a vlan-tagging line as well: this option changes it"},
      {"server 10.8.0.0 255.255.255.254\n",
       "server.conf:5: server: expected a subnet of /30 or larger, got /31"},
  };
  for (const auto& t : cases) EXPECT_EQ(error_of(k_tap + t.extra), t.error) << t.extra;
}

TEST(config_tap, tap_directives_with_dev_tun) {
  const std::string tun = "dev tun\nca ca.crt\ncert server.crt\nkey server.key\n";
  EXPECT_EQ(error_of(tun + "server-bridge nogw\n"),
            "server.conf:5: server-bridge: expected dev tap: server-bridge bridges Ethernet frames (dev tun at line 1)");
  EXPECT_EQ(error_of(tun + "server 10.8.0.0 255.255.255.0\nvlan-tagging\n"),
            "server.conf:6: vlan-tagging: expected dev tap: 802.1Q tags are carried in Ethernet frames (dev tun at "
            "line 1)");
  // Without either subnet line, a tun server names `server` alone.
  EXPECT_EQ(error_of(tun), "server.conf: server: expected \"server NETWORK NETMASK\" (the VPN subnet) (required)");
  // Every finding at once.
  EXPECT_EQ(error_of(tun + "server 10.8.0.0 255.255.255.0\nserver-bridge\nvlan-pvid 3\n"),
            "server.conf: config: 3 lines are not accepted (docs/directives.md):\n"
            "  6: server-bridge: expected dev tap: server-bridge bridges Ethernet frames (dev tun at line 1)\n"
            "  6: server-bridge: expected either server or server-bridge, not both (server at line 5)\n"
            "  7: vlan-pvid: expected a vlan-tagging line as well: this option changes it");
}

TEST(config_tap, client_configs_refuse_the_server_ones) {
  const std::string client = "client\ndev tun\nremote 192.0.2.1\nca ca.crt\nlocal 192.0.2.2\n";
  EXPECT_EQ(error_of(client + "vlan-tagging\n"),
            "server.conf:6: vlan-tagging: is a server option; not valid in a client config");
  EXPECT_EQ(error_of(client + "server-bridge nogw\n"),
            "server.conf:6: server-bridge: is a server option; not valid in a client config");
}

}  // namespace
