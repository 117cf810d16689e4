// SPDX-License-Identifier: MIT
// The synchronous up/down scripts (main thread, before and after the control thread), and the
// `inactive` check of gateway_control's housekeeping. Arguments and environment come from
// script_args.h.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "gateway.h"
#include "dpvpn/script_args.h"
#include "client.h"

namespace dpvpn::cp {

bool run_updown(const server_config& cfg, const std::string& ifname, const char* script_type, const std::string& signal,
                unsigned timeout_s, std::string& err) {
  const std::vector<std::string>& cmd = std::string_view(script_type) == "up" ? cfg.up : cfg.down;
  if (cmd.empty()) return true;
  updown_info dev;
  dev.dev = ifname;
  dev.tun_mtu = cfg.tun_mtu;
  dev.signal = signal;
  script_request req;
  req.argv = updown_argv(cmd, cfg, dev);
  req.env = updown_env(cfg, dev, script_type, static_cast<uint64_t>(::getpid()));
  auto now_ms = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  };
  req.deadline_ms = timeout_s ? now_ms() + uint64_t{timeout_s} * 1000 : 0;
  std::string line;
  for (const std::string& a : req.argv) line += (line.empty() ? "" : " ") + a;
  log_program(log_prio::notice, std::string(script_type) + " script: " + line);
  script_runner runner(cfg.tmp_dir);
  if (runner.start(std::move(req), err) == 0) return false;
  std::vector<script_result> done;
  while (done.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    runner.poll(now_ms(), done);
  }
  if (!done[0].ok) err = std::string(script_type) + " script: " + done[0].status;
  return done[0].ok;
}

// `inactive SECONDS [BYTES]`: the dataplane's per-peer totals (both ways) feed the client's timer
// (inactivity.h). openvpn 2.6 signals the instance SIGTERM ("Inactivity timeout (--inactive)"), so
// as with session-timeout the client is closed without a message and notices by its ping-restart.
bool gateway_control::inactive_expired(client& c, uint64_t now_ms) {
  uint64_t bytes = 0, pkts = 0;
  if (c.dp.peer) {
    bytes = c.dp.peer->rx_bytes.load(std::memory_order_relaxed) + c.dp.peer->tx_bytes.load(std::memory_order_relaxed);
    pkts = c.dp.peer->rx_pkts.load(std::memory_order_relaxed) + c.dp.peer->tx_pkts.load(std::memory_order_relaxed);
  }
  return c.inactive.update(now_ms, bytes, pkts, cfg_.inactive_s, cfg_.inactive_bytes);
}

}  // namespace dpvpn::cp
