// SPDX-License-Identifier: MIT
// Per-client options (CCD files, client-connect output): parser, merge, push-list edits.
#include "dpvpn/client_options.h"

#include "dpvpn/config.h"

namespace dpvpn::cp {

namespace {

// A contiguous netmask's prefix length, or none.
std::optional<uint8_t> mask_len(uint32_t m) {
  const uint32_t inv = ~m;
  if ((inv & (inv + 1)) != 0) return std::nullopt;  // ones must be leading
  uint8_t n = 0;
  while (n < 32 && (m & (0x80000000u >> n))) ++n;
  return n;
}

void clear_host_bits(ipv6_addr& a, unsigned len) {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = len > i * 8 ? std::min(8u, len - i * 8) : 0;
    a[i] &= static_cast<uint8_t>(bits == 0 ? 0 : 0xFF << (8 - bits));
  }
}

// A decimal count of seconds up to a year (server.conf's limit for timers).
std::optional<unsigned> parse_seconds(const std::string& s) {
  constexpr unsigned k_max = 365u * 24 * 3600;
  if (s.empty() || s.size() > 9) return std::nullopt;
  unsigned v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(ch - '0');
  }
  if (v > k_max) return std::nullopt;
  return v;
}

// One directive into o; returns an error text or "".
std::string parse_line(const std::vector<std::string>& w, client_connect_options& o) {
  const std::string& d = w[0];
  const size_t n = w.size() - 1;
  auto arity = [&](size_t lo, size_t hi) { return n >= lo && n <= hi; };
  if (d == "disable") {
    if (!arity(0, 0)) return "disable: expected no arguments";
    o.disable = true;
  } else if (d == "push-reset") {
    if (!arity(0, 0)) return "push-reset: expected no arguments";
    o.push_ops.push_back({push_op::kind::reset, {}});
  } else if (d == "push") {
    if (!arity(1, 1) || w[1].empty()) return "push: expected one quoted option";
    o.push_ops.push_back({push_op::kind::add, w[1]});
  } else if (d == "push-remove") {
    if (!arity(1, 1) || w[1].empty()) return "push-remove: expected one option name";
    if (w[1] == "ifconfig") o.remove_ifconfig = true;
    else if (w[1] == "ifconfig-ipv6") o.remove_ifconfig_ipv6 = true;
    else o.push_ops.push_back({push_op::kind::remove, w[1]});
  } else if (d == "ifconfig-push") {  // a 4th word is the pool alias: accepted, unused
    if (!arity(2, 3)) return "ifconfig-push: expected ADDRESS NETMASK|REMOTE";
    auto a = parse_ipv4(w[1]), b = parse_ipv4(w[2]);
    if (!a || !b || !*a || !*b) return "ifconfig-push: expected two IPv4 addresses";
    o.ifconfig_push = std::make_pair(*a, *b);
  } else if (d == "ifconfig-ipv6-push") {
    if (!arity(1, 2)) return "ifconfig-ipv6-push: expected ADDRESS/BITS [REMOTE]";
    auto a = parse_ipv6_net(w[1], 128);
    if (!a) return "ifconfig-ipv6-push: expected an IPv6 address/bits, got '" + w[1] + "'";
    std::optional<ipv6_addr> r;
    if (n == 2 && !(r = parse_ipv6(w[2]))) return "ifconfig-ipv6-push: expected an IPv6 remote, got '" + w[2] + "'";
    o.ifconfig_ipv6_push = *a;
    o.ifconfig_ipv6_remote = r;
  } else if (d == "iroute") {
    if (!arity(1, 2)) return "iroute: expected NETWORK [NETMASK]";
    auto net = parse_ipv4(w[1]);
    auto mask = n == 2 ? parse_ipv4(w[2]) : std::optional<uint32_t>(0xFFFFFFFFu);
    std::optional<uint8_t> len = mask ? mask_len(*mask) : std::nullopt;
    if (!net || !len) return "iroute: expected an IPv4 network and netmask, got '" + w[1] + (n == 2 ? " " + w[2] : "") + "'";
    // OpenVPN masks the host bits off when it learns the route; so do we.
    o.iroutes.push_back({*net & *mask, *len});
  } else if (d == "iroute-ipv6") {
    if (!arity(1, 1)) return "iroute-ipv6: expected NETWORK/BITS";
    auto net = parse_ipv6_net(w[1], 128);
    if (!net) return "iroute-ipv6: expected an IPv6 network/bits, got '" + w[1] + "'";
    clear_host_bits(net->addr, net->len);
    o.iroutes_v6.push_back(*net);
  } else if (d == "session-timeout") {  // openvpn allows its timer options (OPT_P_TIMER) here
    if (!arity(1, 1)) return "session-timeout: expected SECONDS";
    auto v = parse_seconds(w[1]);
    if (!v) return "session-timeout: expected a number of seconds (0..1 year), got '" + w[1] + "'";
    o.session_timeout = *v;
  } else {
    o.ignored.push_back(d);
  }
  return {};
}

}  // namespace

client_connect_options parse_client_connect(std::string_view text) {
  client_connect_options o;
  unsigned line_no = 0;
  std::vector<std::string> w;
  while (!text.empty() && o.error.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    w.clear();
    std::string err = split_config_words(line, w);
    if (err.empty() && !w.empty()) err = parse_line(w, o);
    if (!err.empty()) o.error = "line " + std::to_string(line_no) + ": " + err;
  }
  return o;
}

void merge_client_options(client_connect_options& into, client_connect_options&& later) {
  into.disable = into.disable || later.disable;
  if (later.ifconfig_push) into.ifconfig_push = later.ifconfig_push;
  if (later.ifconfig_ipv6_push) {
    into.ifconfig_ipv6_push = later.ifconfig_ipv6_push;
    into.ifconfig_ipv6_remote = later.ifconfig_ipv6_remote;
  }
  into.iroutes.insert(into.iroutes.end(), later.iroutes.begin(), later.iroutes.end());
  into.iroutes_v6.insert(into.iroutes_v6.end(), later.iroutes_v6.begin(), later.iroutes_v6.end());
  for (push_op& op : later.push_ops) into.push_ops.push_back(std::move(op));
  into.remove_ifconfig = into.remove_ifconfig || later.remove_ifconfig;
  into.remove_ifconfig_ipv6 = into.remove_ifconfig_ipv6 || later.remove_ifconfig_ipv6;
  if (later.session_timeout) into.session_timeout = later.session_timeout;
  for (std::string& s : later.ignored) into.ignored.push_back(std::move(s));
  if (into.error.empty()) into.error = std::move(later.error);
}

void apply_push_ops(std::vector<std::string>& list, size_t fixed, const std::vector<push_op>& ops) {
  fixed = std::min(fixed, list.size());
  for (const push_op& op : ops) {
    switch (op.k) {
      case push_op::kind::add: list.push_back(op.text); break;
      case push_op::kind::reset: list.resize(fixed); break;
      case push_op::kind::remove:
        for (size_t i = 0; i < list.size();) {
          if (!list[i].starts_with(op.text)) {
            ++i;
            continue;
          }
          list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
          if (i < fixed) --fixed;
        }
        break;
    }
  }
}

std::optional<std::string> ccd_file_name(std::string_view cn) {
  std::string out(cn);
  for (char& ch : out)
    if (ch < 0x20 || ch > 0x7E || ch == '/') ch = '_';
  if (out.empty() || out == "." || out == "..") return std::nullopt;
  return out;
}

}  // namespace dpvpn::cp
