// SPDX-License-Identifier: MIT
// The gateway's control thread: runs the OpenVPN control channel for every client (sessions,
// stateless cookies, pools, push), installs keys on the owner lcore by message, watches liveness,
// prints counters, and turns SIGTERM/SIGINT/SIGHUP/SIGUSR1 into actions. It sleeps when idle.
// Control thread only; it never touches a worker's queues (frames go out through ctl_tx rings).
#pragma once

#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dpvpn/auth_scripts.h"
#include "dpvpn/auth_token.h"
#include "dpvpn/client_options.h"
#include "dpvpn/config.h"
#include "dpvpn/dp_state.h"
#include "dpvpn/first_reply_limit.h"
#include "dpvpn/log_limit.h"
#include "dpvpn/pools.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"
#include "addressing.h"
#include "client_table.h"
#include "dp_installer.h"
#include "script_queue.h"
#include "status_report.h"

namespace dpvpn::cp {

// Everything derived from server.conf that sessions need; built once at start-up.
struct control_setup {
  proto::session_config session;  // template: per-client fields (peer_id) are filled in
  proto::data_key_params data;    // backend, replay window
  uint32_t pool_first = 0, pool_last = 0;  // client VPN addresses, host order (inclusive)
  uint32_t server_vpn_ip = 0;
  uint32_t netmask = 0;
  std::vector<std::string> push;   // global push options, in order
  proto::auth_token_key auth_token_key;  // auth-gen-token: from auth-gen-token-secret, else random
  uint32_t auth_token_renewal_s = 0;     // auth-gen-token's RENEWAL, else reneg-sec
};
// Throws config_error for a key file that does not parse.
control_setup make_control_setup(const server_config& cfg, proto::tls_context* tls);

struct client;

class gateway_control {
 public:
  gateway_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd);
  ~gateway_control();
  // Runs until a stop signal has been handled: clients are told (RESTART with exit-notify),
  // then sh.stop is set so that the workers return.
  void run();
  void print_counters(const char* why) const;
  const std::string& stop_signal() const { return stop_signal_; }  // "sigterm" / "sigint" (down's env)
  // More work for the control thread's loop, set before run(): poll(now_ms) each iteration (true
  // when it did something), and a line for print_counters. The LAN neighbor resolver uses it.
  struct service {
    std::function<bool(uint64_t)> poll;
    std::function<std::string()> counters;
  };
  void add_service(service s) { services_.push_back(std::move(s)); }

 private:
  // gateway.cc
  void poll_signals(uint64_t now_ms);
  void on_frame(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms);
  client* first_contact(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms, client* old);
  // gateway_clients.cc
  client* create_client(const net::outer_addr& addr, const net::mac& mac, uint16_t owner, uint64_t now_ms);
  void drain(client& c, uint64_t now_ms);
  void on_event(client& c, const proto::session_event& ev, uint64_t now_ms);
  void install_key(client& c, const proto::session_event& ev);
  void teardown(client& c, const std::string& why);
  void notify_exit(client& c, uint64_t now_ms);
  void housekeeping(uint64_t now_ms);
  void log(int level, const std::string& msg) const;
  // gateway_auth.cc: scripts and the address bookkeeping they need
  void start_auth(client& c, uint64_t now_ms);
  void start_connect(client& c, uint64_t now_ms);
  void accept(client& c, const client_connect_options* cc, uint64_t now_ms);
  // client_reason: sent as AUTH_FAILED,REASON (openvpn's client reason); empty = plain AUTH_FAILED.
  void reject(client& c, const std::string& why, uint64_t now_ms, const std::string& client_reason = "");
  void start_tls_verify(client& c, uint64_t now_ms);  // one tls-verify run, for c.verify_depth
  void start_user_pass(client& c, uint64_t now_ms);   // auth-gen-token check, auth-user-pass-verify
  void start_reauth(client& c, uint64_t now_ms);      // a renegotiation: token or auth-user-pass-verify again
  // gateway_token.cc: auth-gen-token. check_auth_token: true when a token decided (accepted ->
  // client-connect stage, or refused); false: the password goes to auth-user-pass-verify.
  bool check_auth_token(client& c, uint64_t now_ms);
  void renew_auth_token(client& c, uint64_t now_ms);  // push a fresh token (renewal, renegotiation)
  void renew_auth_tokens(uint64_t now_ms);            // housekeeping: renewals that are due
  bool inactive_expired(client& c, uint64_t now_ms);  // housekeeping: `inactive` timer (gateway_scripts.cc)
  void poll_scripts(uint64_t now_ms);
  script_env client_env(const client& c, const char* script_type, uint64_t now_ms) const;
  void end_auth(client& c, uint64_t now_ms);  // teardown: cancel the script, client-disconnect
  // start_connect: without duplicate-cn, the other sessions of c's common name go.
  void drop_duplicate_cn(client& c, uint64_t now_ms);
  bool allow_first_reply(uint64_t now_ms);  // connect-freq-initial (gateway.cc)

  server_config cfg_;
  control_setup setup_;
  dp_installer dp_;  // every rte_* call (dp_installer.h)
  int signal_fd_;
  proto::server_front front_;
  client_table table_;  // clients, peer-ids, half-open caps, session timers (client_table.h)
  status_report status_;  // the status file and the counters print (status_report.h)
  addressing addr_;       // pools, CCD, iroutes, common names, connect-freq (addressing.h)
  // Due session timers: tick and drain (drain() reschedules after every session call,
  // housekeeping() as a safety net).
  void run_due_timers(uint64_t now_ms);
  uint64_t next_housekeeping_ms_ = 0;
  bool stopping_ = false;
  std::string stop_signal_;
  uint64_t stop_at_ms_ = 0;
  uint64_t front_dropped_ = 0;
  // Log lines a peer can trigger at will: a client's control messages. Housekeeping reports what
  // it held back.
  log_limit ctl_msg_log_{20, 10};
  void report_suppressed(uint64_t now_ms);
  script_queue scripts_;  // user scripts, learn-address (script_queue.h)
  void on_learned(client& c, uint64_t now_ms);  // its learn-address calls are done: the push goes
  std::optional<first_reply_limit> first_reply_limit_;  // connect-freq-initial (gateway.cc)
  uint64_t first_reply_dropped_ = 0;
  int64_t crl_mtime_ns_ = 0;  // crl-verify file: re-read when it changes (no restart needed)
  void check_crl();
  std::vector<service> services_;
  void follow_floats();

};

// up / down (openvpn's run_up_down), synchronous: dpvpn runs them before the control thread
// starts and after it has stopped, when no client is served. signal: what stopped dpvpn ("sigterm"),
// empty for up. Returns false with err when the script cannot run, fails or takes over
// `timeout_s` (0: no limit, as in openvpn).
bool run_updown(const server_config& cfg, const std::string& ifname, const char* script_type, const std::string& signal,
                unsigned timeout_s, std::string& err);

}  // namespace dpvpn::cp
