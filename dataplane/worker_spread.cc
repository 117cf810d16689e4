// SPDX-License-Identifier: MIT
// One tunnel on several lcores (docs/dataplane.md, "One tunnel on several lcores"): which lcore may
// seal or open a spread peer's packets, the WAN burst's chunks sent to the other lcores, and the
// owner's part (key switches, wrap flag) that the shared path cannot do.
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <algorithm>

#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

// How many lcores after `from` (0 .. n_workers - 1) `to` is.
uint16_t distance(uint16_t from, uint16_t to, uint16_t n_workers) noexcept {
  return static_cast<uint16_t>((to + n_workers - from) % n_workers);
}

dp_peer* spread_of(const worker_ctx& c, uint32_t pid) noexcept {
  if (!c.sh.spread_peer) return nullptr;
  dp_peer* p = c.sh.spread_peer[pid].load(std::memory_order_acquire);
  return p && p->spread > 1 ? p : nullptr;
}

}  // namespace

// TX: the exception port (tun automq) or the LAN put a spread peer's packets on any lcore; the
// owner and the spread - 1 lcores after it seal them where they arrive, others hand them over.
dp_peer* spread_sealer(const worker_ctx& c, uint32_t pid, uint16_t owner) noexcept {
  dp_peer* p = spread_of(c, pid);
  return p && distance(owner, c.me.index, c.sh.cfg.n_workers) < p->spread ? p : nullptr;
}

// RX: any lcore that RSS gives a spread peer's packets opens (and spreads) them; a packet from
// another address than the peer's is a float candidate, which only the owner may act on.
dp_peer* spread_opener(const worker_ctx& c, uint32_t pid, const net::outer_addr& src) noexcept {
  dp_peer* p = spread_of(c, pid);
  return p && net::same_outer(src, p->client) ? p : nullptr;
}

// An lcore keeps up while its ring from us holds less than k_spread_backlog packets; otherwise
// the share stays here: the split follows each lcore's speed (a busier or slower lcore gets less),
// and no packet waits behind more than the backlog.
static bool keeps_up(const worker_ctx& c, uint16_t to) noexcept {
  return rte_ring_count(c.sh.lcores[to]->handoff_in[c.me.index]) < k_spread_backlog;
}

// A share goes onto its lcore's hand-off ring whole, behind its share_mark, with one enqueue (one
// move of the ring's producer line to the consumer, not one per packet), numbered for the order
// (worker_order.cc). Nothing is written into its mbufs: their metadata lines stay where they are.
// False: the ring had no room for all of it, and it stays here.
static bool hand_share(worker_ctx& c, rte_mbuf** m, uint16_t n, uint16_t to, pkt_dir dir, uint32_t seq) noexcept {
  void* ents[k_max_burst + 1];
  ents[0] = share_mark{seq, n, dir}.entry();
  std::copy(m, m + n, ents + 1);
  rte_ring* r = c.sh.lcores[to]->handoff_in[c.me.index];
  if (!rte_ring_sp_enqueue_bulk(r, ents, n + 1u, nullptr)) return false;
  lcore_counters::bump(c.me.ctr.handoff_out, n);
  return true;
}

uint16_t spread_raw(worker_ctx& c, rte_mbuf** pkts, uint16_t n, uint32_t& seq) noexcept {
  seq = 0;
  c.kept_hot = false;
  if (!n) return 0;
  // Hot: the last burst classified here was at least 3/4 a spread tunnel's, a chunk or more.
  const bool hot = c.spread_seen >= k_spread_chunk && c.spread_seen * 4 >= c.seen_of * 3 && c.spread_of_seen > 1;
  if (c.sh.cfg.spread_pull) {
    // The other lcores of the group poll this queue themselves while it is hot (wan_pull): the
    // burst stays whole, under the number its poll took. While hot it is numbered in any case,
    // before the flag is stored: a burst another lcore polls after seeing the flag is numbered
    // after this one (and may be out first). Not hot: numbered while a share is still out.
    seq = c.poll_seq;
    c.poll_seq = 0;
    if (!seq && (hot || order_outstanding(c))) seq = order_issue(c);
    const uint16_t want = hot ? std::min(c.spread_of_seen, c.sh.cfg.n_workers) : 0;
    if (c.me.wan_q.hot.load(std::memory_order_relaxed) != want) c.me.wan_q.hot.store(want, std::memory_order_release);
    c.kept_hot = hot;
    return n;
  }
  if (!hot || n <= k_spread_chunk) {
    // Kept whole: numbered only while shares cut before it are still out (it must not overtake).
    if (order_outstanding(c)) seq = order_issue(c);
    return n;
  }
  // Whole bursts in turn: this lcore, then each of the spread - 1 after it. A burst handed on is
  // not read here (one enqueue); the order inside a burst stays, and across bursts the numbers
  // keep it.
  seq = order_issue(c);
  const uint16_t spread = std::min(c.spread_of_seen, c.sh.cfg.n_workers);
  const uint16_t k = static_cast<uint16_t>(c.spread_turn++ % spread);
  // A burst that stays is this lcore's share whole: cutting it again would hand the other lcores
  // more than their turn.
  c.kept_hot = true;
  if (k == 0) return n;
  const uint16_t to = static_cast<uint16_t>((c.me.index + k) % c.sh.cfg.n_workers);
  if (!keeps_up(c, to) || !hand_share(c, pkts, n, to, pkt_dir::wan_raw, seq)) return n;
  c.kept_hot = false;
  seq = 0;
  return 0;
}

namespace {

// One poll of lcore q's WAN queue, if no other lcore is polling it (one CAS, never waited for);
// the burst gets q's next share number while the queue is held, so the numbers follow the polls
// (number: always; otherwise only while a share of q's is still out).
uint16_t poll_queue(worker_ctx& c, dp_lcore& q, rte_mbuf** pkts, uint16_t burst, bool number, uint32_t& seq) noexcept {
  std::atomic<uint32_t>& h = q.wan_q.holder;
  uint32_t free_q = dp_lcore::wan_queue::k_free;
  seq = 0;
  if (h.load(std::memory_order_relaxed) != free_q ||
      !h.compare_exchange_strong(free_q, c.me.index, std::memory_order_acquire, std::memory_order_relaxed))
    return 0;
  const uint16_t n = rte_eth_rx_burst(c.sh.cfg.wan_port, q.index, pkts, burst);
  if (n && (number || order_outstanding_on(q))) seq = order_issue_on(q);
  h.store(dp_lcore::wan_queue::k_free, std::memory_order_release);
  return n;
}

}  // namespace

uint16_t wan_poll_own(worker_ctx& c, rte_mbuf** pkts, uint16_t burst) noexcept {
  uint16_t n;
  if (!c.sh.cfg.spread_pull) {
    n = rte_eth_rx_burst(c.sh.cfg.wan_port, c.me.index, pkts, burst);
  } else {
    // While the queue is hot another lcore may be opening an earlier burst: number this one too.
    n = poll_queue(c, c.me, pkts, burst, c.me.wan_q.hot.load(std::memory_order_relaxed) != 0, c.poll_seq);
  }
  wan_burst(c, pkts, n);
  return n;
}

unsigned wan_pull(worker_ctx& c, rte_mbuf** pkts, uint16_t burst) noexcept {
  if (!c.sh.cfg.spread_pull) return 0;
  const uint16_t nw = c.sh.cfg.n_workers;
  unsigned polled = 0;
  for (uint16_t q = 0; q < nw; ++q) {
    if (q == c.me.index) continue;
    dp_lcore& o = *c.sh.lcores[q];
    const uint16_t spread = o.wan_q.hot.load(std::memory_order_acquire);
    if (!spread || distance(q, c.me.index, nw) >= spread) continue;
    uint32_t seq = 0;
    const uint16_t n = poll_queue(c, o, pkts, burst, true, seq);
    if (!n) continue;
    // As owner_input runs a raw share: classified here, the spread tunnel's packets opened here,
    // anything else handed to its owner; the output in the share's turn.
    order_begin(c, static_cast<uint8_t>(q), seq);
    wan_burst(c, pkts, n, false);
    order_end(c, true);
    polled += n;
    if (tx_full(c)) flush_tx(c);
  }
  return polled;
}

uint16_t spread_rx(worker_ctx& c, rte_mbuf** pkts, uint16_t n, local_runs& runs) noexcept {
  const uint16_t n_workers = c.sh.cfg.n_workers;
  uint16_t kept = 0, pos = 0;
  c.spread_seen = 0;
  rte_mbuf* chunk[k_spread_chunk];
  uint16_t in_chunk = 0, chunk_to = 0;
  bool after_chunk = false;  // a chunk was handed on since the last run began
  auto new_run = [&](uint32_t seq) {
    runs.start[runs.n] = kept;
    runs.seq[runs.n++] = seq;
  };
  auto keep = [&](rte_mbuf* m) {
    if (after_chunk) new_run(order_issue(c)), after_chunk = false;
    pkts[kept++] = m;  // kept <= i: pkts[kept] was read already
  };
  // A chunk handed on is numbered after the run before it; one the ring cannot take stays here as
  // a run of its own, under its number (pkts[kept..] is free: kept + in_chunk <= the packets seen).
  auto hand = [&] {
    if (!in_chunk) return;
    if (!runs.seq[runs.n - 1]) runs.seq[runs.n - 1] = order_issue(c);
    const uint32_t seq = order_issue(c);
    if (!hand_share(c, chunk, in_chunk, chunk_to, pkt_dir::wan_share, seq)) {
      new_run(seq);
      for (uint16_t j = 0; j < in_chunk; ++j) pkts[kept++] = chunk[j];
    }
    after_chunk = true;
    in_chunk = 0;
  };
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const mbuf_meta& mm = meta_of(m);
    const dp_peer* p = peer_here(c, mm.peer_id);
    // Not spread, or a float candidate on its owner: opened here.
    if (!p || p->spread <= 1 || !net::same_outer(mm.src, p->client)) {
      keep(m);
      continue;
    }
    ++c.spread_seen;
    c.spread_of_seen = p->spread;
    const uint16_t k = static_cast<uint16_t>((pos++ / k_spread_chunk) % p->spread);
    const uint16_t to = static_cast<uint16_t>((c.me.index + k) % n_workers);
    if (in_chunk && (to != chunk_to || in_chunk == k_spread_chunk)) hand();
    if (k == 0 || c.kept_hot || (in_chunk == 0 && !keeps_up(c, to))) {  // ours, or that lcore is behind: stays
      keep(m);
      continue;
    }
    chunk_to = to;
    chunk[in_chunk++] = m;
  }
  hand();
  return kept;
}

// One CAS per 32-id block and one raise of the window's top per run, instead of two per packet:
// the window's line moves between the lcores once per chunk, not once per packet.
void spread_commit(const proto::data_keys::staged* st, const bool* live, const bool* tag_ok, uint16_t n,
                   proto::commit_state* pre) noexcept {
  auto batched = [&](uint16_t i) { return live[i] && st[i].job.key && tag_ok[i] && st[i].rx->window_shared(); };
  for (uint16_t i = 0; i < n;) {
    if (!batched(i)) {
      pre[i++] = proto::commit_state::here;
      continue;
    }
    uint32_t ids[k_stage];
    uint16_t idx[k_stage], m = 0, end = i;
    for (; end < n && (!live[end] || (batched(end) && st[end].rx == st[i].rx)); ++end) {
      pre[end] = proto::commit_state::here;
      if (live[end]) idx[m] = end, ids[m++] = st[end].job.pid;
    }
    proto::replay_verdict v[k_stage];
    st[i].rx->commit_burst(ids, m, v);
    for (uint16_t k = 0; k < m; ++k)
      pre[idx[k]] = v[k] == proto::replay_verdict::ok ? proto::commit_state::taken : proto::commit_state::refused;
    i = end;
  }
}

// The peer may have gone since (its id then names nothing here, or another peer): dropped.
void spread_flush(worker_ctx& c) noexcept {
  spread_tally& t = c.tally;
  if (t.peer && peer_here(c, t.pid) == t.peer) {
    dp_peer* p = t.peer;
    if (t.rx_pkts) p->rx_pkts.fetch_add(t.rx_pkts, std::memory_order_relaxed), p->rx_bytes.fetch_add(t.rx_bytes, std::memory_order_relaxed);
    if (t.tx_pkts) p->tx_pkts.fetch_add(t.tx_pkts, std::memory_order_relaxed), p->tx_bytes.fetch_add(t.tx_bytes, std::memory_order_relaxed);
  }
  t = spread_tally{};
}

void spread_tick(worker_ctx& c) noexcept {
  spread_flush(c);
  for (uint32_t i = 0; i < c.me.n_owned; ++i) {
    dp_peer* p = c.me.peers[c.me.owned[i]];
    if (!p || p->spread <= 1) continue;
    p->keys.tick(c.now_s);
    // §8.3: seal_chunk flags the wrap on a peer one lcore seals; here for the shared sending key.
    if (const proto::dc_tx* tx = p->keys.tx_shared(); tx && tx->wrap_due() && tx != p->wrap_flagged) {
      p->wrap_flagged = tx;
      p->wrap_seq.store(p->wrap_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
  }
}

}  // namespace dpvpn::dp
