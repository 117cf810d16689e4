// SPDX-License-Identifier: MIT
// metrics_format: the figures that dp-metrics (HTTP /metrics) and the /dpvpn telemetry commands
// report, as a plain snapshot, and its Prometheus text exposition (format 0.0.4). Pure: no DPDK,
// no clock, no threads (tests/unit/test_metrics_format.cc). docs/operations.md ("Metrics") lists
// every metric. Any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/dp_stats.h"

namespace dpvpn::cp {

// The ports a worker counts packets on, in lcore_figures::ports order (label port="...").
enum class port_kind : uint8_t { wan, exception, lan, count_ };
inline constexpr size_t k_port_kinds = static_cast<size_t>(port_kind::count_);
const char* port_name(port_kind p) noexcept;

struct port_counts {
  uint64_t rx_pkts = 0, rx_bytes = 0, tx_pkts = 0, tx_bytes = 0;
};

// One worker lcore's counters, copied from its dp::lcore_counters (figures_of).
struct lcore_figures {
  unsigned lcore_id = 0;
  std::array<port_counts, k_port_kinds> ports{};
  uint64_t decrypted = 0, encrypted = 0, punted = 0, ctl_tx = 0;
  uint64_t handoff_out = 0, handoff_in = 0;
  std::array<uint64_t, dp::k_drop_count> drops{};
};
// Relaxed loads of every counter the worker writes (dp: wo, metrics: ro): each value is exact as
// of its load; the set is not one instant. Any thread.
lcore_figures figures_of(unsigned lcore_id, const dp::lcore_counters& c) noexcept;

// Ring-full events are the drop reasons whose name ends in "_full" (handoff_full, punt_full,
// tun_tx_full, ...): a new such reason in dp_stats.h appears as a ring on its own. Returns the
// ring's label ("handoff") for drop reason i, or an empty view when i is not one.
std::string_view ring_of_drop(size_t i) noexcept;

// An mbuf pool (rte_mempool_in_use_count / rte_mempool_avail_count, approximate while the
// lcores run: their caches are read without stopping them).
struct mbuf_figures {
  std::string pool;
  uint64_t in_use = 0, available = 0, size = 0;
};

// The control thread's loop period (from one services poll to the next: its work plus an idle
// wait of at most 1 ms), as a Prometheus histogram.
struct loop_histogram {
  static constexpr std::array<double, 8> k_bounds_s = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1.0};
  std::array<uint64_t, k_bounds_s.size()> le{};  // cumulative: loops no longer than each bound
  uint64_t count = 0, sum_ns = 0, max_ns = 0;
  void add(uint64_t ns) noexcept;
};

// One accepted client (dp-metrics ... per-client only).
struct client_figures {
  std::string common_name, real_address;
  uint32_t peer_id = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_pkts = 0, tx_pkts = 0;
};

// What the control thread publishes (control/metrics.h: every 500 ms, under a short lock).
struct control_figures {
  uint64_t taken_ms = 0;  // wall clock when the control thread built it; 0 = none yet
  uint64_t handshakes_completed = 0, handshakes_failed = 0;
  uint64_t sessions_handshaking = 0, sessions_established = 0;
  uint64_t clients_connected = 0;  // accepted and installed in the dataplane
  loop_histogram loop;
  bool per_client = false;
  std::vector<client_figures> clients;  // per_client only
};

// Per-session dataplane state (peers, keys) in session memory (include/dpvpn/session_mem.h).
struct session_mem_figures {
  uint64_t in_use = 0;      // bytes handed out
  uint64_t mapped = 0;      // bytes of 2 MiB chunks mapped
  uint64_t thp_advised = 0; // of which the kernel accepted madvise(MADV_HUGEPAGE)
};

struct metrics_snapshot {
  uint64_t now_ms = 0;  // when the readers took it (wall clock): the control figures' age
  bool lan = false;     // dp-lan: the lan port's counters are listed
  std::vector<lcore_figures> lcores;
  std::vector<mbuf_figures> pools;
  session_mem_figures session_mem;
  control_figures cp;
};

// Prometheus text exposition format 0.0.4: HELP and TYPE lines, dpvpn_ names, _total counters.
std::string format_prometheus(const metrics_snapshot& s);

// A label value as the text format writes it: backslash, double quote and newline escaped.
std::string escape_label(std::string_view v);

}  // namespace dpvpn::cp
