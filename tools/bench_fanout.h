// SPDX-License-Identifier: MIT
// dpvpn-bench --scenario fanout: TAP mode's broadcast fan-out (docs/tap.md, "Broadcast, multicast
// and unknown unicast: the fan-out") to C clients over N lcores, through the real worker code,
// next to the raw AEAD seal rate of the same frame size (docs/bench/tap.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"

namespace dpvpn::bench {

struct fanout_opts {
  bool hugepages = false;  // --hugepages (bench_raw.h, eal_memory)
  double seconds = 0.5;  // CPU seconds per point (5 rounds), and as much again for the raw reference
  bool json = false;
  crypto::cipher_alg cipher = crypto::cipher_alg::aes_256_gcm;
  crypto::backend backend = crypto::backend::ipsec_mb;
  struct size {
    std::string label;
    std::vector<uint16_t> pattern;  // inner Ethernet frame lengths (what each seal covers), cycled
  };
  std::vector<size> sizes;
  std::vector<uint32_t> clients{10, 100, 1000};
  std::vector<uint32_t> lcores{1, 2};
  // Broadcast frames per pass, all arriving at lcore 0 in rx bursts: 64 (the fan-out queue's size)
  // keeps every lcore's queue from overflowing; more shows fanout_full at work.
  uint32_t frames = 64;
  bool from_exception = true;  // frames from the exception port (the kernel's side of the segment)
  bool from_client = false;    // frames from client 0 with client-to-client (decrypted first)
  bool udp_csum = true;
  bool raw = true;
  std::vector<std::string> eal_extra;
};

// Runs EAL itself (lcores 0 .. max - 1, net_null ports with one queue per lcore); prints the text
// table or JSON lines (one object per point). Returns the exit status.
int fanout_bench(const fanout_opts& o);

}  // namespace dpvpn::bench
