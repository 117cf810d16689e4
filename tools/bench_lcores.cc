// SPDX-License-Identifier: MIT
// dpvpn-bench's worker-loop pieces (bench_lcores.h).
#include "bench_lcores.h"

#include <rte_ethdev.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace dpvpn::bench {

void idle_polls(dp::worker_ctx& c, uint16_t idle_port) {
  void* objs[16];
  rte_mbuf* idle[dp::k_max_burst];
  rte_ring_sc_dequeue_burst(c.me.cmd, objs, 16, nullptr);
  rte_ring_sc_dequeue_burst(c.me.ctl_tx, objs, 16, nullptr);
  rte_eth_rx_burst(idle_port, c.me.index, idle, c.sh.cfg.rx_burst);
}

unsigned poll_handoffs(dp::worker_ctx& c) {
  void* in[dp::k_max_burst];
  unsigned total = 0;
  for (uint16_t from = 0; from < c.sh.cfg.n_workers; ++from) {
    if (!c.me.handoff_in[from]) continue;
    const unsigned n =
        rte_ring_sc_dequeue_burst(c.me.handoff_in[from], in, dp::handoff_burst(c.sh.cfg.rx_burst), nullptr);
    dp::owner_input(c, from, in, static_cast<uint16_t>(n));
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

void open_null_ports(dp::dp_shared& sh, unsigned queues, dp::port_info& exc) {
  dp::port_info wan;
  dp::port_conf pc;
  pc.queues = static_cast<uint16_t>(queues);
  pc.pool = sh.pool;
  pc.want_rss = false;
  std::string err;
  pc.port_id = port_by_name("net_null0");
  if (dp::setup_port(pc, wan, err) == 0) {
    pc.port_id = port_by_name("net_null1");
    if (dp::setup_port(pc, exc, err) == 0) {
      sh.cfg.wan_port = wan.port_id;
      sh.cfg.exc_port = exc.port_id;
      std::memcpy(sh.cfg.wan_mac.data(), wan.mac, 6);
      return;
    }
  }
  std::fprintf(stderr, "dpvpn-bench: %s\n", err.c_str());
  std::exit(1);
}

void stop_helpers(rte_rcu_qsbr* qsbr) {
  rte_eal_mp_wait_lcore();
  rte_rcu_qsbr_thread_offline(qsbr, 0);
  rte_rcu_qsbr_thread_unregister(qsbr, 0);
}

void launch_failed() {
  std::fprintf(stderr, "dpvpn-bench: remote launch failed\n");
  std::exit(1);
}

}  // namespace dpvpn::bench
