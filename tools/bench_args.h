// SPDX-License-Identifier: MIT
// dpvpn-bench's command line (tools/dpvpn-bench.cc has what each option does): the options of the
// one-lcore points and of the other scenarios (bench_tunnel.cc, bench_fanout.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench_fanout.h"
#include "dpvpn/crypto.h"

namespace dpvpn::bench {

struct size_spec {
  std::string label;
  std::vector<uint16_t> pattern;  // inner IPv4 packet lengths, cycled
};

struct options {
  double seconds = 0.5;
  bool json = false;
  crypto::cipher_alg cipher = crypto::cipher_alg::aes_256_gcm;
  crypto::backend backend = crypto::backend::ipsec_mb;
  std::vector<uint32_t> sessions{1, 100, 10000};
  std::vector<size_spec> sizes;
  uint32_t pkts = 2048;  // per pass: about what a NIC ring holds, so the packets stay in L2/L3
  bool decrypt = true, encrypt = true;
  bool udp_csum = true;
  bool tx_offload = false;  // outer checksums left to the port, as with a NIC (net_null ignores them)
  bool raw = true;          // --no-raw: skip the raw reference (for profiling the dataplane alone)
  uint32_t raw_offset = 0;  // raw buffers' offset from a 64-byte boundary
  bool hugepages = false;   // --hugepages: mbufs in hugepages, as deployed (bench_raw.h)
  bool cold = false;        // --cold-sessions: the sessions flushed from the caches before each pass
  bool ring_sink = false;   // --tx-sink ring: net_ring ports drained and freed in bulk (dpvpn-bench.cc, at the top)
  bool floor = false;       // --floor: the floor timed in the same rounds (dpvpn-bench.cc, at the top)
  bool keep_keys = false;   // --keep-keys: windows restarted between passes, keys not rebuilt
  std::vector<std::string> eal_extra;
  std::vector<uint32_t> tunnel_lcores;  // --tunnel-lcores: the one-tunnel scenario instead
  bool client_role = false;             // --role client (with --tunnel-lcores)
  bool rx_dma = false;                  // --rx-model dma (with --tunnel-lcores)
  bool rx_pull = false;                 // --rx-model pull (with --tunnel-lcores)
  bool independent = false;             // --independent (with --tunnel-lcores)
  bool ceiling = false;                 // --ceiling (with --tunnel-lcores)
  bool fanout = false;                  // --scenario fanout: TAP broadcast fan-out instead
  bool sizes_given = false;
  bench::fanout_opts fan;               // its --clients, --lcores, --from, --frames
};

// Parses argv; prints the usage and exits with 2 on anything it does not take.
options parse_args(int argc, char** argv);

}  // namespace dpvpn::bench
