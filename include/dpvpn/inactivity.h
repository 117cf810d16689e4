// SPDX-License-Identifier: MIT
// `inactive SECONDS [BYTES]` on a server: the per-client timer that tunnel traffic restarts. Sans-IO.
#pragma once

#include <cstdint>

#include "dpvpn/wire.h"

namespace dpvpn::cp {

// openvpn 2.6 (forward.c) adds each tunnel packet's size to a sum; once the sum reaches BYTES it
// zeroes the sum and restarts the SECONDS timer, so with BYTES 0 any tunnel packet restarts it.
// The timer starts when the client's instance is created; its expiry ends the client.
//
// dpvpn reads the dataplane's per-peer totals on each housekeeping pass instead of seeing each
// packet. Those count plaintext bytes both ways, keepalive pings (16 bytes, §9.2) included, which
// openvpn does not count (they never reach the tun). A pass that moved exactly 16 bytes per packet
// carried pings only and counts nothing; any other pass counts all of its bytes (a tunnel packet
// is at least a 20-byte IP header, and pings only flow on an idle link).
struct inactivity_timer {
  uint64_t restarted_ms = 0;               // the timer's start: creation, then each restart
  uint64_t sum = 0;                        // tunnel bytes since the last restart
  uint64_t seen_bytes = 0, seen_pkts = 0;  // the totals at the last pass

  // Control thread, each housekeeping pass: bytes / pkts are the peer's totals (rx + tx).
  // Returns true when the client has been inactive for `seconds`.
  bool update(uint64_t now_ms, uint64_t bytes, uint64_t pkts, unsigned seconds, uint64_t min_bytes) noexcept {
    const uint64_t db = bytes - seen_bytes, dp = pkts - seen_pkts;
    seen_bytes = bytes;
    seen_pkts = pkts;
    if (dp != 0 && db != dp * wire::k_ping_magic.size()) {
      sum += db;
      if (sum >= min_bytes) {
        sum = 0;
        restarted_ms = now_ms;
      }
    }
    return now_ms >= restarted_ms + uint64_t{seconds} * 1000;
  }
};

}  // namespace dpvpn::cp
