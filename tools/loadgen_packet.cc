// SPDX-License-Identifier: MIT
// dpvpn-loadgen's inner packets: the UDP-in-IPv4 templates and the --size patterns.
#include <string>
#include <vector>

#include "dpvpn/wire.h"
#include "loadgen.h"

namespace dpvpn::loadgen {

uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint32_t> size_pattern(const std::string& spec, std::string* err) {
  if (spec == "imix") {
    // 7:4:1 of 64/576/1420 (1420, not 1500: the largest inner packet whose outer datagram crosses a
    // 1500-byte link unfragmented; dpvpn does not reassemble outer fragments yet), interleaved.
    return {64, 576, 64, 64, 576, 64, 1420, 64, 576, 64, 576, 64};
  }
  size_t pos = 0;
  unsigned long v = 0;
  try {
    v = std::stoul(spec, &pos);
  } catch (...) {
    pos = 0;
  }
  if (pos != spec.size() || v < 28 || v > 9000) {
    if (err) *err = "--size wants 28..9000 (inner IP packet bytes) or imix, got '" + spec + "'";
    return {};
  }
  return {static_cast<uint32_t>(v)};
}

std::vector<uint8_t> build_udp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t ip_len) {
  std::vector<uint8_t> p(ip_len);
  p[0] = 0x45;
  wire::put_u16(&p[2], static_cast<uint16_t>(ip_len));
  p[6] = 0x40;  // DF, so id 0 is fine (RFC 6864) and one template serves every packet
  p[8] = 64;
  p[9] = 17;
  wire::put_u32(&p[12], src);
  wire::put_u32(&p[16], dst);
  wire::put_u16(&p[10], ip_checksum(p.data(), 20));
  wire::put_u16(&p[20], sport);
  wire::put_u16(&p[22], dport);
  wire::put_u16(&p[24], static_cast<uint16_t>(ip_len - 20));
  // UDP checksum 0: none (allowed for IPv4). The payload is a recognisable pattern.
  for (uint32_t i = 28; i < ip_len; ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

}  // namespace dpvpn::loadgen
