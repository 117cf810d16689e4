// SPDX-License-Identifier: MIT
// The client role's WAN next hop (docs/client.md): the MAC of the server, or of `dp-wan-gateway`
// when the server is not on the link, asked for with ARP from the dataplane's own WAN address.
// The workers punt ARP replies for that address to the control thread (pkt_dir::wan_l2); this
// object builds the requests and reads the replies. IPv4 only (an IPv6 WAN in the client role is
// not supported yet). Control thread only; sans-IO: frames in and out, time passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dpvpn/netpkt.h"

namespace dpvpn::cp {

class wan_neighbor {
 public:
  static constexpr uint64_t k_probe_ms = 1000;         // a request a second while unresolved
  static constexpr uint64_t k_reachable_ms = 60000;    // then asked again this often (a changed MAC is learnt)

  wan_neighbor(const net::mac& our_mac, uint32_t our_ip) : mac_(our_mac), ip_(our_ip) {}
  // Resolve `ip` (host order) from now on; forgets a previous target and its MAC.
  void target(uint32_t ip, uint64_t now_ms);
  uint32_t target_ip() const { return want_; }
  // An ARP request to send now, if one is due (empty: none).
  std::vector<uint8_t> due_request(uint64_t now_ms);
  // A punted frame: true when it was the target's reply (the MAC is then known or refreshed).
  bool on_frame(std::span<const uint8_t> frame, uint64_t now_ms);
  const std::optional<net::mac>& mac() const { return have_; }
  uint64_t next_ms() const { return next_ms_; }
  uint64_t requests() const { return requests_; }

 private:
  net::mac mac_;
  uint32_t ip_;
  uint32_t want_ = 0;
  std::optional<net::mac> have_;
  uint64_t next_ms_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace dpvpn::cp
