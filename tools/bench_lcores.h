// SPDX-License-Identifier: MIT
// What dpvpn-bench's multi-lcore scenarios (bench_tunnel.cc, bench_fanout.cc) run around the
// worker code as worker_main runs it: the empty polls of a loop, the hand-off poll, and the
// net_null ports found by name.
#pragma once

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>

#include "../dataplane/worker_internal.h"
#include "dpvpn/ports.h"

namespace dpvpn::bench {

// The empty polls of worker_main's loop around the busy port's burst: commands, control frames,
// the idle port.
void idle_polls(dp::worker_ctx& c, uint16_t idle_port);
// Packets other lcores handed to this one, through owner_input (worker_main's hand-off poll).
// Returns how many.
unsigned poll_handoffs(dp::worker_ctx& c);
// The ethdev EAL created under `name`; exits with a message when there is none.
uint16_t port_by_name(const char* name);
// net_null0 as the WAN and net_null1 as the exception port, `queues` queues each (no RSS), from
// sh.pool; sh.cfg gets their port ids and the WAN's MAC; exc: the exception port's info (its
// MAC). Exits with a message on failure.
void open_null_ports(dp::dp_shared& sh, unsigned queues, dp::port_info& exc);
// The passes of a multi-lcore scenario, which its env derives from. Lcore 0 starts pass N (pass),
// runs its own part, says the pass is drained (nothing more comes from it) and waits until every
// helper has finished its part of N; each part may use ready to start with the others at once.
struct pass_sync {
  std::atomic<uint32_t> pass{0}, drained{0}, finished{0}, ready{0};
  std::atomic<bool> quit{false};

  // Lcore 0: one pass over n_lcores, its own part run by part(). Returns the pass's number.
  template <class Part>
  uint32_t run_pass(rte_rcu_qsbr* qsbr, unsigned n_lcores, Part&& part) {
    finished.store(0, std::memory_order_relaxed);
    ready.store(0, std::memory_order_relaxed);
    const uint32_t n = pass.load(std::memory_order_relaxed) + 1;
    pass.store(n, std::memory_order_release);
    part();
    drained.store(n, std::memory_order_release);
    while (finished.load(std::memory_order_acquire) < n_lcores - 1) {
      rte_rcu_qsbr_quiescent(qsbr, 0);
      rte_pause();
    }
    return n;
  }
  // A helper lcore until quit: online in the QSBR variable, part() once for each new pass; between
  // passes between() first (true: it did other work, look again) and then a quiescent state.
  template <class Part, class Between>
  void helper_loop(rte_rcu_qsbr* qsbr, unsigned index, Part&& part, Between&& between) {
    rte_rcu_qsbr_thread_register(qsbr, index);
    rte_rcu_qsbr_thread_online(qsbr, index);
    uint32_t seen = 0;
    while (!quit.load(std::memory_order_acquire)) {
      const uint32_t p = pass.load(std::memory_order_acquire);
      if (between()) continue;
      if (p == seen) {
        rte_rcu_qsbr_quiescent(qsbr, index);
        rte_pause();
        continue;
      }
      seen = p;
      part();
      finished.fetch_add(1, std::memory_order_acq_rel);
    }
    rte_rcu_qsbr_thread_offline(qsbr, index);
    rte_rcu_qsbr_thread_unregister(qsbr, index);
  }
};

[[noreturn]] void launch_failed();  // start_helpers' exit
// A pass's lcores: this thread (lcore 0) online in the QSBR variable, and fn(args[i]) launched on
// EAL's worker lcores for i = 1 .. n - 1 (args[i] filled by the caller). stop_helpers, once they
// were told to quit: waits for them and takes lcore 0 off the QSBR variable.
template <class Arg>
void start_helpers(rte_rcu_qsbr* qsbr, unsigned n, lcore_function_t* fn, Arg* args) {
  rte_rcu_qsbr_thread_register(qsbr, 0);
  rte_rcu_qsbr_thread_online(qsbr, 0);
  unsigned idx = 1, lid;
  RTE_LCORE_FOREACH_WORKER(lid) {
    if (idx >= n) break;
    if (rte_eal_remote_launch(fn, &args[idx], lid) != 0) launch_failed();
    ++idx;
  }
}
void stop_helpers(rte_rcu_qsbr* qsbr);

}  // namespace dpvpn::bench
