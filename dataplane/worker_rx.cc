// SPDX-License-Identifier: MIT
// WAN receive path, in stages over a burst (docs/dataplane.md, "Bursts in stages"):
//   1. classify (wan_classify): Ethernet/IPv4 (IPv6: worker_rx6.cc), ARP answered, control punted,
//      data resolved to its peer-id and owner; other owners' packets handed off;
//   2. look up (open_owned): peers, key slots and replay checks for the whole group, each level
//      prefetched one pass ahead of its use;
//   3. crypto: every AEAD of the group back to back;
//   4. finish: replay commit, float, inner source check, MSS clamp, exception-port TX.
// Stages 2-4 run as passes over the group (open_chunk) where spread peers commit their ids for
// the group, and otherwise as one pass per packet with its state fetched a few packets ahead
// (open_each), which measured faster at 10 000 sessions and the same at one.
// A burst of one packet goes through the same stages, so the packet-at-a-time result is the
// reference the staged one is tested against (tests/dp/test_worker_burst.cc).
#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "dpvpn/front_filter.h"
#include "dpvpn/netpkt_fwd.h"
#include "dpvpn/packet.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

// Float (§1.5, §B.1): the packet opened with this peer's key and passed the replay check, so the
// client itself sent it from a new address (NAT rebinding): move the peer there, no re-handshake.
// A packet that does not authenticate never gets here. An address that another client holds is
// refused (openvpn does the same): a client replaying its own packets from a neighbour's address
// must not take that neighbour's session down. The control thread learns the move from the
// seqlock fields (read_float) and re-keys its own tables.
bool float_peer(worker_ctx& c, dp_peer& p, const mbuf_meta& mm) noexcept {
  void* data = nullptr;
  if (rte_hash_lookup_data(c.sh.addrs, &mm.src, &data) >= 0 && static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)) != p.peer_id)
    return false;
  p.client = mm.src;
  p.client_mac = mm.src_mac;
  publish_float(p, mm.src, mm.src_mac);
  lcore_counters::bump(c.me.ctr.floats);
  return true;
}

// client-to-client: a packet for another client's VPN address (or a network behind one) goes
// straight to that client's owner on the tun path, never through the kernel. False when dst is
// not a client.
bool hairpin(worker_ctx& c, rte_mbuf* m) noexcept {
  uint32_t pid = 0;
  drop why{};
  if (!route_dst(c.sh, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, pid, why)) return false;
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) return false;
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = pid;
  mm.dir = pkt_dir::tun;
  lcore_counters::bump(c.me.ctr.hairpin);
  if (owner != c.me.index) handoff(c, m, owner);
  else seal_owned(c, &m, 1);
  return true;
}

// Anti-spoofing (§B.1 iroute): a decrypted packet's source must route back to the client that
// sent it, i.e. be its own VPN address or inside a network behind it. False with the reason.
bool source_routes_back(const dp_shared& sh, uint32_t peer_id, const uint8_t* ip, size_t len, drop& why) noexcept {
  uint32_t back = 0;
  const bool found = route_src(sh, ip, len, back, why);
  if (!found && why != drop::no_route) return false;  // not IP, or a malformed header
  why = drop::spoofed_src;  // a source that routes nowhere is spoofed too
  return found && back == peer_id;
}

// A token bucket per source address (hashed, the port left out: one host's many sockets share it)
// for control frames from addresses with no established client. A flood from one address is cut
// on the lcore that receives it; handshakes from many addresses are not slowed.
bool contact_allowed(worker_ctx& c, const net::outer_addr& src) noexcept {
  const dp_config& cfg = c.sh.cfg;
  if (!c.me.contact || !cfg.contact_pps) return true;
  uint64_t w0, w1;
  std::memcpy(&w0, src.ip.data(), 8);
  std::memcpy(&w1, src.ip.data() + 8, 8);
  uint64_t h = w0 * 0x9e3779b97f4a7c15ull ^ w1 * 0xc2b2ae3d27d4eb4full;  // every byte reaches every bit
  h ^= h >> 32;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  dp_lcore::contact_bucket& b = c.me.contact[h % dp_lcore::k_contact_buckets];
  const uint64_t tsc = rte_rdtsc();
  const uint64_t hz = rte_get_tsc_hz();
  if (b.last_tsc == 0) {
    b.tokens = cfg.contact_burst;
    b.last_tsc = tsc;
  }
  // Whole tokens earned since last_tsc; last_tsc moves by exactly their time, so fractions add up.
  const uint64_t add = (tsc - b.last_tsc) * cfg.contact_pps / hz;
  if (add) {
    b.tokens = static_cast<uint32_t>(std::min<uint64_t>(cfg.contact_burst, b.tokens + add));
    b.last_tsc += add * hz / cfg.contact_pps;
  }
  if (!b.tokens) return false;
  --b.tokens;
  return true;
}

drop drop_of(proto::dc_err e) noexcept {
  return e == proto::dc_err::bad_tag ? drop::bad_tag : e == proto::dc_err::replay ? drop::replay : drop::decrypt_other;
}

// Per-peer counters of a run of packets from one peer, stored once per run (finish stage).
struct peer_tally {
  worker_ctx& c;
  dp_peer* p = nullptr;
  uint64_t pkts = 0, bytes = 0;
  void add(dp_peer* q, uint64_t len, uint64_t now_s) noexcept {
    if (q != p) {
      flush(now_s);
      p = q;
    }
    ++pkts;
    bytes += len;
  }
  void flush(uint64_t now_s) noexcept {
    if (!p) return;
    if (p->last_rx_s.load(std::memory_order_relaxed) != now_s) p->last_rx_s.store(now_s, std::memory_order_relaxed);
    peer_count(c, *p, true, pkts, bytes);
    p = nullptr;
    pkts = bytes = 0;
  }
};

// What a chunk's finish counts, stored once per chunk (per peer: once per run of one peer).
struct opened_tally {
  worker_ctx& c;
  peer_tally peers{c};
  uint64_t decrypted = 0, pings = 0, spread_opened = 0;
  void flush() noexcept {
    peers.flush(c.now_s);
    lcore_counters::bump(c.me.ctr.decrypted, decrypted);
    if (spread_opened) lcore_counters::bump(c.me.ctr.spread_opened, spread_opened);
    if (pings) lcore_counters::bump(c.me.ctr.pings_rx, pings);
  }
};

// The last stage for one packet that keys.open / open_finish has answered: a drop with its
// reason, or replay commit done: float, inner source check, MSS clamp, then the exception port,
// the LAN, another client or the L2 stage. spread: p may be a spread peer that another lcore
// owns (open_chunk); open_each runs only where no peer is spread, so p is this lcore's.
template <bool spread>
[[gnu::always_inline]] inline void deliver(worker_ctx& c, rte_mbuf* m, dp_peer& p, buf_view& v,
                                           const proto::data_keys::open_result& res, opened_tally& t) noexcept {
  if (res.no_key) {
    drop_pkt(c, m, drop::no_key);
    return;
  }
  if (res.err != proto::dc_err::ok) {
    drop_pkt(c, m, drop_of(res.err));
    return;
  }
  const dp_config& cfg = c.sh.cfg;
  const mbuf_meta& mm = meta_of(m);
  const bool owner = !spread || c.me.peers[p.peer_id] == &p;
  if (!net::same_outer(mm.src, p.client)) {
    // Only the owner moves a peer (spread_rx keeps such a packet there); another lcore of a
    // spread peer sees one only when the peer floated while the packet was in flight.
    if (!owner) {
      drop_pkt(c, m, drop::spread_float);
      return;
    }
    if (!float_peer(c, p, mm)) {
      drop_pkt(c, m, drop::float_taken);
      return;
    }
  }
  ++t.decrypted;
  if constexpr (spread) t.spread_opened += !owner;
  t.peers.add(&p, v.len, c.now_s);
  if (res.kind != proto::dc_kind::ip) {
    if (res.kind == proto::dc_kind::ping) ++t.pings;
    if (res.kind == proto::dc_kind::occ_exit) p.occ_exit.store(true, std::memory_order_relaxed);
    rte_pktmbuf_free(m);
    return;
  }
  if (cfg.tap) {  // an Ethernet frame: the L2 stage (worker_l2.cc) checks and forwards it
    apply_view(m, v);
    l2_from_peer(c, p, m);
    return;
  }
  drop why{};
  if (!cfg.client_role && !source_routes_back(c.sh, p.peer_id, v.data, v.len, why)) {
    drop_pkt(c, m, why);
    return;
  }
  if (mss_clamp(cfg, v.data, v.len)) lcore_counters::bump(c.me.ctr.mss_clamped);
  apply_view(m, v);
  if (cfg.client_to_client && hairpin(c, m)) return;
  if (cfg.lan.on && to_lan(c, p.peer_id, m)) return;
  c.tx.tun[c.tx.n_tun++] = m;
}

// The view of the OpenVPN packet in a classified WAN frame (no Ethernet padding); the mbuf itself
// is written once, by apply_view, when the packet goes out. data: where it starts, if the caller
// found it already.
inline buf_view payload_view(rte_mbuf* m, uint8_t* data) noexcept {
  const mbuf_meta& mm = meta_of(m);
  buf_view v;
  v.data = data;
  v.len = mm.payload_len;
  v.headroom = rte_pktmbuf_headroom(m) + mm.payload_off;
  v.tailroom = m->buf_len - (m->data_off + mm.payload_off + mm.payload_len);
  return v;
}
inline buf_view payload_view(rte_mbuf* m) noexcept {
  return payload_view(m, rte_pktmbuf_mtod_offset(m, uint8_t*, meta_of(m).payload_off));
}

// Stages 2-4 for up to k_stage packets whose owner is this lcore.
void open_chunk(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  dp_peer* peer[k_stage];
  buf_view v[k_stage];
  proto::data_keys::staged st[k_stage];
  proto::data_keys::open_result res[k_stage];
  bool live[k_stage];

  // 2a. Peers (their hot lines) for the whole group.
  for (uint16_t i = 0; i < n; ++i) {
    peer[i] = peer_here(c, meta_of(pkts[i]).peer_id);
    if (peer[i]) prefetch_peer(peer[i]);
  }
  // 2b. The OpenVPN packet out of its frame; the key slot's receive state.
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    live[i] = peer[i] != nullptr;
    if (!live[i]) {
      drop_pkt(c, m, drop::peer_not_ready);
      continue;
    }
    v[i] = payload_view(m);
    if (const proto::dc_rx* rx = peer[i]->keys.rx_for(wire::key_id_of(v[i].data[0]))) prefetch_lines(rx, 2);
  }
  // 2c. Header and replay checks; the key schedules the crypto pass will read.
  for (uint16_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    res[i] = peer[i]->keys.open_prepare(v[i], c.now_s, st[i]);
    if (res[i].no_key || res[i].err != proto::dc_err::ok) {
      live[i] = false;
      drop_pkt(c, pkts[i], res[i].no_key ? drop::no_key : drop_of(res[i].err));
    } else if (st[i].job.key) {
      st[i].job.key->prefetch(st[i].job.len);
    }
  }
  // 3. Crypto for the group. A CBC key (legacy, no staged form) opens whole here.
  // Each packet's ciphertext is fetched one packet ahead: the AEAD then streams from L1/L2, not from
  // L3 where the NIC (DDIO) or the previous stage left it.
  bool tag_ok[k_stage];
  uint16_t next = 0;
  while (next < n && !(live[next] && st[next].job.key)) ++next;
  if (next < n) prefetch_lines(st[next].job.data, (st[next].job.len + 63) / 64);
  for (uint16_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    if (i == next) {
      while (++next < n && !(live[next] && st[next].job.key)) {}
      if (next < n) prefetch_lines(st[next].job.data, (st[next].job.len + 63) / 64);
    }
    if (st[i].job.key) tag_ok[i] = st[i].job.run(*c.me.eng);
    else res[i] = peer[i]->keys.open(*c.me.eng, v[i], c.now_s);
  }
  // 3b. Spread peers' ids, committed per run to their shared window (worker_spread.cc).
  proto::commit_state pre[k_stage];
  // spread_commit reads st[i] and tag_ok[i] only where live[i] (set for every i < n above); GCC
  // cannot see that through the call and warns.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  if (c.sh.spread_peer) spread_commit(st, live, tag_ok, n, pre);
  else std::fill(pre, pre + n, proto::commit_state::here);
#pragma GCC diagnostic pop
  // 4. Finish, in arrival order (commits see the same window a packet-at-a-time run would).
  opened_tally t{c};
  for (uint16_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    if (st[i].job.key) res[i] = peer[i]->keys.open_finish(v[i], st[i], tag_ok[i], c.now_s, pre[i]);
    deliver<true>(c, pkts[i], *peer[i], v[i], res[i], t);
  }
  t.flush();
}

// How far ahead each level is fetched, measured at 10 000 sessions (docs/bench/dataplane.md,
// "Fetches spaced out"): every peer of the group at once, or 16 ahead, was worse than 8 (more
// misses than the core keeps in flight); with the peers spaced out the session state goes further
// ahead than the packet's own ciphertext, whose lines (23 at 1420 B) crowd out the packet being
// opened when fetched more than two packets ahead.
constexpr uint16_t k_peer_ahead = 8, k_rx_ahead = 4, k_key_ahead = 3, k_data_ahead = 2;

// Stages 2-4 in one pass per packet (docs/dataplane.md, "One pass per packet"): with no
// spread peer there is no group commit to wait for, so each packet is opened and delivered whole
// (keys.open_with, inline: header, replay check, AEAD, commit), the state it needs fetched a few
// packets ahead: the peer eight packets ahead, the receive state (and its key slot) four, the key
// schedule three, the ciphertext two. Same verdicts, bytes and counters as open_chunk
// (tests/dp/test_worker_burst.cc compares the two).
void open_each(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  dp_peer* peer[k_stage];
  proto::dc_rx* rx[k_stage + k_rx_ahead];
  int slot[k_stage + k_rx_ahead];  // rx's key slot (keys.open_with)
  for (uint16_t i = 0; i < n; ++i) peer[i] = c.me.peers[meta_of(pkts[i]).peer_id];
  auto fetch_peer = [&](uint16_t i) {
    if (i < n && peer[i] && (i == 0 || peer[i] != peer[i - 1])) prefetch_peer(peer[i]);
  };
  for (uint16_t i = 0; i < k_peer_ahead; ++i) fetch_peer(i);
  uint8_t* payload[k_stage + k_rx_ahead];  // the OpenVPN packet in each frame, found by fetch_rx
  // A packet of the same peer and key as the one before it (one busy tunnel) finds that state in
  // cache already: only its own ciphertext is fetched.
  auto fetch_rx = [&](uint16_t i) {
    rx[i] = nullptr;
    if (i < n && peer[i]) {
      payload[i] = rte_pktmbuf_mtod_offset(pkts[i], uint8_t*, meta_of(pkts[i]).payload_off);
      slot[i] = -1;
      rx[i] = peer[i]->keys.rx_slot(wire::key_id_of(payload[i][0]), slot[i]);
      if (i == 0 || rx[i] != rx[i - 1]) prefetch_lines(rx[i], 2);
    }
  };
  auto fetch_key = [&](uint16_t i) {
    if (i >= n || !rx[i]) return;
    if (const crypto::aead_key* k = rx[i]->key(); k && (i == 0 || rx[i] != rx[i - 1])) k->prefetch(meta_of(pkts[i]).payload_len);
  };
  auto fetch_data = [&](uint16_t i) {
    if (i < n && rx[i]) prefetch_lines(payload[i], (meta_of(pkts[i]).payload_len + 63u) / 64u);
  };
  for (uint16_t i = 0; i < k_rx_ahead; ++i) fetch_rx(i);
  for (uint16_t i = 0; i < k_key_ahead; ++i) fetch_key(i);
  for (uint16_t i = 0; i < k_data_ahead; ++i) fetch_data(i);
  opened_tally t{c};
  for (uint16_t i = 0; i < n; ++i) {
    fetch_peer(static_cast<uint16_t>(i + k_peer_ahead));
    fetch_rx(static_cast<uint16_t>(i + k_rx_ahead));
    fetch_key(static_cast<uint16_t>(i + k_key_ahead));
    fetch_data(static_cast<uint16_t>(i + k_data_ahead));
    rte_mbuf* m = pkts[i];
    if (!peer[i]) {
      drop_pkt(c, m, drop::peer_not_ready);
      continue;
    }
    buf_view v = payload_view(m, payload[i]);  // fetch_rx found it (every packet with a peer)
    const proto::data_keys::open_result r = peer[i]->keys.open_with(*c.me.eng, v, c.now_s, rx[i], slot[i]);
    deliver<false>(c, m, *peer[i], v, r, t);
  }
  t.flush();
}

}  // namespace

static bool open_whole = true;  // off only in tests (set_open_each), to compare the two forms

bool set_open_each(bool on) noexcept {
  const bool was = open_whole;
  open_whole = on;
  return was;
}

void open_owned(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  // Spread peers need the staged form: their ids are committed for the group (spread_commit).
  void (*const chunk)(worker_ctx&, rte_mbuf**, uint16_t) = open_whole && !c.sh.spread_peer ? open_each : open_chunk;
  for (uint16_t off = 0; off < n; off += k_stage) chunk(c, pkts + off, std::min<uint16_t>(k_stage, n - off));
}

void punt_wan_l2(worker_ctx& c, rte_mbuf* m) noexcept {
  meta_of(m).dir = pkt_dir::wan_l2;
  meta_of(m).payload_off = 0;  // the whole frame
  meta_of(m).payload_len = m->data_len;
  meta_of(m).from_worker = static_cast<uint8_t>(c.me.index);
  rte_ring* r = c.sh.punt_est ? c.sh.punt_est : c.sh.punt;
  if (rte_ring_enqueue(r, m) != 0) drop_pkt(c, m, drop::punt_full);
  else lcore_counters::bump(c.me.ctr.punted);
}

// The client role: an ARP reply for our WAN address goes to the control thread, which resolves
// the server's (or dp-wan-gateway's) MAC with it (control/wan_neighbor.h). True when punted (or
// dropped as punt_full); false: not such a reply.
static bool punt_arp_reply(worker_ctx& c, rte_mbuf* m, const uint8_t* f) noexcept {
  net::arp_info a;
  if (!net::arp_parse(f, m->data_len, a) || a.op != 2 || a.tpa != c.sh.cfg.local_ip) return false;
  punt_wan_l2(c, m);
  return true;
}

// A data packet for peer-id pid: kept when this lcore owns the peer (or opens for a spread one),
// handed off to its owner otherwise, dropped when no lcore owns it.
[[gnu::always_inline]] static inline bool to_owner(worker_ctx& c, rte_mbuf* m, uint32_t pid) noexcept {
  const uint16_t owner = pid < c.sh.cfg.max_peers ? c.sh.owner[pid].load(std::memory_order_acquire) : k_no_owner;
  if (owner == k_no_owner) {
    drop_pkt(c, m, drop::unknown_peer);
    return false;
  }
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = pid;
  if (owner != c.me.index && !spread_opener(c, pid, mm.src)) {
    handoff(c, m, owner);
    return false;
  }
  return true;
}

static bool wan_fast = true;  // off only in tests (set_wan_fast_path), to compare the two paths

bool set_wan_fast_path(bool on) noexcept {
  const bool was = wan_fast;
  wan_fast = on;
  return was;
}

// The common WAN frame decided in a few compares, with no call and no frame_info (docs/dataplane.md,
// "The common frame inline"): untagged IPv4 without options, not a fragment, UDP to our address and
// port with consistent lengths, carrying P_DATA_V2 with a peer-id, on a server. False for anything
// else, which then takes the general path (parse_frame, udp_classify); for the frames taken here
// that path gives the same verdict and the same metadata (tests/dp/test_worker_burst.cc).
[[gnu::always_inline]] static inline bool wan_fast_v4(worker_ctx& c, rte_mbuf* m, const uint8_t* f,
                                                      bool& owned) noexcept {
  const dp_config& cfg = c.sh.cfg;
  const size_t len = m->data_len;
  if (len < net::k_outer_v4 + 4 || cfg.client_role || !cfg.wan_v4 || !wan_fast) return false;
  const uint8_t* ip = f + net::k_eth_hdr;
  const uint8_t* udp = ip + net::k_ipv4_hdr;
  const uint8_t* p = udp + net::k_udp_hdr;
  if (wire::get_u16(f + 12) != net::k_ethertype_ipv4 || ip[0] != 0x45 || ip[9] != net::k_proto_udp ||
      (wire::get_u16(ip + 6) & 0x3fff) != 0 || wire::op_of(p[0]) != wire::P_DATA_V2)
    return false;
  const size_t tot = wire::get_u16(ip + 2), ulen = wire::get_u16(udp + 4);
  // ulen >= 12: the 4-byte P_DATA_V2 header; the upper bound is classify()'s largest datagram.
  if (tot > len - net::k_eth_hdr || ulen > tot - net::k_ipv4_hdr || ulen < net::k_udp_hdr + 4 ||
      ulen - net::k_udp_hdr > proto::k_max_packet)
    return false;
  if (wire::get_u32(ip + 16) != cfg.local_ip || wire::get_u16(udp + 2) != cfg.local_port) return false;
  const uint32_t pid = wire::get_u24(p + 1);
  if (pid == wire::k_peer_id_none) return false;
  mbuf_meta& mm = meta_of(m);
  mm.payload_off = static_cast<uint16_t>(net::k_outer_v4);
  mm.payload_len = static_cast<uint16_t>(ulen - net::k_udp_hdr);
  std::memcpy(mm.src_mac.data(), f + 6, 6);
  mm.dir = pkt_dir::wan;
  mm.from_worker = static_cast<uint8_t>(c.me.index);
  mm.src = net::outer_v4_wire(ip + 12, udp);
  owned = to_owner(c, m, pid);
  return true;
}

// wan_classify past the common frame: everything wan_fast_v4 does not take.
static bool wan_classify_rest(worker_ctx& c, rte_mbuf* m) noexcept {
  const dp_config& cfg = c.sh.cfg;
  if (m->nb_segs != 1) {
    drop_pkt(c, m, drop::multi_segment);
    return false;
  }
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  const net::frame_info fi = net::parse_frame(f, m->data_len);
  switch (fi.kind) {
    case net::frame_kind::arp:
      if (!cfg.wan_v4 || !net::arp_make_reply(f, m->data_len, cfg.local_ip, cfg.wan_mac)) {
        if (cfg.client_role && cfg.wan_v4 && punt_arp_reply(c, m, f)) return false;
        drop_pkt(c, m, drop::arp_other);
        return false;
      }
      lcore_counters::bump(c.me.ctr.arp_replies);
      c.tx.wan[c.tx.n_wan++] = m;
      return false;
    case net::frame_kind::ipv4_udp: break;
    case net::frame_kind::ipv4_fragment: drop_pkt(c, m, drop::ipv4_fragment); return false;
    case net::frame_kind::ipv6: return wan_classify6(c, m);  // worker_rx6.cc
    case net::frame_kind::malformed: drop_pkt(c, m, drop::malformed_frame); return false;
    default: drop_pkt(c, m, drop::not_for_us); return false;
  }
  if (fi.dst_ip != cfg.local_ip || fi.dst_port != cfg.local_port || !cfg.wan_v4) {
    drop_pkt(c, m, drop::not_for_us);
    return false;
  }
  meta_of(m).src = net::outer_v4(fi.src_ip, fi.src_port);
  return udp_classify(c, m, fi.payload_off, fi.payload_len, fi.src_mac);
}

// Stage 1 for one WAN frame. True when m is a data packet for a peer this lcore owns (its peer-id
// is in the metadata): the caller collects those for open_owned. Everything else is answered,
// punted, handed off or dropped here. The common frame is decided inline in wan_burst's loop.
[[gnu::always_inline]] static inline bool wan_classify_inline(worker_ctx& c, rte_mbuf* m) noexcept {
  if (bool owned = false; m->nb_segs == 1 && wan_fast_v4(c, m, rte_pktmbuf_mtod(m, uint8_t*), owned)) return owned;
  return wan_classify_rest(c, m);
}

bool wan_classify(worker_ctx& c, rte_mbuf* m) noexcept { return wan_classify_inline(c, m); }

// The peer of an outer address (sh.addrs), through the lcore's memo of its last hit. The
// generation is read before the table, so a change made during the look-up leaves the memo stale.
static bool addr_lookup(worker_ctx& c, const net::outer_addr& a, uint32_t& pid) noexcept {
  worker_ctx::addr_memo& m = c.memo;
  const uint32_t gen = c.sh.addrs_gen.load(std::memory_order_acquire);
  if (m.valid && m.gen == gen && net::same_outer(m.addr, a)) {
    pid = m.pid;
    return true;
  }
  void* data = nullptr;
  if (rte_hash_lookup_data(c.sh.addrs, &a, &data) < 0) return false;
  pid = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  m = {a, pid, gen, true};
  return true;
}

// Both outer families: an OpenVPN packet in a UDP datagram to our address and port, whose outer
// source the caller stored in the metadata. Control -> punt; data -> owner (peer-id, or the
// outer address for DATA_V1 and peers without one). True when this lcore is the owner.
bool udp_classify(worker_ctx& c, rte_mbuf* m, size_t payload_off, size_t payload_len, const net::mac& src_mac) noexcept {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  mbuf_meta& mm = meta_of(m);
  mm.payload_off = static_cast<uint16_t>(payload_off);
  mm.payload_len = static_cast<uint16_t>(payload_len);
  mm.src_mac = src_mac;
  mm.dir = pkt_dir::wan;
  mm.from_worker = static_cast<uint8_t>(c.me.index);

  proto::classified cl;
  if (proto::classify({f + payload_off, payload_len}, cl) != proto::pkt_err::ok) {
    drop_pkt(c, m, drop::bad_opcode);
    return false;
  }
  if (!cl.is_data) {
    // Control channel: the whole frame goes to the control thread; never blocks. An established
    // client's frames take the priority ring (a flood of new sessions cannot crowd them out).
    // Anyone else's must pass the wrapping key's check here first (a forgery spends no token of
    // the address it claims), then the address's token bucket.
    rte_ring* r = c.sh.punt;
    if (c.sh.punt_est && rte_hash_lookup(c.sh.addrs, &mm.src) >= 0) r = c.sh.punt_est;
    else if (c.me.front && c.me.front->check(*c.me.eng, {f + payload_off, payload_len}) != proto::front_filter::verdict::pass)
      return drop_pkt(c, m, drop::ctl_unauth), false;
    else if (!contact_allowed(c, mm.src)) return drop_pkt(c, m, drop::contact_rate), false;
    if (rte_ring_enqueue(r, m) != 0) drop_pkt(c, m, drop::punt_full);
    else lcore_counters::bump(c.me.ctr.punted);
    return false;
  }
  uint32_t pid = cl.peer_id;
  if (cl.op == wire::P_DATA_V1 || pid == wire::k_peer_id_none || c.sh.cfg.client_role) {
    if (addr_lookup(c, mm.src, pid)) {
    } else if (uint32_t f = dp_shared::k_no_float;
               c.sh.cfg.client_role && (f = c.sh.client_float.load(std::memory_order_relaxed)) != dp_shared::k_no_float) {
      pid = f;  // `float`: the server's data from a new address, moved there if it opens
    } else {
      drop_pkt(c, m, drop::unknown_peer);
      return false;
    }
  }
  return to_owner(c, m, pid);
}

void wan_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n, bool spread) noexcept {
  rte_mbuf* owned[k_max_burst];
  const bool spreading = spread && c.sh.spread_peer;
  if (!spreading) {
    auto classify = [](worker_ctx& cc, rte_mbuf* m) noexcept { return wan_classify_inline(cc, m); };
    const uint16_t n_owned = classify_burst(c, pkts, n, owned, c.me.ctr.wan_rx_pkts, c.me.ctr.wan_rx_bytes, classify);
    return open_owned(c, owned, n_owned);
  }
  // One tunnel on several lcores (worker_spread.cc): what stays here is opened run by run, each
  // run's output in its turn among the shares handed on (worker_order.cc).
  local_runs runs;
  if (!(n = spread_raw(c, pkts, n, runs.seq[0]))) return;
  c.seen_of = n;
  const uint16_t n_owned = spread_rx(c, owned, classify_burst(c, pkts, n, owned, c.me.ctr.wan_rx_pkts, c.me.ctr.wan_rx_bytes, wan_classify), runs);
  for (uint16_t r = 0; r < runs.n; ++r) {
    const uint16_t b = runs.start[r], e = r + 1 < runs.n ? runs.start[r + 1] : n_owned;
    if (!runs.seq[r]) {
      open_owned(c, owned + b, static_cast<uint16_t>(e - b));
      continue;
    }
    order_begin(c, static_cast<uint8_t>(c.me.index), runs.seq[r]);
    open_owned(c, owned + b, static_cast<uint16_t>(e - b));
    order_end(c, true);
  }
}

}  // namespace dpvpn::dp
