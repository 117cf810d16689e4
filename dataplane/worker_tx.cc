// SPDX-License-Identifier: MIT
// Exception-port receive path: inner destination (LPM, IPv4/IPv6) -> owner -> seal in place ->
// outer UDP/IPv4 or UDP/IPv6 -> WAN TX.
#include "worker_internal.h"

namespace dpvpn::dp {

// The peer an inner packet's destination routes to (longest prefix: a client's address or an
// iroute behind it), by IP version. False with the drop reason when malformed or unrouted.
bool route_dst(const dp_shared& sh, const uint8_t* p, size_t len, uint32_t& pid, drop& why) noexcept {
  bool found = false;
  why = drop::inner_not_ip;
  switch (net::ip_version(p, len)) {
    case 4: {
      uint32_t src = 0, dst = 0;
      if (!net::inner_v4_addrs(p, len, src, dst)) return false;
      found = route_lookup_v4(sh.rt, dst, pid);
      break;
    }
    case 6: {
      net::inner_v6 h;
      if (!net::inner_v6_addrs(p, len, h)) {
        why = drop::inner_bad_ipv6;
        return false;
      }
      found = route_lookup_v6(sh.rt, h.dst, pid);
      break;
    }
    default: return false;
  }
  why = drop::no_route;
  return found && pid < sh.cfg.max_peers;
}

void tun_input(worker_ctx& c, rte_mbuf* m) noexcept {
  auto& ctr = c.me.ctr;
  lcore_counters::bump(ctr.tun_rx_pkts);
  lcore_counters::bump(ctr.tun_rx_bytes, m->pkt_len);
  if (m->nb_segs != 1) return drop_pkt(c, m, drop::multi_segment);
  uint32_t pid = 0;
  drop why{};
  if (!route_dst(c.sh, rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, pid, why)) return drop_pkt(c, m, why);
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) return drop_pkt(c, m, drop::no_route);
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = pid;
  mm.dir = pkt_dir::tun;
  if (owner != c.me.index) return handoff(c, m, owner);
  tun_data_owner(c, m);
}

void tun_data_owner(worker_ctx& c, rte_mbuf* m) noexcept {
  dp_peer* p = c.me.peers[meta_of(m).peer_id];
  if (!p) return drop_pkt(c, m, drop::peer_not_ready);
  if (m->nb_segs == 1 && mss_clamp(c.sh.cfg, rte_pktmbuf_mtod(m, uint8_t*), m->data_len))
    lcore_counters::bump(c.me.ctr.mss_clamped);
  if (!seal_and_frame(c, *p, m)) return drop_pkt(c, m, drop::seal_failed);
  c.tx.wan[c.tx.n_wan++] = m;
}

// Owner lcore only. m holds the plaintext; on success it holds the whole outer frame.
bool seal_and_frame(worker_ctx& c, dp_peer& p, rte_mbuf* m) noexcept {
  buf_view v = view_of(m);
  const uint32_t len_in = v.len;
  if (p.keys.seal(*c.me.eng, v, p.data_v2 ? p.peer_id : wire::k_peer_id_none, c.now_s) != proto::dc_err::ok)
    return false;
  const uint32_t payload = v.len;
  const dp_config& cfg = c.sh.cfg;
  if (net::is_v4_mapped(p.client.ip)) {
    uint8_t* h = v.prepend(static_cast<uint32_t>(net::k_outer_v4));
    if (!h) return false;
    net::udp_endpoints e;
    e.src_mac = cfg.wan_mac;
    e.dst_mac = p.client_mac;
    e.src_ip = cfg.local_ip;
    e.dst_ip = net::v4_of(p.client.ip);
    e.src_port = cfg.local_port;
    e.dst_port = p.client.port;
    net::write_outer_v4(h, e, payload, c.ip_id++, cfg.udp_checksum);
  } else {
    uint8_t* h = v.prepend(static_cast<uint32_t>(net::k_outer_v6));
    if (!h) return false;
    const net::udp6_endpoints e{cfg.wan_mac, p.client_mac, cfg.local_ip6, p.client.ip, cfg.local_port, p.client.port};
    net::write_outer_v6(h, e, payload);  // the UDP checksum is mandatory over IPv6 (RFC 8200 §8.1)
  }
  apply_view(m, v);
  lcore_counters::bump(c.me.ctr.encrypted);
  p.last_tx_s.store(c.now_s, std::memory_order_relaxed);
  lcore_counters::bump(p.tx_pkts);
  lcore_counters::bump(p.tx_bytes, len_in);
  return true;
}

}  // namespace dpvpn::dp
