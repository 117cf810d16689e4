// SPDX-License-Identifier: MIT
// IPv4 and IPv6 address text: the forms server.conf, CCD files and script output use.
// Sans-IO; IPv4 addresses are host byte order, IPv6 addresses network order bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpvpn::cp {

using ipv6_addr = std::array<uint8_t, 16>;

// An IPv6 prefix as written: ADDR/BITS (`server-ipv6`, `ifconfig-ipv6-pool`, `iroute-ipv6`, ...).
struct ipv6_net {
  ipv6_addr addr{};
  unsigned len = 0;
  bool operator==(const ipv6_net&) const = default;
};

std::string format_ipv4(uint32_t host_order);
std::optional<uint32_t> parse_ipv4(std::string_view s) noexcept;  // dotted quad only

std::string format_ipv6(const ipv6_addr& a);  // RFC 5952 text (inet_ntop)
std::optional<ipv6_addr> parse_ipv6(std::string_view s) noexcept;
// "ADDR/BITS" (BITS 0..128); without "/BITS" when default_len is given (an address = /128).
std::optional<ipv6_net> parse_ipv6_net(std::string_view s, std::optional<unsigned> default_len = std::nullopt) noexcept;
std::string format_ipv6_net(const ipv6_net& n);

// Host bits beyond len are zero.
bool ipv6_is_network(const ipv6_addr& a, unsigned len) noexcept;
// a + n (the low 64 bits; carries stop at bit 64, enough for pools of /64 and smaller).
ipv6_addr ipv6_add(const ipv6_addr& a, uint64_t n) noexcept;
// a inside net/len.
bool ipv6_in(const ipv6_addr& a, const ipv6_net& net) noexcept;

}  // namespace dpvpn::cp
