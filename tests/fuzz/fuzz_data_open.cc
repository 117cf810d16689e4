// SPDX-License-Identifier: MIT
// Fuzz target: dc_rx::open on arbitrary bytes for every cipher, framing, backend and header version.
//
// Input: selector byte, then the rest.
//   bits 0-2  suite (see k_suites)      bits 3-4  comp_framing
//   bit 5     backend of the receiver   bit 6     seal with P_DATA_V1 (round-trip mode only)
//   bit 7     round-trip mode: the rest is a payload; seal it, open it, and it must come back equal.
// Otherwise the rest is a packet for a fresh receiver. Keys are fixed (the same as
// tests/unit/test_data_channel.cc, which writes the valid seeds in corpus/data_open/).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "dpvpn/data_channel.h"

namespace {

using namespace dpvpn;
using crypto::backend;
using crypto::cipher_alg;
using crypto::digest_alg;

struct suite {
  cipher_alg c;
  digest_alg d;
};
constexpr suite k_suites[8] = {
    {cipher_alg::aes_128_gcm, digest_alg::none},  {cipher_alg::aes_256_gcm, digest_alg::none},
    {cipher_alg::chacha20_poly1305, digest_alg::none}, {cipher_alg::aes_128_cbc, digest_alg::sha1},
    {cipher_alg::aes_128_cbc, digest_alg::sha256}, {cipher_alg::aes_256_cbc, digest_alg::sha1},
    {cipher_alg::aes_256_cbc, digest_alg::sha256}, {cipher_alg::aes_256_cbc, digest_alg::sha512},
};

std::array<uint8_t, wire::k_key2_size> fixed_key2() {
  std::array<uint8_t, wire::k_key2_size> k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 37 + 11);
  return k;
}

proto::data_key_params params(const suite& s, backend b) {
  proto::data_key_params p;
  p.cipher = s.c;
  p.digest = s.d;
  p.backend = b;
  return p;
}

crypto::engine& eng() {
  static std::unique_ptr<crypto::engine> e = crypto::engine::create();
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16384) return 0;
  const uint8_t sel = data[0];
  const suite& s = k_suites[sel & 7];
  const auto framing = static_cast<proto::comp_framing>((sel >> 3) & 3);
  const backend rx_be = (sel & 0x20) ? backend::ipsec_mb : backend::openssl;
  const bool v1 = sel & 0x40;
  const bool round_trip = sel & 0x80;
  const auto key2 = fixed_key2();

  auto rx = proto::dc_rx::create(params(s, rx_be), key2, 0, nullptr);
  if (!rx) std::abort();
  // Exact-size buffer with headroom only: ASan catches any read past the packet.
  std::vector<uint8_t> store(k_min_headroom + size - 1 + (round_trip ? 128 : 0));
  buf_view b{store.data() + k_min_headroom, uint32_t(size - 1), k_min_headroom,
             uint32_t(store.size() - k_min_headroom - (size - 1))};
  if (size > 1) std::memcpy(b.data, data + 1, size - 1);
  proto::dc_kind kind;

  if (!round_trip) {
    rx->open(eng(), b, 1000, framing, kind);
    return 0;
  }
  // The other backend seals, so both directions of the cross-check get exercised.
  auto tx = proto::dc_tx::create(params(s, rx_be == backend::openssl ? backend::ipsec_mb : backend::openssl), key2,
                                 0, nullptr);
  if (!tx) std::abort();
  if (tx->seal(eng(), b, 1, v1 ? wire::k_peer_id_none : 0x42, framing) != proto::dc_err::ok) std::abort();
  if (rx->open(eng(), b, 1000, framing, kind) != proto::dc_err::ok) std::abort();
  if (b.len != size - 1 || (b.len && std::memcmp(b.data, data + 1, b.len) != 0)) std::abort();
  if (kind != proto::classify_payload({data + 1, size - 1})) std::abort();
  return 0;
}
