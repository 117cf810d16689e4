// SPDX-License-Identifier: MIT
// reload: what a SIGHUP (or `signal SIGHUP` from management) may change in a running gateway
// (docs/operations.md, "Reload"). openvpn restarts every client on SIGHUP; dpvpn re-reads the
// config, applies the directives that can change under connected clients, and refuses the others
// with a line naming each. Pure: the gateway applies the plan (gateway_reload.cc).
#pragma once

#include <string>
#include <vector>

#include "dpvpn/config.h"

namespace dpvpn::cp {

struct reload_plan {
  std::vector<std::string> applied;  // directive names whose lines changed and change live
  std::vector<std::string> refused;  // names whose lines changed and need a restart
};
// The directives whose lines (server_config::directives, compared by name, in order) differ.
reload_plan plan_reload(const server_config& running, const server_config& reread);
// True for the directives a reload applies.
bool reloads_live(const std::string& name);

}  // namespace dpvpn::cp
