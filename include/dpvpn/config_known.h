// SPDX-License-Identifier: MIT
// The OpenVPN 2.6 options that server.conf's parser has no row for, and why (docs/directives.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dpvpn/config.h"

namespace dpvpn::cp {

// How dpvpn treats an OpenVPN option that k_directives (control/config.cc) does not parse.
enum class option_class : uint8_t {
  ignored,      // harmless here: accepted without looking at its arguments
  ccd_only,     // valid in a client-config-dir file or client-connect output, not in server.conf
  not_yet,      // a server option dpvpn does not implement yet
  not_planned,  // removed from OpenVPN, platform-specific, a debug switch or a standalone command
  client_only,  // meaningless on a server
};

struct openvpn_option {
  std::string_view name;
  option_class kind;
  std::string_view why;  // one line, shown in the error; "push it" for options a server pushes
};

// Every row, in docs/directives.md's order.
std::span<const openvpn_option> openvpn_options() noexcept;
// The row for `name`, or nullptr: then it is either parsed by k_directives or no OpenVPN 2.6 option.
const openvpn_option* find_openvpn_option(std::string_view name) noexcept;
// The config_error detail for a refused option (not for `ignored`):
// "not supported by dpvpn yet: WHY (docs/directives.md)", "is a client option; ...", ...
std::string refused_option_detail(const openvpn_option& o);
// One error for every bad line of a file, so that an operator migrating a config sees the whole
// list in one run: `errs[0]` itself when there is one, else "FILE: config: N lines ..." followed by
// one "LINE: DIRECTIVE: detail" line each (the first 30).
config_error combined_config_error(const std::string& file, std::span<const config_error> errs);
// Levenshtein distance, cut off at `limit` (returns limit when it is reached): for spelling hints.
unsigned edit_distance(std::string_view a, std::string_view b, unsigned limit) noexcept;

}  // namespace dpvpn::cp
