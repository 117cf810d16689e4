// SPDX-License-Identifier: MIT
// status_report: what the gateway tells its operator. The `status FILE [SECONDS]` file (openvpn's
// client list, status-version 1, 2 or 3), written every SECONDS and at exit; the counters print
// (per-lcore dataplane counters, drops by reason, the control thread's own counts, the services'
// lines) on SIGUSR1/SIGUSR2, every dp-stats-interval at verb >= 4, and at exit. The formatting
// is pure (format_status, format_counters: unit-tested); a management interface will read the
// same entries and counters. State: the schedules and whether the last write failed.
// Called by gateway_control's loop. Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client_table.h"
#include "dpvpn/config.h"
#include "dpvpn/dp_state.h"

namespace dpvpn::cp {

// One accepted client as the status file lists it.
struct status_entry {
  std::string cn;        // common name; "UNDEF" when none
  std::string real;      // outer address, "ip:port" / "[ip6]:port"
  std::string username;  // "UNDEF" when none
  std::string cipher;
  uint32_t vpn_ip = 0;   // 0: none
  std::optional<ipv6_addr> vpn_ip6;
  uint32_t peer_id = 0;
  uint64_t cid = 0;          // the management interface's client-id
  uint64_t rx = 0, tx = 0;   // inner bytes the dataplane counted
  uint64_t since_s = 0;      // accepted (wall clock)
  uint64_t last_s = 0;       // last packet in, data or control
};
// A status file's new text: written to PATH.tmp, then renamed over PATH (a reader never sees half
// a file). False when either step failed (the .tmp is removed).
bool replace_file(const std::string& path, const std::string& text);
// openvpn 2.6's time format in status files ("2026-12-05 01:02:03", local time).
std::string status_time_text(uint64_t t);
// The status file's text for `version` (1, 2 or 3: 3 is 2 with tabs), local time.
std::string format_status(unsigned version, uint64_t now_s, const std::vector<status_entry>& list);
// The entries of the accepted clients in the dataplane, in table order.
std::vector<status_entry> status_entries(const client_table::map& clients);

// The client role (client_mgmt.h): the connection's byte counts as openvpn's client counts them
// (inner bytes read from and written to the tunnel device, UDP payload bytes on the link), and the
// status file's and `status`'s text for them (openvpn's "OpenVPN STATISTICS"), local time.
struct client_bytes {
  uint64_t tun_read = 0, tun_write = 0, link_read = 0, link_write = 0;
};
std::string format_client_status(uint64_t now_s, const client_bytes& b);

// The control thread's counts for the counters print.
struct control_counters {
  size_t clients = 0;
  uint64_t front_dropped = 0, refused = 0, connect_freq_refused = 0, first_reply_dropped = 0, ctl_tx_dropped = 0,
           log_held_back = 0, half_open_refused = 0;
  std::vector<std::string> services;  // one line per service (gateway_control::add_service)
};
// "counters (WHY):" and its lines: each worker's counters (and its LAN counters with dp-lan),
// the drops summed over the workers by reason, then the control thread's counts.
std::string format_counters(const char* why, const dp::dp_shared& sh, const control_counters& cc);

class status_report {
 public:
  status_report(const server_config& cfg, control_log log) : cfg_(cfg), log_(log) {}
  // The status file when its interval is due; write() at exit.
  void poll(uint64_t now_ms, const client_table::map& clients);
  void write(uint64_t now_ms, const client_table::map& clients);
  // True when the periodic counters print is due (verb >= 4 and dp-stats-interval; not at start).
  bool counters_due(uint64_t now_ms);

 private:
  const server_config& cfg_;
  control_log log_;
  uint64_t next_status_ms_ = 0, next_stats_ms_ = 0;
  bool status_failed_ = false;  // logged once until a write succeeds again
};

}  // namespace dpvpn::cp
