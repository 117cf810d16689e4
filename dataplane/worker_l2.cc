// SPDX-License-Identifier: MIT
// TAP mode's L2 stage (docs/tap.md, "How a frame will flow"): inner Ethernet frames from a client
// (after the open path's replay commit and float) and from the exception port, through
// l2frame.h's verdicts with the MAC table and route look-ups as facts: dropped with a named reason,
// an ARP request answered in place, or forwarded to the exception port, to one client's owner, or
// to every client (the fan-out, worker_fanout.cc). New source MACs are asked for on the learn
// ring (dp_l2.h), once a second per (MAC, peer) per lcore; the frame is forwarded meanwhile.
// The look-ups are done frame by frame (batching them per burst, like the tun path's, is left for
// when a benchmark asks for it). VLANs (vlan-tagging) are not handled here yet: MACs are learned
// and looked up with VLAN id 0.
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dpvpn/dp_l2.h"
#include "dpvpn/l2frame.h"
#include "worker_internal.h"

namespace dpvpn::dp {

namespace {

// dp_stats.h's l2_* drops are l2frame.h's list in the same order.
static_assert(static_cast<size_t>(drop::l2_loop) - static_cast<size_t>(drop::l2_runt) + 1 == net::k_l2_drop_count);
static_assert(static_cast<size_t>(drop::l2_too_big) - static_cast<size_t>(drop::l2_runt) ==
              static_cast<size_t>(net::l2_drop::too_big));
static_assert(static_cast<size_t>(drop::l2_ip_spoof) - static_cast<size_t>(drop::l2_runt) ==
              static_cast<size_t>(net::l2_drop::ip_spoof));
static_assert(static_cast<size_t>(net::l2_drop::loop) + 1 == net::k_l2_drop_count);
static_assert(net::k_mac_no_peer == net::k_no_peer && net::k_mac_segment == net::k_segment);

drop drop_of(net::l2_drop d) noexcept {
  return static_cast<drop>(static_cast<size_t>(drop::l2_runt) + static_cast<size_t>(d));
}

constexpr uint64_t k_mac_known = uint64_t{1} << 48;  // dp_shared::client_mac: the word holds a MAC

uint64_t word_of(const net::mac& m) noexcept {
  uint64_t w = 0;
  for (uint8_t b : m) w = (w << 8) | b;
  return k_mac_known | w;
}

// The look-ups l2_parse asks for (l2_facts): who holds the source and destination MACs, whose
// address the source (or ARP sender) is, whose address an ARP request's target is and that
// client's MAC. src_slot: the source's table slot, for touch.
net::l2_facts facts_of(const dp_shared& sh, const net::l2_frame& f, uint32_t& src_slot) noexcept {
  net::l2_facts k;
  const net::mac_table::hit s = sh.macs->find(f.src, 0);
  k.src_mac_owner = s.peer;
  src_slot = s.slot;
  if (f.cast == net::l2_cast::unicast) k.dst_mac_owner = sh.macs->find(f.dst, 0).peer;
  uint32_t pid = 0;
  switch (f.l3) {
    case net::l3_kind::ipv4:
      if (f.ip4_src != 0 && route_lookup_v4(sh.rt, f.ip4_src, pid)) k.src_ip_owner = pid;
      break;
    case net::l3_kind::ipv6:
      if (!f.ip6_src_local && route_lookup_v6(sh.rt, f.ip6_src.data(), pid)) k.src_ip_owner = pid;
      break;
    case net::l3_kind::arp:
      if (f.arp.spa != 0 && route_lookup_v4(sh.rt, f.arp.spa, pid)) k.src_ip_owner = pid;
      if (f.arp.op == 1 && route_lookup_v4(sh.rt, f.arp.tpa, pid) && pid < sh.cfg.max_peers) {
        k.arp_target_owner = pid;
        const uint64_t w = sh.client_mac[pid].load(std::memory_order_relaxed);
        if (w & k_mac_known) {
          k.arp_target_mac_known = true;
          for (int i = 0; i < 6; ++i) k.arp_target_mac[i] = static_cast<uint8_t>(w >> (40 - 8 * i));
        }
      }
      break;
    case net::l3_kind::other: break;
  }
  return k;
}

// A source MAC nobody holds: ask the table's writer to give it to peer (at most once a second per
// (MAC, peer) on this lcore). A full ring loses the request; the next second asks again.
void ask_learn(worker_ctx& c, const net::mac& m, uint32_t peer) noexcept {
  const uint32_t now = static_cast<uint32_t>(c.now_s);
  if (!c.learned.should_ask(m, 0, peer, now)) return;
  l2_learn_req r{m, 0, peer, now};
  if (rte_ring_mp_enqueue_elem(c.sh.learn, &r, sizeof r) != 0) lcore_counters::bump(c.me.ctr.l2_learn_lost);
  else lcore_counters::bump(c.me.ctr.l2_learn_asked);
}

// m (plaintext for client q) to q's owner, sealed there (or here, q being ours or a spread peer
// this lcore seals for). False when q has no owner any more (its MAC entry outlived it).
bool to_client(worker_ctx& c, rte_mbuf* m, uint32_t q) noexcept {
  if (q >= c.sh.cfg.max_peers) return false;
  const uint16_t owner = c.sh.owner[q].load(std::memory_order_acquire);
  if (owner == k_no_owner) return false;
  mbuf_meta& mm = meta_of(m);
  mm.peer_id = q;
  mm.dir = pkt_dir::tun;
  if (owner != c.me.index && !spread_sealer(c, q, owner)) handoff(c, m, owner);
  else seal_owned(c, &m, 1);
  return true;
}

}  // namespace

void l2_from_peer(worker_ctx& c, dp_peer& p, rte_mbuf* m) noexcept {
  const dp_shared& sh = c.sh;
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t len = m->data_len;
  net::l2_frame pf;
  net::l2_drop why{};
  if (!net::l2_parse(f, len, pf, why)) return drop_pkt(c, m, drop_of(why));
  uint32_t slot = 0;
  const net::l2_facts k = facts_of(sh, pf, slot);
  const net::l2_verdict v = net::l2_from_client(pf, len, p.peer_id, p.vpn_ip != 0, k, sh.cfg.l2);
  if (v.action == net::l2_action::drop) return drop_pkt(c, m, drop_of(v.reason));
  // The MAC table's last-seen and the client's MAC word are its owner lcore's to write; a spread
  // peer's other lcores leave them to the owner's share of the traffic.
  const bool owner = c.me.peers[p.peer_id] == &p;
  if (v.learn) {
    if (sh.mac_full[p.peer_id].load(std::memory_order_relaxed)) return drop_pkt(c, m, drop::l2_mac_limit);
    ask_learn(c, pf.src, p.peer_id);
  } else if (owner) {
    sh.macs->touch(slot, pf.src, 0, p.peer_id, static_cast<uint32_t>(c.now_s));
  }
  // The MAC that sends from the client's own address is the one proxy ARP answers with.
  const bool own_addr = p.vpn_ip != 0 && ((pf.l3 == net::l3_kind::ipv4 && pf.ip4_src == p.vpn_ip) ||
                                          (pf.l3 == net::l3_kind::arp && pf.arp.spa == p.vpn_ip));
  if (own_addr && owner) {
    const uint64_t w = word_of(pf.src);
    if (sh.client_mac[p.peer_id].load(std::memory_order_relaxed) != w)
      sh.client_mac[p.peer_id].store(w, std::memory_order_relaxed);
  }
  if (v.action == net::l2_action::answer) {  // the reply goes back to the asker, sealed
    net::arp_answer(f, len, pf, v.answer_mac);
    lcore_counters::bump(c.me.ctr.l2_arp_answered);
    mbuf_meta& mm = meta_of(m);
    mm.peer_id = p.peer_id;
    mm.dir = pkt_dir::tun;
    seal_owned(c, &m, 1);
    return;
  }
  if ((v.dests & net::to_peer) && to_client(c, m, v.peer)) {
    lcore_counters::bump(c.me.ctr.l2_to_peer);
    return;
  }
  // Not a client's any more (to_peer failed): the exception port, as for an unknown MAC.
  const bool exc = (v.dests & (net::to_exception | net::to_peer)) != 0;
  const bool all = (v.dests & net::to_all_peers) != 0;
  if (exc && all) rte_mbuf_refcnt_update(m, 1);  // the exception port's reference; the fan-out's
  if (exc) c.tx.tun[c.tx.n_tun++] = m;
  if (all) flood(c, m, p.peer_id);
}

bool tap_classify(worker_ctx& c, rte_mbuf* m) noexcept {
  if (m->nb_segs != 1) {
    drop_pkt(c, m, drop::multi_segment);
    return false;
  }
  const dp_shared& sh = c.sh;
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t len = m->data_len;
  net::l2_frame pf;
  net::l2_drop why{};
  if (!net::l2_parse(f, len, pf, why)) {
    drop_pkt(c, m, drop_of(why));
    return false;
  }
  uint32_t slot = 0;
  const net::l2_facts k = facts_of(sh, pf, slot);
  const net::l2_verdict v = net::l2_from_exception(pf, len, k, sh.cfg.l2);
  if (v.action == net::l2_action::drop) {
    drop_pkt(c, m, drop_of(v.reason));
    return false;
  }
  // The segment's entries are refreshed by whichever lcore polls the exception port (mac_table.h).
  if (v.learn) ask_learn(c, pf.src, net::k_segment);
  else sh.macs->touch(slot, pf.src, 0, net::k_segment, static_cast<uint32_t>(c.now_s));
  if (v.action == net::l2_action::answer) {  // proxy ARP for a client: back onto the segment
    net::arp_answer(f, len, pf, v.answer_mac);
    lcore_counters::bump(c.me.ctr.l2_arp_answered);
    c.tx.tun[c.tx.n_tun++] = m;
    return false;
  }
  if (v.dests & net::to_peer) {
    const uint32_t q = v.peer;
    const uint16_t owner = q < sh.cfg.max_peers ? sh.owner[q].load(std::memory_order_acquire) : k_no_owner;
    if (owner != k_no_owner) {
      mbuf_meta& mm = meta_of(m);
      mm.peer_id = q;
      mm.dir = pkt_dir::tun;
      if (owner == c.me.index || spread_sealer(c, q, owner)) return true;
      handoff(c, m, owner);
      return false;
    }
  }
  flood(c, m, net::k_no_peer);  // broadcast, multicast, unknown (or a departed client's) MAC
  return false;
}

}  // namespace dpvpn::dp
