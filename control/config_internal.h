// SPDX-License-Identifier: MIT
// Private to the config library: what the directive table (control/config.cc) shares with the
// files split out of it. Not a public header: nothing outside control/config*.cc includes it.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/config_known.h"
#include "dpvpn/crypto.h"
#include "dpvpn/wire.h"

namespace dpvpn::cp {

// `got "..."` text for an error: printable, escaped, cut at 60 characters (config_syntax.cc).
std::string shown(std::string_view s);

// The parse of one source (config.cc): where it is, what it found so far, and the argument
// checks every directive's handler uses.
constexpr uint64_t k_max_seconds = 365 * 24 * 3600;  // a year: larger timer values are typos
constexpr uint64_t k_max_u32 = 0xFFFFFFFFu;
constexpr uint64_t k_max_i64 = 0x7FFFFFFFFFFFFFFFull;
constexpr uint64_t k_max_clients = wire::k_peer_id_none - 1;  // peer-id is 24 bits, 0xFFFFFF = none
constexpr uint64_t k_max_replay_time = 600;  // OpenVPN's upper bound for the replay time window
constexpr size_t k_ifnamsiz = 16;            // Linux IFNAMSIZ, including the NUL

using args = std::span<const std::string>;

struct ctx {
  std::string file;  // the source being parsed (a file, or "command line")
  server_config cfg;
  unsigned line = 0;
  std::string directive;
  std::map<std::string, unsigned, std::less<>> seen;  // directive -> last line, for cross-checks
  std::optional<dev_kind> dev_type_given;
  std::optional<exception_port_kind> dp_exception_given;
  std::optional<uint8_t> tls_auth_arg;
  std::vector<unsigned> dp_route_lines;  // the line of each cfg.dp_routes entry
  bool client_role = false;         // `client` / `tls-client` somewhere (client_role_of)
  unsigned auth_user_pass_bare = 0;  // the line of an `auth-user-pass` without FILE
  std::vector<bool> remote_has_proto;  // per cfg.remotes entry: its own PROTO was given

  [[noreturn]] void fail(const std::string& detail) const { throw config_error(file, line, directive, detail); }
  [[noreturn]] void fail_at(unsigned at, std::string_view dir, const std::string& detail) const {
    throw config_error(file, at, std::string(dir), detail);
  }
  unsigned line_of(std::string_view name) const {
    auto it = seen.find(name);
    return it == seen.end() ? 0 : it->second;
  }

  uint64_t number(const std::string& s, uint64_t lo, uint64_t hi) const {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
      fail("expected a number " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + shown(s));
    return v;
  }
  unsigned u32(const std::string& s, uint64_t lo, uint64_t hi) const {
    return static_cast<unsigned>(number(s, lo, hi));
  }
  uint32_t ipv4(const std::string& s) const {
    auto a = parse_ipv4(s);
    if (!a) fail("expected an IPv4 address such as 10.8.0.0, got " + shown(s));
    return *a;
  }
  uint32_t netmask(const std::string& s) const {
    auto m = parse_ipv4(s);
    // Contiguous: the inverted mask has the form 2^k - 1 (ones only at the bottom).
    if (!m || ((~*m + 1) & ~*m) != 0 || *m == 0)
      fail("expected a contiguous netmask such as 255.255.255.0, got " + shown(s));
    return *m;
  }
  // One of `words`; returns its index.
  template <size_t N>
  size_t word(const std::string& s, const std::string_view (&words)[N]) const {
    for (size_t i = 0; i < N; ++i)
      if (s == words[i]) return i;
    std::string list;
    for (size_t i = 0; i < N; ++i) list += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(words[i]);
    fail("expected " + list + ", got " + shown(s));
  }
  crypto::cipher_alg cipher(const std::string& s) const {
    auto c = crypto::cipher_from_name(s);
    if (!c || *c == crypto::cipher_alg::none)
      fail("expected a cipher: AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC or AES-128-CBC, got " +
           shown(s));
    return *c;
  }
  // Paths stay as written: relative ones resolve against the working directory, which `cd` sets
  // (server_config::cd), as openvpn opens them after its `cd` changed directory.
  file_ref file_arg(const std::string& s) const {
    if (s.empty()) fail("expected a file name, got \"\"");
    file_ref f;
    f.path = s;
    f.line = line;
    f.directive = directive;
    return f;
  }
  std::string path_arg(const std::string& s) const { return file_arg(s).path; }
  // NET/BITS with the host bits zero and BITS in [min_len, max_len].
  ipv6_net ipv6_network(const std::string& s, unsigned min_len, unsigned max_len) const {
    auto n = parse_ipv6_net(s);
    if (!n) fail("expected an IPv6 network such as fd00:8::/64, got " + shown(s));
    if (n->len < min_len || n->len > max_len)
      fail("expected a prefix length of /" + std::to_string(min_len) + " to /" + std::to_string(max_len) + ", got " +
           shown(s));
    if (!ipv6_is_network(n->addr, n->len))
      fail("expected the host bits to be zero for /" + std::to_string(n->len) + ", got " + shown(s));
    return *n;
  }
  // A script command line: split like a config line (OpenVPN splits it the same way). The program
  // stays as written: it is run without a PATH search, from the working directory (auth_scripts.cc).
  std::vector<std::string> command(const std::string& s) const {
    std::vector<std::string> w;
    std::string err = split_config_words(s, w);
    if (!err.empty()) fail("expected a command line, got " + shown(s) + ": " + err);
    if (w.empty() || w[0].empty()) fail("expected a command, got " + shown(s));
    return w;
  }
};

// What one directive's presence costs another, and the values derived from several, after the
// last line (config_check.cc).
void cross_check(ctx& c);

// The LAN port's directives (config_lan.cc, docs/config.md "dpvpn-only settings"). Each parses
// one line's arguments into cfg and returns "" or the error detail ("expected ...").
// `dp-lan PORT ADDR/PREFIX [ADDR6/PREFIX6]`; the caller refuses a second dp-lan line.
std::string parse_dp_lan(std::span<const std::string> a, server_config& cfg);
// `dp-route NET/PREFIX NEXTHOP`, appended to cfg.dp_routes; route_lines[i] is the line of
// cfg.dp_routes[i] (for "the same as line N").
std::string parse_dp_route(std::span<const std::string> a, std::span<const unsigned> route_lines,
                           server_config& cfg);
// `dp-wan PORT`.
std::string parse_dp_wan(const std::string& port, server_config& cfg);

// Where the directives the LAN checks look at were given (0 = not given).
struct lan_lines {
  unsigned dp_lan = 0, dp_wan = 0, server = 0, server_ipv6 = 0;
  std::span<const unsigned> routes;  // one per cfg.dp_routes
};
// What needs the whole config: routes need dp-lan (IPv6 ones its ADDR6) and a next hop on the
// LAN; the LAN prefixes stay clear of the VPN subnets; dp-wan differs from dp-lan's port. One
// error per finding, in that order; empty when all is well.
std::vector<config_error> check_lan(const std::string& file, const server_config& cfg, const lan_lines& at);

// TAP mode (config_tap.cc, docs/tap.md). `server-bridge [GW MASK POOL-START POOL-END | nogw]` and
// `vlan-accept all|tagged|untagged` into cfg; "" or the error detail.
std::string parse_server_bridge(std::span<const std::string> a, server_config& cfg);
std::string parse_vlan_accept(const std::string& word, server_config& cfg);
// Where the directives the TAP checks look at were given (0 = not given); dev: `dev`'s line (or
// `dev-type`'s when given).
struct tap_lines {
  unsigned dev = 0, server = 0, server_bridge = 0, ifconfig_pool = 0;
  unsigned vlan_tagging = 0, vlan_accept = 0, vlan_pvid = 0;
};
// After cfg.dev_type is known: server-bridge needs dev tap and excludes `server` and
// `ifconfig-pool`; vlan-tagging needs dev tap, vlan-accept / vlan-pvid need vlan-tagging. One error
// per finding; when there is none and the device is tap, fills cfg's derived tap_* fields.
std::vector<config_error> check_tap(const std::string& file, server_config& cfg, const tap_lines& at);

// The client role (config_client.cc, docs/client.md). The rows of the client-only directives
// (`remote`, `auth-user-pass`, ...), looked up before config.cc's table when the role is client.
// Returns false when c.directive has no client row; else parses the line into c.cfg (throws
// config_error as the other rows do).
bool parse_client_directive(ctx& c, args words);
// Why c.directive, which has a row in config.cc's table, is refused in the client role ("is a
// server option; ..."), or "" when the client role takes it.
std::string client_refusal(std::string_view name);
// Why an OpenVPN option without a row (config_known.cc) is refused in the client role.
std::string client_refused_option_detail(const openvpn_option& o);
// The client role's requirements and what it refuses, every finding reported together
// (combined_config_error); then the values derived from several lines (remote ports, keepalive).
// Called by cross_check instead of the server's requirements.
void check_client(ctx& c);

}  // namespace dpvpn::cp
