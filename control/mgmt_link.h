// SPDX-License-Identifier: MIT
// mgmt_link: the gateway's management-interface state (docs/operations.md). Owns the
// mgmt::server (null without `management`), the hold (management-hold and `hold on|off`, and
// whether new clients wait for `hold release`), openvpn's n_clients (established and not torn
// down, kept as a count so that each >CLIENT notification is O(1)) and the client-pending-auth
// bookkeeping (an upper bound of the open waits, when their deadlines are next checked).
// Called by gateway_control: gateway_mgmt.cc (the commands' effects, the >CLIENT notifications,
// the pending-auth deadlines), gateway.cc (first contact waits while holding; the start-up
// state) and gateway_clients.cc (n_clients). Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dpvpn/config.h"
#include "mgmt_server.h"

namespace dpvpn::cp {

// `signal NAME` from either role: raised at this process, so it takes the signal's own path (the
// control thread's signalfd). False for a name it does not know.
bool raise_signal(const std::string& name);
// `version`'s first line; tools read the version from the word after "OpenVPN" (openvpn-monitor):
// the protocol level.
std::string dpvpn_version_line();

class mgmt_link {
 public:
  // `management`: listens for target's commands, with management-hold applied and the log tapped
  // for the interface's history. True without `management`; false with err when it cannot listen.
  bool open(const server_config& cfg, mgmt::target& target, std::string& err);
  mgmt::server* server() const noexcept { return server_.get(); }  // null without `management`

  bool holding() const noexcept { return holding_; }  // no new client until `hold release`
  bool hold_flag() const noexcept { return hold_flag_; }
  void set_hold_flag(bool on) noexcept { hold_flag_ = on; }
  // `hold release`: true when it was holding (clients are accepted from now on).
  bool release_hold();

  void client_established() noexcept { ++n_clients_; }
  void client_gone() noexcept { --n_clients_; }
  uint32_t n_clients() const noexcept { return n_clients_; }

  // client-pending-auth started a wait.
  void pending_started() noexcept { ++pending_auths_; }
  // True when the waits' deadlines are to be walked now: at most every 500 ms, only while some
  // wait. The walk then reports how many still wait (pending_left).
  bool pending_check_due(uint64_t now_ms) noexcept;
  void pending_left(uint32_t n) noexcept { pending_auths_ = n; }

 private:
  std::unique_ptr<mgmt::server> server_;
  bool hold_flag_ = false;              // management-hold, `hold on|off`
  bool holding_ = false;                // no new client until `hold release`
  uint32_t n_clients_ = 0;              // established and not torn down: openvpn's n_clients
  uint32_t pending_auths_ = 0;          // client-pending-auth waits (an upper bound)
  uint64_t next_pending_check_ms_ = 0;
};

}  // namespace dpvpn::cp
