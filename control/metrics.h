// SPDX-License-Identifier: MIT
// metrics_hub: the figures behind `dp-metrics IP PORT [per-client]` (Prometheus text over HTTP at
// /metrics, served by libmicrohttpd on its own thread) and the /dpvpn telemetry commands
// (metrics_telemetry.h). docs/operations.md ("Metrics") lists them.
//
// Who reads what, without ever stopping a worker or the control thread:
//   worker counters (dp_lcore::ctr)  dp: wo, metrics: ro. Relaxed 64-bit loads on the reader's
//                                    thread (HTTP or telemetry), no lock (figures_of).
//   mbuf pools                       rte_mempool_in_use_count / avail_count on the reader's thread
//                                    (they read the lcores' caches as they are: approximate).
//   control figures                  cp: wo, metrics: ro. The control thread builds them in
//                                    poll() every 500 ms and swaps them in under mu_, held for a
//                                    pointer swap; a reader holds mu_ for a pointer copy. The
//                                    control thread never waits on a reader for longer.
// poll() runs on the control thread (gateway_control::add_service); snapshot() and the HTTP
// server's handler run on any other thread. Built and torn down by app/main.cc, around the
// control thread's life; the dp_shared and gateway_control it reads outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "dpvpn/dp_state.h"
#include "metrics_format.h"

struct MHD_Daemon;

namespace dpvpn::cp {

class gateway_control;

class metrics_hub {
 public:
  static constexpr uint64_t k_publish_ms = 500;

  metrics_hub(const gateway_control& gw, const dp::dp_shared& sh, bool per_client);
  ~metrics_hub();  // stops the HTTP server (joins its thread)
  metrics_hub(const metrics_hub&) = delete;
  metrics_hub& operator=(const metrics_hub&) = delete;

  // The HTTP server on IP (IPv4 or IPv6 literal) and PORT. False with err when it cannot listen.
  // Main thread, before the control thread starts.
  bool listen(const std::string& ip, uint16_t port, std::string& err);

  // Control thread: times the loop; every k_publish_ms publishes new control figures. Never
  // reports work (the loop's idle wait is unchanged).
  bool poll(uint64_t now_ms);
  // The counters print's line (control thread).
  std::string counters() const;

  // Any thread: the workers' counters and pools now, the control figures as last published.
  metrics_snapshot snapshot() const;
  std::string prometheus_text() const { return format_prometheus(snapshot()); }
  void count_telemetry() const { telemetry_reads_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void publish(uint64_t now_ms);  // control thread
  std::shared_ptr<const control_figures> control_now() const;

  const gateway_control& gw_;
  const dp::dp_shared& sh_;
  bool per_client_;
  // Control thread only.
  loop_histogram loop_;
  uint64_t last_poll_ns_ = 0, next_publish_ms_ = 0;
  // cp: wo (under mu_), readers: ro (a copy under mu_).
  mutable std::mutex mu_;
  std::shared_ptr<const control_figures> published_;
  MHD_Daemon* http_ = nullptr;
  // HTTP / telemetry threads: wo; control (counters print): ro.
  mutable std::atomic<uint64_t> http_ok_{0}, http_other_{0}, telemetry_reads_{0};

  friend struct metrics_http;  // metrics.cc: the request handler
};

}  // namespace dpvpn::cp
