// SPDX-License-Identifier: MIT
// dpvpn-bench --tunnel-lcores: one tunnel (one peer) on 1..N lcores with dp-tunnel-spread, through
// the real worker bursts (docs/dataplane.md, "One tunnel on several lcores").
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/wire.h"

namespace dpvpn::bench {

// A valid inner IPv4/UDP packet of len bytes; seq makes every packet's bytes distinct.
inline void write_inner_v4(uint8_t* p, uint16_t len, uint32_t src, uint32_t dst, uint32_t seq) {
  std::memset(p, 0, net::k_ipv4_hdr + net::k_udp_hdr);
  p[0] = 0x45;
  wire::put_u16(p + 2, len);
  wire::put_u16(p + 4, static_cast<uint16_t>(seq));
  p[8] = 64;
  p[9] = net::k_proto_udp;
  wire::put_u32(p + 12, src);
  wire::put_u32(p + 16, dst);
  wire::put_u16(p + 10, net::ipv4_header_checksum(p, net::k_ipv4_hdr));
  wire::put_u16(p + 20, 5000);
  wire::put_u16(p + 22, 5001);
  wire::put_u16(p + 24, static_cast<uint16_t>(len - net::k_ipv4_hdr));
  for (uint32_t i = net::k_ipv4_hdr + net::k_udp_hdr; i < len; ++i) p[i] = static_cast<uint8_t>(seq * 7 + i);
}

struct tunnel_opts {
  double seconds = 0.5;
  bool hugepages = false;  // --hugepages (bench_raw.h, eal_memory)
  bool json = false;
  crypto::cipher_alg cipher = crypto::cipher_alg::aes_256_gcm;
  crypto::backend backend = crypto::backend::ipsec_mb;
  struct size {
    std::string label;
    std::vector<uint16_t> pattern;  // inner IPv4 packet lengths, cycled
  };
  std::vector<size> sizes;
  uint32_t pkts = 2048;  // per lcore and pass
  bool decrypt = true, encrypt = true;
  bool udp_csum = true;
  std::vector<uint32_t> lcores{1, 2};
  // --role client: the tunnel is dpvpn's own as a client (docs/client.md): the peer is the server,
  // found by outer address, with the client's key directions and a pushed peer-id in DATA_V2.
  bool client_role = false;
  // --rx-model dma: decrypt's WAN packets are flushed from every cache after the (untimed) refill,
  // as a NIC's DMA leaves them in memory; copy (the default): they stay in the receiving lcore's
  // cache, as net_af_packet and memif leave them (they copy on the receiving lcore).
  bool rx_dma = false;
  // --rx-model pull (decrypt, one spread tunnel): what the gateway does (docs/dataplane.md, "The
  // queue pulled by whoever is free"): the worker's own polls take the tunnel's queue, whoever is
  // free, and each poll copies its burst on the lcore that polls (as af_packet and memif do;
  // timed); bench_tunnel.cc, feed_queue and run_pull. copy / dma: the receiving lcore hands on.
  bool rx_pull = false;
  // --independent: N tunnels, each owned by its own lcore and fed on that lcore (no spread): what
  // N lcores give on this machine when nothing is shared, the ceiling for one spread tunnel.
  bool independent = false;
  // --ceiling: each round also measures the --independent configuration of every lcore count
  // after the first, so the ceiling and the spread tunnel are read in the same minutes.
  bool ceiling = false;
  std::vector<std::string> eal_extra;
};

// Runs EAL itself (lcores 0 .. max - 1, net_null ports with one queue per lcore); prints the text
// table or JSON lines. Returns the exit status.
int tunnel_bench(const tunnel_opts& o);

}  // namespace dpvpn::bench
