// SPDX-License-Identifier: MIT
// metrics_telemetry: the /dpvpn telemetry commands. DPDK 22.11's callbacks take no user pointer
// and cannot be unregistered, so they find the hub through g_hub, under g_mu (held by the
// telemetry thread while it takes a snapshot, and by main at detach; never by a worker or the
// control thread).
#include "metrics_telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "metrics.h"

namespace dpvpn::cp {

namespace {

std::mutex g_mu;
const metrics_hub* g_hub = nullptr;  // main: wo under g_mu; telemetry thread: ro under g_mu
bool g_registered = false;           // main thread only

constexpr unsigned k_clients_per_read = 64;  // one reply is at most 16 KiB of JSON

// The hub's snapshot now, or nothing once detached.
std::optional<metrics_snapshot> take() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_hub) return std::nullopt;
  g_hub->count_telemetry();
  return g_hub->snapshot();
}

// A command's optional unsigned parameter: fallback when absent, nullopt when malformed.
std::optional<unsigned> param(const char* p, unsigned fallback) {
  if (!p || !*p) return fallback;
  unsigned v = 0;
  const char* end = p + std::strlen(p);
  auto [ptr, ec] = std::from_chars(p, end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// Telemetry strings are copied into fixed buffers and written into JSON as they are: keep them to
// printable ASCII without quotes or backslashes.
std::string tel_safe(const std::string& s) {
  std::string out = s.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
  for (char& ch : out)
    if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') ch = '_';
  return out;
}

void add(rte_tel_data* d, const std::string& name, uint64_t v) { rte_tel_data_add_dict_u64(d, name.c_str(), v); }

int cmd_lcores(const char*, const char*, rte_tel_data* d) {
  const auto s = take();
  if (!s) return -ENODEV;
  rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
  for (const lcore_figures& l : s->lcores) rte_tel_data_add_array_u64(d, l.lcore_id);
  return 0;
}

int cmd_lcore(const char*, const char* params, rte_tel_data* d) {
  const auto id = param(params, ~0u);
  if (!id || *id == ~0u) return -EINVAL;
  const auto s = take();
  if (!s) return -ENODEV;
  for (const lcore_figures& l : s->lcores) {
    if (l.lcore_id != *id) continue;
    rte_tel_data_start_dict(d);
    for (size_t p = 0; p < k_port_kinds; ++p) {
      if (static_cast<port_kind>(p) == port_kind::lan && !s->lan) continue;
      const std::string n = port_name(static_cast<port_kind>(p));
      add(d, n + "_rx_packets", l.ports[p].rx_pkts);
      add(d, n + "_rx_bytes", l.ports[p].rx_bytes);
      add(d, n + "_tx_packets", l.ports[p].tx_pkts);
      add(d, n + "_tx_bytes", l.ports[p].tx_bytes);
    }
    add(d, "handoffs_out", l.handoff_out);
    add(d, "handoffs_in", l.handoff_in);
    for (size_t i = 0; i < dp::k_drop_count; ++i)
      if (std::string_view r = ring_of_drop(i); !r.empty()) add(d, "ring_full_" + std::string(r), l.drops[i]);
    add(d, "decrypted_packets", l.decrypted);
    add(d, "encrypted_packets", l.encrypted);
    add(d, "punted_packets", l.punted);
    add(d, "control_tx_packets", l.ctl_tx);
    return 0;
  }
  return -EINVAL;
}

int cmd_drops(const char*, const char* params, rte_tel_data* d) {
  const auto id = param(params, ~0u);
  if (!id) return -EINVAL;
  const auto s = take();
  if (!s) return -ENODEV;
  std::array<uint64_t, dp::k_drop_count> sum{};
  bool found = *id == ~0u;
  for (const lcore_figures& l : s->lcores) {
    if (*id != ~0u && l.lcore_id != *id) continue;
    found = true;
    for (size_t i = 0; i < dp::k_drop_count; ++i) sum[i] += l.drops[i];
  }
  if (!found) return -EINVAL;
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < dp::k_drop_count; ++i) add(d, dp::drop_name(i), sum[i]);
  return 0;
}

int cmd_mbufs(const char*, const char*, rte_tel_data* d) {
  const auto s = take();
  if (!s) return -ENODEV;
  rte_tel_data_start_dict(d);
  for (const mbuf_figures& p : s->pools) {
    rte_tel_data_add_dict_string(d, "pool", tel_safe(p.pool).c_str());
    add(d, "in_use", p.in_use);
    add(d, "available", p.available);
    add(d, "capacity", p.size);
  }
  return 0;
}

int cmd_control(const char*, const char*, rte_tel_data* d) {
  const auto s = take();
  if (!s) return -ENODEV;
  const control_figures& c = s->cp;
  rte_tel_data_start_dict(d);
  add(d, "snapshot_age_ms", c.taken_ms && s->now_ms > c.taken_ms ? s->now_ms - c.taken_ms : 0);
  add(d, "handshakes_completed", c.handshakes_completed);
  add(d, "handshakes_failed", c.handshakes_failed);
  add(d, "sessions_handshaking", c.sessions_handshaking);
  add(d, "sessions_established", c.sessions_established);
  add(d, "clients_connected", c.clients_connected);
  add(d, "loop_count", c.loop.count);
  add(d, "loop_sum_us", c.loop.sum_ns / 1000);
  add(d, "loop_max_us", c.loop.max_ns / 1000);
  add(d, "per_client", c.per_client ? 1 : 0);
  return 0;
}

int cmd_clients(const char*, const char* params, rte_tel_data* d) {
  const auto first = param(params, 0);
  if (!first) return -EINVAL;
  const auto s = take();
  if (!s) return -ENODEV;
  const auto& list = s->cp.clients;
  rte_tel_data_start_dict(d);
  add(d, "per_client", s->cp.per_client ? 1 : 0);
  add(d, "total", list.size());
  add(d, "first", *first);
  for (size_t i = *first; i < list.size() && i < size_t{*first} + k_clients_per_read; ++i) {
    const client_figures& f = list[i];
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_string(c, "common_name", tel_safe(f.common_name).c_str());
    rte_tel_data_add_dict_string(c, "real_address", tel_safe(f.real_address).c_str());
    add(c, "rx_bytes", f.rx_bytes);
    add(c, "tx_bytes", f.tx_bytes);
    add(c, "rx_packets", f.rx_pkts);
    add(c, "tx_packets", f.tx_pkts);
    rte_tel_data_add_dict_container(d, ("peer_" + std::to_string(f.peer_id)).c_str(), c, 0);  // takes c
  }
  return 0;
}

}  // namespace

void telemetry_attach(const metrics_hub* hub) {
  {
    std::lock_guard<std::mutex> lk(g_mu);
    g_hub = hub;
  }
  if (g_registered) return;
  g_registered = true;
  rte_telemetry_register_cmd("/dpvpn/lcores", cmd_lcores, "Returns the worker lcore ids. Takes no parameters");
  rte_telemetry_register_cmd("/dpvpn/lcore", cmd_lcore,
                             "Returns one worker's port, handoff, ring-full and crypto counters. Parameters: int lcore_id");
  rte_telemetry_register_cmd("/dpvpn/drops", cmd_drops,
                             "Returns drops by reason, summed over the workers. Parameters: [int lcore_id]");
  rte_telemetry_register_cmd("/dpvpn/mbufs", cmd_mbufs, "Returns the mbuf pool's use. Takes no parameters");
  rte_telemetry_register_cmd("/dpvpn/control", cmd_control,
                             "Returns handshakes, sessions, clients and the control loop period. Takes no parameters");
  rte_telemetry_register_cmd("/dpvpn/clients", cmd_clients,
                             "Returns per-client bytes and packets (dp-metrics ... per-client), 64 from the index "
                             "given. Parameters: [int first]");
}

void telemetry_detach() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_hub = nullptr;
}

}  // namespace dpvpn::cp
