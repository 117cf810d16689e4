// SPDX-License-Identifier: MIT
// The workers' IPv4 route look-up, inline in the packet path (docs/dataplane.md, "The common frame
// inline"): rte_lpm's DIR-24-8 (one or two loads), then the /0. route_lookup_v4 (dp_routes.h) is
// the same look-up out of line.
#pragma once

#include <rte_lpm.h>

#include "dpvpn/dp_routes.h"

namespace dpvpn::dp {

inline bool route_lookup_v4_inline(const route_tables* rt, uint32_t dst, uint32_t& peer_id) noexcept {
  const route_v4_hot& h = route_hot(rt);
  uint32_t nh;
  if (rte_lpm_lookup(h.lpm4, dst, &nh) == 0) {
    peer_id = nh;
    return true;
  }
  const uint64_t d = h.default_v4.load(std::memory_order_acquire);
  if (!(d >> 32)) return false;
  peer_id = static_cast<uint32_t>(d);
  return true;
}

}  // namespace dpvpn::dp
