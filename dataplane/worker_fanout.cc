// SPDX-License-Identifier: MIT
// TAP mode's fan-out of broadcast, multicast and unknown-unicast frames (docs/tap.md, "the
// fan-out"): the receiving lcore hands one reference of the same mbuf to every lcore that owns a
// client; each of those queues it and, a budget of destinations per loop, seals a copy for each of
// its own clients. Nothing blocks: a full handoff ring or fan-out queue drops and counts.
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "worker_internal.h"

namespace dpvpn::dp {

void fanout_enqueue(worker_ctx& c, rte_mbuf* m) noexcept {
  fanout_queue& q = c.fan;
  if (q.n == fanout_queue::k_cap) return drop_pkt(c, m, drop::fanout_full);
  const uint16_t at = static_cast<uint16_t>((q.head + q.n) % fanout_queue::k_cap);
  q.m[at] = m;
  q.next[at] = 0;
  ++q.n;
  lcore_counters::bump(c.me.ctr.fanout_in);
}

void flood(worker_ctx& c, rte_mbuf* m, uint32_t skip) noexcept {
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = skip;
  mm.dir = pkt_dir::flood;
  uint16_t to[k_max_workers];
  uint16_t n_to = 0;
  for (uint16_t w = 0; w < c.sh.cfg.n_workers; ++w)
    if (const dp_lcore* l = c.sh.lcores[w]; l && l->owns.load(std::memory_order_relaxed) != 0) to[n_to++] = w;
  if (!n_to) {
    rte_pktmbuf_free(m);  // no client anywhere: nobody to flood to
    return;
  }
  // One reference per destination lcore, all taken before the first can be given back. The
  // metadata above is written once, before any other lcore sees the mbuf.
  if (n_to > 1) rte_mbuf_refcnt_update(m, static_cast<int16_t>(n_to - 1));
  for (uint16_t i = 0; i < n_to; ++i) {
    if (to[i] == c.me.index) fanout_enqueue(c, m);
    else handoff(c, m, to[i]);  // full: handoff_full, that reference dropped
  }
}

namespace {

// A private copy of the flood frame's plaintext for one destination (sealing works in place).
rte_mbuf* copy_of(worker_ctx& c, const rte_mbuf* src) noexcept {
  rte_mbuf* d = rte_pktmbuf_alloc(c.sh.pool);
  if (!d) return nullptr;
  if (rte_pktmbuf_tailroom(d) < src->data_len) {
    rte_pktmbuf_free(d);
    return nullptr;
  }
  std::memcpy(rte_pktmbuf_mtod(d, uint8_t*), rte_pktmbuf_mtod(src, const uint8_t*), src->data_len);
  d->data_len = src->data_len;
  d->pkt_len = src->data_len;
  return d;
}

}  // namespace

unsigned fanout_run(worker_ctx& c, unsigned budget) noexcept {
  fanout_queue& q = c.fan;
  rte_mbuf* out[k_stage];
  uint16_t n_out = 0;
  unsigned done = 0;
  uint64_t failed = 0;
  while (q.n && done < budget) {
    rte_mbuf* m = q.m[q.head];
    uint32_t& next = q.next[q.head];
    const uint32_t skip = meta_of(m).peer_id;
    // The owned list may change between loops (a client leaves: the last one takes its place);
    // a flood in progress then misses or repeats one client, as a lost or duplicated frame.
    while (next < c.me.n_owned && done < budget) {
      const uint32_t pid = c.me.owned[next++];
      dp_peer* p = c.me.peers[pid];
      if (pid == skip || !p || !p->keys.has_key()) continue;
      ++done;
      rte_mbuf* d = copy_of(c, m);
      if (!d) {
        ++failed;
        continue;
      }
      meta_of(d).peer_id = pid;
      meta_of(d).dir = pkt_dir::tun;
      out[n_out++] = d;
      if (n_out == k_stage) {
        seal_owned(c, out, n_out);
        n_out = 0;
        if (c.tx.n_wan > k_max_burst) flush_tx(c);
      }
    }
    if (next >= c.me.n_owned) {  // every client of this lcore had its copy: our reference goes
      rte_pktmbuf_free(m);
      q.head = static_cast<uint16_t>((q.head + 1) % fanout_queue::k_cap);
      --q.n;
    }
  }
  if (n_out) seal_owned(c, out, n_out);
  if (failed) c.me.ctr.dropped(drop::alloc_failed, failed);
  if (done) lcore_counters::bump(c.me.ctr.fanout_sealed, done - failed);
  return done;
}

void fanout_clear(worker_ctx& c) noexcept {
  fanout_queue& q = c.fan;
  for (; q.n; --q.n, q.head = static_cast<uint16_t>((q.head + 1) % fanout_queue::k_cap)) rte_pktmbuf_free(q.m[q.head]);
}

}  // namespace dpvpn::dp
