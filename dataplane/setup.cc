// SPDX-License-Identifier: MIT
// shared_create / shared_destroy (dp_setup.h).
#include "dpvpn/dp_setup.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>

namespace dpvpn::dp {

namespace {

rte_ring* make_ring(const std::string& name, unsigned size, unsigned flags, std::string& err) {
  rte_ring* r = rte_ring_create(name.c_str(), size, static_cast<int>(rte_socket_id()), flags);
  if (!r && err.empty()) err = "ring " + name + ": " + rte_strerror(rte_errno);
  return r;
}

// Lock-free readers (the workers), one writer (the control thread); freed key slots are reclaimed
// after every reader has reported a quiescent state.
rte_hash* make_hash(const std::string& name, uint32_t entries, uint32_t key_len, rte_rcu_qsbr* qsbr,
                    std::string& err) {
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = std::max<uint32_t>(entries, 64);
  hp.key_len = key_len;
  hp.hash_func = rte_jhash;
  hp.socket_id = static_cast<int>(rte_socket_id());
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* h = rte_hash_create(&hp);
  if (!h) {
    err = "hash " + name + ": " + rte_strerror(rte_errno);
    return nullptr;
  }
  rte_hash_rcu_config rc{};
  rc.v = qsbr;
  rc.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(h, &rc) != 0) {
    err = "hash " + name + ": QSBR";
    rte_hash_free(h);
    return nullptr;
  }
  return h;
}

bool make_lcores(dp_shared& sh, const shared_params& p, std::string& err) {
  const uint16_t n = sh.cfg.n_workers;
  const unsigned ring = p.ring_size;
  for (uint16_t i = 0; i < n; ++i) {
    auto* l = new dp_lcore();
    sh.lcores[i] = l;
    l->index = i;
    l->lcore_id = i < p.lcore_ids.size() ? p.lcore_ids[i] : i;
    if (p.engines) {
      l->eng = crypto::engine::create();
      // Every worker seals and opens through its engine: without one it would crash on the first packet.
      if (!l->eng) {
        err = "lcore " + std::to_string(l->lcore_id) + ": the IPsec-MB library could not allocate or initialise a "
              "crypto manager (out of memory, or no instruction set it supports on this CPU)";
        return false;
      }
    }
    l->contact = std::make_unique<dp_lcore::contact_bucket[]>(dp_lcore::k_contact_buckets);
    l->peers = std::make_unique<dp_peer*[]>(sh.cfg.max_peers);
    l->owned = std::make_unique<uint32_t[]>(sh.cfg.max_peers);
    const std::string s = std::to_string(i);
    l->cmd = make_ring("dpvpn_cmd" + s, ring, RING_F_SP_ENQ | RING_F_SC_DEQ, err);
    l->ctl_tx = make_ring("dpvpn_ctltx" + s, ring, RING_F_SP_ENQ | RING_F_SC_DEQ, err);
    if (i < sh.cfg.exc_queues && n > sh.cfg.exc_queues) l->exc_in = make_ring("dpvpn_excin" + s, ring, RING_F_SC_DEQ, err);
  }
  for (uint16_t to = 0; to < n; ++to)
    for (uint16_t from = 0; from < n; ++from)
      if (from != to)
        sh.lcores[to]->handoff_in[from] = make_ring("dpvpn_ho" + std::to_string(from) + "_" + std::to_string(to), ring,
                                                    RING_F_SP_ENQ | RING_F_SC_DEQ, err);
  return err.empty();
}

void drain(rte_ring* r, bool mbufs) {
  if (!r) return;
  void* o;
  while (rte_ring_dequeue(r, &o) == 0) {
    if (!mbufs) delete static_cast<peer_cmd*>(o);
    else if (!share_mark::is(o)) rte_pktmbuf_free(static_cast<rte_mbuf*>(o));  // a mark owns nothing
  }
  rte_ring_free(r);
}

}  // namespace

bool shared_create(dp_shared& sh, const shared_params& p, std::string& err) {
  err.clear();
  const uint16_t n = sh.cfg.n_workers;
  const unsigned ring = p.ring_size;
  sh.punt = make_ring("dpvpn_punt", ring, RING_F_SC_DEQ, err);
  sh.punt_est = make_ring("dpvpn_punt_est", ring, RING_F_SC_DEQ, err);
  sh.done = make_ring("dpvpn_done", rte_align32pow2(ring * n * 2), RING_F_SC_DEQ, err);
  if (!err.empty()) return false;
  sh.owner = std::make_unique<std::atomic<uint16_t>[]>(sh.cfg.max_peers);
  for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.owner[i].store(k_no_owner);
  sh.cfg.spread_pull = sh.cfg.tunnel_spread > 1;
  if (sh.cfg.tunnel_spread > 1) {
    sh.spread_peer = std::make_unique<std::atomic<dp_peer*>[]>(sh.cfg.max_peers);
    for (uint32_t i = 0; i < sh.cfg.max_peers; ++i) sh.spread_peer[i].store(nullptr);
  }
  sh.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dpvpn_qsbr", rte_rcu_qsbr_get_memsize(n), RTE_CACHE_LINE_SIZE));
  if (!sh.qsbr || rte_rcu_qsbr_init(sh.qsbr, n) != 0) {
    err = "QSBR init failed";
    return false;
  }
  const uint32_t routes = p.max_routes ? p.max_routes : sh.cfg.max_peers + std::max<uint32_t>(sh.cfg.max_peers, 4096);
  sh.rt = routes_create(sh.qsbr, routes, routes, err);
  if (!sh.rt) return false;
  sh.addrs = make_hash("dpvpn_addrs", sh.cfg.max_peers * 2, sizeof(net::outer_addr), sh.qsbr, err);
  if (!sh.addrs) return false;
  if (sh.cfg.lan.on) {
    sh.lan_rt.store(lan_routes_create(sh.cfg.lan, p.lan_routes, err));
    if (!sh.lan_rt.load()) return false;
    sh.neigh = neigh_create(sh.qsbr, p.lan_neighbors, err);
    if (!sh.neigh) return false;
    sh.lan_punt = make_ring("dpvpn_lanpunt", ring, RING_F_SC_DEQ, err);
    sh.lan_ctl = make_ring("dpvpn_lanctl", ring, RING_F_SP_ENQ | RING_F_SC_DEQ, err);
    if (!err.empty()) return false;
  }
  if (sh.cfg.tap && !l2_create(sh, p.l2, err)) return false;
  return make_lcores(sh, p, err);
}

void shared_destroy(dp_shared& sh) {
  for (dp_lcore*& l : sh.lcores) {
    if (!l) continue;
    for (uint32_t i = 0; i < l->n_owned; ++i) delete l->peers[l->owned[i]];
    drain(l->ctl_tx, true);
    drain(l->exc_in, true);
    drain(l->cmd, false);
    for (rte_ring* r : l->handoff_in) drain(r, true);
    delete l;
    l = nullptr;
  }
  drain(sh.punt, true);
  drain(sh.punt_est, true);
  drain(sh.lan_punt, true);
  drain(sh.lan_ctl, true);
  drain(sh.done, false);
  sh.punt = sh.punt_est = sh.lan_punt = sh.lan_ctl = sh.done = nullptr;
  rte_hash_free(sh.addrs);
  sh.addrs = nullptr;
  routes_destroy(sh.rt);
  sh.rt = nullptr;
  lan_routes_destroy(sh.lan_rt.exchange(nullptr));
  neigh_destroy(sh.neigh);
  sh.neigh = nullptr;
  sh.spread_peer.reset();
  l2_destroy(sh);
  rte_free(sh.qsbr);
  sh.qsbr = nullptr;
}

int addr_set(dp_shared& sh, const net::outer_addr& addr, uint32_t peer_id) {
  const int rc = rte_hash_add_key_data(sh.addrs, &addr, reinterpret_cast<void*>(uintptr_t{peer_id}));
  sh.addrs_gen.fetch_add(1, std::memory_order_release);
  return rc < 0 ? rc : 0;
}

int addr_del(dp_shared& sh, const net::outer_addr& addr) {
  const int rc = rte_hash_del_key(sh.addrs, &addr);
  sh.addrs_gen.fetch_add(1, std::memory_order_release);
  return rc < 0 ? rc : 0;
}

}  // namespace dpvpn::dp
