// SPDX-License-Identifier: MIT
// The dataplane's shared state built and torn down in one place (dp_state.h says who writes what):
// the rings between workers and the control thread, the peer-id directory, QSBR, the route and
// outer-address tables, one dp_lcore per worker, the LAN port's tables and TAP mode's (dp_l2.h).
// build/dpvpn (app/main.cc) and dpvpn-bench use it; the tests build smaller worlds by hand.
#pragma once

#include <string>
#include <vector>

#include "dpvpn/dp_l2.h"
#include "dpvpn/dp_state.h"

namespace dpvpn::dp {

struct shared_params {
  std::vector<unsigned> lcore_ids;  // the EAL lcore of each worker (its index is its position)
  unsigned ring_size = 1024;        // every ring (power of two)
  uint32_t max_routes = 0;          // inner routes per family; 0: max_peers + max(max_peers, 4096)
  bool engines = true;              // a crypto engine per worker (false: the caller installs them)
  std::vector<lan_route_spec> lan_routes;  // with cfg.lan.on: `dp-route`s
  uint32_t lan_neighbors = 4096;    // next hops the LAN port resolves at most
  l2_params l2;                     // with cfg.tap: the MAC table and the learn ring
};

// Control thread, after rte_eal_init, with sh.cfg (n_workers, max_peers, exc_queues, lan) and
// sh.pool set. False with err naming what failed; then shared_destroy releases what was built.
bool shared_create(dp_shared& sh, const shared_params& p, std::string& err);

// The outer-address table while workers run: addr_set maps addr to peer_id (a new entry or a
// changed one), addr_del removes it; both move sh.addrs_gen. Control thread (the table's only
// writer). rte_hash's result: 0 or a negative errno (addr_del: -ENOENT when absent).
int addr_set(dp_shared& sh, const net::outer_addr& addr, uint32_t peer_id);
int addr_del(dp_shared& sh, const net::outer_addr& addr);

// After the workers have returned: the peers still owned are deleted, every ring is drained (mbufs
// back to the pool, commands deleted) and freed, the tables and lcores released.
void shared_destroy(dp_shared& sh);

}  // namespace dpvpn::dp
