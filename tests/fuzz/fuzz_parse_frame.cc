// SPDX-License-Identifier: MIT
// Fuzz the outer IPv4 receive path (dataplane/proto/netpkt.cc): parse_frame never reads past the
// frame and its offsets stay inside it; arp_make_reply on a copy either leaves the frame
// untouched or turns a request for our address into the reply from our MAC. A parsed UDP frame is
// also written back with write_outer_v4 and must parse to the same endpoints; the inner-packet
// helpers (ip_version, inner_v4_addrs, inner_v6_addrs) run on the input as a tun packet.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt_fwd.h"

using namespace dpvpn::net;

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

void check_arp(const uint8_t* data, size_t size, const frame_info& fi, uint32_t target_ip) {
  static constexpr mac our_mac{2, 0, 0, 0, 0x0b, 1};
  std::vector<uint8_t> f(data, data + size);  // exactly size bytes: ASan sees any overrun
  if (!arp_make_reply(f.data(), f.size(), target_ip, our_mac)) {
    if (size && std::memcmp(f.data(), data, size) != 0) std::abort();
    return;
  }
  arp_info req, rep;
  if (fi.kind != frame_kind::arp || !arp_parse(data, size, req) || req.op != 1 || req.tpa != target_ip) std::abort();
  if (parse_frame(f.data(), f.size()).kind != frame_kind::arp || !arp_parse(f.data(), f.size(), rep)) std::abort();
  if (rep.op != 2 || rep.sha != our_mac || rep.spa != target_ip || rep.tha != req.sha || rep.tpa != req.spa)
    std::abort();
  if (std::memcmp(f.data(), req.sha.data(), 6) != 0 || std::memcmp(f.data() + 6, our_mac.data(), 6) != 0) std::abort();
  if (std::memcmp(f.data() + k_eth_hdr + 28, data + k_eth_hdr + 28, size - k_eth_hdr - 28) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const frame_info fi = parse_frame(data, size);
  if (fi.kind == frame_kind::ipv4_udp) {
    if (fi.l4_off < k_eth_hdr + k_ipv4_hdr || fi.payload_off != fi.l4_off + k_udp_hdr ||
        fi.payload_off + fi.payload_len > size)
      std::abort();
    // Written back with the same endpoints and payload, it parses the same.
    udp_endpoints e{fi.src_mac, fi.dst_mac, fi.src_ip, fi.dst_ip, fi.src_port, fi.dst_port};
    std::vector<uint8_t> out(k_outer_v4 + fi.payload_len);
    std::memcpy(out.data() + k_outer_v4, data + fi.payload_off, fi.payload_len);
    write_outer_v4(out.data(), e, fi.payload_len, 7, fi.payload_len & 1);
    const frame_info back = parse_frame(out.data(), out.size());
    if (back.kind != frame_kind::ipv4_udp || back.src_ip != fi.src_ip || back.dst_ip != fi.dst_ip ||
        back.src_port != fi.src_port || back.dst_port != fi.dst_port || back.src_mac != fi.src_mac ||
        back.dst_mac != fi.dst_mac || back.payload_off != k_outer_v4 || back.payload_len != fi.payload_len)
      std::abort();
    if (ipv4_header_checksum(out.data() + k_eth_hdr, k_ipv4_hdr) != 0) std::abort();
  }
  // ARP for a fixed address (the seeds' 10.8.0.1) and for whatever the frame asks about.
  check_arp(data, size, fi, 0x0a080001);
  if (size >= k_eth_hdr + 28) check_arp(data, size, fi, be32(data + k_eth_hdr + 24));

  // The same bytes as an inner (tun) packet.
  const unsigned v = ip_version(data, size);
  uint32_t src = 0, dst = 0;
  if (inner_v4_addrs(data, size, src, dst) && (v != 4 || size < k_ipv4_hdr)) std::abort();
  inner_v6 i6;
  if (inner_v6_addrs(data, size, i6) &&
      (v != 6 || size < k_ipv6_hdr || i6.src != data + 8 || i6.dst != data + 24))
    std::abort();
  return 0;
}
