// SPDX-License-Identifier: MIT
// mgmt_link: the management server, the hold, n_clients and the pending-auth bookkeeping.
#include "mgmt_link.h"

#include <unistd.h>

#include <csignal>
#include <ctime>

#include "log_tap.h"

namespace dpvpn::cp {

bool raise_signal(const std::string& name) {
  const int sig = name == "SIGHUP"    ? SIGHUP
                  : name == "SIGTERM" ? SIGTERM
                  : name == "SIGINT"  ? SIGINT
                  : name == "SIGUSR1" ? SIGUSR1
                  : name == "SIGUSR2" ? SIGUSR2
                                      : 0;
  return sig != 0 && ::kill(::getpid(), sig) == 0;
}

std::string dpvpn_version_line() {
  return "OpenVPN Version: OpenVPN 2.6.0 x86_64-pc-linux-gnu [dpvpn: the OpenVPN 2.6 protocol on DPDK] [SSL (OpenSSL)] [AEAD]";
}

bool mgmt_link::open(const server_config& cfg, mgmt::target& target, std::string& err) {
  if (!cfg.management) return true;
  hold_flag_ = holding_ = cfg.management_hold;
  server_ = std::make_unique<mgmt::server>(cfg, target);
  if (!server_->open(err)) {
    server_.reset();
    return false;
  }
  mgmt::server* s = server_.get();
  log_tap().tap = [s](const std::string& msg) { s->log_line(static_cast<uint64_t>(std::time(nullptr)), 'I', msg); };
  if (holding_) server_->set_special(">HOLD:Waiting for hold release:0");
  return true;
}

bool mgmt_link::release_hold() {
  if (!holding_) return false;
  holding_ = false;
  server_->set_special("");
  return true;
}

bool mgmt_link::pending_check_due(uint64_t now_ms) noexcept {
  if (!pending_auths_ || now_ms < next_pending_check_ms_) return false;
  next_pending_check_ms_ = now_ms + 500;
  return true;
}

}  // namespace dpvpn::cp
