// SPDX-License-Identifier: MIT
// What dpvpn-bench's multi-lcore scenarios (bench_tunnel.cc, bench_fanout.cc) run around the
// worker code as worker_main runs it: the empty polls of a loop, the hand-off poll, and the
// net_null ports found by name.
#pragma once

#include <cstdint>

#include "../dataplane/worker_internal.h"

namespace dpvpn::bench {

// The empty polls of worker_main's loop around the busy port's burst: commands, control frames,
// the idle port.
void idle_polls(dp::worker_ctx& c, uint16_t idle_port);
// Packets other lcores handed to this one, through owner_input (worker_main's hand-off poll).
// Returns how many.
unsigned poll_handoffs(dp::worker_ctx& c);
// The ethdev EAL created under `name`; exits with a message when there is none.
uint16_t port_by_name(const char* name);

}  // namespace dpvpn::bench
