// SPDX-License-Identifier: MIT
// Private to the worker_*.cc files: one burst's context and the per-direction entry points.
#pragma once

#include <rte_mbuf.h>

#include "dpvpn/dp_state.h"

namespace dpvpn::dp {

inline constexpr uint16_t k_max_burst = 256;

inline mbuf_meta& meta_of(rte_mbuf* m) {
  static_assert(sizeof(mbuf_meta) <= 64, "mbuf_meta must fit the mbuf private area");
  return *static_cast<mbuf_meta*>(rte_mbuf_to_priv(m));
}

// Packets collected during one loop iteration, sent with one tx_burst per port at the end.
struct tx_batch {
  rte_mbuf* wan[k_max_burst * 2];
  uint16_t n_wan = 0;
  rte_mbuf* tun[k_max_burst * 2];
  uint16_t n_tun = 0;
};

struct worker_ctx {
  dp_shared& sh;
  dp_lcore& me;
  tx_batch tx;
  uint64_t now_s;
  uint16_t ip_id = 0;
};

// The buf_view over an mbuf's single segment, and back.
buf_view view_of(rte_mbuf* m) noexcept;
void apply_view(rte_mbuf* m, const buf_view& v) noexcept;

void wan_input(worker_ctx& c, rte_mbuf* m) noexcept;              // worker_rx.cc
void udp_input(worker_ctx& c, rte_mbuf* m, size_t payload_off, size_t payload_len, const net::mac& src_mac) noexcept;  // worker_rx.cc
void wan_input6(worker_ctx& c, rte_mbuf* m) noexcept;             // worker_rx6.cc
void wan_data_owner(worker_ctx& c, rte_mbuf* m) noexcept;         // worker_rx.cc
void tun_input(worker_ctx& c, rte_mbuf* m) noexcept;              // worker_tx.cc
void tun_data_owner(worker_ctx& c, rte_mbuf* m) noexcept;         // worker_tx.cc
bool seal_and_frame(worker_ctx& c, dp_peer& p, rte_mbuf* m) noexcept;  // worker_tx.cc
bool route_dst(const dp_shared& sh, const uint8_t* p, size_t len, uint32_t& pid, drop& why) noexcept;  // worker_tx.cc
void handoff(worker_ctx& c, rte_mbuf* m, uint16_t owner) noexcept;     // worker.cc

// `mssfix` (both directions, both inner families): true when a TCP SYN's MSS was lowered.
inline bool mss_clamp(const dp_config& cfg, uint8_t* ip, size_t len) noexcept {
  switch (net::ip_version(ip, len)) {
    case 4: return cfg.mss_clamp && net::tcp_mss_clamp(ip, len, cfg.mss_clamp) == net::mss_result::clamped;
    case 6: return cfg.mss_clamp_v6 && net::tcp_mss_clamp_v6(ip, len, cfg.mss_clamp_v6) == net::mss_result::clamped;
    default: return false;
  }
}

inline void drop_pkt(worker_ctx& c, rte_mbuf* m, drop why) noexcept {
  c.me.ctr.dropped(why);
  rte_pktmbuf_free(m);
}

}  // namespace dpvpn::dp
