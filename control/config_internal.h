// SPDX-License-Identifier: MIT
// Private to the config library: what the directive table (control/config.cc) shares with the
// files split out of it. Not a public header: nothing outside control/config*.cc includes it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/config.h"

namespace dpvpn::cp {

// `got "..."` text for an error: printable, escaped, cut at 60 characters (config_syntax.cc).
std::string shown(std::string_view s);

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

}  // namespace dpvpn::cp
