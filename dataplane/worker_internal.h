// SPDX-License-Identifier: MIT
// Private to the worker_*.cc files: one burst's context and the per-direction entry points.
#pragma once

#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>

#include "dpvpn/dp_state.h"
#include "dpvpn/mac_table.h"
#include "dpvpn/netpkt.h"
#include "route_v4.h"

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
  rte_mbuf* lan[k_max_burst * 2];
  uint16_t n_lan = 0;
};

// One tunnel on several lcores (worker_spread.cc, docs/dataplane.md "One tunnel on several lcores"):
// chunk size of the spread paths.
inline constexpr uint16_t k_spread_chunk = 16;

// A spread peer's sealed packets waiting for their key's send token (spread_release), in the order
// their ids were taken. Holds pointers to shared keys: the lcore reports no quiescent state while
// it holds any. Worker loop only.
struct spread_hold {
  static constexpr uint16_t k_cap = 4 * k_spread_chunk;
  uint16_t n = 0;
  rte_mbuf* m[k_cap];
  proto::dc_tx* tx[k_cap];
  uint32_t pid[k_cap];
};

// Commands the owner applied for a spread peer, held back from the done ring until every lcore
// passed a quiescent state (the keys and the peer they hand back may still be in another lcore's
// hands): a FIFO of (command, QSBR token). Worker loop only.
struct deferred_cmds {
  static constexpr uint32_t k_cap = 64;
  void* cmd[k_cap];
  uint64_t token[k_cap];
  uint32_t head = 0, n = 0;
};

// A spread peer's counters, added up on this lcore and stored on the peer (atomic adds) when
// another spread peer comes, every k_spread_tally packets, and once a second (spread_tick): the
// peer's counter line then moves between lcores once per many chunks.
struct spread_tally {
  static constexpr uint64_t k_spread_tally = 1024;
  dp_peer* peer = nullptr;
  uint32_t pid = 0;
  uint64_t rx_pkts = 0, rx_bytes = 0, tx_pkts = 0, tx_bytes = 0;
};

// TAP mode's fan-out queue (worker_fanout.cc, docs/tap.md "the fan-out"): flood frames this lcore
// seals for its own clients, each holding one reference to the shared mbuf and the index of the
// next owned peer (dp_lcore::owned) to seal it for. Bounded: a full queue drops the new frame
// (fanout_full). Worker loop only.
struct fanout_queue {
  static constexpr uint16_t k_cap = 64;
  rte_mbuf* m[k_cap];
  uint32_t next[k_cap];
  uint16_t head = 0, n = 0;
};
// Destinations the fan-out seals per loop at most, so that a broadcast to many clients interleaves
// with the lcore's other traffic.
inline constexpr unsigned k_fanout_budget = 64;
// ... and in a loop that had nothing else to do.
inline constexpr unsigned k_fanout_idle_budget = 4 * k_fanout_budget;

// Keeping a spread tunnel's order (worker_order.cc, docs/dataplane.md "Order"). segs: the shares
// whose output is in this loop's tun / LAN batches, as index ranges. held: shares whose output came
// before their turn, with their packets (tun first, then LAN) in m; released in order when their
// turn comes, or when the order did not move for k_order_wait_us or the hold is full (then the
// order gives way).
// Worker loop only.
inline constexpr uint64_t k_order_wait_us = 500;
struct order_state {
  struct seg {
    uint32_t seq;
    uint8_t from;
    bool last;  // the share ends here (its last packet was worked)
    uint16_t tun0, tun1, lan0, lan1;
  };
  struct held {
    uint32_t seq;
    uint8_t from;
    bool last;
    uint16_t n_tun, n_lan;
    uint32_t seen_next;  // the receiver's `next` when last looked at
    uint64_t since_tsc;  // when `next` was last seen to move (or the share was held)
  };
  static constexpr uint16_t k_segs = 16, k_held = 16, k_pkts = 256;
  seg segs[k_segs];
  uint16_t n_segs = 0;  // segs[n_segs] is the one order_begin .. order_end fill
  held h[k_held];
  uint16_t n_held = 0, n_m = 0;
  rte_mbuf* m[k_pkts];
};

struct worker_ctx {
  dp_shared& sh;
  dp_lcore& me;
  tx_batch tx;
  uint64_t now_s;
  uint16_t ip_id = 0;
  // The WAN's IPv4 outer headers from our side, built from sh.cfg (fixed once running) by
  // frame_outer at the first IPv4 packet (until then ip_sum is 0, never after).
  net::outer_v4_tmpl outer4;
  uint64_t icmp_sec = 0;   // the second icmp_left counts down in (ICMP error rate limit)
  uint32_t icmp_left = 0;
  neigh_cache neigh;       // recent next-hop look-ups (LAN port)
  deferred_cmds deferred;  // spread peers' applied commands waiting for a grace period
  // The last WAN burst this lcore classified itself: how many packets were a spread peer's, and
  // over how many lcores that peer may be spread (spread_raw).
  uint16_t spread_seen = 0, spread_of_seen = 0, seen_of = 0;
  uint32_t spread_turn = 0;  // spread_raw: whose turn the next hot burst is
  bool kept_hot = false;     // spread_raw kept this hot burst whole: spread_rx does not cut it again
  uint32_t poll_seq = 0;     // cfg.spread_pull: the share number wan_poll_own's poll took (0: none)
  spread_tally tally;
  spread_hold hold;
  order_state order;         // spread shares' output waiting for its turn
  // Per hand-off ring (the lcore it comes from): the share whose mbufs are still coming (its
  // share_mark was read, `left` of its mbufs not yet; a share may span two dequeues).
  struct share_in {
    uint32_t seq = 0;
    uint16_t left = 0;
    pkt_dir dir = pkt_dir::wan_raw;
  } incoming[k_max_workers];
  fanout_queue fan;          // TAP: flood frames for this lcore's clients
  net::learn_filter learned; // TAP: learn requests sent in the last second
  // The last outer address this lcore found in sh.addrs and its peer (a client role's server; a
  // DATA_V1 client's run of packets): a hit saves the rte_hash look-up. Good while sh.addrs_gen
  // still reads gen (addr_lookup, worker_rx.cc).
  struct addr_memo {
    net::outer_addr addr;
    uint32_t pid = 0;
    uint32_t gen = 0;
    bool valid = false;
  } memo;
};

// Room in the fan-out queue for n more flood frames (the exception port is read only then).
inline bool fanout_room(const worker_ctx& c, uint16_t n) noexcept { return c.fan.n + n <= fanout_queue::k_cap; }

// The buf_view over an mbuf's single segment, and back (inline: several times per packet).
inline buf_view view_of(rte_mbuf* m) noexcept {
  buf_view v;
  v.data = rte_pktmbuf_mtod(m, uint8_t*);
  v.len = m->data_len;
  v.headroom = rte_pktmbuf_headroom(m);
  v.tailroom = rte_pktmbuf_tailroom(m);
  return v;
}

inline void apply_view(rte_mbuf* m, const buf_view& v) noexcept {
  m->data_off = static_cast<uint16_t>(v.data - static_cast<uint8_t*>(m->buf_addr));
  m->data_len = static_cast<uint16_t>(v.len);
  m->pkt_len = v.len;
}

// Bursts are worked in stages (docs/dataplane.md): classify the whole burst, then the packets
// this lcore owns go through look-up, crypto and finish passes of up to k_stage packets, so that
// each pass's prefetches have the other packets' work to hide behind.
inline constexpr uint16_t k_stage = 32;

inline void prefetch_lines(const void* p, unsigned lines) noexcept {
  if (!p) return;
  for (unsigned i = 0; i < lines; ++i) rte_prefetch0(static_cast<const uint8_t*>(p) + 64 * i);
}
// The hot lines of a peer: keys, outer address, counters (see dp_peer).
inline void prefetch_peer(const dp_peer* p) noexcept { prefetch_lines(p, 4); }

// One tunnel on several lcores (worker_spread.cc, docs/dataplane.md "One tunnel on several lcores").
// The peer a packet's pid names on this lcore: its own, or a spread peer another lcore owns.
inline dp_peer* peer_here(const worker_ctx& c, uint32_t pid) noexcept {
  dp_peer* p = c.me.peers[pid];
  if (!p && c.sh.spread_peer) p = c.sh.spread_peer[pid].load(std::memory_order_acquire);
  return p;
}
// The spread peer pid names, when this lcore may seal its packets (it is one of the spread lcores
// after the owner); null: hand them to the owner.
dp_peer* spread_sealer(const worker_ctx& c, uint32_t pid, uint16_t owner) noexcept;
// The spread peer pid names, when this lcore may open a packet of it from src; null: the owner's.
dp_peer* spread_opener(const worker_ctx& c, uint32_t pid, const net::outer_addr& src) noexcept;
// Tests: turn the WAN's inline common-frame path off (every frame through parse_frame and
// udp_classify) or back on; returns the previous setting. Not for use while workers run.
bool set_wan_fast_path(bool on) noexcept;
// Tests: open owned WAN packets in the staged form (open_chunk) even with no spread peer, instead
// of one whole packet at a time (open_each), or back; returns the previous setting.
bool set_open_each(bool on) noexcept;
// The WAN packets of spread peers in this lcore's group, cut into chunks of k_spread_chunk in
// arrival order; chunk k goes to the (k % spread)-th lcore after this one (0: kept here, so a
// burst shorter than a chunk is never spread). pkts is compacted to what stays; returns its count.
inline constexpr unsigned k_spread_backlog = 64;  // a spread share waits behind at most this many
// The packets that stay are cut into runs, each a share of its own (docs/dataplane.md, "Order"):
// a packet kept after a chunk was handed on is numbered after that chunk. Run r is
// pkts[start[r] .. start[r + 1]) with number seq[r] (0: not ordered); run 0 starts at 0 and comes
// in with spread_raw's number.
struct local_runs {
  static constexpr uint16_t k_cap = 2 * (k_max_burst / k_spread_chunk) + 2;
  uint16_t start[k_cap] = {0};
  uint32_t seq[k_cap] = {0};
  uint16_t n = 1;
};
uint16_t spread_rx(worker_ctx& c, rte_mbuf** pkts, uint16_t n, local_runs& runs) noexcept;
// Before classification: while this lcore's WAN queue carries (nearly) only a spread tunnel (the
// last burst it classified), whole rx bursts go in turn to the spread - 1 lcores after this one,
// unread (pkt_dir::wan_raw), which classify and open them: the receiving lcore does not even
// touch their headers. Returns how many stay here (n or 0); seq: the number of the share that
// stays (0: none).
// With cfg.spread_pull the burst stays whole instead (the other lcores poll the queue themselves),
// under the number its poll took (worker_ctx::poll_seq), and the queue's hot flag follows the test.
uint16_t spread_raw(worker_ctx& c, rte_mbuf** pkts, uint16_t n, uint32_t& seq) noexcept;
// The WAN poll of worker_main: this lcore's own queue (taken as wan_queue says with
// cfg.spread_pull) through wan_burst; then wan_pull: with cfg.spread_pull, each queue of another
// lcore on which a spread tunnel of this lcore's group is hot, polled when free and opened here
// as that queue's next share. Both return the packets polled.
uint16_t wan_poll_own(worker_ctx& c, rte_mbuf** pkts, uint16_t burst) noexcept;
unsigned wan_pull(worker_ctx& c, rte_mbuf** pkts, uint16_t burst) noexcept;
// Keeping the order of a spread tunnel's shares (worker_order.cc, docs/dataplane.md "Order").
// order_issue: the receiving lcore's next share number. order_outstanding: some share it cut is
// not out yet (a burst it keeps must then be a share too, or it could overtake them).
// The _on forms: the receiving lcore q's (a puller numbers the bursts it polls from q's queue).
inline uint32_t order_issue_on(dp_lcore& q) noexcept {
  uint32_t s = q.order.issued.fetch_add(1, std::memory_order_relaxed) + 1;
  if (s == 0) s = q.order.issued.fetch_add(1, std::memory_order_relaxed) + 1;  // 0 is never a number
  return s;
}
inline bool order_outstanding_on(const dp_lcore& q) noexcept {
  return static_cast<int32_t>(q.order.issued.load(std::memory_order_relaxed) - q.order.next.load(std::memory_order_acquire)) >= 0;
}
inline uint32_t order_issue(worker_ctx& c) noexcept { return order_issue_on(c.me); }
inline bool order_outstanding(const worker_ctx& c) noexcept { return order_outstanding_on(c.me); }
// Around the work of one share (or a part of it) on this lcore: its output in the tun / LAN
// batches is recorded as one segment. last: the share's last packet was among those worked.
void order_begin(worker_ctx& c, uint8_t from, uint32_t seq) noexcept;
void order_end(worker_ctx& c, bool last) noexcept;
// Share `seq` of lcore `from` has nothing (more) to send: done.
void order_done(dp_shared& sh, uint8_t from, uint32_t seq) noexcept;
// flush_tx's part: before the tun / LAN sends, held shares whose turn came are sent and the
// batch's segments that are early move to the hold; after them, the sent shares are marked done.
void order_before_send(worker_ctx& c) noexcept;
void order_after_send(worker_ctx& c) noexcept;
// At the end (worker exit, a benchmark pass): everything held goes out, in order as far as it can.
void order_release_all(worker_ctx& c) noexcept;
// The tun and LAN sends flush_tx uses (worker.cc), for the held shares.
void send_tun(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
void send_lan(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
// A run's rx (rx true) or tx packets and bytes for peer p: relaxed load + store for a peer one
// lcore writes; a spread peer's go to c.tally (atomic adds when it is stored).
void spread_flush(worker_ctx& c) noexcept;
inline void peer_count(worker_ctx& c, dp_peer& p, bool rx, uint64_t pkts, uint64_t bytes) noexcept {
  if (p.spread <= 1) {
    lcore_counters::bump(rx ? p.rx_pkts : p.tx_pkts, pkts);
    lcore_counters::bump(rx ? p.rx_bytes : p.tx_bytes, bytes);
    return;
  }
  spread_tally& t = c.tally;
  if (t.peer != &p) {
    spread_flush(c);
    t.peer = &p;
    t.pid = p.peer_id;
  }
  (rx ? t.rx_pkts : t.tx_pkts) += pkts;
  (rx ? t.rx_bytes : t.tx_bytes) += bytes;
  if (t.rx_pkts + t.tx_pkts >= spread_tally::k_spread_tally) spread_flush(c);
}
// Between the crypto and the finish pass of open_chunk: the authenticated packets of spread peers
// commit their ids to the shared window once per run of one key (pre[i]; the others: here).
void spread_commit(const proto::data_keys::staged* st, const bool* live, const bool* tag_ok, uint16_t n,
                   proto::commit_state* pre) noexcept;
// Owner, between bursts: spread peers' key switches and wrap flags (data_keys::tick).
void spread_tick(worker_ctx& c) noexcept;
// The WAN TX batch sent now (a spread peer's sealed chunk leaves right after its ids were taken).
void flush_wan(worker_ctx& c) noexcept;
// The held spread packets (c.hold) whose key's send token is free: checked against the highest id
// sent (stale ones dropped) and sent, in order, under the token (worker_tx.cc). Returns how many
// are still held (their token is another lcore's now).
uint16_t spread_release(worker_ctx& c) noexcept;
// At the end (worker exit, a benchmark pass): spread_release until nothing is held; what still
// waits after `spins` tries is dropped as spread_stale.
void spread_release_all(worker_ctx& c, uint32_t spins) noexcept;
// The end of a loop iteration: held spread packets released if their tokens are free, and this
// lcore's quiescent state reported (route tables, spread keys) unless it still holds some.
inline void loop_quiescent(worker_ctx& c) noexcept {
  if (c.hold.n && spread_release(c)) return;
  rte_rcu_qsbr_quiescent(c.sh.qsbr, c.me.index);
}

// WAN side (worker_rx.cc, worker_rx6.cc): a whole rx burst; its stage 1 for one frame (true: the
// packet is this lcore's to open); stages 2-4 for packets this lcore owns (also hand-offs).
// spread: this lcore received the burst itself (it may share it out); false for a raw share.
void wan_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n, bool spread = true) noexcept;
bool wan_classify(worker_ctx& c, rte_mbuf* m) noexcept;
bool wan_classify6(worker_ctx& c, rte_mbuf* m) noexcept;
bool udp_classify(worker_ctx& c, rte_mbuf* m, size_t payload_off, size_t payload_len, const net::mac& src_mac) noexcept;
// The client role: a whole WAN frame for the control thread's next-hop resolution (an ARP reply
// or Neighbor Advertisement for our address; pkt_dir::wan_l2), or punt_full.
void punt_wan_l2(worker_ctx& c, rte_mbuf* m) noexcept;
void open_owned(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
// Exception-port side (worker_tx.cc), the same shape: packets for clients, sealed by their owner.
void tun_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
bool tun_classify(worker_ctx& c, rte_mbuf* m) noexcept;
void seal_owned(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
// The peer an inner packet's source (want_src) or destination routes to (longest prefix: a
// client's address or an iroute behind it); false with the drop reason when malformed or
// unrouted. IPv4 inline (the common case on every packet), the rest out of line (worker_tx.cc).
bool route_inner_other(const dp_shared& sh, const uint8_t* p, size_t len, bool want_src, uint32_t& pid,
                       drop& why) noexcept;
inline bool route_inner(const dp_shared& sh, const uint8_t* p, size_t len, bool want_src, uint32_t& pid,
                        drop& why) noexcept {
  uint32_t src = 0, dst = 0;
  if (!net::inner_v4_addrs(p, len, src, dst)) return route_inner_other(sh, p, len, want_src, pid, why);
  why = drop::no_route;
  return route_lookup_v4_inline(sh.rt, want_src ? src : dst, pid) && pid < sh.cfg.max_peers;
}
inline bool route_dst(const dp_shared& sh, const uint8_t* p, size_t len, uint32_t& pid, drop& why) noexcept {
  return route_inner(sh, p, len, false, pid, why);
}
inline bool route_src(const dp_shared& sh, const uint8_t* p, size_t len, uint32_t& pid, drop& why) noexcept {
  return route_inner(sh, p, len, true, pid, why);
}
void handoff(worker_ctx& c, rte_mbuf* m, uint16_t owner) noexcept;     // worker.cc
// LAN side (worker_lan.cc, dp-lan): a LAN rx burst (ARP/ND answered, packets for clients sealed by
// their owner); and a decrypted packet of peer pid that a LAN route covers, forwarded (true: m
// was consumed: sent, queued for its next hop, answered or dropped; false: not for the LAN).
void lan_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
bool to_lan(worker_ctx& c, uint32_t pid, rte_mbuf* m) noexcept;
// One tx_burst per port for what the loop collected (worker.cc); what a queue refuses is dropped.
void flush_tx(worker_ctx& c) noexcept;
// A batch holds more than a burst: flush before the next burst's output joins it.
inline bool tx_full(const worker_ctx& c) noexcept {
  return c.tx.n_wan > k_max_burst || c.tx.n_tun > k_max_burst || c.tx.n_lan > k_max_burst;
}
// What lcore `from` handed to this one (n entries of its hand-off ring: mbufs and share_marks):
// opened or sealed by direction, shares run by run in their order (worker.cc).
void owner_input(worker_ctx& c, uint16_t from, void** ents, uint16_t n) noexcept;
// How many entries a hand-off poll takes: a burst and one share_mark, so that a whole rx burst
// handed on (spread_raw) comes in one poll, not cut in two runs.
inline uint16_t handoff_burst(uint16_t burst) noexcept {
  return static_cast<uint16_t>(std::min<unsigned>(burst + 1u, k_max_burst));
}

// TAP mode (docs/tap.md). worker_l2.cc: a decrypted frame of peer p (m holds the inner Ethernet
// frame) through the L2 stage: dropped, an ARP answer sealed back, or forwarded (the exception
// port, another client's owner, the fan-out); always consumed. And stage 1 of an exception-port
// frame in tap mode (true: for a client this lcore seals).
void l2_from_peer(worker_ctx& c, dp_peer& p, rte_mbuf* m) noexcept;
bool tap_classify(worker_ctx& c, rte_mbuf* m) noexcept;
// worker_fanout.cc: m (one reference, which the call consumes) goes to every lcore that owns a
// client, one reference each (handoff rings; this lcore's own fan-out queue), as pkt_dir::flood
// skipping peer `skip`. A flood frame (a reference) onto this lcore's fan-out queue. Up to budget
// destinations sealed from the queue (returns how many). At worker exit, the queue emptied.
void flood(worker_ctx& c, rte_mbuf* m, uint32_t skip) noexcept;
void fanout_enqueue(worker_ctx& c, rte_mbuf* m) noexcept;
unsigned fanout_run(worker_ctx& c, unsigned budget) noexcept;
void fanout_clear(worker_ctx& c) noexcept;

// `mssfix` (both directions, both inner families): true when a TCP SYN's MSS was lowered.
inline bool mss_clamp(const dp_config& cfg, uint8_t* ip, size_t len) noexcept {
  switch (net::ip_version(ip, len)) {
    case 4: return cfg.mss_clamp && net::tcp_mss_clamp(ip, len, cfg.mss_clamp) == net::mss_result::clamped;
    case 6: return cfg.mss_clamp_v6 && net::tcp_mss_clamp_v6(ip, len, cfg.mss_clamp_v6) == net::mss_result::clamped;
    default: return false;
  }
}

// Stage 1 over an rx burst, for every port: classify(m) each frame, the next ones' first lines
// prefetched 4 ahead; the frames it keeps (true: this lcore owns them) go into owned, in order.
// Counts the burst into the port's rx counters. Returns how many it kept.
template <class Classify>
uint16_t classify_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n, rte_mbuf** owned, std::atomic<uint64_t>& rx_pkts,
                        std::atomic<uint64_t>& rx_bytes, Classify&& classify) noexcept {
  uint16_t n_owned = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n && i < 4; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 4 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void*));
    bytes += pkts[i]->pkt_len;
    if (classify(c, pkts[i])) owned[n_owned++] = pkts[i];
  }
  lcore_counters::bump(rx_pkts, n);
  lcore_counters::bump(rx_bytes, bytes);
  return n_owned;
}

inline void drop_pkt(worker_ctx& c, rte_mbuf* m, drop why) noexcept {
  c.me.ctr.dropped(why);
  rte_pktmbuf_free(m);
}

}  // namespace dpvpn::dp
