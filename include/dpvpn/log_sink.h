// SPDX-License-Identifier: MIT
// The process's log: where the control thread's lines, the start-up and exit messages and DPDK's
// own log lines go. stdout/stderr by default (`log` / `log-append` point both at a file), or
// syslog with `syslog [NAME]`, as openvpn's msg() does. Any thread; one line at a time.
#pragma once

#include <string>
#include <string_view>

namespace dpvpn::cp {

// syslog severities (RFC 5424 §6.2.1), openvpn's choice per message: errors, warnings, the rest.
enum class log_prio : int { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

struct log_settings {
  bool syslog = false;          // `syslog [NAME]`: records to socket_path instead of stdout
  std::string ident = "dpvpn";  // NAME: each record's tag, NAME[PID]
  std::string socket_path = "/dev/log";
  bool timestamps = true;       // stdout only (`suppress-timestamps` turns them off)
};

// Before the control thread and the workers start (main thread); replaces the previous settings.
void log_configure(const log_settings& s);

// A control-thread event: "YYYY-mm-dd HH:MM:SS MSG" on stdout (MSG alone without timestamps), or
// one record at notice.
void log_event(std::string_view msg);

// A message of the program itself: "dpvpn: MSG" on stderr for err and warning, on stdout for the
// rest; or one record at prio.
void log_program(log_prio prio, std::string_view msg);

// Lines that go out as they are (the counters block, DPDK's log): on stdout (or stderr for err and
// warning) unchanged, or one record per line at prio. Empty lines are dropped in syslog.
void log_text(log_prio prio, std::string_view text);

// The record format written to the syslog socket (RFC 3164, as glibc's syslog(3) writes it):
// "<PRI>Mmm dd HH:MM:SS NAME[PID]: MSG", facility daemon. For tests.
std::string syslog_record(log_prio prio, std::string_view ident, long pid, long now_s, std::string_view msg);

}  // namespace dpvpn::cp
