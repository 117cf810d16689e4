// SPDX-License-Identifier: MIT
// metrics_telemetry: the metrics_hub's figures as DPDK telemetry commands (rte_telemetry), read
// with dpdk-telemetry.py on the socket in EAL's runtime directory (docs/operations.md, "Metrics"):
//   /dpvpn/lcores           the worker lcore ids
//   /dpvpn/lcore,ID         one lcore's port, handoff and crypto counters
//   /dpvpn/drops[,ID]       drops by reason, summed over the lcores (or lcore ID's)
//   /dpvpn/mbufs            the mbuf pool: in use, available, capacity
//   /dpvpn/control          handshakes, sessions, clients, control loop period
//   /dpvpn/clients[,FIRST]  per-client bytes and packets (dp-metrics ... per-client), 64 at a time
// The callbacks run on DPDK's telemetry thread and read as the HTTP thread does (metrics.h).
#pragma once

namespace dpvpn::cp {

class metrics_hub;

// Registers the commands (once per process: DPDK cannot unregister them) and points them at hub.
// Main thread, after rte_eal_init.
void telemetry_attach(const metrics_hub* hub);
// From here on the commands answer an error: call before hub is destroyed. Waits for a command
// that is being answered. Main thread.
void telemetry_detach();

}  // namespace dpvpn::cp
