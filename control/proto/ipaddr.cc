// SPDX-License-Identifier: MIT
// IPv4 and IPv6 address text (see ipaddr.h).
#include "dpvpn/ipaddr.h"

#include <arpa/inet.h>

#include <cstdio>

namespace dpvpn::cp {

std::string format_ipv4(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF);
  return buf;
}

std::optional<uint32_t> parse_ipv4(std::string_view s) noexcept {
  uint32_t out = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    // No leading zeros: inet_aton would read "010" as octal.
    if (digits == 0 || digits > 3 || (digits > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (size_t i = 0; i < digits; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
    if (v > 255) return std::nullopt;
    out = (out << 8) | v;
    s.remove_prefix(digits);
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

std::string format_ipv6(const ipv6_addr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, a.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

std::optional<ipv6_addr> parse_ipv6(std::string_view s) noexcept {
  char buf[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof buf) return std::nullopt;
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  ipv6_addr a{};
  if (inet_pton(AF_INET6, buf, a.data()) != 1) return std::nullopt;
  return a;
}

std::optional<ipv6_net> parse_ipv6_net(std::string_view s, std::optional<unsigned> default_len) noexcept {
  ipv6_net n;
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    if (!default_len) return std::nullopt;
    n.len = *default_len;
  } else {
    std::string_view bits = s.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || (bits.size() > 1 && bits[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (char ch : bits) {
      if (ch < '0' || ch > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(ch - '0');
    }
    if (v > 128) return std::nullopt;
    n.len = v;
    s = s.substr(0, slash);
  }
  auto a = parse_ipv6(s);
  if (!a) return std::nullopt;
  n.addr = *a;
  return n;
}

std::string format_ipv6_net(const ipv6_net& n) { return format_ipv6(n.addr) + "/" + std::to_string(n.len); }

bool ipv6_is_network(const ipv6_addr& a, unsigned len) noexcept {
  for (unsigned bit = len; bit < 128; ++bit)
    if (a[bit / 8] & (0x80u >> (bit % 8))) return false;
  return true;
}

ipv6_addr ipv6_add(const ipv6_addr& a, uint64_t n) noexcept {
  ipv6_addr out = a;
  unsigned carry = 0;
  for (int i = 15; i >= 8; --i) {
    const unsigned v = out[static_cast<size_t>(i)] + static_cast<unsigned>(n & 0xFF) + carry;
    out[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    carry = v >> 8;
    n >>= 8;
  }
  return out;
}

bool ipv6_in(const ipv6_addr& a, const ipv6_net& net) noexcept {
  for (unsigned bit = 0; bit < net.len && bit < 128; ++bit) {
    const uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((a[bit / 8] & m) != (net.addr[bit / 8] & m)) return false;
  }
  return true;
}

}  // namespace dpvpn::cp
