// SPDX-License-Identifier: MIT
// The worker lcore loop: commands, control-thread frames, handoffs, WAN and exception-port
// bursts, keepalives. No locks, no allocation, no syscalls on the packet path.
#include <rte_cycles.h>
#include <rte_prefetch.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "worker_internal.h"

namespace dpvpn::dp {

void handoff(worker_ctx& c, rte_mbuf* m, uint16_t owner) noexcept {
  rte_ring* r = c.sh.lcores[owner]->handoff_in[c.me.index];
  if (rte_ring_sp_enqueue(r, m) != 0) return drop_pkt(c, m, drop::handoff_full);
  lcore_counters::bump(c.me.ctr.handoff_out);
}

namespace {

void owned_add(dp_lcore& me, uint32_t pid) {
  me.owned[me.n_owned++] = pid;
  me.owns.store(me.n_owned, std::memory_order_relaxed);
}
void owned_remove(dp_lcore& me, uint32_t pid) {
  for (uint32_t i = 0; i < me.n_owned; ++i) {
    if (me.owned[i] == pid) {
      me.owned[i] = me.owned[--me.n_owned];
      me.owns.store(me.n_owned, std::memory_order_relaxed);
      return;
    }
  }
}

void done_enqueue(worker_ctx& c, void* cmd) noexcept {
  // The done ring is sized for every command in flight; it cannot be full.
  while (rte_ring_mp_enqueue(c.sh.done, cmd) != 0) rte_pause();
}

// A spread peer's command: the keys or the peer it hands back may be in another lcore's burst
// right now, so it waits here until every lcore reported a quiescent state after it.
void defer(worker_ctx& c, void* cmd) noexcept {
  deferred_cmds& d = c.deferred;
  const uint32_t at = (d.head + d.n++) % deferred_cmds::k_cap;
  d.cmd[at] = cmd;
  d.token[at] = rte_rcu_qsbr_start(c.sh.qsbr);
}

void release_deferred(worker_ctx& c) noexcept {
  deferred_cmds& d = c.deferred;
  while (d.n && rte_rcu_qsbr_check(c.sh.qsbr, d.token[d.head], false) == 1) {
    done_enqueue(c, d.cmd[d.head]);
    d.head = (d.head + 1) % deferred_cmds::k_cap;
    --d.n;
  }
}

// A new peer's spread (dp_peer::spread 0: the configured one); a spread peer's keys become
// shared and the peer visible to the other lcores (docs/dataplane.md, "One tunnel on several lcores").
void adopt(worker_ctx& c, dp_peer& p) noexcept {
  if (p.spread == 0) p.spread = c.sh.cfg.tunnel_spread;
  p.spread = std::min(p.spread, c.sh.cfg.n_workers);
  if (p.spread <= 1 || !c.sh.spread_peer) {
    p.spread = 1;
    return;
  }
  p.keys.share();
  c.sh.spread_peer[p.peer_id].store(&p, std::memory_order_release);
}

// Applies control commands between bursts; each goes back on the done ring (a spread peer's once
// a grace period passed: at most deferred_cmds::k_cap wait, then the cmd ring waits).
unsigned apply_cmds(worker_ctx& c) noexcept {
  release_deferred(c);
  void* objs[16];
  const unsigned room = std::min(16u, deferred_cmds::k_cap - c.deferred.n);
  const unsigned n = rte_ring_sc_dequeue_burst(c.me.cmd, objs, room, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    auto* cmd = static_cast<peer_cmd*>(objs[i]);
    dp_peer*& slot = c.me.peers[cmd->peer_id];
    const bool spread = slot && slot->spread > 1;
    switch (cmd->type) {
      case cmd_type::new_peer:
        if (!slot) {
          slot = cmd->peer;
          cmd->peer = nullptr;
          owned_add(c.me, cmd->peer_id);
          adopt(c, *slot);
        }
        break;
      case cmd_type::new_key:
        if (slot) slot->keys.install_prebuilt(cmd->key_id, cmd->tx, cmd->rx, c.now_s, cmd->armed);
        break;
      case cmd_type::arm_key:
        if (slot) slot->keys.arm(cmd->key_id, c.now_s);
        break;
      case cmd_type::del_key:
        if (slot) slot->keys.retire(cmd->key_id, cmd->tx, cmd->rx);
        break;
      case cmd_type::del_peer:
        if (slot) {
          if (spread) c.sh.spread_peer[cmd->peer_id].store(nullptr, std::memory_order_release);
          cmd->peer = slot;
          slot = nullptr;
          owned_remove(c.me, cmd->peer_id);
          if (c.sh.client_mac) c.sh.client_mac[cmd->peer_id].store(0, std::memory_order_relaxed);  // TAP
        }
        break;
    }
    lcore_counters::bump(c.me.ctr.cmds);
    if (spread) defer(c, cmd);
    else done_enqueue(c, cmd);
  }
  return n;
}

// Keepalive (§9.2): a ping to every owned peer that has been sent nothing for its interval.
void keepalives(worker_ctx& c) noexcept {
  for (uint32_t i = 0; i < c.me.n_owned && c.tx.n_wan < k_max_burst; ++i) {
    const uint32_t pid = c.me.owned[i];
    dp_peer* p = c.me.peers[pid];
    if (!p || !p->keys.has_key() || !p->ping_interval_s) continue;
    if (c.now_s < p->last_tx_s.load(std::memory_order_relaxed) + p->ping_interval_s) continue;
    rte_mbuf* m = rte_pktmbuf_alloc(c.sh.pool);
    if (!m) {
      c.me.ctr.dropped(drop::alloc_failed);
      return;
    }
    uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, wire::k_ping_magic.size()));
    std::memcpy(d, wire::k_ping_magic.data(), wire::k_ping_magic.size());
    meta_of(m).peer_id = pid;
    meta_of(m).dir = pkt_dir::tun;
    const uint16_t before = c.tx.n_wan;
    seal_owned(c, &m, 1);
    if (c.tx.n_wan != before) lcore_counters::bump(c.me.ctr.pings_tx);
  }
}

// One port's TX batch: a tx_burst, the counters, and the packets the queue did not take dropped.
void flush_port(worker_ctx& c, uint16_t port, rte_mbuf** pkts, uint16_t& n, std::atomic<uint64_t>& pkts_ctr,
                std::atomic<uint64_t>& bytes_ctr, drop full) noexcept {
  if (!n) return;
  uint64_t bytes[k_max_burst * 2 + 1];  // prefix sums, read before the PMD owns the mbufs
  bytes[0] = 0;
  for (uint16_t i = 0; i < n; ++i) bytes[i + 1] = bytes[i] + pkts[i]->pkt_len;
  const uint16_t sent = rte_eth_tx_burst(port, c.me.index, pkts, n);
  lcore_counters::bump(pkts_ctr, sent);
  lcore_counters::bump(bytes_ctr, bytes[sent]);
  if (sent < n) {
    c.me.ctr.dropped(full, n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
  n = 0;
}

}  // namespace

void flush_wan(worker_ctx& c) noexcept {
  auto& ctr = c.me.ctr;
  flush_port(c, c.sh.cfg.wan_port, c.tx.wan, c.tx.n_wan, ctr.wan_tx_pkts, ctr.wan_tx_bytes, drop::wan_tx_full);
}

void send_tun(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  if (!n) return;
  const dp_config& cfg = c.sh.cfg;
  auto& ctr = c.me.ctr;
  if (c.me.index < cfg.exc_queues) {
    flush_port(c, cfg.exc_port, pkts, n, ctr.tun_tx_pkts, ctr.tun_tx_bytes, drop::tun_tx_full);
    return;
  }
  // No queue of our own: the worker that has one sends them.
  rte_ring* r = c.sh.lcores[c.me.index % cfg.exc_queues]->exc_in;
  const unsigned sent = rte_ring_mp_enqueue_burst(r, reinterpret_cast<void**>(pkts), n, nullptr);
  if (sent < n) {
    c.me.ctr.dropped(drop::tun_tx_full, n - sent);
    rte_pktmbuf_free_bulk(pkts + sent, n - sent);
  }
}

void send_lan(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  if (!n) return;
  auto& ctr = c.me.ctr;
  flush_port(c, c.sh.cfg.lan.port, pkts, n, ctr.lan_tx_pkts, ctr.lan_tx_bytes, drop::lan_tx_full);
}

void flush_tx(worker_ctx& c) noexcept {
  // Spread shares' output leaves in their order (worker_order.cc): early ones wait in the hold.
  const bool ordered = c.order.n_segs || c.order.n_held;
  if (ordered) order_before_send(c);
  flush_wan(c);
  send_tun(c, c.tx.tun, c.tx.n_tun);
  c.tx.n_tun = 0;
  send_lan(c, c.tx.lan, c.tx.n_lan);
  c.tx.n_lan = 0;
  if (ordered) order_after_send(c);
}

void owner_input(worker_ctx& c, uint16_t from, void** ents, uint16_t n) noexcept {
  rte_mbuf* wan[k_max_burst];
  rte_mbuf* tun[k_max_burst];
  rte_mbuf* share[k_max_burst];
  // A spread tunnel's shares, as runs of share[]: the one still coming from the last poll, then one
  // per share_mark.
  struct run {
    uint16_t start, n;
    uint32_t seq;
    pkt_dir dir;
    bool last;
  } runs[k_max_burst + 1];
  uint16_t nw = 0, nt = 0, ns = 0, nr = 0, nm = 0;
  worker_ctx::share_in& in = c.incoming[from];
  // Another lcore wrote these mbufs last (its port's rx, its classify): every header and metadata
  // line is a miss in that lcore's cache. Asked for all at once they overlap; read one by one
  // (the metadata below, then classify's mtod, and the free after TX, which reads the second
  // line's `next`, which a PMD that allocates on rx reset there) each waits for the last.
  for (uint16_t i = 0; i < n; ++i) {
    if (share_mark::is(ents[i])) continue;
    rte_prefetch0(ents[i]);
    rte_prefetch0(static_cast<uint8_t*>(ents[i]) + RTE_CACHE_LINE_SIZE);
    rte_prefetch0(&meta_of(static_cast<rte_mbuf*>(ents[i])));
  }
  if (in.left) runs[nr++] = {0, 0, in.seq, in.dir, false};
  for (uint16_t i = 0; i < n; ++i) {
    if (share_mark::is(ents[i])) {
      const share_mark mk = share_mark::of(ents[i]);
      in = {mk.seq, mk.n, mk.dir};
      runs[nr++] = {ns, 0, mk.seq, mk.dir, false};
      continue;
    }
    auto* m = static_cast<rte_mbuf*>(ents[i]);
    ++nm;
    if (in.left) {  // the share's packets: their metadata is not read here
      share[ns++] = m;
      ++runs[nr - 1].n;
      runs[nr - 1].last = --in.left == 0;
      continue;
    }
    const pkt_dir d = meta_of(m).dir;
    if (d == pkt_dir::wan) wan[nw++] = m;
    else if (d == pkt_dir::flood) fanout_enqueue(c, m);  // TAP: sealed by fanout_run
    else tun[nt++] = m;
  }
  lcore_counters::bump(c.me.ctr.handoff_in, nm);
  open_owned(c, wan, nw);
  seal_owned(c, tun, nt);
  // The shares, run by run: raw ones classified here and not shared again, classified ones opened;
  // their output keeps the order. A run with no packet yet (its mark ended the poll) waits.
  for (uint16_t r = 0; r < nr; ++r) {
    const run& x = runs[r];
    if (!x.n) continue;
    order_begin(c, static_cast<uint8_t>(from), x.seq);
    if (x.dir == pkt_dir::wan_raw) wan_burst(c, share + x.start, x.n, false);
    else open_owned(c, share + x.start, x.n);
    order_end(c, x.last);
  }
}

// How long an idle exception port goes unpolled at most (microseconds): the extra latency the
// kernel's first packet after a quiet spell can see.
constexpr uint64_t k_exc_idle_us = 50;

int worker_main(dp_shared& sh, dp_lcore& me) {
  const dp_config& cfg = sh.cfg;
  worker_ctx c{sh, me, {}, sh.now_s.load(), 0};
  rte_rcu_qsbr_thread_register(sh.qsbr, me.index);
  rte_rcu_qsbr_thread_online(sh.qsbr, me.index);
  const uint16_t burst = std::min<uint16_t>(cfg.rx_burst, k_max_burst);
  rte_mbuf* pkts[k_max_burst];
  void* ents[k_max_burst];
  const uint64_t hz = rte_get_tsc_hz();
  uint64_t next_housekeeping = rte_rdtsc() + hz;
  const uint64_t exc_idle_tsc = hz / 1'000'000 * k_exc_idle_us;
  uint64_t next_exc_poll = 0;
  uint32_t idle = 0;

  while (!sh.stop.load(std::memory_order_relaxed)) {
    c.now_s = sh.now_s.load(std::memory_order_relaxed);
    unsigned work = apply_cmds(c);

    // Frames the control thread built for this lcore's WAN queue (it never touches our queues).
    unsigned n = rte_ring_sc_dequeue_burst(me.ctl_tx, reinterpret_cast<void**>(pkts), burst, nullptr);
    for (unsigned i = 0; i < n; ++i) c.tx.wan[c.tx.n_wan++] = pkts[i];
    lcore_counters::bump(me.ctr.ctl_tx, n);
    work += n;

    // Packets other lcores handed to us, the owner.
    for (uint16_t from = 0; from < cfg.n_workers; ++from) {
      if (!me.handoff_in[from]) continue;
      n = rte_ring_sc_dequeue_burst(me.handoff_in[from], ents, handoff_burst(burst), nullptr);
      owner_input(c, from, ents, static_cast<uint16_t>(n));
      work += n;
      if (tx_full(c)) flush_tx(c);
    }

    work += wan_poll_own(c, pkts, burst);
    if (tx_full(c)) flush_tx(c);
    work += wan_pull(c, pkts, burst);  // other lcores' queues, while a spread tunnel is hot there

    if (cfg.lan.on) {
      // Frames the neighbor resolver sends (requests; packets whose next hop resolved): lcore 0's.
      if (me.index == 0) {
        n = rte_ring_sc_dequeue_burst(sh.lan_ctl, reinterpret_cast<void**>(pkts), burst, nullptr);
        for (unsigned i = 0; i < n; ++i) c.tx.lan[c.tx.n_lan++] = pkts[i];
        lcore_counters::bump(me.ctr.lan_ctl, n);
        work += n;
        if (tx_full(c)) flush_tx(c);
      }
      n = rte_eth_rx_burst(cfg.lan.port, me.index, pkts, burst);
      lan_burst(c, pkts, static_cast<uint16_t>(n));
      work += n;
      if (tx_full(c)) flush_tx(c);
    }

    // The exception port (net_tun: one readv system call per poll) is polled every loop while it
    // carries traffic, and at most every k_exc_idle_us once it came back empty: with `dp-lan` it
    // carries only the gateway's own traffic, and an idle poll cost 16-30 % of a loaded worker
    // (docs/bench/fastpath.md).
    // TAP: not while the fan-out queue has no room for a burst of floods; the kernel's tap queue
    // holds the backlog meanwhile (fanout_full would drop it here).
    const uint64_t now_tsc = rte_rdtsc();
    if (me.index < cfg.exc_queues && now_tsc >= next_exc_poll && fanout_room(c, burst)) {
      n = rte_eth_rx_burst(cfg.exc_port, me.index, pkts, burst);
      tun_burst(c, pkts, static_cast<uint16_t>(n));
      work += n;
      next_exc_poll = n ? 0 : now_tsc + exc_idle_tsc;
    }
    if (me.exc_in) {  // other workers' packets for the kernel, sent on our queue
      if (tx_full(c)) flush_tx(c);
      n = rte_ring_sc_dequeue_burst(me.exc_in, reinterpret_cast<void**>(pkts), burst, nullptr);
      for (unsigned i = 0; i < n; ++i) c.tx.tun[c.tx.n_tun++] = pkts[i];
      work += n;
    }

    if (c.fan.n) {  // TAP: flood frames for this lcore's clients, a budget per loop (more when idle)
      work += fanout_run(c, work ? k_fanout_budget : k_fanout_idle_budget);
      if (tx_full(c)) flush_tx(c);
    }

    const uint64_t tsc = rte_rdtsc();
    if (tsc >= next_housekeeping) {
      if (sh.spread_peer) spread_tick(c);
      keepalives(c);
      next_housekeeping = tsc + hz;
    }
    flush_tx(c);
    loop_quiescent(c);
    work += c.hold.n + c.order.n_held;  // held spread packets: no idle sleep while they wait

    // Adaptive idle: after a run of empty polls, yield the CPU briefly (not on the packet path).
    if (work) {
      idle = 0;
    } else if (cfg.adaptive_idle && ++idle > 256) {
      rte_delay_us_sleep(idle > 4096 ? 200 : 20);
    }
  }
  fanout_clear(c);
  flush_tx(c);
  order_release_all(c);
  spread_release_all(c, 1u << 20);  // the other lcores are stopping too: their tokens come free
  rte_rcu_qsbr_thread_offline(sh.qsbr, me.index);
  if (c.deferred.n) {  // at exit: wait for the lcores still online, then hand everything back
    rte_rcu_qsbr_synchronize(sh.qsbr, RTE_QSBR_THRID_INVALID);
    for (; c.deferred.n; --c.deferred.n, c.deferred.head = (c.deferred.head + 1) % deferred_cmds::k_cap)
      done_enqueue(c, c.deferred.cmd[c.deferred.head]);
  }
  rte_rcu_qsbr_thread_unregister(sh.qsbr, me.index);
  return 0;
}

}  // namespace dpvpn::dp
