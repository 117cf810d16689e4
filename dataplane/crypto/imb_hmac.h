// SPDX-License-Identifier: MIT
// Internal to the IPsec-MB backend: what its HMAC users (crypto_imb.cc's CBC + HMAC keys,
// crypto_ctr.cc's ctr_hmac) share: a digest's IPsec-MB hash and block size, and the one-block
// compression that turns K^ipad / K^opad into the job API's precomputed states (RFC 2104).
#pragma once

#include <intel-ipsec-mb.h>

#include <cstddef>

#include "dpvpn/crypto.h"

namespace dpvpn::crypto::detail {

struct hmac_params {
  IMB_HASH_ALG alg;
  size_t block;
};

inline hmac_params hmac_of(digest_alg d) noexcept {
  switch (d) {
    case digest_alg::sha1: return {IMB_AUTH_HMAC_SHA_1, IMB_SHA1_BLOCK_SIZE};
    case digest_alg::sha256: return {IMB_AUTH_HMAC_SHA_256, IMB_SHA_256_BLOCK_SIZE};
    case digest_alg::sha512: return {IMB_AUTH_HMAC_SHA_512, IMB_SHA_512_BLOCK_SIZE};
    case digest_alg::none: break;
  }
  return {IMB_AUTH_NULL, 0};
}

inline void hmac_one_block(IMB_MGR* m, digest_alg d, const uint8_t* block, uint8_t* state) noexcept {
  switch (d) {
    case digest_alg::sha1: IMB_SHA1_ONE_BLOCK(m, block, state); break;
    case digest_alg::sha256: IMB_SHA256_ONE_BLOCK(m, block, state); break;
    case digest_alg::sha512: IMB_SHA512_ONE_BLOCK(m, block, state); break;
    case digest_alg::none: break;
  }
}

}  // namespace dpvpn::crypto::detail
