// SPDX-License-Identifier: MIT
// Fuzz the TCP MSS clamp (dataplane/proto/netpkt.cc: tcp_mss_clamp, tcp_mss_clamp_v6) on
// arbitrary inner packets. Input: u16 max MSS, then the packet, clamped once as IPv4 and once as
// IPv6, each on its own copy of exactly the packet's length (ASan sees any write past it).
// Checked: anything but `clamped` leaves the packet untouched; a clamp changes at most four bytes
// (the MSS and the checksum words), keeps the ones' complement sum of the packet (so a TCP
// checksum that verified before verifies after; computed here with the pseudo-header for IPv4
// and for IPv6 without extension headers), and clamping again finds the MSS within the limit.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"

using namespace dpvpn::net;

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Whether the TCP checksum of the packet verifies, or -1 when this oracle cannot tell (not a
// complete IPv4 / plain IPv6 TCP packet).
int tcp_csum_ok(const uint8_t* ip, size_t len, bool v6) {
  if (!v6) {
    if (len < k_ipv4_hdr || (ip[0] >> 4) != 4 || ip[9] != k_proto_tcp) return -1;
    const size_t ihl = (ip[0] & 0x0f) * 4u, tot = be16(ip + 2);
    if (ihl < k_ipv4_hdr || tot < ihl + k_tcp_hdr || tot > len) return -1;
    const size_t l4 = tot - ihl;
    uint32_t s = csum_partial(ip + 12, 8);
    s += k_proto_tcp;
    s += static_cast<uint32_t>(l4);
    return csum_fold(csum_partial(ip + ihl, l4, s)) == 0;
  }
  if (len < k_ipv6_hdr + k_tcp_hdr || (ip[0] >> 4) != 6 || ip[6] != k_proto_tcp) return -1;
  if (k_ipv6_hdr + be16(ip + 4) != len) return -1;
  const size_t l4 = len - k_ipv6_hdr;
  return csum_fold(csum_partial(ip + k_ipv6_hdr, l4, pseudo_sum6(ip + 8, ip + 24, static_cast<uint32_t>(l4), k_proto_tcp))) == 0;
}

// The packet's ones' complement sum with +0 and -0 the same value.
uint32_t sum_mod(const std::vector<uint8_t>& p) { return csum_partial(p.data(), p.size()) % 0xffff; }

void check(const uint8_t* data, size_t size, uint16_t mss, bool v6) {
  std::vector<uint8_t> p(data, data + size);
  const mss_result r = v6 ? tcp_mss_clamp_v6(p.data(), p.size(), mss) : tcp_mss_clamp(p.data(), p.size(), mss);
  if (r != mss_result::clamped) {
    if (size && std::memcmp(p.data(), data, size) != 0) std::abort();
    return;
  }
  size_t changed = 0;
  for (size_t i = 0; i < size; ++i) changed += p[i] != data[i];
  if (changed == 0 || changed > 4) std::abort();
  std::vector<uint8_t> orig(data, data + size);
  if (sum_mod(orig) != sum_mod(p)) std::abort();
  const int before = tcp_csum_ok(data, size, v6);
  if (before == 1 && tcp_csum_ok(p.data(), p.size(), v6) != 1) std::abort();
  std::vector<uint8_t> again = p;
  const mss_result r2 = v6 ? tcp_mss_clamp_v6(again.data(), again.size(), mss) : tcp_mss_clamp(again.data(), again.size(), mss);
  if (r2 != mss_result::within || again != p) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint16_t mss = be16(data);
  check(data + 2, size - 2, mss, false);
  check(data + 2, size - 2, mss, true);
  return 0;
}
