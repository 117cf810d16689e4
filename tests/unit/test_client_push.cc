// SPDX-License-Identifier: MIT
// The client role's reading of a PUSH_REPLY (control/client_push.h) and its up/down arguments.
#include <gtest/gtest.h>

#include "client_push.h"

namespace dpvpn::cp {
namespace {

proto::pushed_options pushed(const std::vector<std::string>& lines) { return proto::parse_pushed_options(lines); }

TEST(client_push, subnet_topology_routes_and_foreign) {
  config_client_role cfg;
  std::string reject;
  auto t = settings_from_push(pushed({"route-gateway 10.8.0.1", "topology subnet", "ping 10", "ping-restart 60",
                                      "ifconfig 10.8.0.2 255.255.255.0", "route 192.168.10.0 255.255.255.0",
                                      "route 10.99.0.0 255.255.0.0 10.8.0.254", "route-ipv6 fd00:99::/48",
                                      "ifconfig-ipv6 fd00:8::1000/64 fd00:8::1", "dhcp-option DNS 10.8.0.1",
                                      "tun-mtu 1400", "peer-id 3", "cipher AES-256-GCM"}),
                              cfg, reject);
  EXPECT_TRUE(reject.empty());
  EXPECT_EQ(format_ipv4(t.local), "10.8.0.2");
  EXPECT_EQ(t.prefix, 24);
  EXPECT_EQ(format_ipv4(t.netmask), "255.255.255.0");
  EXPECT_EQ(t.remote, 0u);
  ASSERT_TRUE(t.route_gateway);
  EXPECT_EQ(format_ipv4(*t.route_gateway), "10.8.0.1");
  ASSERT_EQ(t.routes.size(), 2u);
  EXPECT_EQ(format_ipv4(t.routes[0].net), "192.168.10.0");
  EXPECT_EQ(t.routes[0].len, 24);
  EXPECT_FALSE(t.routes[0].gateway);
  EXPECT_EQ(t.routes[1].len, 16);
  ASSERT_TRUE(t.routes[1].gateway);
  EXPECT_EQ(format_ipv4(*t.routes[1].gateway), "10.8.0.254");
  ASSERT_EQ(t.routes6.size(), 1u);
  EXPECT_EQ(format_ipv6_net(t.routes6[0]), "fd00:99::/48");
  ASSERT_TRUE(t.local6);
  EXPECT_EQ(format_ipv6_net(*t.local6), "fd00:8::1000/64");
  EXPECT_EQ(t.tun_mtu, 1400u);
  EXPECT_EQ(t.foreign, (std::vector<std::string>{"dhcp-option DNS 10.8.0.1"}));
}

TEST(client_push, net30_uses_the_remote_end) {
  config_client_role cfg;
  std::string reject;
  auto t = settings_from_push(pushed({"ifconfig 10.8.0.6 10.8.0.5", "route 10.8.0.1"}), cfg, reject);
  EXPECT_EQ(format_ipv4(t.local), "10.8.0.6");
  EXPECT_EQ(format_ipv4(t.remote), "10.8.0.5");
  EXPECT_EQ(t.prefix, 32);
  ASSERT_TRUE(t.route_gateway);
  EXPECT_EQ(format_ipv4(*t.route_gateway), "10.8.0.5");
  ASSERT_EQ(t.routes.size(), 1u);
  EXPECT_EQ(t.routes[0].len, 32);
  const auto argv = client_updown_argv({"/bin/up.sh"}, "tun0", 1500, t);
  EXPECT_EQ(argv, (std::vector<std::string>{"/bin/up.sh", "tun0", "1500", "0", "10.8.0.6", "10.8.0.5", "init"}));
}

TEST(client_push, redirect_gateway_pushed_or_configured) {
  config_client_role cfg;
  std::string reject;
  auto t = settings_from_push(pushed({"topology subnet", "ifconfig 10.8.0.2 255.255.255.0", "redirect-gateway def1 ipv6"}),
                              cfg, reject);
  ASSERT_EQ(t.routes.size(), 2u);
  EXPECT_EQ(format_ipv4(t.routes[1].net), "128.0.0.0");
  EXPECT_EQ(t.routes[1].len, 1);
  EXPECT_EQ(t.routes6.size(), 3u);  // 2000::/4, 3000::/4, fc00::/7
  cfg.redirect_gateway.on = true;
  cfg.redirect_gateway.def1 = true;
  t = settings_from_push(pushed({"ifconfig 10.8.0.6 10.8.0.5"}), cfg, reject);
  EXPECT_EQ(t.routes.size(), 2u);
  EXPECT_TRUE(t.routes6.empty());
}

TEST(client_push, pull_filter_and_route_nopull) {
  config_client_role cfg;
  cfg.pull_filters = {{config_client_role::pull_action::accept, "route 192.168.10."},
                      {config_client_role::pull_action::ignore, "route "},
                      {config_client_role::pull_action::ignore, "dhcp-option"}};
  std::string reject;
  auto t = settings_from_push(pushed({"route 192.168.10.0 255.255.255.0", "route 192.168.20.0 255.255.255.0",
                                      "dhcp-option DNS 1.1.1.1", "redirect-gateway def1"}),
                              cfg, reject);
  EXPECT_EQ(t.routes.size(), 3u);  // 192.168.10.0/24 and redirect-gateway's two halves
  EXPECT_TRUE(t.foreign.empty());
  EXPECT_EQ(t.ignored.size(), 2u);
  cfg.pull_filters.push_back({config_client_role::pull_action::reject, "redirect-gateway"});
  t = settings_from_push(pushed({"redirect-gateway def1"}), cfg, reject);
  EXPECT_EQ(reject, "redirect-gateway def1");
  cfg.pull_filters.clear();
  cfg.route_nopull = true;
  reject.clear();
  t = settings_from_push(pushed({"route 192.168.10.0 255.255.255.0", "route-ipv6 fd00::/8", "dhcp-option DNS 10.8.0.1",
                                 "redirect-gateway def1"}),
                         cfg, reject);
  EXPECT_TRUE(t.routes.empty());
  EXPECT_TRUE(t.routes6.empty());
  EXPECT_EQ(t.foreign.size(), 1u);  // route-nopull keeps the other options
}

TEST(client_push, malformed_options_are_skipped_with_a_reason) {
  config_client_role cfg;
  std::string reject;
  auto t = settings_from_push(pushed({"route 10.0.0.0 255.0.255.0", "route nothing", "tun-mtu 99",
                                      "route-gateway dhcp", "ifconfig-ipv6 nonsense"}),
                              cfg, reject);
  EXPECT_TRUE(t.routes.empty());
  EXPECT_EQ(t.tun_mtu, 0u);
  EXPECT_FALSE(t.route_gateway);
  EXPECT_FALSE(t.local6);
  EXPECT_EQ(t.ignored.size(), 5u);
}

TEST(client_push, updown_env) {
  config_client_role cfg;
  std::string reject;
  auto t = settings_from_push(pushed({"route-gateway 10.8.0.1", "topology subnet", "ifconfig 10.8.0.2 255.255.255.0",
                                      "route 192.168.10.0 255.255.255.0", "dhcp-option DNS 10.8.0.1"}),
                              cfg, reject);
  server_config sc;
  sc.source = "client.conf";
  auto env = client_updown_env(sc, "tun0", 1500, t, net::outer_v4(0x0ACB000B, 1194), "up", "");
  auto get = [&](const std::string& k) {
    for (const auto& [n, v] : env)
      if (n == k) return v;
    return std::string("<none>");
  };
  EXPECT_EQ(get("script_type"), "up");
  EXPECT_EQ(get("ifconfig_local"), "10.8.0.2");
  EXPECT_EQ(get("ifconfig_netmask"), "255.255.255.0");
  EXPECT_EQ(get("route_vpn_gateway"), "10.8.0.1");
  EXPECT_EQ(get("route_network_1"), "192.168.10.0");
  EXPECT_EQ(get("route_netmask_1"), "255.255.255.0");
  EXPECT_EQ(get("route_gateway_1"), "10.8.0.1");
  EXPECT_EQ(get("foreign_option_1"), "dhcp-option DNS 10.8.0.1");
  EXPECT_EQ(get("trusted_ip"), "10.203.0.11");
  EXPECT_EQ(get("trusted_port"), "1194");
  EXPECT_EQ(get("signal"), "<none>");
}

}  // namespace
}  // namespace dpvpn::cp
