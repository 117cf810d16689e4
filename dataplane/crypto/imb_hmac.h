// SPDX-License-Identifier: MIT
// Internal to the IPsec-MB backend: what its HMAC users (crypto_imb.cc's CBC + HMAC keys,
// crypto_ctr.cc's ctr_hmac) share: a digest's IPsec-MB hash and block size, and the one-block
// compression that turns K^ipad / K^opad into the job API's precomputed states (RFC 2104).
#pragma once

#include <intel-ipsec-mb.h>

#include <openssl/crypto.h>

#include <cstddef>
#include <cstring>

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

// HMAC(K, m) = H(K^opad || H(K^ipad || m)): the two one-block states are fixed per key (RFC 2104).
// key: the key padded with zeros to one block (a longer key is hashed first by the caller).
inline void hmac_pads(IMB_MGR* m, digest_alg d, const uint8_t* key_block, uint8_t* ipad, uint8_t* opad) noexcept {
  const size_t block = hmac_of(d).block;
  uint8_t pad[IMB_SHA_512_BLOCK_SIZE];
  for (size_t i = 0; i < block; ++i) pad[i] = key_block[i] ^ 0x36;
  hmac_one_block(m, d, pad, ipad);
  for (size_t i = 0; i < block; ++i) pad[i] = key_block[i] ^ 0x5c;
  hmac_one_block(m, d, pad, opad);
  OPENSSL_cleanse(pad, sizeof pad);
}

// One HMAC of data (len > 0) from the precomputed states, through the synchronous hash burst API.
// A failed run writes zeros: a failed MAC never compares equal to a real one by accident.
inline void hmac_run(IMB_MGR* m, digest_alg d, const uint8_t* ipad, const uint8_t* opad, const uint8_t* data,
                     size_t len, uint8_t* out) noexcept {
  const hmac_params hp = hmac_of(d);
  const size_t dl = digest_len(d);
  IMB_JOB job;
  std::memset(&job, 0, sizeof job);
  job.cipher_mode = IMB_CIPHER_NULL;
  job.cipher_direction = IMB_DIR_ENCRYPT;
  job.chain_order = IMB_ORDER_HASH_CIPHER;
  job.hash_alg = hp.alg;
  job.src = data;
  job.hash_start_src_offset_in_bytes = 0;
  job.msg_len_to_hash_in_bytes = len;
  job.auth_tag_output = out;
  job.auth_tag_output_len_in_bytes = dl;
  job.u.HMAC._hashed_auth_key_xor_ipad = ipad;
  job.u.HMAC._hashed_auth_key_xor_opad = opad;
  const uint32_t done = IMB_SUBMIT_HASH_BURST(m, &job, 1, hp.alg);
  if (done != 1 || job.status != IMB_STATUS_COMPLETED) std::memset(out, 0, dl);
}

}  // namespace dpvpn::crypto::detail
