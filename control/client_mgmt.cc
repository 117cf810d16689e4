// SPDX-License-Identifier: MIT
// client_mgmt: the client role's management interface and status file (client_mgmt.h).
#include "client_mgmt.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "log_tap.h"
#include "status_report.h"

namespace dpvpn::cp {

client_mgmt::client_mgmt(const server_config& cfg, control_log log, std::function<client_bytes()> bytes)
    : cfg_(cfg), log_(log), bytes_(std::move(bytes)) {}

bool client_mgmt::poll(uint64_t now_ms) {
  bool work = false;
  if (mgmt::server* m = link_.server()) {
    work = m->poll(now_ms);
    m->each_bytecount_due(now_ms, [&](mgmt::session& s) {
      const client_bytes b = bytes_();
      s.notify(">BYTECOUNT:" + std::to_string(b.link_read) + "," + std::to_string(b.link_write));
    });
  }
  if (!cfg_.status_path.empty() && now_ms >= next_status_ms_) {
    write_status(now_ms);
    next_status_ms_ = now_ms + uint64_t{cfg_.status_interval} * 1000;
  }
  return work;
}

// Blocking file I/O on the control thread: one small local file every `status` seconds, as the
// server's status_report writes its own.
void client_mgmt::write_status(uint64_t now_ms) {
  if (cfg_.status_path.empty()) return;
  const std::string out = format_client_status(now_ms / 1000, bytes_());
  if (!replace_file(cfg_.status_path, out)) {
    if (!status_failed_) log_(1, "status: cannot write " + cfg_.status_path);
    status_failed_ = true;
    return;
  }
  status_failed_ = false;
}

void client_mgmt::state(const std::string& name, const std::string& rest) {
  mgmt::server* m = link_.server();
  if (!m) return;
  // Eight fields after the time, as openvpn's >STATE lines have.
  std::string f = name + "," + rest;
  for (size_t commas = static_cast<size_t>(std::count(f.begin(), f.end(), ',')); commas < 7; ++commas) f += ',';
  m->state_change(static_cast<uint64_t>(std::time(nullptr)), f);
}

std::string client_mgmt::status_text(unsigned) {
  return format_client_status(static_cast<uint64_t>(std::time(nullptr)), bytes_());
}

void client_mgmt::load_bytes(uint64_t& in, uint64_t& out) {
  const client_bytes b = bytes_();
  in = b.link_read;
  out = b.link_write;
}

void client_mgmt::hold_release() {
  if (link_.release_hold()) log_(1, "MANAGEMENT: hold released: connecting");
}

unsigned client_mgmt::verb() const { return effective_verb(cfg_.verb); }

bool client_mgmt::set_verb(unsigned v) {
  log_tap().verb_override = static_cast<int>(v);
  return true;
}

long client_mgmt::pid() const { return static_cast<long>(::getpid()); }

}  // namespace dpvpn::cp
