// SPDX-License-Identifier: MIT
// TAP mode's directives: `server-bridge`, `vlan-accept` (the simple ones are rows of config.cc's
// table) and the checks and derived values that need the whole config (docs/tap.md).
#include <algorithm>

#include "config_internal.h"

namespace dpvpn::cp {

namespace {

constexpr uint32_t k_pool_max = 65536;  // openvpn's IFCONFIG_POOL_MAX
constexpr unsigned k_eth_hdr = 14, k_vlan_tag = 4;

std::string line_note(std::string_view name, unsigned at) {
  return at ? " (" + std::string(name) + " at line " + std::to_string(at) + ")" : std::string();
}

}  // namespace

std::string parse_server_bridge(std::span<const std::string> a, server_config& cfg) {
  constexpr std::string_view usage =
      "expected \"server-bridge GW MASK POOL-START POOL-END\", \"server-bridge nogw\" or \"server-bridge\"";
  cfg.bridge_gateway = cfg.bridge_netmask = cfg.bridge_pool_first = cfg.bridge_pool_last = 0;
  if (a.empty()) {
    cfg.server_bridge = bridge_mode::dhcp;
    return {};
  }
  if (a.size() == 1) {
    if (a[0] != "nogw") return std::string(usage) + ", got " + shown(a[0]);
    cfg.server_bridge = bridge_mode::nogw;
    return {};
  }
  if (a.size() != 4) return std::string(usage) + " (" + std::to_string(a.size()) + " arguments)";
  uint32_t v[4] = {};
  for (size_t i = 0; i < 4; ++i) {
    const auto ip = parse_ipv4(a[i]);
    // openvpn refuses 0.0.0.0 in every position ("error parsing --server-bridge parameters").
    if (!ip || *ip == 0) return "expected an IPv4 address such as 10.8.0.4, got " + shown(a[i]);
    v[i] = *ip;
  }
  const uint32_t gw = v[0], mask = v[1], first = v[2], last = v[3];
  if (((~mask + 1) & ~mask) != 0) return "expected a contiguous netmask such as 255.255.255.0, got " + shown(a[1]);
  if (first > last) return "expected POOL-START <= POOL-END, got " + a[2] + " > " + a[3];
  if (last - first >= k_pool_max)
    return "expected a pool of at most " + std::to_string(k_pool_max) + " addresses, got " + a[2] + " .. " + a[3];
  // helper.c's verify_common_subnet, on the three pairs.
  if ((gw & mask) != (first & mask) || (first & mask) != (last & mask))
    return "expected GW, POOL-START and POOL-END in the same " + a[1] + " subnet, got " + a[0] + ", " + a[2] +
           ", " + a[3];
  // openvpn does not check this; a pool that holds the gateway would hand its address to a client.
  if (gw >= first && gw <= last) return "expected GW outside the pool, got " + a[0] + " in " + a[2] + " .. " + a[3];
  cfg.server_bridge = bridge_mode::pool;
  cfg.bridge_gateway = gw;
  cfg.bridge_netmask = mask;
  cfg.bridge_pool_first = first;
  cfg.bridge_pool_last = last;
  return {};
}

std::string parse_vlan_accept(const std::string& word, server_config& cfg) {
  if (word == "all") cfg.vlan_accept = vlan_accept_mode::all;
  else if (word == "tagged") cfg.vlan_accept = vlan_accept_mode::tagged;
  else if (word == "untagged") cfg.vlan_accept = vlan_accept_mode::untagged;
  else return "expected tagged, untagged or all, got " + shown(word);
  return {};
}

std::vector<config_error> check_tap(const std::string& file, server_config& cfg, const tap_lines& at) {
  std::vector<config_error> out;
  auto add = [&](unsigned line, std::string_view dir, const std::string& detail) {
    out.emplace_back(file, line, std::string(dir), detail);
  };
  const bool tap = cfg.dev_type == dev_kind::tap;
  const std::string dev_note =
      " (dev " + cfg.dev + (at.dev ? " at line " + std::to_string(at.dev) : std::string()) + ")";
  if (at.server_bridge) {
    if (!tap) add(at.server_bridge, "server-bridge", "expected dev tap: server-bridge bridges Ethernet frames" + dev_note);
    if (at.server)
      add(std::max(at.server, at.server_bridge), at.server > at.server_bridge ? "server" : "server-bridge",
          "expected either server or server-bridge, not both" +
              line_note(at.server > at.server_bridge ? "server-bridge" : "server", std::min(at.server, at.server_bridge)));
    if (at.ifconfig_pool)
      add(at.ifconfig_pool, "ifconfig-pool",
          cfg.server_bridge == bridge_mode::pool
              ? "expected no ifconfig-pool line: server-bridge defines the pool" + line_note("server-bridge", at.server_bridge)
              : "expected no ifconfig-pool line: with server-bridge nogw or a bare server-bridge the clients take "
                "their addresses from DHCP through the bridge" + line_note("server-bridge", at.server_bridge));
  }
  if (at.vlan_tagging && !tap)
    add(at.vlan_tagging, "vlan-tagging", "expected dev tap: 802.1Q tags are carried in Ethernet frames" + dev_note);
  if (!at.vlan_tagging) {
    if (at.vlan_accept) add(at.vlan_accept, "vlan-accept", "expected a vlan-tagging line as well: this option changes it");
    if (at.vlan_pvid) add(at.vlan_pvid, "vlan-pvid", "expected a vlan-tagging line as well: this option changes it");
  }
  if (!out.empty() || !tap) return out;

  // helper.c: `server` with dev tap gives NET+1 to the device, pool NET+2 .. BCAST-1 (unless
  // nopool; dpvpn's ifconfig-pool replaces it, as for tun), and pushes route-gateway NET+1.
  if (cfg.server) {
    const uint32_t net = cfg.server->network, mask = cfg.server->netmask;
    cfg.tap_netmask = mask;
    cfg.tap_gateway = net + 1;
    if (cfg.ifconfig_pool) cfg.tap_pool = cfg.ifconfig_pool;
    else if (!cfg.server->nopool) cfg.tap_pool = std::pair<uint32_t, uint32_t>{net + 2, (net | ~mask) - 1};
    cfg.tap_push_route_gateway = "route-gateway " + format_ipv4(net + 1);
  } else if (cfg.server_bridge == bridge_mode::pool) {
    cfg.tap_netmask = cfg.bridge_netmask;
    cfg.tap_gateway = cfg.bridge_gateway;
    cfg.tap_pool = std::pair<uint32_t, uint32_t>{cfg.bridge_pool_first, cfg.bridge_pool_last};
    cfg.tap_push_route_gateway = "route-gateway " + format_ipv4(cfg.bridge_gateway);
  } else if (cfg.server_bridge == bridge_mode::dhcp) {
    cfg.tap_push_route_gateway = "route-gateway dhcp";
  }
  cfg.tap_max_frame = cfg.tun_mtu + k_eth_hdr + (cfg.vlan_tagging ? k_vlan_tag : 0);
  return out;
}

}  // namespace dpvpn::cp
