// SPDX-License-Identifier: MIT
// WAN receive path for outer IPv6 (`proto udp6`): Neighbor Discovery for our address, UDP to our
// address and port -> the OpenVPN path both families share (udp_input, worker_rx.cc).
#include "dpvpn/netpkt6.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

// A Neighbor Solicitation: answered in place with our MAC (RFC 4861 §7.2.4) and sent back out of
// the queue it came in on, as ARP is. The NA may be longer than the NS (an NS without options):
// it grows into the mbuf's tailroom.
void nd_input(worker_ctx& c, rte_mbuf* m, uint8_t* f) noexcept {
  const dp_config& cfg = c.sh.cfg;
  size_t len = m->data_len;
  const size_t cap = len + rte_pktmbuf_tailroom(m);
  switch (net::nd_make_advert(f, len, cap, cfg.local_ip6, cfg.wan_mac)) {
    case net::nd_result::advert:
      m->data_len = static_cast<uint16_t>(len);
      m->pkt_len = static_cast<uint32_t>(len);
      lcore_counters::bump(c.me.ctr.nd_adverts);
      c.tx.wan[c.tx.n_wan++] = m;
      return;
    case net::nd_result::not_ours: return drop_pkt(c, m, drop::nd_other);
    case net::nd_result::invalid: return drop_pkt(c, m, drop::nd_invalid);
  }
}

}  // namespace

// Stage 1 of wan_classify for EtherType 0x86dd (a single-segment mbuf): true when m is a data
// packet this lcore owns.
bool wan_classify6(worker_ctx& c, rte_mbuf* m) noexcept {
  const dp_config& cfg = c.sh.cfg;
  drop why = drop::not_for_us;  // RS, MLD, echo, extension headers
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  const net::frame6_info fi = cfg.wan_v6 ? net::parse_frame6(f, m->data_len) : net::frame6_info{};
  if (!cfg.wan_v6) {
    why = drop::ipv6_outer;
  } else {
    switch (fi.kind) {
      case net::frame6_kind::udp:
        if (fi.dst != cfg.local_ip6 || fi.dst_port != cfg.local_port) break;
        meta_of(m).src = net::outer_v6(fi.src, fi.src_port);
        return udp_classify(c, m, fi.payload_off, fi.payload_len, fi.src_mac);
      case net::frame6_kind::nd_solicit: nd_input(c, m, f); return false;
      case net::frame6_kind::icmp6_other:
        // The client role: a Neighbor Advertisement to our address answers the control thread's
        // solicitation for its next hop (control/wan_neighbor.h); it checks the rest.
        if (cfg.client_role && fi.dst == cfg.local_ip6 && fi.l4_off < m->data_len && f[fi.l4_off] == net::k_icmp6_na) {
          punt_wan_l2(c, m);
          return false;
        }
        break;
      case net::frame6_kind::fragment: why = drop::ipv6_fragment; break;
      case net::frame6_kind::malformed: why = drop::malformed_frame; break;
      default: break;
    }
  }
  drop_pkt(c, m, why);
  return false;
}

}  // namespace dpvpn::dp
