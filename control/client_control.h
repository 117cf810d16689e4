// SPDX-License-Identifier: MIT
// client_control: the control thread of dpvpn in the client role (docs/client.md). app/main.cc
// runs it instead of gateway_control when the config says `client`. One OpenVPN session to one
// server at a time, through the same dataplane as the server role: the WAN next hop resolved with
// ARP (wan_neighbor), control frames out through a worker's ctl_tx ring and in from the punt
// rings, the server installed as the one dp_peer once its PUSH_REPLY is in (the peer-id it pushed
// goes into DATA_V2), everything the kernel routes into the exception port sent to it.
// Connection life: resolve -> handshake -> connected (pushed ifconfig / routes applied to the
// exception port, `up` run) -> ping-restart, RESTART, a failure or SIGUSR1/SIGHUP -> torn down,
// the next `remote` after connect-retry; SIGTERM/SIGINT -> EXIT to the server (explicit-exit-
// notify, when it speaks cc-exit), then the workers stop. Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client.h"
#include "client_mgmt.h"
#include "client_peer.h"
#include "client_push.h"
#include "client_remotes.h"
#include "dp_installer.h"
#include "dpvpn/auth_scripts.h"
#include "dpvpn/config.h"
#include "dpvpn/dp_state.h"
#include "dpvpn/session.h"
#include "setup.h"
#include "wan_neighbor.h"

namespace dpvpn::cp {

// The exception port's kernel side, given by app/main.cc (netlink lives in kni/): apply a
// connection's pushed addresses and routes (false + err: the connection is dropped and retried),
// and remove them again when it ends.
struct tunnel_ops {
  std::function<bool(const tunnel_settings&, std::string& err)> apply;
  std::function<void(const tunnel_settings&)> remove;
};

class client_control {
 public:
  // ifname: the exception port's kernel name (pushed addresses and routes go there).
  client_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd, std::string ifname,
                 tunnel_ops ops);
  ~client_control();
  void run();  // until SIGTERM/SIGINT (or AUTH_FAILED) has been handled; then sh.stop is set
  void print_counters(const char* why) const;
  // `management` (client_mgmt.h): listens before the workers start; false with err.
  bool open_management(std::string& err) { return mgmt_.open(err); }
  const std::string& stop_signal() const { return stop_signal_; }
  // More work for the loop, set before run(): called each pass (true when it did something); the
  // LAN port's neighbor resolver with dp-lan (site to site).
  void add_poll(std::function<bool(uint64_t)> fn) { polls_.push_back(std::move(fn)); }

 private:
  enum class phase : uint8_t { idle, resolving, handshake, connected, stopping };
  bool step(uint64_t now_ms);  // one pass; true when something came in
  void poll_signals(uint64_t now_ms);
  void on_frame(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms);
  void begin_attempt(uint64_t now_ms);
  void start_session(uint64_t now_ms);
  void drain(uint64_t now_ms);
  void on_event(const proto::session_event& ev, uint64_t now_ms);
  void on_established(uint64_t now_ms);
  void follow_float();
  void apply_tunnel(uint64_t now_ms);
  void remove_tunnel(uint64_t now_ms);
  void run_script(const char* type, uint64_t now_ms);
  // Ends the connection; the next attempt (the next remote when next_remote) after delay_ms.
  void disconnect(const std::string& why, uint64_t now_ms, uint64_t delay_ms, bool next_remote);
  void housekeeping(uint64_t now_ms);
  client_bytes bytes() const;  // the connection's counts, for management and the status file
  void log(int level, const std::string& msg) const { log_(level, msg); }

  server_config cfg_;
  control_setup setup_;
  dp_installer dp_;
  control_log log_;
  int signal_fd_;
  std::string ifname_;
  tunnel_ops ops_;
  wan_neighbor nb_;
  script_runner scripts_;

  phase phase_ = phase::idle;
  client conn_;             // the server as a dp_installer peer: addr, mac, owner, peer_id, session
  remote_list remotes_;     // which remote next, connect-retry's wait, connect-retry-max
  client_peer peer_;        // the server as the dataplane's peer: index, table entry, keys, routes
  uint64_t attempt_ms_ = 0, retry_at_ms_ = 0, next_housekeeping_ms_ = 0, stop_at_ms_ = 0;
  tunnel_settings tun_;
  bool tun_applied_ = false;
  unsigned ping_restart_s_ = 0;
  std::string stop_signal_;
  uint64_t connects_ = 0, disconnects_ = 0;
  std::vector<std::function<bool(uint64_t)>> polls_;
  client_mgmt mgmt_;  // management interface and status file
};

}  // namespace dpvpn::cp
