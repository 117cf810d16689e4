// SPDX-License-Identifier: MIT
// The gateway's control thread: runs the OpenVPN control channel for every client (sessions,
// stateless cookies, pools, push), installs keys on the owner lcore by message, watches liveness,
// prints counters, and turns SIGTERM/SIGINT/SIGHUP/SIGUSR1 into actions. It sleeps when idle.
// Control thread only; it never touches a worker's queues (frames go out through ctl_tx rings).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "dpvpn/auth_scripts.h"
#include "dpvpn/config.h"
#include "dpvpn/dp_state.h"
#include "dpvpn/server_front.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"

namespace dpvpn::cp {

// Everything derived from server.conf that sessions need; built once at start-up.
struct control_setup {
  proto::session_config session;  // template: per-client fields (peer_id) are filled in
  proto::data_key_params data;    // backend, replay window
  uint32_t pool_first = 0, pool_last = 0;  // client VPN addresses, host order (inclusive)
  uint32_t server_vpn_ip = 0;
  uint32_t netmask = 0;
  std::vector<std::string> push;   // global push options, in order
};
// Throws config_error for a key file that does not parse.
control_setup make_control_setup(const server_config& cfg, proto::tls_context* tls);

class gateway_control {
 public:
  gateway_control(const server_config& cfg, control_setup setup, dp::dp_shared& sh, int signal_fd);
  ~gateway_control();
  // Runs until a stop signal has been handled: clients are told (RESTART with exit-notify),
  // then sh.stop is set so that the workers return.
  void run();
  void print_counters(const char* why) const;

  struct client;

 private:
  // gateway.cc
  bool poll_punt(uint64_t now_ms);
  void poll_done();
  void poll_signals(uint64_t now_ms);
  void on_frame(rte_mbuf* m, uint64_t now_ms);
  client* first_contact(const dp::mbuf_meta& mm, std::span<const uint8_t> pkt, uint64_t now_ms, client* old);
  void send_frame(uint16_t worker, uint32_t ip, uint16_t port, const net::mac& mac, std::span<const uint8_t> payload);
  // gateway_clients.cc
  client* create_client(uint32_t ip, uint16_t port, const net::mac& mac, uint16_t owner, uint64_t now_ms);
  void drain(client& c, uint64_t now_ms);
  void on_event(client& c, const proto::session_event& ev, uint64_t now_ms);
  void install_key(client& c, const proto::session_event& ev);
  void send_cmd(client& c, std::unique_ptr<dp::peer_cmd> cmd);
  void teardown(client& c, const std::string& why);
  void notify_exit(client& c, uint64_t now_ms);
  void housekeeping(uint64_t now_ms);
  uint32_t alloc_vpn_ip();
  void log(int level, const std::string& msg) const;
  // gateway_auth.cc: scripts and the address bookkeeping they need
  void start_auth(client& c, uint64_t now_ms);
  void start_connect(client& c, uint64_t now_ms);
  void accept(client& c, const client_connect_options* cc, uint64_t now_ms);
  void reject(client& c, const std::string& why, uint64_t now_ms);
  void poll_scripts(uint64_t now_ms);
  bool run_script(client& c, const std::vector<std::string>& argv, script_request req, uint64_t now_ms);
  script_env client_env(const client& c, const char* script_type, uint64_t now_ms) const;
  void end_auth(client& c, uint64_t now_ms);  // teardown: cancel the script, client-disconnect
  bool reserve_vpn_ip(uint32_t ip);
  void release_vpn_ip(client& c);

  server_config cfg_;
  control_setup setup_;
  dp::dp_shared& sh_;
  int signal_fd_;
  proto::server_front front_;
  std::map<uint64_t, std::unique_ptr<client>> clients_;  // by outer (ip << 16 | port)
  std::vector<uint32_t> free_peer_ids_;
  std::vector<bool> vpn_ip_used_;
  uint64_t next_stats_ms_ = 0, next_housekeeping_ms_ = 0;
  bool stopping_ = false;
  uint64_t stop_at_ms_ = 0;
  uint64_t ctl_tx_dropped_ = 0, front_dropped_ = 0, refused_ = 0;
  script_runner scripts_;
  std::map<uint64_t, uint64_t> script_clients_;  // running script id -> client (outer address key)
  std::set<uint32_t> static_ips_;  // ifconfig-push addresses outside the pool, in use
  int64_t crl_mtime_ns_ = 0;  // crl-verify file: re-read when it changes (no restart needed)
  void check_crl();
  void follow_floats();
};

}  // namespace dpvpn::cp
