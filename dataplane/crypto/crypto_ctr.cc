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

bool ctr_hmac::set(engine& e, const uint8_t* ke, std::span<const uint8_t> ka, digest_alg d) noexcept {
  IMB_MGR* m = e.imb_single();
  const detail::hmac_params hp = hmac_of(d);
  if (m == nullptr || hp.block == 0 || ka.size() > hp.block) return false;
  d_ = d;
  if (ke != nullptr) IMB_AES_KEYEXP_256(m, ke, enc_, dec_);
  // Keys here are never longer than a block (tls-auth: the digest length; tls-crypt: 32 bytes).
  uint8_t k[IMB_SHA_512_BLOCK_SIZE] = {};
  std::memcpy(k, ka.data(), ka.size());
  detail::hmac_pads(m, d, k, ipad_, opad_);
  OPENSSL_cleanse(k, sizeof k);
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
  if (dl == 0) return;
  if (len == 0) return static_cast<void>(std::memset(out, 0, dl));  // the job API refuses it; no caller has one
  detail::hmac_run(e.imb_single(), d_, ipad_, opad_, data, len, out);
}

void ctr_hmac::wipe() noexcept {
  OPENSSL_cleanse(enc_, sizeof enc_);
  OPENSSL_cleanse(dec_, sizeof dec_);
  OPENSSL_cleanse(ipad_, sizeof ipad_);
  OPENSSL_cleanse(opad_, sizeof opad_);
  d_ = digest_alg::none;
}

}  // namespace dpvpn::crypto
