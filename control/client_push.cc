// SPDX-License-Identifier: MIT
// The client role's reading of a PUSH_REPLY (client_push.h).
#include "client_push.h"

#include <bit>
#include <charconv>

#include <unistd.h>

namespace dpvpn::cp {

namespace {

using action = config_client_role::pull_action;

ipv6_addr mask6(ipv6_addr a, unsigned len) {
  for (unsigned bit = len; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

uint32_t mask_of(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }

// A contiguous netmask's prefix length, or nothing.
std::optional<uint8_t> prefix_of(uint32_t mask) {
  const unsigned ones = static_cast<unsigned>(std::popcount(mask));
  if (mask_of(static_cast<uint8_t>(ones)) != mask) return std::nullopt;
  return static_cast<uint8_t>(ones);
}

// redirect-gateway's flags (openvpn's options.c); unknown ones are ignored, as a 2.6 client does.
void add_redirect_flags(const std::vector<std::string>& w, config_client_role::redirect_flags& r) {
  r.on = true;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "def1") r.def1 = true;
    else if (w[i] == "ipv6") r.ipv6 = true;
    else if (w[i] == "!ipv4") r.no_ipv4 = true;
    else if (w[i] == "local") r.local = true;
    else if (w[i] == "bypass-dhcp") r.bypass_dhcp = true;
    else if (w[i] == "block-local") r.block_local = true;
  }
}

void ipv4_routes_for_redirect(tunnel_settings& t) {
  // Two halves instead of replacing the default route (openvpn's def1; without def1 dpvpn does the
  // same, docs/client.md): the kernel's own default route stays for everything else on the host.
  // The server itself is reached through the DPDK WAN port, never through the kernel's routes, so
  // no host route to it is needed.
  t.routes.push_back({0x00000000u, 1, 0x80000000u, t.route_gateway});
  t.routes.push_back({0x80000000u, 1, 0x80000000u, t.route_gateway});
}

void ipv6_routes_for_redirect(tunnel_settings& t) {
  // openvpn's def1 for IPv6: the global unicast space and ULAs, in three pieces.
  for (const char* n : {"2000::/4", "3000::/4", "fc00::/7"}) t.routes6.push_back(*parse_ipv6_net(n));
}

// `route NET [MASK [GW [METRIC]]]`: literals only (openvpn's vpn_gateway / net_gateway keywords as
// the gateway are accepted and mean the tunnel).
bool parse_route(const std::vector<std::string>& w, tunnel_settings::route& r, std::string& why) {
  const auto net = w.size() >= 2 ? parse_ipv4(w[1]) : std::nullopt;
  if (!net) return why = "not an IPv4 network", false;
  uint32_t mask = 0xFFFFFFFFu;
  if (w.size() >= 3 && w[2] != "default") {
    const auto m = parse_ipv4(w[2]);
    if (!m || !prefix_of(*m)) return why = "not a contiguous netmask", false;
    mask = *m;
  }
  r.len = *prefix_of(mask);
  r.netmask = mask;
  r.net = *net & mask;
  if (w.size() >= 4 && w[3] != "vpn_gateway" && w[3] != "default") {
    const auto gw = parse_ipv4(w[3]);
    if (!gw) return why = "gateway is not an IPv4 address", false;
    r.gateway = *gw;
  }
  return true;
}

}  // namespace

action pull_verdict(const std::vector<config_client_role::pull_filter>& filters, const std::string& option) {
  for (const auto& f : filters)
    if (option.compare(0, f.text.size(), f.text) == 0) return f.action;
  return action::accept;
}

tunnel_settings settings_from_push(const proto::pushed_options& p, const config_client_role& cfg, std::string& reject) {
  tunnel_settings t;
  t.redirect = cfg.redirect_gateway;
  // The session parsed ifconfig itself; the filters see it as the line it came in.
  std::vector<std::string> lines;
  if (!p.ifconfig_local.empty()) lines.push_back("ifconfig " + p.ifconfig_local + " " + p.ifconfig_remote_or_mask);
  lines.insert(lines.end(), p.unknown.begin(), p.unknown.end());
  const bool subnet = p.topology == "subnet";
  for (const std::string& line : lines) {
    const action v = pull_verdict(cfg.pull_filters, line);
    if (v == action::reject) {
      reject = line;
      return t;
    }
    if (v == action::ignore) {
      t.ignored.push_back(line + " (pull-filter)");
      continue;
    }
    const std::vector<std::string> w = proto::split_words(line);
    if (w.empty()) continue;
    const std::string& k = w[0];
    std::string why;
    if (k == "ifconfig" && w.size() == 3) {
      const auto a = parse_ipv4(w[1]), b = parse_ipv4(w[2]);
      if (!a || !b) why = "not IPv4 addresses";
      else if (subnet) {
        if (!prefix_of(*b)) why = "not a contiguous netmask";
        else t.local = *a, t.netmask = *b, t.prefix = *prefix_of(*b);
      } else {
        t.local = *a, t.remote = *b, t.prefix = 32;
      }
    } else if (k == "route-gateway" && w.size() >= 2) {
      if (const auto g = parse_ipv4(w[1])) t.route_gateway = *g;
      else why = "not an IPv4 address (dhcp is tap only)";
    } else if (k == "route") {
      if (cfg.route_nopull) {
        t.ignored.push_back(line + " (route-nopull)");
        continue;
      }
      tunnel_settings::route r;
      if (parse_route(w, r, why)) t.routes.push_back(r);
    } else if (k == "route-ipv6" && w.size() >= 2) {
      if (cfg.route_nopull) {
        t.ignored.push_back(line + " (route-nopull)");
        continue;
      }
      const auto n = parse_ipv6_net(w[1]);
      if (!n) why = "not an IPv6 network";
      else t.routes6.push_back(ipv6_net{mask6(n->addr, n->len), n->len});
    } else if (k == "ifconfig-ipv6" && w.size() >= 2) {
      const auto n = parse_ipv6_net(w[1]);
      if (!n) why = "not ADDR/BITS";
      else t.local6 = *n;
    } else if (k == "redirect-gateway" || k == "redirect-private") {
      if (cfg.route_nopull) {
        t.ignored.push_back(line + " (route-nopull)");
        continue;
      }
      if (k == "redirect-gateway") add_redirect_flags(w, t.redirect);
    } else if (k == "tun-mtu" && w.size() == 2) {
      unsigned v = 0;
      auto [end, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), v);
      if (ec != std::errc() || end != w[1].data() + w[1].size() || v < 576 || v > 65535) why = "not 576..65535";
      else t.tun_mtu = v;
    } else if (k == "dhcp-option" || k == "dns") {
      t.foreign.push_back(line);
    } else {
      why = "not applied by dpvpn";
    }
    if (!why.empty()) t.ignored.push_back(line + " (" + why + ")");
  }
  if (!t.route_gateway && t.remote) t.route_gateway = t.remote;
  if (t.redirect.on && !t.redirect.no_ipv4) ipv4_routes_for_redirect(t);
  if (t.redirect.on && t.redirect.ipv6) ipv6_routes_for_redirect(t);
  return t;
}

namespace {

std::string second_addr(const tunnel_settings& t) {
  return t.remote ? format_ipv4(t.remote) : format_ipv4(t.netmask ? t.netmask : 0xFFFFFFFFu);
}

}  // namespace

std::vector<std::string> client_updown_argv(const std::vector<std::string>& cmd, const std::string& dev,
                                            unsigned tun_mtu, const tunnel_settings& t) {
  std::vector<std::string> a = cmd;
  a.push_back(dev);
  a.push_back(std::to_string(tun_mtu));
  a.push_back("0");  // link_mtu before 2.6
  a.push_back(t.local ? format_ipv4(t.local) : "");
  a.push_back(t.local ? second_addr(t) : "");
  a.push_back("init");
  return a;
}

script_env client_updown_env(const server_config& cfg, const std::string& dev, unsigned tun_mtu,
                             const tunnel_settings& t, const net::outer_addr& server, const char* script_type,
                             const std::string& signal) {
  script_env e;
  auto add = [&](std::string k, std::string v) { e.emplace_back(std::move(k), std::move(v)); };
  add("script_type", script_type);
  add("script_context", "init");
  add("dev", dev);
  add("dev_type", "tun");
  add("tun_mtu", std::to_string(tun_mtu));
  if (!signal.empty()) add("signal", signal);
  if (t.local) {
    add("ifconfig_local", format_ipv4(t.local));
    add(t.remote ? "ifconfig_remote" : "ifconfig_netmask", second_addr(t));
  }
  if (t.local6) {
    add("ifconfig_ipv6_local", format_ipv6(t.local6->addr));
    add("ifconfig_ipv6_netbits", std::to_string(t.local6->len));
  }
  if (t.route_gateway) add("route_vpn_gateway", format_ipv4(*t.route_gateway));
  for (size_t i = 0; i < t.routes.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    add("route_network_" + n, format_ipv4(t.routes[i].net));
    add("route_netmask_" + n, format_ipv4(t.routes[i].netmask));
    const auto gw = t.routes[i].gateway ? t.routes[i].gateway : t.route_gateway;
    if (gw) add("route_gateway_" + n, format_ipv4(*gw));
  }
  for (size_t i = 0; i < t.routes6.size(); ++i)
    add("route_ipv6_network_" + std::to_string(i + 1), format_ipv6_net(t.routes6[i]));
  for (size_t i = 0; i < t.foreign.size(); ++i) add("foreign_option_" + std::to_string(i + 1), t.foreign[i]);
  // openvpn names the server's address by family: trusted_ip / trusted_ip6 (and untrusted_*).
  const bool v4 = net::is_v4_mapped(server.ip);
  const std::string ip = v4 ? format_ipv4(net::v4_of(server.ip)) : format_ipv6(server.ip);
  add(v4 ? "trusted_ip" : "trusted_ip6", ip);
  add("trusted_port", std::to_string(server.port));
  add(v4 ? "untrusted_ip" : "untrusted_ip6", ip);
  add("untrusted_port", std::to_string(server.port));
  add("config", cfg.source);
  add("verb", std::to_string(cfg.verb));
  add("daemon", "0");
  add("daemon_pid", std::to_string(::getpid()));
  add("proto_1", "udp");
  add("remote_1", format_ipv4(net::v4_of(server.ip)));
  add("remote_port_1", std::to_string(server.port));
  add_setenv(e, cfg);
  return e;
}

}  // namespace dpvpn::cp
