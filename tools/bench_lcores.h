// SPDX-License-Identifier: MIT
// What dpvpn-bench's multi-lcore scenarios (bench_tunnel.cc, bench_fanout.cc) run around the
// worker code as worker_main runs it: the empty polls of a loop, the hand-off poll, and the
// net_null ports found by name.
#pragma once

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

}  // namespace dpvpn::bench
