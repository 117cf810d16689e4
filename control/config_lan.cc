// SPDX-License-Identifier: MIT
// The LAN port's directives: `dp-lan`, `dp-route`, `dp-wan` (docs/config.md, "dpvpn-only
// settings"), and the checks that need the whole config. The rows are in config.cc's table.
#include <algorithm>
#include <charconv>
#include <optional>

#include "config_internal.h"

namespace dpvpn::cp {

namespace {

constexpr size_t k_eth_name_max = 63;  // DPDK's RTE_ETH_NAME_MAX_LEN (64) less the NUL

struct net4 {
  uint32_t addr = 0;
  unsigned len = 0;
};

uint32_t mask4(unsigned len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
std::string text4(uint32_t addr, unsigned len) { return format_ipv4(addr) + "/" + std::to_string(len); }

// "A.B.C.D/N", N 0..32 written without leading zeros.
std::optional<net4> parse_net4(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto addr = parse_ipv4(s.substr(0, slash));
  const std::string_view bits = s.substr(slash + 1);
  unsigned len = 0;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), len);
  if (!addr || bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || len > 32 ||
      (bits.size() > 1 && bits[0] == '0'))
    return std::nullopt;
  return net4{*addr, len};
}

ipv6_addr mask6(ipv6_addr a, unsigned len) {
  for (unsigned bit = len; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

// One host: not 0/8, loopback, multicast or class E (the limited broadcast included).
bool unicast4(uint32_t a) { return (a >> 24) != 0 && (a >> 24) != 127 && a < 0xe0000000u; }
bool unicast6(const ipv6_addr& a) {
  static constexpr ipv6_addr loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a[0] != 0xff && a != ipv6_addr{} && a != loopback;
}
// The network or the broadcast address of its prefix, for prefixes that have them (/30 and
// shorter; RFC 3021 /31 and /32 have neither).
bool net_or_broadcast4(uint32_t a, unsigned len) {
  const uint32_t host = a & ~mask4(len);
  return len <= 30 && (host == 0 || host == ~mask4(len));
}
// The subnet-router anycast address (all-zero host bits, RFC 4291 §2.6.1); /127 and /128 have none.
bool anycast6(const ipv6_addr& a, unsigned len) { return len <= 126 && ipv6_is_network(a, len); }

bool overlaps6(const ipv6_net& a, const ipv6_net& b) {
  return ipv6_in(a.addr, ipv6_net{b.addr, std::min(a.len, b.len)});
}

std::string route_text(const server_config::lan_route& r) {
  return r.v6 ? format_ipv6_net(ipv6_net{r.net6, r.len}) + " via " + format_ipv6(r.via6)
              : text4(r.net, r.len) + " via " + format_ipv4(r.via);
}

// An ethdev name as EAL makes them: net_af_packet1, net_memif1, a PCI address 0000:03:00.0.
std::string port_error(const std::string& port) {
  bool ok = !port.empty() && port.size() <= k_eth_name_max;
  for (char ch : port)
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                ch == '-' || ch == '.' || ch == ':');
  if (ok) return {};
  return "expected an ethdev name as EAL created it, such as net_af_packet1, net_memif1 or 0000:03:00.0 "
         "(1..63 letters, digits, '_', '-', '.' or ':'), got " +
         shown(port);
}

std::string parse_lan4(const std::string& s, server_config::lan_port& lp) {
  const auto n = parse_net4(s);
  if (!n || n->len == 0)
    return "expected the gateway's LAN address and prefix such as 192.168.1.1/24 (prefix 1..32), got " + shown(s);
  if (!unicast4(n->addr)) return "expected a unicast IPv4 address, got " + shown(s);
  if (net_or_broadcast4(n->addr, n->len))
    return "expected a host address, not the network or broadcast address of " +
           text4(n->addr & mask4(n->len), n->len) + ", got " + shown(s);
  lp.addr = n->addr;
  lp.prefix = static_cast<uint8_t>(n->len);
  return {};
}

std::string parse_lan6(const std::string& s, server_config::lan_port& lp) {
  const auto n = s.find('/') != std::string::npos ? parse_ipv6_net(s) : std::nullopt;
  if (!n || n->len == 0)
    return "expected the gateway's IPv6 LAN address and prefix such as fd00:1::1/64 (prefix 1..128), got " + shown(s);
  if (!unicast6(n->addr)) return "expected a unicast IPv6 address, got " + shown(s);
  if (anycast6(n->addr, n->len))
    return "expected a host address, not the all-zero host (subnet-router anycast) of " +
           format_ipv6_net(ipv6_net{n->addr, n->len}) + ", got " + shown(s);
  lp.addr6 = *n;
  return {};
}

// A route's NET/PREFIX into r (family, network, length).
std::string parse_route_net(const std::string& s, server_config::lan_route& r) {
  const std::string example = "expected NETWORK/PREFIX such as 10.50.0.0/16 or fd00:50::/48, got " + shown(s);
  if (s.find(':') != std::string::npos) {
    const auto n = parse_ipv6_net(s);
    if (!n) return example;
    if (!ipv6_is_network(n->addr, n->len))
      return "expected the host bits of " + s + " to be zero: the network is " +
             format_ipv6_net(ipv6_net{mask6(n->addr, n->len), n->len});
    r.v6 = true;
    r.net6 = n->addr;
    r.len = static_cast<uint8_t>(n->len);
    return {};
  }
  const auto n = parse_net4(s);
  if (!n) return example;
  if ((n->addr & ~mask4(n->len)) != 0)
    return "expected the host bits of " + s + " to be zero: the network is " + text4(n->addr & mask4(n->len), n->len);
  r.net = n->addr;
  r.len = static_cast<uint8_t>(n->len);
  return {};
}

// A route's next hop: on the LAN, and not the gateway itself or its prefix's network/broadcast.
std::string check_via(const server_config::lan_route& r, const server_config::lan_port& lan) {
  if (r.v6) {
    const ipv6_net& own = *lan.addr6;
    const std::string prefix = format_ipv6_net(ipv6_net{mask6(own.addr, own.len), own.len});
    if (!ipv6_in(r.via6, own)) return "expected a next hop inside dp-lan's " + prefix + ", got " + format_ipv6(r.via6);
    if (r.via6 == own.addr)
      return "expected a next hop other than the gateway's own LAN address " + format_ipv6(own.addr);
    if (anycast6(r.via6, own.len))
      return "expected a host next hop, not the all-zero host of " + prefix + ", got " + format_ipv6(r.via6);
    return {};
  }
  const std::string prefix = text4(lan.addr & mask4(lan.prefix), lan.prefix);
  if ((r.via & mask4(lan.prefix)) != (lan.addr & mask4(lan.prefix)))
    return "expected a next hop inside dp-lan's " + prefix + ", got " + format_ipv4(r.via);
  if (r.via == lan.addr) return "expected a next hop other than the gateway's own LAN address " + format_ipv4(lan.addr);
  if (net_or_broadcast4(r.via, lan.prefix))
    return "expected a host next hop, not the network or broadcast address of " + prefix + ", got " +
           format_ipv4(r.via);
  return {};
}

}  // namespace

std::string parse_dp_wan(const std::string& port, server_config& cfg) {
  if (std::string err = port_error(port); !err.empty()) return err;
  cfg.dp_wan = port;
  return {};
}

std::string parse_dp_lan(std::span<const std::string> a, server_config& cfg) {
  std::string err = port_error(a[0]);
  server_config::lan_port lp;
  lp.port = a[0];
  if (err.empty()) err = parse_lan4(a[1], lp);
  if (err.empty() && a.size() == 3) err = parse_lan6(a[2], lp);
  if (err.empty()) cfg.dp_lan = std::move(lp);
  return err;
}

std::string parse_dp_route(std::span<const std::string> a, std::span<const unsigned> route_lines, server_config& cfg) {
  server_config::lan_route r;
  if (std::string err = parse_route_net(a[0], r); !err.empty()) return err;
  if (r.v6) {
    const auto via = a[1].find(':') != std::string::npos ? parse_ipv6(a[1]) : std::nullopt;
    if (!via) return "expected an IPv6 next hop for an IPv6 network, such as fd00:1::fe, got " + shown(a[1]);
    r.via6 = *via;
  } else {
    const auto via = parse_ipv4(a[1]);
    if (!via) return "expected an IPv4 next hop for an IPv4 network, such as 192.168.1.254, got " + shown(a[1]);
    r.via = *via;
  }
  for (size_t i = 0; i < cfg.dp_routes.size(); ++i) {
    const server_config::lan_route& o = cfg.dp_routes[i];
    if (o.v6 != r.v6 || o.len != r.len || (r.v6 ? o.net6 != r.net6 : o.net != r.net)) continue;
    const std::string at = i < route_lines.size() ? " at line " + std::to_string(route_lines[i]) : "";
    if (r.v6 ? o.via6 == r.via6 : o.via == r.via) return "expected each route once: the same route is given" + at;
    return "expected one next hop per network: the route" + at + " is " + route_text(o);
  }
  cfg.dp_routes.push_back(r);
  return {};
}

std::vector<config_error> check_lan(const std::string& file, const server_config& cfg, const lan_lines& at) {
  std::vector<config_error> out;
  auto add = [&](unsigned line, const char* dir, const std::string& detail) {
    if (!detail.empty()) out.emplace_back(file, line, dir, detail);
  };
  const auto& lan = cfg.dp_lan;
  auto line_note = [](const char* dir, unsigned line) {
    return line ? " (" + std::string(dir) + ", line " + std::to_string(line) + ")" : std::string();
  };
  if (lan && cfg.server) {
    const unsigned slen = cfg.server->prefix_len(), len = std::min<unsigned>(lan->prefix, slen);
    if ((lan->addr & mask4(len)) == (cfg.server->network & mask4(len)))
      add(at.dp_lan, "dp-lan",
          "expected a LAN prefix that does not overlap the VPN subnet: " +
              text4(lan->addr & mask4(lan->prefix), lan->prefix) + " overlaps " + text4(cfg.server->network, slen) +
              line_note("server", at.server));
  }
  if (lan && lan->addr6 && cfg.server_ipv6 && overlaps6(*lan->addr6, *cfg.server_ipv6))
    add(at.dp_lan, "dp-lan",
        "expected an IPv6 LAN prefix that does not overlap the VPN subnet: " +
            format_ipv6_net(ipv6_net{mask6(lan->addr6->addr, lan->addr6->len), lan->addr6->len}) + " overlaps " +
            format_ipv6_net(*cfg.server_ipv6) + line_note("server-ipv6", at.server_ipv6));
  for (size_t i = 0; i < cfg.dp_routes.size(); ++i) {
    const server_config::lan_route& r = cfg.dp_routes[i];
    const unsigned line = i < at.routes.size() ? at.routes[i] : 0;
    if (!lan)
      add(line, "dp-route", "expected a dp-lan line as well: a route leaves through the LAN port");
    else if (r.v6 && !lan->addr6)
      add(line, "dp-route",
          "expected an IPv6 address on the dp-lan line (dp-lan PORT ADDR/PREFIX ADDR6/PREFIX6) "
          "for an IPv6 route");
    else
      add(line, "dp-route", check_via(r, *lan));
  }
  if (lan && !cfg.dp_wan.empty() && cfg.dp_wan == lan->port)
    add(at.dp_wan, "dp-wan", "expected a port other than dp-lan's " + lan->port + line_note("dp-lan", at.dp_lan));
  return out;
}

}  // namespace dpvpn::cp
