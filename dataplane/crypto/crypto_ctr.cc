// SPDX-License-Identifier: MIT
// crypto::ctr_hmac (crypto.h): AES-256-CTR and HMAC through IPsec-MB's synchronous job API, for the
// lcores' check of tls-auth / tls-crypt / tls-crypt-v2 frames (§3.3-§3.5). No allocation.
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstring>

#include "dpvpn/crypto.h"
#include "imb_hmac.h"

namespace dpvpn::crypto {
using detail::hmac_of;
using detail::hmac_one_block;

bool ctr_hmac::set(engine& e, const uint8_t* ke, std::span<const uint8_t> ka, digest_alg d) noexcept {
  IMB_MGR* m = e.imb_single();
  const detail::hmac_params hp = hmac_of(d);
  if (m == nullptr || hp.block == 0 || ka.size() > hp.block) return false;
  d_ = d;
  if (ke != nullptr) IMB_AES_KEYEXP_256(m, ke, enc_, dec_);
  // HMAC(K, m) = H(K^opad || H(K^ipad || m)): the two one-block states are fixed per key (RFC 2104).
  // Keys here are never longer than a block (tls-auth: the digest length; tls-crypt: 32 bytes).
  uint8_t pad[IMB_SHA_512_BLOCK_SIZE];
  for (size_t i = 0; i < hp.block; ++i) pad[i] = static_cast<uint8_t>((i < ka.size() ? ka[i] : 0) ^ 0x36);
  hmac_one_block(m, d, pad, ipad_);
  for (size_t i = 0; i < hp.block; ++i) pad[i] = static_cast<uint8_t>((i < ka.size() ? ka[i] : 0) ^ 0x5c);
  hmac_one_block(m, d, pad, opad_);
  OPENSSL_cleanse(pad, sizeof pad);
  return true;
}

bool ctr_hmac::ctr(engine& e, const uint8_t* iv16, const uint8_t* in, size_t len, uint8_t* out) noexcept {
  if (len == 0) return true;
  IMB_JOB job;
  std::memset(&job, 0, sizeof job);
  job.cipher_mode = IMB_CIPHER_CNTR;
  job.cipher_direction = IMB_DIR_ENCRYPT;
  job.chain_order = IMB_ORDER_CIPHER_HASH;
  job.hash_alg = IMB_AUTH_NULL;
  job.enc_keys = enc_;
  job.dec_keys = dec_;
  job.key_len_in_bytes = IMB_KEY_256_BYTES;
  job.src = in;
  job.dst = out;
  job.cipher_start_src_offset_in_bytes = 0;
  job.msg_len_to_cipher_in_bytes = len;
  job.iv = iv16;
  job.iv_len_in_bytes = 16;  // the whole initial counter block, as tls-crypt uses it
  const uint32_t n = IMB_SUBMIT_CIPHER_BURST(e.imb_single(), &job, 1, IMB_CIPHER_CNTR, IMB_DIR_ENCRYPT, IMB_KEY_256_BYTES);
  return n == 1 && job.status == IMB_STATUS_COMPLETED;
}

void ctr_hmac::hmac(engine& e, const uint8_t* data, size_t len, uint8_t* out) noexcept {
  const size_t dl = digest_len(d_);
  const detail::hmac_params hp = hmac_of(d_);
  if (dl == 0) return;
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
  job.u.HMAC._hashed_auth_key_xor_ipad = ipad_;
  job.u.HMAC._hashed_auth_key_xor_opad = opad_;
  const uint32_t n = len == 0 ? 0 : IMB_SUBMIT_HASH_BURST(e.imb_single(), &job, 1, hp.alg);
  if (n != 1 || job.status != IMB_STATUS_COMPLETED) std::memset(out, 0, dl);  // never equal by accident
}

void ctr_hmac::wipe() noexcept {
  OPENSSL_cleanse(enc_, sizeof enc_);
  OPENSSL_cleanse(dec_, sizeof dec_);
  OPENSSL_cleanse(ipad_, sizeof ipad_);
  OPENSSL_cleanse(opad_, sizeof opad_);
  d_ = digest_alg::none;
}

}  // namespace dpvpn::crypto
