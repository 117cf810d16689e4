// SPDX-License-Identifier: MIT
// The client role's WAN next hop (docs/client.md): the MAC of the server, or of `dp-wan-gateway`
// when the server is not on the link, asked for from the dataplane's own WAN address: with ARP
// for an IPv4 next hop, with a Neighbor Solicitation (RFC 4861) for an IPv6 one. The workers punt
// ARP replies and Neighbor Advertisements for our address to the control thread
// (pkt_dir::wan_l2); this object builds the requests and reads the replies. Control thread only;
// sans-IO: frames in and out, time passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"

namespace dpvpn::cp {

class wan_neighbor {
 public:
  static constexpr uint64_t k_probe_ms = 1000;         // a request a second while unresolved
  static constexpr uint64_t k_reachable_ms = 60000;    // then asked again this often (a changed MAC is learnt)

  // our_ip: host order (0: no IPv4 WAN); our_ip6: the IPv6 WAN address (unused without one).
  wan_neighbor(const net::mac& our_mac, uint32_t our_ip, const net::ip6& our_ip6 = {})
      : mac_(our_mac), ip_(our_ip), ip6_(our_ip6) {}
  // Resolve `ip` from now on (IPv4 as a v4-mapped address); forgets a previous target and its MAC.
  void target(const net::ip6& ip, uint64_t now_ms);
  void target(uint32_t ip, uint64_t now_ms) { target(net::v4_mapped(ip), now_ms); }
  const net::ip6& target_ip() const { return want_; }
  std::string target_name() const;  // the target as text, for the log
  // An ARP request or Neighbor Solicitation to send now, if one is due (empty: none).
  std::vector<uint8_t> due_request(uint64_t now_ms);
  // A punted frame: true when it was the target's reply (the MAC is then known or refreshed).
  bool on_frame(std::span<const uint8_t> frame, uint64_t now_ms);
  const std::optional<net::mac>& mac() const { return have_; }
  uint64_t next_ms() const { return next_ms_; }
  uint64_t requests() const { return requests_; }

 private:
  bool v4() const { return net::is_v4_mapped(want_); }
  net::mac mac_;
  uint32_t ip_;
  net::ip6 ip6_;
  net::ip6 want_{};
  bool wanted_ = false;
  std::optional<net::mac> have_;
  uint64_t next_ms_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace dpvpn::cp
