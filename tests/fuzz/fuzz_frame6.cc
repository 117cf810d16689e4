// SPDX-License-Identifier: MIT
// Fuzz the outer IPv6 receive path: parse_frame6 never reads past the frame, and nd_make_advert
// either leaves the frame untouched or writes a Neighbor Advertisement whose checksum verifies.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dpvpn/netpkt6.h"

using namespace dpvpn::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Our address is the NS target of the seeds (fd00:203::1), so the advert path is reachable.
  static constexpr ip6 ours{0xfd, 0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr mac our_mac{2, 0, 0, 0, 0x0a, 1};
  const frame6_info fi = parse_frame6(data, size);
  if (fi.kind == frame6_kind::udp) {
    if (fi.payload_off != k_outer_v6 || fi.payload_off + fi.payload_len > size) std::abort();
    if (is_v4_mapped(fi.src) || fi.src[0] == 0xff) std::abort();  // never an IPv4 client's key
    (void)udp6_checksum_ok(data, fi);
  }
  std::vector<uint8_t> f(data, data + size);
  f.resize(size + k_na_frame);  // room to grow, as an mbuf's tailroom gives
  size_t len = size;
  const nd_result r = nd_make_advert(f.data(), len, f.size(), ours, our_mac);
  if (r != nd_result::advert) {
    if (len != size || std::memcmp(f.data(), data, size) != 0) std::abort();
    return 0;
  }
  if (fi.kind != frame6_kind::nd_solicit || len != k_na_frame) std::abort();
  const frame6_info na = parse_frame6(f.data(), len);
  if (na.kind != frame6_kind::icmp6_other || na.src != ours) std::abort();
  const uint8_t* icmp = f.data() + na.l4_off;
  const size_t icmp_len = len - na.l4_off;
  if (csum_fold(csum_partial(icmp, icmp_len, pseudo_sum6(na.src.data(), na.dst.data(), icmp_len, k_proto_icmp6))) != 0)
    std::abort();
  return 0;
}
