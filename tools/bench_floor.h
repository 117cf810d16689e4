// SPDX-License-Identifier: MIT
// dpvpn-bench --floor (docs/bench/dataplane.md, "The floor"): the least that any OpenVPN data plane
// does per packet, run on the same harness as dpvpn's path (the same pre-built packets and mbufs,
// the same empty polls, TX flush and QSBR report per burst), so that the rounds can say how much
// of the gap to the raw AEAD rate is the harness and the packets' memory rather than dpvpn's code.
//
// Decrypt: the peer-id read from a P_DATA_V2 frame as dpvpn-bench builds it, the session's key
// (a vector index), the AEAD open with its nonce and AAD, the mbuf moved to the inner packet,
// queued for the exception port. Encrypt: the session from the inner destination (an address
// offset, no route look-up), the OpenVPN header and packet-id, the AEAD seal, the outer headers
// from a template with the UDP checksum as configured (summed one packet behind the AEAD, from
// values, as dpvpn does), queued for the WAN. No replay window, no float, source, MSS or framing
// checks, one counter store per burst. Each level is fetched ahead as dpvpn does (key three
// packets ahead, payload two), so with many sessions it is not slower for want of prefetching.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "../dataplane/worker_internal.h"
#include "dpvpn/crypto.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/wire.h"

namespace dpvpn::bench {

class floor_path {
 public:
  // Session i: key2[i] (the client seals with direction 0, the server with direction 1), its
  // client's endpoints ep[i] as the server sends to it, VPN address vpn_base + i.
  floor_path(crypto::backend b, crypto::cipher_alg c, const std::vector<std::array<uint8_t, wire::k_key2_size>>& key2,
             std::vector<net::udp_endpoints> ep, uint32_t vpn_base, bool udp_csum);
  // One burst each way, into c.tx.tun / c.tx.wan; bumps c.me.ctr.decrypted / encrypted by the
  // packets done. A packet that does not open is freed, not counted (the caller's check fails).
  void open_burst(dp::worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;
  void seal_burst(dp::worker_ctx& c, rte_mbuf** pkts, uint16_t n) noexcept;

 private:
  struct session {
    std::unique_ptr<crypto::aead_key> rx, tx;
    uint8_t rx_iv[wire::k_implicit_iv], tx_iv[wire::k_implicit_iv];
    uint32_t next_pid = 1;
    net::udp_endpoints ep;
  };
  std::vector<session> s_;
  net::outer_v4_tmpl tmpl_;  // our side of the outer headers (every session's source is ours)
  uint32_t vpn_base_;
  bool udp_csum_;
  uint16_t ip_id_ = 0;
};

}  // namespace dpvpn::bench
