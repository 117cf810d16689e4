// SPDX-License-Identifier: MIT
// log_tap: the control thread's log lines as the management interface sees them (`log on`,
// `log N`), and `verb N` from management. The control thread sets and calls them; nobody else.
#pragma once

#include <functional>
#include <string>

namespace dpvpn::cp {

struct log_tap_state {
  std::function<void(const std::string&)> tap;  // set while a management interface runs
  int verb_override = -1;                       // `verb N` from management; -1 = the config's
};
inline log_tap_state& log_tap() {
  static log_tap_state s;
  return s;
}
// The verb a line is held against: management's `verb N` wins over the config's.
inline unsigned effective_verb(unsigned configured) {
  return log_tap().verb_override >= 0 ? static_cast<unsigned>(log_tap().verb_override) : configured;
}

}  // namespace dpvpn::cp
