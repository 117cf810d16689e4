// SPDX-License-Identifier: MIT
// Internal: the per-backend key factories behind aead_key::create and cbc_hmac_key::create.
#pragma once

#include <memory>
#include <span>

#include "dpvpn/crypto.h"

namespace dpvpn::crypto::detail {

// Each returns nullptr when the algorithm or key length does not fit; the caller has checked neither.
std::unique_ptr<aead_key> make_ossl_aead(cipher_alg c, std::span<const uint8_t> key);
std::unique_ptr<aead_key> make_imb_aead(cipher_alg c, std::span<const uint8_t> key);
std::unique_ptr<cbc_hmac_key> make_ossl_cbc_hmac(cipher_alg c, digest_alg d, std::span<const uint8_t> cipher_key,
                                                 std::span<const uint8_t> hmac_key);
std::unique_ptr<cbc_hmac_key> make_imb_cbc_hmac(cipher_alg c, digest_alg d, std::span<const uint8_t> cipher_key,
                                                std::span<const uint8_t> hmac_key);

}  // namespace dpvpn::crypto::detail
