// SPDX-License-Identifier: MIT
// dpvpn-bench's worker-loop pieces (bench_lcores.h).
#include "bench_lcores.h"

#include <rte_ethdev.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstdlib>

namespace dpvpn::bench {

void idle_polls(dp::worker_ctx& c, uint16_t idle_port) {
  void* objs[16];
  rte_mbuf* idle[dp::k_max_burst];
  rte_ring_sc_dequeue_burst(c.me.cmd, objs, 16, nullptr);
  rte_ring_sc_dequeue_burst(c.me.ctl_tx, objs, 16, nullptr);
  rte_eth_rx_burst(idle_port, c.me.index, idle, c.sh.cfg.rx_burst);
}

unsigned poll_handoffs(dp::worker_ctx& c) {
  rte_mbuf* in[dp::k_max_burst];
  unsigned total = 0;
  for (uint16_t from = 0; from < c.sh.cfg.n_workers; ++from) {
    if (!c.me.handoff_in[from]) continue;
    const unsigned n =
        rte_ring_sc_dequeue_burst(c.me.handoff_in[from], reinterpret_cast<void**>(in), c.sh.cfg.rx_burst, nullptr);
    dp::lcore_counters::bump(c.me.ctr.handoff_in, n);
    dp::owner_input(c, in, static_cast<uint16_t>(n));
    total += n;
  }
  return total;
}

uint16_t port_by_name(const char* name) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name, &id) != 0) {
    std::fprintf(stderr, "dpvpn-bench: no ethdev %s\n", name);
    std::exit(1);
  }
  return id;
}

}  // namespace dpvpn::bench
