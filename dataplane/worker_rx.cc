// SPDX-License-Identifier: MIT
// WAN receive path: classify -> (punt control | hand off | open in place) -> exception-port TX.
#include <rte_hash.h>
#include <rte_ring.h>

#include "dpvpn/packet.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {
uint64_t addr_key(uint32_t ip, uint16_t port) { return (uint64_t{ip} << 16) | port; }
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
      if (!net::arp_make_reply(f, m->data_len, cfg.local_ip, cfg.wan_mac)) return drop_pkt(c, m, drop::arp_other);
      lcore_counters::bump(ctr.arp_replies);
      c.tx.wan[c.tx.n_wan++] = m;
      return;
    case net::frame_kind::ipv4_udp: break;
    case net::frame_kind::ipv4_fragment: return drop_pkt(c, m, drop::ipv4_fragment);
    case net::frame_kind::ipv6: return drop_pkt(c, m, drop::ipv6_outer);
    case net::frame_kind::malformed: return drop_pkt(c, m, drop::malformed_frame);
    default: return drop_pkt(c, m, drop::not_for_us);
  }
  if (fi.dst_ip != cfg.local_ip || fi.dst_port != cfg.local_port) return drop_pkt(c, m, drop::not_for_us);

  mbuf_meta& mm = meta_of(m);
  mm.src_ip = fi.src_ip;
  mm.src_port = fi.src_port;
  mm.payload_off = static_cast<uint16_t>(fi.payload_off);
  mm.payload_len = static_cast<uint16_t>(fi.payload_len);
  mm.src_mac = fi.src_mac;
  mm.dir = pkt_dir::wan;
  mm.from_worker = static_cast<uint8_t>(c.me.index);

  proto::classified cl;
  if (proto::classify({f + fi.payload_off, fi.payload_len}, cl) != proto::pkt_err::ok)
    return drop_pkt(c, m, drop::bad_opcode);
  if (!cl.is_data) {
    // Control channel: the whole frame goes to the control thread; never blocks.
    if (rte_ring_enqueue(c.sh.punt, m) != 0) return drop_pkt(c, m, drop::punt_full);
    lcore_counters::bump(ctr.punted);
    return;
  }
  uint32_t pid = cl.peer_id;
  if (cl.op == wire::P_DATA_V1 || pid == wire::k_peer_id_none) {
    const uint64_t k = addr_key(fi.src_ip, fi.src_port);
    void* data = nullptr;
    if (rte_hash_lookup_data(c.sh.addrs, &k, &data) < 0) return drop_pkt(c, m, drop::unknown_peer);
    pid = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data));
  }
  if (pid >= cfg.max_peers) return drop_pkt(c, m, drop::unknown_peer);
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) return drop_pkt(c, m, drop::unknown_peer);
  mm.peer_id = pid;
  if (owner != c.me.index) return handoff(c, m, owner);
  wan_data_owner(c, m);
}

// Owner lcore only: open in place, checks, then to this lcore's exception-port queue.
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
  if (mm.src_ip != p->client_ip || mm.src_port != p->client_port) return drop_pkt(c, m, drop::addr_mismatch);
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
  uint32_t src = 0, dst = 0;
  if (!net::inner_v4_addrs(v.data, v.len, src, dst)) return drop_pkt(c, m, drop::inner_not_ip);
  if (src != p->vpn_ip) return drop_pkt(c, m, drop::spoofed_src);
  apply_view(m, v);
  c.tx.tun[c.tx.n_tun++] = m;
}

}  // namespace dpvpn::dp
