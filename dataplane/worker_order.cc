// SPDX-License-Identifier: MIT
// Keeping a spread tunnel's order (docs/dataplane.md, "Order"): the lcore that receives a spread
// tunnel's bursts numbers the shares it cuts; an lcore that opened a share sends its output (to the
// exception port or the LAN) only once the shares numbered before it went out. Output that is
// early waits in a bounded hold and is tried again at every flush; a share whose receiver's order
// stood still for k_order_wait_us, or that a full hold pushes out, goes anyway and the order gives
// way there (the shares before it are no longer waited for). Nothing here waits.
#include <rte_cycles.h>

#include <algorithm>

#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

share_order& order_of(dp_shared& sh, uint8_t from) noexcept { return sh.lcores[from]->order; }

// seq's turn came: every share numbered before it is out (or was given up on).
bool due(dp_shared& sh, uint8_t from, uint32_t seq) noexcept {
  return static_cast<int32_t>(seq - order_of(sh, from).next.load(std::memory_order_acquire)) <= 0;
}

// `next` moved past every share that is done. Whoever marks a share done runs this after its mark
// (both sequentially consistent), so of two lcores that finish neighbours at once, one sees the
// other's mark: `next` never stops at a share that is done.
void advance(share_order& o) noexcept {
  uint32_t n = o.next.load();
  for (;;) {
    if (n != 0 && o.done[n % share_order::k_slots].load() != n) return;  // 0 is never issued
    if (o.next.compare_exchange_weak(n, n + 1)) ++n;  // on failure n holds the current value
  }
}

// The order gives way: the shares before seq are not waited for any more (those still coming go
// out when they are ready).
void skip_to(share_order& o, uint32_t seq) noexcept {
  uint32_t n = o.next.load();
  while (static_cast<int32_t>(seq - n) > 0 && !o.next.compare_exchange_weak(n, seq)) {
  }
}

uint64_t wait_tsc() noexcept { return rte_get_tsc_hz() / 1'000'000 * k_order_wait_us; }

// A share's packets (or a part of them) out now: out of turn if its turn has not come (the order
// gives way there), done if they end the share.
void send_share(worker_ctx& c, uint8_t from, uint32_t seq, bool last, rte_mbuf** tun, uint16_t nt, rte_mbuf** lan,
                uint16_t nl) noexcept {
  send_tun(c, tun, nt);
  send_lan(c, lan, nl);
  if (!due(c.sh, from, seq)) {
    lcore_counters::bump(c.me.ctr.order_gave_way);
    skip_to(order_of(c.sh, from), seq);
  }
  if (last) order_done(c.sh, from, seq);
}

// The held entries that keep(i) is false for go out, in order; the rest close up.
template <class Keep>
void release_held(worker_ctx& c, Keep keep) noexcept {
  order_state& o = c.order;
  uint16_t nh = 0, nm = 0, first = 0;
  for (uint16_t i = 0; i < o.n_held; ++i) {
    const uint16_t len = static_cast<uint16_t>(o.h[i].n_tun + o.h[i].n_lan);
    if (keep(i)) {
      std::copy(o.m + first, o.m + first + len, o.m + nm);
      o.h[nh++] = o.h[i];
      nm = static_cast<uint16_t>(nm + len);
    } else {
      const order_state::held& h = o.h[i];
      send_share(c, h.from, h.seq, h.last, o.m + first, h.n_tun, o.m + first + h.n_tun, h.n_lan);
    }
    first = static_cast<uint16_t>(first + len);
  }
  o.n_held = nh;
  o.n_m = nm;
}

// The oldest held entry out, whatever its turn (the hold is full).
void release_oldest(worker_ctx& c) noexcept {
  release_held(c, [](uint16_t i) { return i != 0; });
}

// A segment whose turn has not come: its packets to the hold.
void hold(worker_ctx& c, const order_state::seg& s, rte_mbuf** tun, rte_mbuf** lan, uint64_t now) noexcept {
  order_state& o = c.order;
  const uint16_t nt = static_cast<uint16_t>(s.tun1 - s.tun0), nl = static_cast<uint16_t>(s.lan1 - s.lan0);
  while (o.n_held && (o.n_held == order_state::k_held || o.n_m + nt + nl > order_state::k_pkts)) release_oldest(c);
  if (nt + nl > order_state::k_pkts) return send_share(c, s.from, s.seq, s.last, tun, nt, lan, nl);  // larger than the hold
  std::copy(tun, tun + nt, o.m + o.n_m);
  std::copy(lan, lan + nl, o.m + o.n_m + nt);
  o.n_m = static_cast<uint16_t>(o.n_m + nt + nl);
  o.h[o.n_held++] = {s.seq, s.from, s.last, nt, nl, order_of(c.sh, s.from).next.load(std::memory_order_relaxed), now};
  lcore_counters::bump(c.me.ctr.order_held);
}

bool holds_from(const order_state& o, uint8_t from) noexcept {
  for (uint16_t i = 0; i < o.n_held; ++i)
    if (o.h[i].from == from) return true;
  return false;
}

}  // namespace

void order_done(dp_shared& sh, uint8_t from, uint32_t seq) noexcept {
  share_order& o = order_of(sh, from);
  o.done[seq % share_order::k_slots].store(seq);
  advance(o);
}

void order_begin(worker_ctx& c, uint8_t from, uint32_t seq) noexcept {
  order_state& o = c.order;
  if (o.n_segs == order_state::k_segs) flush_tx(c);  // between shares: the batch may go
  o.segs[o.n_segs] = {seq, from, false, c.tx.n_tun, 0, c.tx.n_lan, 0};
}

void order_end(worker_ctx& c, bool last) noexcept {
  order_state& o = c.order;
  order_state::seg& s = o.segs[o.n_segs];
  s.tun1 = c.tx.n_tun;
  s.lan1 = c.tx.n_lan;
  s.last = last;
  // A part with no output that does not end its share changes nothing; an empty last part still
  // marks the share done in its turn (an earlier part may be held).
  if (last || s.tun1 != s.tun0 || s.lan1 != s.lan0) ++o.n_segs;
}

void order_before_send(worker_ctx& c) noexcept {
  order_state& o = c.order;
  const uint64_t now = rte_rdtsc();
  if (o.n_held) {
    const uint64_t wait = wait_tsc();
    // A share waits while the order moves (the shares before it are being sent: a slow exception
    // port is not a stall); one whose receiver's `next` stood still for `wait` goes anyway.
    release_held(c, [&](uint16_t i) {
      order_state::held& h = o.h[i];
      const uint32_t next = order_of(c.sh, h.from).next.load(std::memory_order_acquire);
      if (static_cast<int32_t>(h.seq - next) <= 0) return false;  // its turn
      if (next != h.seen_next) h.seen_next = next, h.since_tsc = now;
      return now - h.since_tsc < wait;
    });
  }
  // This batch's segments in order: those whose turn came stay in the batch, the others move to
  // the hold, and the batch closes up. The segments left are those to mark done once sent.
  rte_mbuf** tun = c.tx.tun;
  rte_mbuf** lan = c.tx.lan;
  uint16_t rt = 0, rl = 0, wt = 0, wl = 0, kept = 0;
  for (uint16_t i = 0; i < o.n_segs; ++i) {
    const order_state::seg s = o.segs[i];
    for (; rt < s.tun0; ++rt) tun[wt++] = tun[rt];
    for (; rl < s.lan0; ++rl) lan[wl++] = lan[rl];
    // Per receiving lcore, shares reach this lcore in their order: one whose turn came has nothing
    // before it in the hold, unless `next` moved since the hold was looked at (then wait too).
    if (due(c.sh, s.from, s.seq) && !holds_from(o, s.from)) {
      for (; rt < s.tun1; ++rt) tun[wt++] = tun[rt];
      for (; rl < s.lan1; ++rl) lan[wl++] = lan[rl];
      if (s.last) o.segs[kept++] = s;
    } else {
      hold(c, s, tun + s.tun0, lan + s.lan0, now);
      rt = s.tun1;
      rl = s.lan1;
    }
  }
  for (; rt < c.tx.n_tun; ++rt) tun[wt++] = tun[rt];
  for (; rl < c.tx.n_lan; ++rl) lan[wl++] = lan[rl];
  c.tx.n_tun = wt;
  c.tx.n_lan = wl;
  o.n_segs = kept;
}

void order_after_send(worker_ctx& c) noexcept {
  order_state& o = c.order;
  for (uint16_t i = 0; i < o.n_segs; ++i) order_done(c.sh, o.segs[i].from, o.segs[i].seq);
  o.n_segs = 0;
}

void order_release_all(worker_ctx& c) noexcept {
  while (c.order.n_held) release_oldest(c);
}

}  // namespace dpvpn::dp
