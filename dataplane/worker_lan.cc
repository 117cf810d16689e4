// SPDX-License-Identifier: MIT
// The LAN port's paths (docs/dataplane.md, "The LAN port"), as a router forwards:
//  - client -> LAN (to_lan, from the open path's finish stage): a LAN route gives the next hop,
//    the TTL / hop limit drops by one, the next hop's MAC comes from the neighbor table, and the
//    packet leaves on this lcore's LAN TX queue; unresolved next hops queue at the resolver.
//  - LAN -> client (lan_burst): ARP and Neighbor Solicitations for the LAN address answered, echo
//    requests to it answered, everything else checked (our MAC, a sound IP header, a source that
//    is not a client's) and routed to its client's owner, which seals it as tun traffic.
// ICMP errors (time exceeded, too big) go back to whichever side sent the packet, at most
// lan.icmp_per_s per second per lcore.
#include <rte_ring.h>

#include <cstring>

#include "dpvpn/netpkt_fwd.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

bool icmp_allowed(worker_ctx& c) noexcept {
  if (c.icmp_sec != c.now_s) {
    c.icmp_sec = c.now_s;
    c.icmp_left = c.sh.cfg.lan.icmp_per_s;
  }
  if (!c.icmp_left) {
    lcore_counters::bump(c.me.ctr.icmp_limited);
    return false;
  }
  --c.icmp_left;
  return true;
}

// A new mbuf with room for an Ethernet header in front of an IP packet of up to cap bytes, or null.
rte_mbuf* icmp_mbuf(worker_ctx& c, uint8_t*& ip, size_t& cap) noexcept {
  rte_mbuf* e = rte_pktmbuf_alloc(c.sh.pool);
  if (!e) {
    c.me.ctr.dropped(drop::alloc_failed);
    return nullptr;
  }
  ip = rte_pktmbuf_mtod_offset(e, uint8_t*, net::k_eth_hdr);
  cap = rte_pktmbuf_tailroom(e) - net::k_eth_hdr;
  return e;
}

// An ICMP error about the inner packet orig (len bytes) to the client pid, sealed by us (the owner).
void icmp_to_peer(worker_ctx& c, uint32_t pid, const uint8_t* orig, size_t len, net::icmp_error kind, uint16_t mtu,
                  bool v6) noexcept {
  if (!icmp_allowed(c)) return;
  uint8_t* ip = nullptr;
  size_t cap = 0;
  rte_mbuf* e = icmp_mbuf(c, ip, cap);
  if (!e) return;
  const lan_conf& lan = c.sh.cfg.lan;
  const size_t n = v6 ? net::icmp6_error(ip, cap, lan.ip6, orig, len, kind, mtu)
                      : net::icmp4_error(ip, cap, lan.ip, orig, len, kind, mtu);
  if (!n) {
    rte_pktmbuf_free(e);
    return;
  }
  e->data_off = static_cast<uint16_t>(e->data_off + net::k_eth_hdr);
  e->data_len = static_cast<uint16_t>(n);
  e->pkt_len = static_cast<uint32_t>(n);
  meta_of(e).peer_id = pid;
  meta_of(e).dir = pkt_dir::tun;
  lcore_counters::bump(c.me.ctr.icmp_errors);
  seal_owned(c, &e, 1);
}

// An ICMP error about the LAN frame f (its IP packet at f + 14, len bytes) back to the host that
// sent it, at its MAC (the previous hop).
void icmp_to_lan(worker_ctx& c, const uint8_t* f, size_t len, net::icmp_error kind, uint16_t mtu, bool v6) noexcept {
  if (!icmp_allowed(c)) return;
  uint8_t* ip = nullptr;
  size_t cap = 0;
  rte_mbuf* e = icmp_mbuf(c, ip, cap);
  if (!e) return;
  const lan_conf& lan = c.sh.cfg.lan;
  const uint8_t* orig = f + net::k_eth_hdr;
  const size_t n = v6 ? net::icmp6_error(ip, cap, lan.ip6, orig, len, kind, mtu)
                      : net::icmp4_error(ip, cap, lan.ip, orig, len, kind, mtu);
  if (!n) {
    rte_pktmbuf_free(e);
    return;
  }
  net::mac prev;
  std::memcpy(prev.data(), f + 6, 6);
  net::write_eth(rte_pktmbuf_mtod(e, uint8_t*), prev, lan.mac, v6 ? net::k_ethertype_ipv6 : net::k_ethertype_ipv4);
  e->data_len = static_cast<uint16_t>(n + net::k_eth_hdr);
  e->pkt_len = e->data_len;
  lcore_counters::bump(c.me.ctr.icmp_errors);
  c.tx.lan[c.tx.n_lan++] = e;
}

// m (an IP packet, v6 or not) to next hop nh: out on the LAN when its MAC is known, else to the
// resolver, which holds a few packets per next hop while it asks.
void lan_send(worker_ctx& c, rte_mbuf* m, const net::ip6& nh, bool v6) noexcept {
  net::mac mac;
  if (c.neigh.lookup(c.sh.neigh, nh, mac)) {
    auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, net::k_eth_hdr));
    if (!f) return drop_pkt(c, m, drop::seal_failed);
    net::write_eth(f, mac, c.sh.cfg.lan.mac, v6 ? net::k_ethertype_ipv6 : net::k_ethertype_ipv4);
    lcore_counters::bump(c.me.ctr.to_lan);
    c.tx.lan[c.tx.n_lan++] = m;
    return;
  }
  mbuf_meta& mm = meta_of(m);
  mm.src = net::outer_addr{nh, 0, 0};
  mm.dir = pkt_dir::lan_wait;
  if (rte_ring_mp_enqueue(c.sh.lan_punt, m) != 0) return drop_pkt(c, m, drop::neigh_wait_full);
  lcore_counters::bump(c.me.ctr.lan_wait);
}

}  // namespace

namespace {

// For a decrypted packet a LAN route covers: an echo request to the gateway's LAN address is
// answered (anything else to it is dropped); a packet over the LAN's MTU or out of TTL / hop
// limit gets its ICMP error and is dropped; otherwise its TTL / hop limit drops by one. True when
// m was consumed.
bool answered_or_refused(worker_ctx& c, uint32_t pid, rte_mbuf* m, uint8_t* ip, size_t len, bool v6,
                         bool to_us) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  if (to_us) {
    if (!(v6 ? net::icmp6_echo_reply(ip, len, lan.ip6) : net::icmp4_echo_reply(ip, len, lan.ip))) {
      drop_pkt(c, m, drop::lan_local);
      return true;
    }
    lcore_counters::bump(c.me.ctr.lan_echo);
    seal_owned(c, &m, 1);  // meta still names pid: the reply goes back to the client
    return true;
  }
  if (len > lan.mtu) {
    if (v6 || (ip[6] & 0x40)) icmp_to_peer(c, pid, ip, len, net::icmp_error::too_big, lan.mtu, v6);
    drop_pkt(c, m, drop::too_big);
    return true;
  }
  if (!(v6 ? net::ipv6_dec_hop_limit(ip) : net::ipv4_dec_ttl(ip))) {
    icmp_to_peer(c, pid, ip, len, net::icmp_error::time_exceeded, 0, v6);
    drop_pkt(c, m, drop::ttl_exceeded);
    return true;
  }
  return false;
}

}  // namespace

bool to_lan(worker_ctx& c, uint32_t pid, rte_mbuf* m) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t len = m->data_len;
  net::ip6 nh;
  if (net::ip_version(ip, len) == 4) {
    uint32_t src = 0, dst = 0, via = 0;
    if (!net::inner_v4_addrs(ip, len, src, dst) || !lan_route_v4(c.sh.lan_rt.load(std::memory_order_acquire), dst, via)) return false;
    if (answered_or_refused(c, pid, m, ip, len, false, dst == lan.ip)) return true;
    lan_send(c, m, net::v4_mapped(via), false);
    return true;
  }
  net::inner_v6 h;
  if (!lan.v6 || !net::inner_v6_addrs(ip, len, h)) return false;
  net::ip6 dst;
  std::memcpy(dst.data(), h.dst, 16);
  if (!lan_route_v6(c.sh.lan_rt.load(std::memory_order_acquire), dst, nh)) return false;
  if (answered_or_refused(c, pid, m, ip, len, true, dst == lan.ip6)) return true;
  lan_send(c, m, nh, true);
  return true;
}

namespace {

// ARP on the LAN: requests for our address answered in place; replies and gratuitous
// announcements go to the resolver (it updates only next hops it knows). Anything claiming our
// own address is refused.
void lan_arp(worker_ctx& c, rte_mbuf* m, uint8_t* f) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  net::arp_info a;
  if (!net::arp_parse(f, m->data_len, a)) return drop_pkt(c, m, drop::arp_other);
  if (a.spa == lan.ip) return drop_pkt(c, m, drop::lan_addr_conflict);
  if (a.op == 1 && a.tpa == lan.ip) {
    if (!net::arp_make_reply(f, m->data_len, lan.ip, lan.mac)) return drop_pkt(c, m, drop::arp_other);
    lcore_counters::bump(c.me.ctr.lan_neigh);
    c.tx.lan[c.tx.n_lan++] = m;
    return;
  }
  if (a.op == 2 || (a.op == 1 && a.spa == a.tpa)) {
    meta_of(m).dir = pkt_dir::lan_l2;
    if (rte_ring_mp_enqueue(c.sh.lan_punt, m) != 0) return drop_pkt(c, m, drop::neigh_wait_full);
    return;
  }
  drop_pkt(c, m, drop::arp_other);
}

// The IPv4 header of a LAN frame: complete, consistent, with a good checksum
// (RFC 1812 §5.2.2). Trims Ethernet padding. 0 when malformed, else the IP packet's length.
size_t lan_ip4_len(rte_mbuf* m, const uint8_t* ip, size_t avail) noexcept {
  if (avail < net::k_ipv4_hdr || (ip[0] >> 4) != 4) return 0;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  const size_t total = size_t{ip[2]} << 8 | ip[3];
  if (ihl < net::k_ipv4_hdr || total < ihl || total > avail) return 0;
  if (net::csum_fold(net::csum_partial(ip, ihl)) != 0) return 0;
  m->data_len = static_cast<uint16_t>(total + net::k_eth_hdr);
  m->pkt_len = m->data_len;
  return total;
}

size_t lan_ip6_len(rte_mbuf* m, const uint8_t* ip, size_t avail) noexcept {
  if (avail < net::k_ipv6_hdr || (ip[0] >> 4) != 6) return 0;
  const size_t total = net::k_ipv6_hdr + (size_t{ip[4]} << 8 | ip[5]);
  if (total > avail) return 0;
  m->data_len = static_cast<uint16_t>(total + net::k_eth_hdr);
  m->pkt_len = m->data_len;
  return total;
}

// Echo to our LAN address: answered back to the sender's MAC.
void lan_echo(worker_ctx& c, rte_mbuf* m, uint8_t* f, bool ok) noexcept {
  if (!ok) return drop_pkt(c, m, drop::lan_local);
  std::memcpy(f, f + 6, 6);
  std::memcpy(f + 6, c.sh.cfg.lan.mac.data(), 6);
  lcore_counters::bump(c.me.ctr.lan_echo);
  c.tx.lan[c.tx.n_lan++] = m;
}

// An IP packet from the LAN for a client: routed to its peer, checked, Ethernet header removed;
// true when this lcore owns the peer.
bool lan_forward(worker_ctx& c, rte_mbuf* m, uint8_t* f, size_t len, bool v6) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  uint8_t* ip = f + net::k_eth_hdr;
  uint32_t pid = 0;
  drop why{};
  // A source that routes to a client (or is our own) is spoofed: the LAN cannot speak for clients.
  // The client role routes everything to its one server: the LAN speaks for itself (site to site).
  if (!c.sh.cfg.client_role && route_src(c.sh, ip, len, pid, why)) return drop_pkt(c, m, drop::lan_spoofed_src), false;
  if (!route_dst(c.sh, ip, len, pid, why)) return drop_pkt(c, m, why), false;
  const uint16_t owner = c.sh.owner[pid].load(std::memory_order_acquire);
  if (owner == k_no_owner) return drop_pkt(c, m, drop::no_route), false;
  if (len > lan.tun_mtu) {
    if (v6 || (ip[6] & 0x40)) icmp_to_lan(c, f, len, net::icmp_error::too_big, lan.tun_mtu, v6);
    return drop_pkt(c, m, drop::too_big), false;
  }
  if (!(v6 ? net::ipv6_dec_hop_limit(ip) : net::ipv4_dec_ttl(ip))) {
    icmp_to_lan(c, f, len, net::icmp_error::time_exceeded, 0, v6);
    return drop_pkt(c, m, drop::ttl_exceeded), false;
  }
  rte_pktmbuf_adj(m, net::k_eth_hdr);
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = pid;
  mm.dir = pkt_dir::tun;
  lcore_counters::bump(c.me.ctr.from_lan);
  if (owner != c.me.index && !spread_sealer(c, pid, owner)) {
    handoff(c, m, owner);
    return false;
  }
  return true;
}

bool lan_ipv4(worker_ctx& c, rte_mbuf* m, uint8_t* f) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  uint8_t* ip = f + net::k_eth_hdr;
  const size_t len = lan_ip4_len(m, ip, m->data_len - net::k_eth_hdr);
  if (!len) return drop_pkt(c, m, drop::lan_malformed), false;
  uint32_t src = 0, dst = 0;
  net::inner_v4_addrs(ip, len, src, dst);
  if (src == lan.ip) return drop_pkt(c, m, drop::lan_spoofed_src), false;
  if (dst == lan.ip) return lan_echo(c, m, f, net::icmp4_echo_reply(ip, len, lan.ip)), false;
  return lan_forward(c, m, f, len, false);
}

bool lan_ipv6(worker_ctx& c, rte_mbuf* m, uint8_t* f, bool group) noexcept {
  const lan_conf& lan = c.sh.cfg.lan;
  if (!lan.v6) return drop_pkt(c, m, drop::lan_not_for_us), false;
  const net::frame6_info fi = net::parse_frame6(f, m->data_len);
  if (fi.kind == net::frame6_kind::nd_solicit) {
    size_t len = m->data_len;
    switch (net::nd_make_advert(f, len, len + rte_pktmbuf_tailroom(m), lan.ip6, lan.mac)) {
      case net::nd_result::advert:
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        lcore_counters::bump(c.me.ctr.lan_neigh);
        c.tx.lan[c.tx.n_lan++] = m;
        return false;
      case net::nd_result::not_ours: return drop_pkt(c, m, drop::nd_other), false;
      case net::nd_result::invalid: return drop_pkt(c, m, drop::nd_invalid), false;
    }
  }
  net::na_info na;
  if (fi.kind == net::frame6_kind::icmp6_other && net::nd_parse_advert(f, m->data_len, na)) {
    if (na.target == lan.ip6) return drop_pkt(c, m, drop::lan_addr_conflict), false;
    meta_of(m).dir = pkt_dir::lan_l2;
    if (rte_ring_mp_enqueue(c.sh.lan_punt, m) != 0) drop_pkt(c, m, drop::neigh_wait_full);
    return false;
  }
  if (group) return drop_pkt(c, m, drop::lan_not_for_us), false;
  uint8_t* ip = f + net::k_eth_hdr;
  const size_t len = lan_ip6_len(m, ip, m->data_len - net::k_eth_hdr);
  if (!len) return drop_pkt(c, m, drop::lan_malformed), false;
  net::inner_v6 h;
  if (!net::inner_v6_addrs(ip, len, h)) return drop_pkt(c, m, drop::lan_malformed), false;
  if (std::memcmp(h.src, lan.ip6.data(), 16) == 0) return drop_pkt(c, m, drop::lan_spoofed_src), false;
  if (std::memcmp(h.dst, lan.ip6.data(), 16) == 0) return lan_echo(c, m, f, net::icmp6_echo_reply(ip, len, lan.ip6)), false;
  return lan_forward(c, m, f, len, true);
}

// Stage 1 for one LAN frame: true when m is now an IP packet for a client this lcore owns.
bool lan_classify(worker_ctx& c, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) return drop_pkt(c, m, drop::multi_segment), false;
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  if (m->data_len < net::k_eth_hdr) return drop_pkt(c, m, drop::lan_malformed), false;
  const bool group = f[0] & 1;  // broadcast or multicast
  if (!group && std::memcmp(f, c.sh.cfg.lan.mac.data(), 6) != 0) return drop_pkt(c, m, drop::lan_not_for_us), false;
  switch (uint16_t{f[12]} << 8 | f[13]) {
    case net::k_ethertype_arp: lan_arp(c, m, f); return false;
    case net::k_ethertype_ipv4:
      if (group) return drop_pkt(c, m, drop::lan_not_for_us), false;
      return lan_ipv4(c, m, f);
    case net::k_ethertype_ipv6: return lan_ipv6(c, m, f, group);
    default: return drop_pkt(c, m, drop::lan_not_for_us), false;
  }
}

}  // namespace

void lan_burst(worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept {
  rte_mbuf* owned[k_max_burst];
  seal_owned(c, owned, classify_burst(c, pkts, n, owned, c.me.ctr.lan_rx_pkts, c.me.ctr.lan_rx_bytes, lan_classify));
}

}  // namespace dpvpn::dp
