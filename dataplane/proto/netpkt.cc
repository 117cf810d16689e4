// SPDX-License-Identifier: MIT
// Ethernet / ARP / IPv4 / IPv6 / UDP header parsing and building for the gateway (no DPDK).
#include "dpvpn/netpkt.h"

#include <algorithm>
#include <cstring>
#ifdef __AVX2__
// GCC 12's AVX-512 intrinsics start vectors from undefined values that -Wmaybe-uninitialized
// then reports at their own lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include "dpvpn/wire.h"

namespace dpvpn::net {

using wire::get_u16;
using wire::get_u32;
using wire::put_u16;
using wire::put_u32;

#ifdef __AVX2__
namespace {

// The vector part of csum_partial: the sum of p's whole 64-byte steps (n & ~63 bytes). Each 32-bit
// lane adds the low and the high 16-bit half of its word into two accumulators (an AND and a
// shift, no shuffles), independent chains. A lane gains at most 0xffff a step, so a block of
// 32 768 steps (2 MiB) cannot overflow it.
constexpr size_t k_block = size_t{64} << 15;

uint64_t csum_steps_avx2(const uint8_t* p, size_t n) noexcept {
  uint64_t acc = 0;
  size_t i = 0;
  const __m256i low = _mm256_set1_epi32(0xffff);
  while (i + 64 <= n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    const size_t end = i + std::min<size_t>((n - i) & ~size_t{63}, k_block);
    for (; i < end; i += 64) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
      a0 = _mm256_add_epi32(a0, _mm256_and_si256(w0, low));
      a1 = _mm256_add_epi32(a1, _mm256_srli_epi32(w0, 16));
      a2 = _mm256_add_epi32(a2, _mm256_and_si256(w1, low));
      a3 = _mm256_add_epi32(a3, _mm256_srli_epi32(w1, 16));
    }
    // Widen to 64-bit lanes before adding the four together (each may be near 2^31).
    const __m256i zero = _mm256_setzero_si256();
    __m256i s = _mm256_add_epi64(_mm256_unpacklo_epi32(a0, zero), _mm256_unpackhi_epi32(a0, zero));
    s = _mm256_add_epi64(s, _mm256_add_epi64(_mm256_unpacklo_epi32(a1, zero), _mm256_unpackhi_epi32(a1, zero)));
    s = _mm256_add_epi64(s, _mm256_add_epi64(_mm256_unpacklo_epi32(a2, zero), _mm256_unpackhi_epi32(a2, zero)));
    s = _mm256_add_epi64(s, _mm256_add_epi64(_mm256_unpacklo_epi32(a3, zero), _mm256_unpackhi_epi32(a3, zero)));
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
    acc += lanes[0] + lanes[1] + lanes[2] + lanes[3];
  }
  return acc;
}

// The same with 64-byte vectors (half the instructions; the build's baseline is x86-64-v3, so it
// is chosen at run time).
__attribute__((target("avx512f,avx512bw"))) uint64_t csum_steps_avx512(const uint8_t* p, size_t n) noexcept {
  uint64_t acc = 0;
  size_t i = 0;
  const __m512i low = _mm512_set1_epi32(0xffff);
  while (i + 64 <= n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    const size_t end = i + std::min<size_t>((n - i) & ~size_t{63}, k_block);
    for (; i + 128 <= end; i += 128) {
      const __m512i w0 = _mm512_loadu_si512(p + i);
      const __m512i w1 = _mm512_loadu_si512(p + i + 64);
      a0 = _mm512_add_epi32(a0, _mm512_and_si512(w0, low));
      a1 = _mm512_add_epi32(a1, _mm512_srli_epi32(w0, 16));
      a2 = _mm512_add_epi32(a2, _mm512_and_si512(w1, low));
      a3 = _mm512_add_epi32(a3, _mm512_srli_epi32(w1, 16));
    }
    if (i < end) {  // one 64-byte step left in the block
      const __m512i w0 = _mm512_loadu_si512(p + i);
      a0 = _mm512_add_epi32(a0, _mm512_and_si512(w0, low));
      a1 = _mm512_add_epi32(a1, _mm512_srli_epi32(w0, 16));
      i += 64;
    }
    const __m512i zero = _mm512_setzero_si512();
    __m512i s = _mm512_add_epi64(_mm512_unpacklo_epi32(a0, zero), _mm512_unpackhi_epi32(a0, zero));
    s = _mm512_add_epi64(s, _mm512_add_epi64(_mm512_unpacklo_epi32(a1, zero), _mm512_unpackhi_epi32(a1, zero)));
    s = _mm512_add_epi64(s, _mm512_add_epi64(_mm512_unpacklo_epi32(a2, zero), _mm512_unpackhi_epi32(a2, zero)));
    s = _mm512_add_epi64(s, _mm512_add_epi64(_mm512_unpacklo_epi32(a3, zero), _mm512_unpackhi_epi32(a3, zero)));
    acc += static_cast<uint64_t>(_mm512_reduce_add_epi64(s));
  }
  return acc;
}

bool use_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");

}  // namespace
#endif

bool csum_vector_width(bool wide) noexcept {
#ifdef __AVX2__
  const bool was = use_avx512;
  use_avx512 = wide && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return was;
#else
  (void)wide;
  return false;
#endif
}

uint32_t csum_partial(const uint8_t* p, size_t n, uint32_t sum) noexcept {
  // Ones' complement sum of big-endian 16-bit words: add native words into wide accumulators
  // (end-around carries are deferred to the fold), then byte-swap the folded result once
  // (RFC 1071 §2(B): the sum is byte-order independent up to that swap).
  uint64_t acc = 0;
  size_t i = 0;
#ifdef __AVX2__
  // The vector steps pay a set-up and a reduction that a short buffer (a small packet's datagram)
  // does not earn back.
  if (n >= 128) {
    acc = use_avx512 ? csum_steps_avx512(p, n) : csum_steps_avx2(p, n);
    i = n & ~size_t{63};
  }
#endif
  // What is left, by 64-bit words, counting the carries out of the top bit (add, adc): 2^64 = 1
  // modulo 0xffff, so each carry adds one to the ones' complement sum.
  uint64_t words = 0, carries = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w0, w1, w2, w3;
    std::memcpy(&w0, p + i, 8);
    std::memcpy(&w1, p + i + 8, 8);
    std::memcpy(&w2, p + i + 16, 8);
    std::memcpy(&w3, p + i + 24, 8);
    words += w0;
    carries += words < w0;
    words += w1;
    carries += words < w1;
    words += w2;
    carries += words < w2;
    words += w3;
    carries += words < w3;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    words += w;
    carries += words < w;
  }
  words += carries;
  words += words < carries;  // end-around carry
  acc += (words & 0xffffffffu) + (words >> 32);
  for (; i + 2 <= n; i += 2) {
    uint16_t h;
    std::memcpy(&h, p + i, 2);
    acc += h;
  }
  if (i < n) {
    const uint8_t last[2] = {p[i], 0};
    uint16_t h;
    std::memcpy(&h, last, 2);
    acc += h;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint64_t s = __builtin_bswap16(static_cast<uint16_t>(acc));  // native (little-endian) -> BE words
  s += sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint32_t>(s);
}

uint16_t ipv4_header_checksum(const uint8_t* ip, size_t ihl_bytes) noexcept {
  return csum_fold(csum_partial(ip, ihl_bytes));
}

frame_info parse_frame(const uint8_t* f, size_t len) noexcept {
  frame_info fi;
  if (len < k_eth_hdr) return fi;
  std::memcpy(fi.dst_mac.data(), f, 6);
  std::memcpy(fi.src_mac.data(), f + 6, 6);
  const uint16_t et = get_u16(f + 12);
  if (et == k_ethertype_arp) {
    fi.kind = len >= k_eth_hdr + 28 ? frame_kind::arp : frame_kind::malformed;
    return fi;
  }
  if (et == k_ethertype_ipv6) {
    fi.kind = frame_kind::ipv6;
    return fi;
  }
  if (et != k_ethertype_ipv4) {
    fi.kind = frame_kind::other;
    return fi;
  }
  const uint8_t* ip = f + k_eth_hdr;
  const size_t avail = len - k_eth_hdr;
  if (avail < k_ipv4_hdr || (ip[0] >> 4) != 4) return fi;
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  const size_t tot = get_u16(ip + 2);
  if (ihl < k_ipv4_hdr || tot < ihl || tot > avail) return fi;
  fi.src_ip = get_u32(ip + 12);
  fi.dst_ip = get_u32(ip + 16);
  if ((get_u16(ip + 6) & 0x3fff) != 0) {  // MF set or fragment offset != 0
    fi.kind = frame_kind::ipv4_fragment;
    return fi;
  }
  if (ip[9] != k_proto_udp) {
    fi.kind = frame_kind::ipv4_other;
    return fi;
  }
  if (tot < ihl + k_udp_hdr) return fi;
  const uint8_t* udp = ip + ihl;
  const size_t ulen = get_u16(udp + 4);
  if (ulen < k_udp_hdr || ulen > tot - ihl) return fi;
  fi.src_port = get_u16(udp);
  fi.dst_port = get_u16(udp + 2);
  fi.l4_off = k_eth_hdr + ihl;
  fi.payload_off = fi.l4_off + k_udp_hdr;
  fi.payload_len = ulen - k_udp_hdr;
  fi.kind = frame_kind::ipv4_udp;
  return fi;
}

bool arp_make_reply(uint8_t* f, size_t len, uint32_t target_ip, const mac& our_mac) noexcept {
  if (len < k_eth_hdr + 28 || get_u16(f + 12) != k_ethertype_arp) return false;
  uint8_t* a = f + k_eth_hdr;
  // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, oper 1 (request)
  if (get_u16(a) != 1 || get_u16(a + 2) != k_ethertype_ipv4 || a[4] != 6 || a[5] != 4 || get_u16(a + 6) != 1)
    return false;
  if (get_u32(a + 24) != target_ip) return false;
  uint8_t sha[6], spa[4];
  std::memcpy(sha, a + 8, 6);
  std::memcpy(spa, a + 14, 4);
  put_u16(a + 6, 2);  // reply
  std::memcpy(a + 8, our_mac.data(), 6);
  put_u32(a + 14, target_ip);
  std::memcpy(a + 18, sha, 6);
  std::memcpy(a + 24, spa, 4);
  std::memcpy(f, sha, 6);
  std::memcpy(f + 6, our_mac.data(), 6);
  return true;
}

void write_outer_v4(uint8_t* h, const udp_endpoints& e, size_t payload_len, uint16_t ip_id, bool udp_csum) noexcept {
  std::memcpy(h, e.dst_mac.data(), 6);
  std::memcpy(h + 6, e.src_mac.data(), 6);
  put_u16(h + 12, k_ethertype_ipv4);
  uint8_t* ip = h + k_eth_hdr;
  const uint16_t tot = static_cast<uint16_t>(k_ipv4_hdr + k_udp_hdr + payload_len);
  ip[0] = 0x45;
  ip[1] = 0;
  put_u16(ip + 2, tot);
  put_u16(ip + 4, ip_id);
  put_u16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = k_proto_udp;
  put_u32(ip + 12, e.src_ip);
  put_u32(ip + 16, e.dst_ip);
  // The header checksum from the values, not by reading back what was just stored (netpkt.h,
  // fill_outer_udp_csum).
  const uint32_t addrs = (e.src_ip >> 16) + (e.src_ip & 0xffff) + (e.dst_ip >> 16) + (e.dst_ip & 0xffff);
  put_u16(ip + 10, csum_fold(0x4500u + tot + ip_id + 0x4000u + (64u << 8 | k_proto_udp) + addrs));
  uint8_t* udp = ip + k_ipv4_hdr;
  put_u16(udp, e.src_port);
  put_u16(udp + 2, e.dst_port);
  const uint16_t ulen = static_cast<uint16_t>(k_udp_hdr + payload_len);
  put_u16(udp + 4, ulen);
  put_u16(udp + 6, 0);
  if (udp_csum) fill_outer_udp_csum(h);
}

void make_outer_v4_tmpl(outer_v4_tmpl& t, const mac& src_mac, uint32_t src_ip, uint16_t src_port) noexcept {
  const udp_endpoints e{src_mac, mac{}, src_ip, 0, src_port, 0};
  write_outer_v4(t.h, e, 0, 0, false);
  const uint32_t src = (src_ip >> 16) + (src_ip & 0xffff);
  t.ip_sum = 0x4500u + 0x4000u + (64u << 8 | k_proto_udp) + src;  // ver/ihl/tos, DF, TTL/proto
  t.udp_sum = src + k_proto_udp + src_port;
}
void write_outer_v4_nic_csum(uint8_t* h, const udp_endpoints& e, size_t payload_len, uint16_t ip_id) noexcept {
  write_outer_v4(h, e, payload_len, ip_id, false);
  uint8_t* ip = h + k_eth_hdr;
  put_u16(ip + 10, 0);
  uint32_t s = csum_partial(ip + 12, 8);  // pseudo header: src, dst, protocol, UDP length
  s += k_proto_udp;
  s += static_cast<uint32_t>(k_udp_hdr + payload_len);
  put_u16(ip + k_ipv4_hdr + 6, static_cast<uint16_t>(~csum_fold(s)));
}

uint16_t csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word) noexcept {
  // HC' = ~(~HC + ~m + m'), all ones' complement 16-bit arithmetic.
  uint32_t s = static_cast<uint16_t>(~csum);
  s += static_cast<uint16_t>(~old_word);
  s += new_word;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

namespace {

// The TCP part of the MSS clamp: tcp points at the TCP header, l4 bytes of segment follow.
mss_result clamp_tcp_syn(uint8_t* tcp, size_t l4, uint16_t max_mss) noexcept {
  if (l4 < k_tcp_hdr) return mss_result::malformed;
  if ((tcp[13] & 0x02) == 0) return mss_result::not_syn;  // SYN flag (RFC 9293 §3.1)
  const size_t doff = (tcp[12] >> 4) * 4u;
  if (doff < k_tcp_hdr || doff > l4) return mss_result::malformed;
  // Options (RFC 9293 §3.1): kind 0 = end, 1 = NOP, else kind, length (>= 2), data.
  for (size_t i = k_tcp_hdr; i < doff;) {
    const uint8_t kind = tcp[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 2 > doff) return mss_result::malformed;
    const size_t olen = tcp[i + 1];
    if (olen < 2 || i + olen > doff) return mss_result::malformed;
    if (kind == 2) {  // MSS: kind 2, length 4, u16
      if (olen != 4) return mss_result::malformed;
      const uint16_t mss = get_u16(tcp + i + 2);
      if (mss <= max_mss) return mss_result::within;
      // The option may sit at an odd offset; the checksum covers 16-bit words from the TCP
      // header start (even), so update the word(s) that hold the two MSS bytes.
      const size_t at = i + 2;
      if (at % 2 == 0) {
        put_u16(tcp + 16, csum_update16(get_u16(tcp + 16), mss, max_mss));
        put_u16(tcp + at, max_mss);
      } else {
        const uint16_t w1 = get_u16(tcp + at - 1), w2 = get_u16(tcp + at + 1);
        put_u16(tcp + at, max_mss);
        uint16_t c = csum_update16(get_u16(tcp + 16), w1, get_u16(tcp + at - 1));
        c = csum_update16(c, w2, get_u16(tcp + at + 1));
        put_u16(tcp + 16, c);
      }
      return mss_result::clamped;
    }
    i += olen;
  }
  return mss_result::no_option;
}

}  // namespace

mss_result tcp_mss_clamp(uint8_t* ip, size_t len, uint16_t max_mss) noexcept {
  if (len < k_ipv4_hdr || (ip[0] >> 4) != 4) return mss_result::malformed;
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  const size_t tot = get_u16(ip + 2);
  if (ihl < k_ipv4_hdr || tot < ihl || tot > len) return mss_result::malformed;
  if (ip[9] != k_proto_tcp || (get_u16(ip + 6) & 0x1fff) != 0) return mss_result::not_syn;
  return clamp_tcp_syn(ip + ihl, tot - ihl, max_mss);
}

bool inner_v6_addrs(const uint8_t* p, size_t len, inner_v6& out) noexcept {
  if (len < k_ipv6_hdr || (p[0] >> 4) != 6) return false;
  if (k_ipv6_hdr + get_u16(p + 4) != len) return false;
  out.next_header = p[6];
  out.src = p + 8;
  out.dst = p + 24;
  return true;
}

mss_result tcp_mss_clamp_v6(uint8_t* ip, size_t len, uint16_t max_mss) noexcept {
  inner_v6 h;
  if (!inner_v6_addrs(ip, len, h)) return mss_result::malformed;
  uint8_t nh = h.next_header;
  size_t off = k_ipv6_hdr;
  // A bounded walk over the extension headers that may precede TCP (RFC 8200 §4.1).
  for (int hops = 0; hops < 8; ++hops) {
    switch (nh) {
      case k_proto_tcp: return clamp_tcp_syn(ip + off, len - off, max_mss);
      case 0: case 43: case 60: {  // hop-by-hop, routing, destination options: 8-octet units
        if (off + 8 > len) return mss_result::malformed;
        const size_t hl = (ip[off + 1] + 1u) * 8u;
        if (off + hl > len) return mss_result::malformed;
        nh = ip[off];
        off += hl;
        break;
      }
      case 44:  // fragment (RFC 8200 §4.5): only the first fragment holds the TCP header
        if (off + 8 > len) return mss_result::malformed;
        if ((get_u16(ip + off + 2) & 0xfff8) != 0) return mss_result::not_syn;
        nh = ip[off];
        off += 8;
        break;
      default: return mss_result::not_syn;
    }
  }
  return mss_result::not_syn;
}

}  // namespace dpvpn::net
