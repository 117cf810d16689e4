// SPDX-License-Identifier: MIT
// Inner-address routing: longest-prefix match from a tunnel address to the peer id that owns it
// (a client's own VPN address, or an `iroute` / `iroute-ipv6` network behind it).
//
// One writer (the control thread), lock-free readers (the workers, which report QSBR quiescent
// states once per loop). How each family stays safe for readers while it changes:
//  - IPv4: rte_lpm (DIR-24-8) with its QSBR defer queue, so a tbl8 group freed by a delete is
//    reused only after every worker has passed a quiescent state. Lookup: one or two loads.
//    rte_lpm takes depths 1..32, so a /0 lives beside it in one atomic word.
//  - IPv6: rte_lpm6 in DPDK 22.11 has no RCU hook and rewrites tables in place, and each instance
//    carries a 64 MiB tbl24, so a copy-on-write rte_lpm6 would cost 128 MiB at every swap. Instead:
//    client /128 host routes (the many, changing on every connect) sit in a lock-free rte_hash
//    whose freed key slots QSBR reclaims; shorter prefixes (the few iroute-ipv6 networks) sit in
//    an immutable snapshot, one open-addressing hash per prefix length present, longest first.
//    The control thread rebuilds the snapshot on each prefix change, publishes it with one atomic
//    pointer store and frees the old one after a QSBR grace period (rte_rcu_qsbr_synchronize).
//    Lookup: the host hash, then one probe per distinct prefix length (typically 1-3).
// Next hops are peer ids < 2^24 (rte_lpm's next-hop width).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

struct rte_rcu_qsbr;
struct rte_lpm;

namespace dpvpn::dp {

inline constexpr uint32_t k_route_max_peer_id = (1u << 24) - 1;

struct route_tables;  // opaque

// What every IPv4 look-up reads: the first member of route_tables (routes.cc checks), so that the
// workers' look-up can be inline (route_lookup_v4_inline, dataplane/worker_internal.h).
struct route_v4_hot {
  rte_lpm* lpm4 = nullptr;
  // The /0 (rte_lpm takes depths 1..32): bit 32 set = present, low bits the peer id.
  std::atomic<uint64_t> default_v4{0};  // cp: wo, dp: ro
};
inline const route_v4_hot& route_hot(const route_tables* rt) noexcept {
  return *reinterpret_cast<const route_v4_hot*>(rt);
}

// Start-up, control thread, after rte_eal_init and QSBR init. max_v4/max_v6: route capacity
// (clients + iroutes). Returns nullptr and sets err on failure.
route_tables* routes_create(rte_rcu_qsbr* qsbr, uint32_t max_v4, uint32_t max_v6, std::string& err);
// After the workers stopped. nullptr is a no-op.
void routes_destroy(route_tables* rt);

// Control thread only (the single writer). net in host order (IPv4) / network order bytes (IPv6),
// host bits must be zero (else -EINVAL; also for len > 32/128 or peer_id > k_route_max_peer_id).
// Re-adding the same prefix replaces its peer id. Return 0 or a negative errno: -ENOSPC when full
// (after waiting one grace period for freed space), -ENOENT when deleting a route not present.
int route_add_v4(route_tables* rt, uint32_t net, uint8_t len, uint32_t peer_id);
int route_del_v4(route_tables* rt, uint32_t net, uint8_t len);
int route_add_v6(route_tables* rt, const uint8_t net[16], uint8_t len, uint32_t peer_id);
int route_del_v6(route_tables* rt, const uint8_t net[16], uint8_t len);

// Workers: lock-free readers (they report QSBR quiescent states each loop). dst in host order
// (IPv4) / network order bytes (IPv6). True with the most specific route's peer id.
bool route_lookup_v4(const route_tables* rt, uint32_t dst, uint32_t& peer_id) noexcept;
bool route_lookup_v6(const route_tables* rt, const uint8_t dst[16], uint32_t& peer_id) noexcept;

// Bytes the tables hold (DPDK heap measured at creation, plus the IPv6 prefix snapshot), for logs
// and benchmarks. Control thread only.
struct route_mem {
  size_t v4_bytes = 0;  // rte_lpm: tbl24 + tbl8 groups + rules
  size_t v6_bytes = 0;  // host hash (estimate from its sizing) + prefix snapshot
};
route_mem routes_memory(const route_tables* rt) noexcept;

}  // namespace dpvpn::dp
