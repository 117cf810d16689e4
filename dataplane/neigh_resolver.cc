// SPDX-License-Identifier: MIT
// The control thread's next-hop resolver for the LAN port (neigh_resolver.h).
#include "dpvpn/neigh_resolver.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstring>

#include "dpvpn/netpkt_fwd.h"

namespace dpvpn::dp {

namespace {

mbuf_meta& meta(rte_mbuf* m) { return *static_cast<mbuf_meta*>(rte_mbuf_to_priv(m)); }

bool is_v4(const net::ip6& a) { return net::is_v4_mapped(a); }

}  // namespace

neigh_resolver::neigh_resolver(dp_shared& sh) : sh_(sh) {}

neigh_resolver::~neigh_resolver() {
  for (entry& e : e_)
    for (rte_mbuf* m : e.held) rte_pktmbuf_free(m);
}

bool neigh_resolver::send(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(sh_.lan_ctl, m) == 0) return true;
  ++st_.ctl_full;
  rte_pktmbuf_free(m);
  return false;
}

void neigh_resolver::probe(entry& e) {
  rte_mbuf* m = rte_pktmbuf_alloc(sh_.pool);
  if (!m) return;
  const lan_conf& lan = sh_.cfg.lan;
  auto* f = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t cap = rte_pktmbuf_tailroom(m);
  const size_t n = is_v4(e.ip) ? net::arp_request(f, cap, lan.mac, lan.ip, net::v4_of(e.ip))
                               : net::nd_solicit(f, cap, lan.mac, lan.ip6, e.ip);
  if (!n) {
    rte_pktmbuf_free(m);
    return;
  }
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  if (send(m)) ++st_.requests;
}

// The held packets (IP, no Ethernet header yet) out to e's MAC.
void neigh_resolver::send_held(entry& e) {
  for (rte_mbuf* m : e.held) {
    const bool v6 = (rte_pktmbuf_mtod(m, const uint8_t*)[0] >> 4) == 6;
    auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, net::k_eth_hdr));
    if (!f) {
      rte_pktmbuf_free(m);
      continue;
    }
    net::write_eth(f, e.mac, sh_.cfg.lan.mac, v6 ? net::k_ethertype_ipv6 : net::k_ethertype_ipv4);
    if (send(m)) ++st_.sent;
  }
  held_ -= static_cast<uint32_t>(e.held.size());
  e.held.clear();
}

void neigh_resolver::on_wait(rte_mbuf* m, uint64_t now_ms) {
  const net::ip6 ip = meta(m).src.ip;
  const int slot = neigh_slot(sh_.neigh, ip);
  if (slot < 0) {
    ++st_.table_full;
    rte_pktmbuf_free(m);
    return;
  }
  if (static_cast<size_t>(slot) >= e_.size()) e_.resize(slot + 1);
  entry& e = e_[slot];
  e.ip = ip;
  if (e.held.size() >= k_queue || held_ >= k_max_held) {
    ++st_.queue_full;
    rte_pktmbuf_free(m);
    return;
  }
  e.held.push_back(m);
  ++held_;
  ++st_.queued;
  if (e.resolved) {  // answered between the worker's look-up and now
    send_held(e);
    return;
  }
  if (!e.next_probe_ms) {
    e.probes = 0;
    e.next_probe_ms = now_ms;
    active_.push_back(static_cast<uint32_t>(slot));
  }
}

void neigh_resolver::on_answer(rte_mbuf* m, uint64_t now_ms) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  net::ip6 ip;
  net::mac mac;
  net::arp_info a;
  net::na_info na;
  if (net::arp_parse(f, m->data_len, a)) {
    ip = net::v4_mapped(a.spa);
    mac = a.sha;
  } else if (net::nd_parse_advert(f, m->data_len, na) && na.has_tlla) {
    ip = na.target;
    mac = na.tlla;
  } else {
    rte_pktmbuf_free(m);
    return;
  }
  rte_pktmbuf_free(m);
  const lan_conf& lan = sh_.cfg.lan;
  if (ip == net::v4_mapped(lan.ip) || (lan.v6 && ip == lan.ip6)) {
    ++st_.conflicts;
    return;
  }
  const int slot = neigh_find(sh_.neigh, ip);
  if (slot < 0 || static_cast<size_t>(slot) >= e_.size()) {
    ++st_.unsolicited;
    return;
  }
  entry& e = e_[slot];
  ++st_.replies;
  e.mac = mac;
  e.resolved = true;
  e.probes = 0;
  e.next_probe_ms = 0;
  e.confirmed_ms = now_ms;
  neigh_set(sh_.neigh, slot, mac);
  send_held(e);
}

// The entry leaves the table (its slot serves another address after a grace period); a later
// packet to it starts over.
void neigh_resolver::forget(uint32_t slot) {
  entry& e = e_[slot];
  neigh_delete(sh_.neigh, static_cast<int>(slot), e.ip);
  e = entry{};
  ++st_.expired;
}

void neigh_resolver::timers(uint64_t now_ms) {
  for (uint32_t slot = 0; slot < e_.size(); ++slot) {
    entry& e = e_[slot];
    if (e.ip == net::ip6{}) continue;  // a slot not in use
    // A resolved neighbor not confirmed for k_reachable_ms is asked again (its MAC stays usable)
    // if a worker sent to it since it was last asked; one nothing was sent to goes.
    if (e.resolved && !e.next_probe_ms && now_ms >= e.confirmed_ms + k_reachable_ms) {
      if (!neigh_take_use(sh_.neigh, static_cast<int>(slot))) {
        forget(slot);
        continue;
      }
      e.probes = 0;
      e.next_probe_ms = now_ms;
    }
    if (!e.next_probe_ms || now_ms < e.next_probe_ms) continue;
    if (e.probes >= k_probes) {  // no answer: the MAC withdrawn, what waits dropped, the entry gone
      st_.unresolved += e.held.size();
      for (rte_mbuf* m : e.held) rte_pktmbuf_free(m);
      held_ -= static_cast<uint32_t>(e.held.size());
      e.held.clear();
      forget(slot);
      continue;
    }
    probe(e);
    ++e.probes;
    e.next_probe_ms = now_ms + k_probe_ms;
  }
}

bool neigh_resolver::poll(uint64_t now_ms) {
  if (!sh_.cfg.lan.on) return false;
  void* objs[64];
  const unsigned n = rte_ring_sc_dequeue_burst(sh_.lan_punt, objs, 64, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    auto* m = static_cast<rte_mbuf*>(objs[i]);
    if (meta(m).dir == pkt_dir::lan_wait) on_wait(m, now_ms);
    else on_answer(m, now_ms);
  }
  // New waiters are probed at once; the rest every 100 ms.
  if (!active_.empty() || now_ms >= next_timers_ms_) {
    active_.clear();
    timers(now_ms);
    next_timers_ms_ = now_ms + 100;
  }
  return n != 0;
}

std::string neigh_resolver::counters() const {
  char b[440];
  std::snprintf(b, sizeof b,
                "lan neighbors %u: requests %llu, replies %llu, unsolicited %llu, conflicts %llu, held %llu, sent %llu, "
                "expired %llu, dropped: queue full %llu, unresolved %llu, table full %llu, ring full %llu",
                neigh_count(sh_.neigh), (unsigned long long)st_.requests, (unsigned long long)st_.replies,
                (unsigned long long)st_.unsolicited, (unsigned long long)st_.conflicts, (unsigned long long)st_.queued,
                (unsigned long long)st_.sent, (unsigned long long)st_.expired, (unsigned long long)st_.queue_full,
                (unsigned long long)st_.unresolved,
                (unsigned long long)st_.table_full, (unsigned long long)st_.ctl_full);
  return b;
}

}  // namespace dpvpn::dp
