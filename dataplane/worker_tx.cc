// SPDX-License-Identifier: MIT
// Exception-port receive path, in stages over a burst: inner destination (LPM, IPv4/IPv6) ->
// owner (hand-off when another lcore owns it) -> for the owned group: peers and sending keys
// prefetched, then seal in place -> outer UDP/IPv4 or UDP/IPv6 -> WAN TX.
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <iterator>

#include "worker_internal.h"

namespace dpvpn::dp {

// route_inner's cases other than a well-formed IPv4 header: IPv6, or the drop reason.
bool route_inner_other(const dp_shared& sh, const uint8_t* p, size_t len, bool want_src, uint32_t& pid,
                       drop& why) noexcept {
  why = net::ip_version(p, len) == 6 ? drop::inner_bad_ipv6 : drop::inner_not_ip;
  net::inner_v6 h;
  if (why == drop::inner_not_ip || !net::inner_v6_addrs(p, len, h)) return false;
  why = drop::no_route;
  return route_lookup_v6(sh.rt, want_src ? h.src : h.dst, pid) && pid < sh.cfg.max_peers;
}

// Stage 1 for one exception-port packet: true when this lcore owns its destination peer.
[[gnu::always_inline]] static inline bool tun_classify_inline(worker_ctx& c, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) {
    drop_pkt(c, m, drop::multi_segment);
    return false;
  }
  uint32_t pid = 0;
  drop why{};
  if (!route_dst(c.sh, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, pid, why)) {
    drop_pkt(c, m, why);
    return false;
  }
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) {
    drop_pkt(c, m, drop::no_route);
    return false;
  }
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = pid;
  mm.dir = pkt_dir::tun;
  if (owner != c.me.index && !spread_sealer(c, pid, owner)) {
    handoff(c, m, owner);
    return false;
  }
  return true;
}

bool tun_classify(worker_ctx& c, rte_mbuf* m) noexcept { return tun_classify_inline(c, m); }

namespace {

// The seal's first stage for one packet, v its view (the plaintext): owner lcore only, or one of
// a spread peer's lcores with tx and pid (a reserved id of the shared sending key). On true, with
// staged set, v holds the whole OpenVPN packet but its tag and j is the AEAD to run; with staged
// clear (a CBC key) the packet is sealed whole.
bool seal_prepare(worker_ctx& c, dp_peer& p, buf_view& v, proto::dc_tx* tx, uint32_t pid, proto::seal_job& j,
                  bool& staged) noexcept {
  const uint32_t wire_pid = !p.data_v2 ? wire::k_peer_id_none : p.wire_id != wire::k_peer_id_none ? p.wire_id : p.peer_id;
  proto::dc_err e;
  if (!tx) {
    e = p.keys.seal_prepare(*c.me.eng, v, wire_pid, c.now_s, j, staged);
  } else if (tx->key()) {
    e = tx->seal_prepare(v, tx->key_id(), wire_pid, p.keys.framing, pid, j);
    staged = true;
  } else {
    e = tx->seal_id(*c.me.eng, v, tx->key_id(), wire_pid, p.keys.framing, pid);
    staged = false;
  }
  return e == proto::dc_err::ok;
}

// The last stage: the outer Ethernet/IP/UDP headers in front of the sealed packet v, written back
// to m. A software UDP checksum comes from payload_sum (csum_partial of v, taken in the AEAD pass)
// where there is one; without it csum_later comes back true and net::fill_outer_udp_csum must
// run before the frame is sent.
bool frame_outer(worker_ctx& c, const dp_peer& p, rte_mbuf* m, buf_view& v, const uint32_t* payload_sum,
                 bool& csum_later) noexcept {
  const uint32_t payload = v.len;
  const dp_config& cfg = c.sh.cfg;
  if (net::is_v4_mapped(p.client.ip)) {
    uint8_t* h = v.prepend(static_cast<uint32_t>(net::k_outer_v4));
    if (!h) return false;
    if (cfg.tx_csum_offload) {
      const net::udp_endpoints e{cfg.wan_mac, p.client_mac, cfg.local_ip, net::v4_of(p.client.ip), cfg.local_port,
                                 p.client.port};
      net::write_outer_v4_nic_csum(h, e, payload, c.ip_id++);
      m->l2_len = net::k_eth_hdr;
      m->l3_len = net::k_ipv4_hdr;
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    } else {
      if (!c.outer4.ip_sum) [[unlikely]]
        net::make_outer_v4_tmpl(c.outer4, cfg.wan_mac, cfg.local_ip, cfg.local_port);
      const bool sum_now = cfg.udp_checksum && payload_sum;
      net::write_outer_v4_tmpl(h, c.outer4, p.client_mac, net::v4_of(p.client.ip), p.client.port, payload, c.ip_id++,
                               sum_now ? payload_sum : nullptr);
      csum_later = cfg.udp_checksum && !sum_now;
    }
  } else {
    uint8_t* h = v.prepend(static_cast<uint32_t>(net::k_outer_v6));
    if (!h) return false;
    const net::udp6_endpoints e{cfg.wan_mac, p.client_mac, cfg.local_ip6, p.client.ip, cfg.local_port, p.client.port};
    if (cfg.tx_csum_offload) {
      net::write_outer_v6_nic_csum(h, e, payload);
      m->l2_len = net::k_eth_hdr;
      m->l3_len = net::k_ipv6_hdr;
      m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
    } else {
      net::write_outer_v6(h, e, payload, 0, false);
      // The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1).
      if (payload_sum)
        wire::put_u16(h + net::k_eth_hdr + net::k_ipv6_hdr + 6, net::udp_csum_v6(e, payload, *payload_sum));
      else
        csum_later = true;
    }
  }
  apply_view(m, v);
  return true;
}

// A spread peer's packets in the chunk (docs/dataplane.md, "One tunnel on several lcores"): each
// run of one peer takes a block of ids with one fetch_add on its shared sending key, right before
// the seal pass; the chunk then leaves at once (under the send token, spread_release), so that the
// ids another lcore takes meanwhile run ahead of ours by about a chunk, well inside the peer's
// replay window.
// Returns whether any packet of the chunk has one.
bool reserve_spread(dp_peer* const* peer, uint16_t n, proto::dc_tx** tx, uint32_t* pid) noexcept {
  bool any = false;
  for (uint16_t i = 0; i < n;) {
    tx[i] = nullptr;
    if (!peer[i] || peer[i]->spread <= 1) {
      ++i;
      continue;
    }
    uint16_t end = i + 1;
    while (end < n && peer[end] == peer[i]) ++end;
    proto::dc_tx* t = peer[i]->keys.tx_shared();
    const uint32_t first = t ? t->reserve_ids(end - i) : 0;  // 0: exhausted, seal_id refuses it
    for (uint16_t k = i; k < end; ++k) {
      tx[k] = t;
      pid[k] = first ? first + (k - i) : 0;
    }
    any = true;
    i = end;
  }
  return any;
}

// The receiver accepts an id less than its replay window below the highest it has seen, which is
// at most the highest any lcore has sent. Under the key's send token no other lcore sends, so what
// passes this check reaches the wire before any higher id that could push it out of the window; an
// id that fell further behind (this lcore was held up between its fetch_add and the token) is
// dropped here, named, not at the peer. The margin covers a port whose TX queues may interleave
// on the wire (a NIC's queues are served in turn): one chunk.
bool spread_fresh(const proto::dc_tx& tx, uint32_t pid) noexcept {
  const uint32_t sent = tx.highest_sent();
  const uint32_t w = tx.params().replay_window;
  const uint32_t margin = std::min<uint32_t>(w / 4, k_spread_chunk);
  return sent <= pid || sent - pid < w - margin;
}

// The chunk's sealed spread packets, c.tx.wan[from ..], go to the hold (the others stay in the
// batch), in order; then whatever the tokens allow leaves. A full hold drops its oldest packets
// (they are the likeliest to be stale anyway).
void spread_hold_chunk(worker_ctx& c, uint16_t from, proto::dc_tx* const* tx, const uint32_t* pid) noexcept {
  spread_hold& h = c.hold;
  uint16_t out = from;
  for (uint16_t i = from; i < c.tx.n_wan; ++i) {
    rte_mbuf* m = c.tx.wan[i];
    const uint16_t k = i - from;
    if (!tx[k]) {
      c.tx.wan[out++] = m;
      continue;
    }
    if (h.n == spread_hold::k_cap) [[unlikely]] {
      drop_pkt(c, h.m[0], drop::spread_stale);
      --h.n;
      std::copy(h.m + 1, h.m + 1 + h.n, h.m);
      std::copy(h.tx + 1, h.tx + 1 + h.n, h.tx);
      std::copy(h.pid + 1, h.pid + 1 + h.n, h.pid);
    }
    h.m[h.n] = m, h.tx[h.n] = tx[k], h.pid[h.n] = pid[k];
    ++h.n;
  }
  c.tx.n_wan = out;
  spread_release(c);
}

// The token's holder keeps it for one check and one tx_burst (well under a microsecond on a NIC
// or a ring); a short wait for it costs less than holding the chunk, which another lcore's ids
// overtake while it waits. Bounded (about a microsecond): a holder that was preempted is not
// waited for.
constexpr unsigned k_token_spins = 32;

bool take_send_soon(proto::dc_tx& t) noexcept {
  for (unsigned i = 0; i < k_token_spins; ++i) {
    if (t.try_take_send()) return true;
    rte_pause();
  }
  return t.try_take_send();
}

}  // namespace

uint16_t spread_release(worker_ctx& c) noexcept {
  spread_hold& h = c.hold;
  if (!h.n) return 0;
  if (c.tx.n_wan) flush_wan(c);  // the batch carries only the token's packets
  // Keys whose token another lcore holds: all their packets wait, so their order stays.
  proto::dc_tx* busy[8];
  uint16_t n_busy = 0;
  auto is_busy = [&](const proto::dc_tx* t) { return std::find(busy, busy + n_busy, t) != busy + n_busy; };
  for (;;) {
    uint16_t i = 0;
    while (i < h.n && is_busy(h.tx[i])) ++i;
    if (i == h.n) break;
    proto::dc_tx* const t = h.tx[i];
    if (!take_send_soon(*t)) {
      if (n_busy == std::size(busy)) break;
      busy[n_busy++] = t;
      continue;
    }
    uint16_t keep = 0;
    uint32_t top = 0;
    for (uint16_t k = 0; k < h.n; ++k) {
      if (h.tx[k] != t) {
        h.m[keep] = h.m[k], h.tx[keep] = h.tx[k], h.pid[keep] = h.pid[k];
        ++keep;
      } else if (spread_fresh(*t, h.pid[k])) {
        c.tx.wan[c.tx.n_wan++] = h.m[k];
        top = std::max(top, h.pid[k]);
      } else [[unlikely]] {
        drop_pkt(c, h.m[k], drop::spread_stale);
      }
    }
    h.n = keep;
    flush_wan(c);  // on the wire before the token goes: a later id cannot overtake these
    if (top) t->note_sent(top);
    t->give_send();
  }
  return h.n;
}

void spread_release_all(worker_ctx& c, uint32_t spins) noexcept {
  for (uint32_t i = 0; i < spins && spread_release(c); ++i) rte_pause();
  for (uint16_t i = 0; i < c.hold.n; ++i) drop_pkt(c, c.hold.m[i], drop::spread_stale);
  c.hold.n = 0;
}

namespace {

// Per-peer TX counters of a run of packets from one peer, stored once per run: one atomic add
// per run, not per packet, on the line a spread peer's lcores share.
struct tx_tally {
  worker_ctx& c;
  dp_peer* p = nullptr;
  uint64_t pkts = 0, bytes = 0;
  void add(dp_peer* q, uint64_t len) noexcept {
    if (q != p) {
      flush();
      p = q;
    }
    ++pkts;
    bytes += len;
  }
  void flush() noexcept {
    if (!p) return;
    peer_count(c, *p, false, pkts, bytes);
    p = nullptr;
    pkts = bytes = 0;
  }
};

constexpr uint16_t k_tx_ahead = 2;

void seal_chunk(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  dp_peer* peer[k_stage];
  // The peers for the whole group; each sending key's state k_tx_ahead packets ahead of the
  // headers pass that reads it, and its expanded key one packet ahead of the AEAD (as open_each:
  // 32 packets' keys fetched in one pass had more misses in flight than the core keeps).
  for (uint16_t i = 0; i < n; ++i) {
    peer[i] = peer_here(c, meta_of(pkts[i]).peer_id);
    if (peer[i]) prefetch_peer(peer[i]);
  }
  auto tx_of = [](const dp_peer* p) { return p->spread > 1 ? p->keys.tx_shared() : p->keys.tx_peek(); };
  auto fetch_tx = [&](uint16_t i) {
    if (i < n && peer[i] && (i == 0 || peer[i] != peer[i - 1]))
      if (const proto::dc_tx* tx = tx_of(peer[i])) prefetch_lines(tx, 2);
  };
  for (uint16_t i = 0; i < k_tx_ahead; ++i) fetch_tx(i);
  proto::dc_tx* stx[k_stage];
  uint32_t spid[k_stage];
  const bool spread = c.sh.spread_peer && reserve_spread(peer, n, stx, spid);
  const dp_config& cfg = c.sh.cfg;
  uint64_t encrypted = 0, spread_sealed = 0;
  tx_tally tally{c};
  // With spread packets the WAN batch is sent at the end of the chunk: what it holds now first.
  if (spread && c.tx.n_wan) flush_wan(c);
  const uint16_t wan0 = c.tx.n_wan;
  proto::dc_tx* sent_tx[k_stage];
  uint32_t sent_pid[k_stage];
  rte_mbuf* csum[k_stage];
  uint16_t n_csum = 0;
  // 1. Headers and nonces for the whole chunk (MSS first), so that no AEAD below reads what was
  // stored just before it (proto::seal_job); CBC keys seal whole here.
  buf_view v[k_stage];
  proto::seal_job job[k_stage];
  bool staged[k_stage], live[k_stage];
  uint32_t len_in[k_stage];
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    dp_peer* p = peer[i];
    live[i] = false;
    fetch_tx(static_cast<uint16_t>(i + k_tx_ahead));
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], uint8_t*) - 32);  // header + first line
    if (!p) {
      drop_pkt(c, m, drop::peer_not_ready);
      continue;
    }
    if ((cfg.mss_clamp | cfg.mss_clamp_v6) && !cfg.tap)  // TAP: an Ethernet frame, not an IP packet
      if (mss_clamp(cfg, rte_pktmbuf_mtod(m, uint8_t*), m->data_len)) lcore_counters::bump(c.me.ctr.mss_clamped);
    len_in[i] = m->data_len;
    v[i] = view_of(m);
    proto::dc_tx* const tx = spread ? stx[i] : nullptr;
    if (!seal_prepare(c, *p, v[i], tx, tx ? spid[i] : 0, job[i], staged[i])) {
      drop_pkt(c, m, drop::seal_failed);
      continue;
    }
    live[i] = true;
  }
  // 2. The AEAD for the group, each plaintext fetched one packet ahead (as on the open side). Where
  // the outer UDP checksum is the lcore's to compute, each sealed packet is summed one packet
  // behind, while it is still in L1 and its stores have drained (a pass after the chunk read it
  // back from L2 at 1420 B); frame_outer adds the headers from values.
  const bool sum_v6 = !cfg.tx_csum_offload, sum_v4 = sum_v6 && cfg.udp_checksum;
  uint32_t psum[k_stage];
  bool has_sum[k_stage];
  const crypto::aead_key* fetched_key = nullptr;  // a busy tunnel's key is fetched once
  auto fetch = [&](uint16_t from) {
    while (from < n && !(live[from] && staged[from])) ++from;
    if (from < n) {
      if (job[from].key != fetched_key) job[from].key->prefetch(job[from].len);
      fetched_key = job[from].key;
      prefetch_lines(job[from].data, (job[from].len + 63u) / 64u);
    }
    return from;
  };
  int behind = -1;
  auto sum_behind = [&] {
    if (behind >= 0) {
      psum[behind] = net::csum_partial(v[behind].data, v[behind].len);
      has_sum[behind] = true;
    }
  };
  for (uint16_t i = 0, next = fetch(0); i < n; ++i) {
    has_sum[i] = false;
    if (!live[i]) continue;
    if (staged[i]) {
      if (i == next) next = fetch(static_cast<uint16_t>(i + 1));
      if (!job[i].run(*c.me.eng)) [[unlikely]] {
        live[i] = false;
        drop_pkt(c, pkts[i], drop::seal_failed);
        continue;
      }
    }
    sum_behind();
    behind = (net::is_v4_mapped(peer[i]->client.ip) ? sum_v4 : sum_v6) ? i : -1;
  }
  sum_behind();
  // 3. Outer headers, counters, the TX batch.
  for (uint16_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    rte_mbuf* m = pkts[i];
    dp_peer* p = peer[i];
    proto::dc_tx* const tx = spread ? stx[i] : nullptr;
    bool csum_later = false;
    if (!frame_outer(c, *p, m, v[i], has_sum[i] ? &psum[i] : nullptr, csum_later)) {
      drop_pkt(c, m, drop::seal_failed);
      continue;
    }
    if (csum_later) csum[n_csum++] = m;
    ++encrypted;
    if (tx) {
      spread_sealed += c.me.peers[p->peer_id] != p;  // the wrap flag: spread_tick on the owner
    } else if (const proto::dc_tx* own = p->keys.tx_peek(); own->wrap_due() && own != p->wrap_flagged) [[unlikely]] {
      p->wrap_flagged = own;  // once per key: the control thread renegotiates (housekeeping)
      p->wrap_seq.store(p->wrap_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    if (p->last_tx_s.load(std::memory_order_relaxed) != c.now_s) p->last_tx_s.store(c.now_s, std::memory_order_relaxed);
    tally.add(p, len_in[i]);
    if (spread) {  // what spread_hold_chunk keeps, by position in the TX batch
      sent_tx[c.tx.n_wan - wan0] = tx;
      sent_pid[c.tx.n_wan - wan0] = spid[i];
    }
    c.tx.wan[c.tx.n_wan++] = m;
  }
  tally.flush();
  // UDP checksums not summed above (a peer that moved between the passes), once the chunk's
  // stores have drained (netpkt.h).
  for (uint16_t i = 0; i < n_csum; ++i) net::fill_outer_udp_csum(rte_pktmbuf_mtod(csum[i], uint8_t*));
  if (spread) {
    spread_hold_chunk(c, wan0, sent_tx, sent_pid);
    lcore_counters::bump(c.me.ctr.spread_sealed, spread_sealed);
  }
  lcore_counters::bump(c.me.ctr.encrypted, encrypted);
}

}  // namespace

void seal_owned(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  // With spread peers, chunks of k_spread_chunk: a block of ids is out on the wire within one
  // chunk's seal, so another lcore runs ahead by a few blocks at most, well inside a 64-id window.
  const uint16_t step = c.sh.spread_peer ? k_spread_chunk : k_stage;
  for (uint16_t off = 0; off < n; off += step) seal_chunk(c, pkts + off, std::min<uint16_t>(step, n - off));
}

void tun_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  rte_mbuf* owned[k_max_burst];
  auto& ctr = c.me.ctr;
  const uint16_t n_owned = c.sh.cfg.tap ? classify_burst(c, pkts, n, owned, ctr.tun_rx_pkts, ctr.tun_rx_bytes, tap_classify)
                                        : classify_burst(c, pkts, n, owned, ctr.tun_rx_pkts, ctr.tun_rx_bytes,
                                                         [](worker_ctx& cc, rte_mbuf* m) noexcept {
                                                           return tun_classify_inline(cc, m);  // no call per packet
                                                         });
  seal_owned(c, owned, n_owned);
}

}  // namespace dpvpn::dp
