// SPDX-License-Identifier: MIT
// WAN receive path: Ethernet/IPv4 (IPv6: worker_rx6.cc) -> classify -> (punt control | hand off |
// open in place) -> exception-port TX.
#include <rte_hash.h>
#include <rte_ring.h>

#include "dpvpn/packet.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

// Float (§1.5, §B.1): the packet opened with this peer's key and passed the replay check, so the
// client itself sent it from a new address (NAT rebinding): move the peer there, no re-handshake.
// A packet that does not authenticate never gets here. The control thread learns the move from
// the seqlock fields (read_float) and re-keys its own tables.
void float_peer(worker_ctx& c, dp_peer& p, const mbuf_meta& mm) noexcept {
  p.client = mm.src;
  p.client_mac = mm.src_mac;
  publish_float(p, mm.src, mm.src_mac);
  lcore_counters::bump(c.me.ctr.floats);
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
  else tun_data_owner(c, m);
  return true;
}

// Anti-spoofing (§B.1 iroute): a decrypted packet's source must route back to the client that
// sent it, i.e. be its own VPN address or inside a network behind it. False with the reason.
bool source_routes_back(const dp_shared& sh, uint32_t peer_id, const uint8_t* ip, size_t len, drop& why) noexcept {
  uint32_t back = 0;
  bool found = false;
  why = drop::inner_not_ip;
  switch (net::ip_version(ip, len)) {
    case 4: {
      uint32_t src = 0, dst = 0;
      if (!net::inner_v4_addrs(ip, len, src, dst)) return false;
      found = route_lookup_v4(sh.rt, src, back);
      break;
    }
    case 6: {
      net::inner_v6 h;
      if (!net::inner_v6_addrs(ip, len, h)) {
        why = drop::inner_bad_ipv6;
        return false;
      }
      found = route_lookup_v6(sh.rt, h.src, back);
      break;
    }
    default: return false;
  }
  why = drop::spoofed_src;
  return found && back == peer_id;
}

}  // namespace

void wan_input(worker_ctx& c, rte_mbuf* m) noexcept {
  const dp_config& cfg = c.sh.cfg;
  auto& ctr = c.me.ctr;
  lcore_counters::bump(ctr.wan_rx_pkts);
  lcore_counters::bump(ctr.wan_rx_bytes, m->pkt_len);
  if (m->nb_segs != 1) return drop_pkt(c, m, drop::multi_segment);
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  const net::frame_info fi = net::parse_frame(f, m->data_len);
  switch (fi.kind) {
    case net::frame_kind::arp:
      if (!cfg.wan_v4 || !net::arp_make_reply(f, m->data_len, cfg.local_ip, cfg.wan_mac))
        return drop_pkt(c, m, drop::arp_other);
      lcore_counters::bump(ctr.arp_replies);
      c.tx.wan[c.tx.n_wan++] = m;
      return;
    case net::frame_kind::ipv4_udp: break;
    case net::frame_kind::ipv4_fragment: return drop_pkt(c, m, drop::ipv4_fragment);
    case net::frame_kind::ipv6: return wan_input6(c, m);  // worker_rx6.cc
    case net::frame_kind::malformed: return drop_pkt(c, m, drop::malformed_frame);
    default: return drop_pkt(c, m, drop::not_for_us);
  }
  if (fi.dst_ip != cfg.local_ip || fi.dst_port != cfg.local_port || !cfg.wan_v4)
    return drop_pkt(c, m, drop::not_for_us);
  meta_of(m).src = net::outer_v4(fi.src_ip, fi.src_port);
  udp_input(c, m, fi.payload_off, fi.payload_len, fi.src_mac);
}

// Both outer families: an OpenVPN packet in a UDP datagram to our address and port, whose outer
// source the caller stored in the metadata. Control -> punt; data -> owner (peer-id, or the
// outer address for DATA_V1 and peers without one).
void udp_input(worker_ctx& c, rte_mbuf* m, size_t payload_off, size_t payload_len, const net::mac& src_mac) noexcept {
  const dp_config& cfg = c.sh.cfg;
  auto& ctr = c.me.ctr;
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  mbuf_meta& mm = meta_of(m);
  mm.payload_off = static_cast<uint16_t>(payload_off);
  mm.payload_len = static_cast<uint16_t>(payload_len);
  mm.src_mac = src_mac;
  mm.dir = pkt_dir::wan;
  mm.from_worker = static_cast<uint8_t>(c.me.index);

  proto::classified cl;
  if (proto::classify({f + payload_off, payload_len}, cl) != proto::pkt_err::ok)
    return drop_pkt(c, m, drop::bad_opcode);
  if (!cl.is_data) {
    // Control channel: the whole frame goes to the control thread; never blocks.
    if (rte_ring_enqueue(c.sh.punt, m) != 0) return drop_pkt(c, m, drop::punt_full);
    lcore_counters::bump(ctr.punted);
    return;
  }
  uint32_t pid = cl.peer_id;
  if (cl.op == wire::P_DATA_V1 || pid == wire::k_peer_id_none) {
    void* data = nullptr;
    if (rte_hash_lookup_data(c.sh.addrs, &mm.src, &data) < 0) return drop_pkt(c, m, drop::unknown_peer);
    pid = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  }
  if (pid >= cfg.max_peers) return drop_pkt(c, m, drop::unknown_peer);
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) return drop_pkt(c, m, drop::unknown_peer);
  mm.peer_id = pid;
  if (owner != c.me.index) return handoff(c, m, owner);
  wan_data_owner(c, m);
}

// Owner lcore only: open in place, checks (float on an authenticated new address), MSS clamp,
// then to this lcore's exception-port queue, or to the destination client (client-to-client).
void wan_data_owner(worker_ctx& c, rte_mbuf* m) noexcept {
  mbuf_meta& mm = meta_of(m);
  dp_peer* p = c.me.peers[mm.peer_id];
  if (!p) return drop_pkt(c, m, drop::peer_not_ready);
  rte_pktmbuf_adj(m, mm.payload_off);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - mm.payload_len));  // Ethernet padding
  buf_view v = view_of(m);
  const auto r = p->keys.open(*c.me.eng, v, c.now_s);
  if (r.no_key) return drop_pkt(c, m, drop::no_key);
  if (r.err != proto::dc_err::ok) {
    const drop d = r.err == proto::dc_err::bad_tag ? drop::bad_tag
                   : r.err == proto::dc_err::replay ? drop::replay
                                                     : drop::decrypt_other;
    return drop_pkt(c, m, d);
  }
  if (mm.src != p->client) float_peer(c, *p, mm);
  auto& ctr = c.me.ctr;
  lcore_counters::bump(ctr.decrypted);
  p->last_rx_s.store(c.now_s, std::memory_order_relaxed);
  lcore_counters::bump(p->rx_pkts);
  lcore_counters::bump(p->rx_bytes, v.len);
  if (r.kind != proto::dc_kind::ip) {
    if (r.kind == proto::dc_kind::ping) lcore_counters::bump(ctr.pings_rx);
    if (r.kind == proto::dc_kind::occ_exit) p->occ_exit.store(true, std::memory_order_relaxed);
    rte_pktmbuf_free(m);
    return;
  }
  drop why{};
  if (!source_routes_back(c.sh, p->peer_id, v.data, v.len, why)) return drop_pkt(c, m, why);
  const dp_config& cfg = c.sh.cfg;
  if (mss_clamp(cfg, v.data, v.len)) lcore_counters::bump(ctr.mss_clamped);
  apply_view(m, v);
  if (cfg.client_to_client && hairpin(c, m)) return;
  c.tx.tun[c.tx.n_tun++] = m;
}

}  // namespace dpvpn::dp
