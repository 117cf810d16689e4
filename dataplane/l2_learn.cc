// SPDX-License-Identifier: MIT
// TAP mode's shared state and the control thread's side of MAC learning (dp_l2.h, docs/tap.md
// "The MAC table").
#include "dpvpn/dp_l2.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstdio>

namespace dpvpn::dp {

bool l2_create(dp_shared& sh, const l2_params& p, std::string& err) {
  const uint32_t n = sh.cfg.max_peers;
  sh.macs = new net::mac_table(p.capacity, n, p.max_per_peer, p.max_segment, p.seed);
  sh.client_mac = std::make_unique<std::atomic<uint64_t>[]>(n);
  sh.mac_full = std::make_unique<std::atomic<bool>[]>(n);
  for (uint32_t i = 0; i < n; ++i) {
    sh.client_mac[i].store(0, std::memory_order_relaxed);
    sh.mac_full[i].store(false, std::memory_order_relaxed);
  }
  sh.learn = rte_ring_create_elem("dpvpn_learn", sizeof(l2_learn_req), p.ring_size, static_cast<int>(rte_socket_id()),
                                  RING_F_SC_DEQ);
  if (!sh.learn) {
    err = std::string("ring dpvpn_learn: ") + rte_strerror(rte_errno);
    return false;
  }
  return true;
}

void l2_destroy(dp_shared& sh) {
  rte_ring_free(sh.learn);
  sh.learn = nullptr;
  delete sh.macs;
  sh.macs = nullptr;
  sh.client_mac.reset();
  sh.mac_full.reset();
}

l2_learn_stats learn_drain(dp_shared& sh, uint32_t now_s, unsigned max) noexcept {
  l2_learn_stats st;
  if (!sh.learn || !sh.macs) return st;
  l2_learn_req req[64];
  while (max) {
    const unsigned n = rte_ring_sc_dequeue_burst_elem(sh.learn, req, sizeof(l2_learn_req), std::min(max, 64u), nullptr);
    if (!n) break;
    max -= n;
    for (unsigned i = 0; i < n; ++i) {
      const l2_learn_req& r = req[i];
      // Workers ask with their own clock; an entry is never learned as seen in the future.
      switch (sh.macs->learn(r.mac, r.vid, r.peer, std::min(r.at_s, now_s))) {
        case net::mac_table::learn_result::learned: ++st.learned; break;
        case net::mac_table::learn_result::known: ++st.known; break;
        case net::mac_table::learn_result::taken: ++st.taken; break;
        case net::mac_table::learn_result::table_full: ++st.table_full; break;
        case net::mac_table::learn_result::bad_peer: ++st.bad_peer; break;
        case net::mac_table::learn_result::peer_full:
          ++st.peer_full;
          if (r.peer < sh.cfg.max_peers) sh.mac_full[r.peer].store(true, std::memory_order_relaxed);
          break;
      }
    }
  }
  return st;
}

size_t l2_forget_peer(dp_shared& sh, uint32_t peer) noexcept {
  if (!sh.macs || peer >= sh.cfg.max_peers) return 0;
  sh.mac_full[peer].store(false, std::memory_order_relaxed);
  return sh.macs->forget_peer(peer);
}

bool l2_learner::poll(uint64_t now_ms) noexcept {
  if (!sh_.macs) return false;
  const uint32_t now_s = static_cast<uint32_t>(now_ms / 1000);
  const l2_learn_stats st = learn_drain(sh_, now_s);
  tot_.learned += st.learned, tot_.known += st.known, tot_.taken += st.taken;
  tot_.peer_full += st.peer_full, tot_.table_full += st.table_full, tot_.bad_peer += st.bad_peer;
  const size_t aged = sh_.macs->age(now_s, age_, k_age_budget);
  aged_ += aged;
  if (aged) {  // some client may be below its cap again (a scan only when something aged out)
    for (uint32_t pid = 0; pid < sh_.cfg.max_peers; ++pid)
      if (sh_.mac_full[pid].load(std::memory_order_relaxed) && sh_.macs->size_of(pid) < cap_)
        sh_.mac_full[pid].store(false, std::memory_order_relaxed);
  }
  return st.learned + st.known + st.taken + st.peer_full + st.table_full + st.bad_peer + aged > 0;
}

std::string l2_learner::counters() const {
  char line[256];
  std::snprintf(line, sizeof line,
                "MAC table: %u entries | learned %u known %u taken %u peer_full %u table_full %u | aged out %llu",
                sh_.macs ? sh_.macs->size() : 0u, tot_.learned, tot_.known, tot_.taken, tot_.peer_full,
                tot_.table_full, static_cast<unsigned long long>(aged_));
  return line;
}

}  // namespace dpvpn::dp
