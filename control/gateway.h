// SPDX-License-Identifier: MIT
// gateway_control: the gateway's control thread, private to control/ (app/main.cc builds and runs
// it). It runs the loop (docs/control.md): punted frames, first contact (server_front's
// stateless cookies, connect-freq-initial), each client's session (events, key install on the
// owner lcore by message, teardown), signals, housekeeping (liveness, floats, session-timeout,
// inactive, the CRL file), and ties the parts together:
//   client_table   clients, peer-ids, max-clients, half-open caps, session timers
//   dp_installer   every rte_* call: ctl_tx frames, cmd/done/punt rings, owner array, tables
//   addressing     pools, CCD, push list, iroutes, common names, connect-freq, pool-persist
//   auth_pipeline  the auth stages, auth-gen-token, client-disconnect
//   script_queue   the script runner and the learn-address queue
//   status_report  the status file and the counters print
//   front_door     server_front's stateless cookies, connect-freq-initial, their drop counts
//   mgmt_link      the management server, the hold, n_clients, pending-auth bookkeeping
// It sleeps when idle. Control thread only; it never touches a worker's queues.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "addressing.h"
#include "auth_pipeline.h"
#include "client.h"
#include "client_table.h"
#include "dp_installer.h"
#include "front_door.h"
#include "mgmt_link.h"
#include "mgmt_server.h"
#include "dpvpn/auth_token.h"
#include "dpvpn/config.h"
#include "dpvpn/dp_state.h"
#include "dpvpn/log_limit.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"
#include "script_queue.h"
#include "setup.h"
#include "status_report.h"

namespace dpvpn::cp {

class gateway_control final : private client_ops, private mgmt::target {
 public:
  gateway_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd);
  ~gateway_control();
  // Runs until a stop signal has been handled: clients are told (RESTART with exit-notify),
  // then sh.stop is set so that the workers return.
  void run();
  // One pass of run()'s loop at now_ms (the wall clock in ms), without waiting: run() is this
  // plus a sleep when nothing came in. stopped: the stop was handled and the workers were told.
  // The gateway_lifecycle fuzz target drives the loop this way on a simulated clock.
  struct pass {
    bool work = false;     // something came in (frames, services, management)
    bool stopped = false;  // run() returns
    uint64_t wake_ms = 0;  // the loop need not run again before this (or a signal)
  };
  pass step(uint64_t now_ms);
  // What a client's life allocates, for the fuzz target's end-of-input checks: peer-ids free and
  // VPN addresses in use.
  size_t free_peer_ids() const { return table_.free_peer_ids(); }
  uint32_t pool_in_use() const { return addr_.pool().in_use(); }
  void print_counters(const char* why) const;
  const std::string& stop_signal() const { return stop_signal_; }  // "sigterm" / "sigint" (down's env)
  // More work for the control thread's loop, set before run(): poll(now_ms) each iteration (true
  // when it did something), and a line for print_counters. The LAN neighbor resolver uses it.
  struct service {
    std::function<bool(uint64_t)> poll;
    std::function<std::string()> counters;
  };
  void add_service(service s) { services_.push_back(std::move(s)); }
  // SIGHUP: how to read the config again (the same command line); without it only the CRL is
  // re-read. Throws config_error.
  void set_reread(std::function<server_config()> fn) { reread_ = std::move(fn); }
  // `management`: opens its socket (before run()); false with err when it cannot listen.
  bool open_management(std::string& err);
  // For the metrics snapshot (control/metrics.h), control thread only: the clients, and the
  // sessions that were established / that ended before they were.
  const client_table::map& clients() const { return table_.all(); }
  uint64_t handshakes_completed() const { return handshakes_completed_; }
  uint64_t handshakes_failed() const { return handshakes_failed_; }

 private:
  // gateway.cc: the loop's inputs
  void poll_signals(uint64_t now_ms);
  void on_frame(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms);
  client* first_contact(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms, client* old);
  void log(int level, const std::string& msg) const;
  // gateway_clients.cc: a client's life
  client* create_client(const net::outer_addr& addr, const net::mac& mac, uint16_t owner, uint64_t now_ms);
  void drain(client& c, uint64_t now_ms) override;  // events first, then packets; reschedule
  void on_event(client& c, const proto::session_event& ev, uint64_t now_ms);
  void install_key(client& c, const proto::session_event& ev);
  void teardown(client& c, const std::string& why) override;
  void notify_exit(client& c, uint64_t now_ms);
  void run_due_timers(uint64_t now_ms);  // tick and drain the due sessions
  void housekeeping(uint64_t now_ms);    // every 500 ms
  void report_suppressed(uint64_t now_ms);
  void follow_floats();
  void check_crl();
  bool inactive_expired(client& c, uint64_t now_ms);  // `inactive` timer (gateway_scripts.cc)
  // gateway_reload.cc: SIGHUP (control/reload.h)
  void reload(uint64_t now_ms);
  void apply_reload(const server_config& neu);
  // gateway_mgmt.cc: the management interface's side of the gateway (mgmt::target) and the
  // >CLIENT notifications.
  void mgmt_auth_request(client& c, bool reauth, uint64_t now_ms) override;
  void mgmt_established(client& c, uint64_t now_ms);
  void mgmt_disconnected(client& c, uint64_t now_ms);
  bool mgmt_poll(uint64_t now_ms);  // the sockets, bytecount, pending-auth timeouts
  std::vector<std::pair<std::string, std::string>> mgmt_env(const client& c, const char* script_type, uint64_t now_ms) const;
  std::string status_text(unsigned version) override;
  unsigned n_clients() override;
  void load_bytes(uint64_t& in, uint64_t& out) override;
  int kill_cn(const std::string& cn) override;
  int kill_addr(const std::string& ip, uint16_t port) override;
  bool kill_cid(uint64_t cid, const std::string& msg) override;
  bool client_auth(uint64_t cid, unsigned kid, bool ok, const std::string& reason, const std::string& client_reason,
                   const std::vector<std::string>& config) override;
  bool client_pending_auth(uint64_t cid, unsigned kid, const std::string& extra, unsigned timeout_s) override;
  bool signal(const std::string& name) override;
  void hold_release() override;
  bool hold() const override { return mgmt_.hold_flag(); }
  void set_hold(bool on) override { mgmt_.set_hold_flag(on); }
  unsigned verb() const override;
  bool set_verb(unsigned v) override;
  std::string version_line() const override;
  long pid() const override;

  server_config cfg_;
  control_setup setup_;
  dp_installer dp_;
  int signal_fd_;
  front_door front_;  // first contact: cookies, connect-freq-initial
  // The parts (each header says what it owns); declared in the order they are built.
  client_table table_;
  status_report status_;
  addressing addr_;
  script_queue scripts_;
  auth_pipeline auth_;
  std::vector<service> services_;
  mgmt_link mgmt_;  // `management`: the server, the hold, n_clients, pending auths
  std::function<server_config()> reread_;  // SIGHUP's config source (set_reread)
  uint64_t next_housekeeping_ms_ = 0;
  bool stopping_ = false;
  std::string stop_signal_;
  uint64_t stop_at_ms_ = 0;
  // Log lines a peer can trigger at will: a client's control messages. Housekeeping reports what
  // it held back.
  log_limit ctl_msg_log_{20, 10};
  int64_t crl_mtime_ns_ = 0;  // crl-verify file: re-read when it changes (no restart needed)
  uint64_t handshakes_completed_ = 0, handshakes_failed_ = 0;  // gateway_clients.cc: established, teardown
};

// up / down (openvpn's run_up_down), synchronous: dpvpn runs them before the control thread
// starts and after it has stopped, when no client is served. signal: what stopped dpvpn ("sigterm"),
// empty for up. Returns false with err when the script cannot run, fails or takes over
// `timeout_s` (0: no limit, as in openvpn).
bool run_updown(const server_config& cfg, const std::string& ifname, const char* script_type, const std::string& signal,
                unsigned timeout_s, std::string& err);

}  // namespace dpvpn::cp
