// SPDX-License-Identifier: MIT
// front_filter (front_filter.h): tls-auth / tls-crypt / tls-crypt-v2 checks on the lcores, with the
// layout of tls_wrap.cc (§3.3-§3.5) and IPsec-MB instead of OpenSSL (no allocation per packet).
#include "dpvpn/front_filter.h"

#include <openssl/crypto.h>

#include <cstring>

namespace dpvpn::proto {
namespace {

constexpr size_t k_clear_hdr = wire::k_ctl_header + wire::k_replay_long;  // op, sid, replay id
constexpr size_t k_wkc_len_field = 2;
constexpr size_t k_ka_len = 32;  // tls-crypt's HMAC-SHA256 key

bool equal(const uint8_t* a, const uint8_t* b, size_t n) noexcept { return CRYPTO_memcmp(a, b, n) == 0; }

}  // namespace

std::unique_ptr<front_filter> front_filter::create(crypto::engine& e, const wrap_keys& recv,
                                                   const tcv2_server_key* tcv2) {
  std::unique_ptr<front_filter> f(new front_filter);
  bool ok = false;
  if (tcv2 != nullptr) {  // §3.5: the server key is one direction: Ke = bytes[0..31], Ka = bytes[64..95]
    f->tcv2_ = true;
    ok = f->key_.set(e, tcv2->bytes.data(), {tcv2->bytes.data() + wire::k_key_slot, k_ka_len},
                     crypto::digest_alg::sha256);
  } else if (recv.mode == wrap_mode::tls_auth) {
    f->mode_ = wrap_mode::tls_auth;
    f->auth_len_ = crypto::digest_len(recv.digest);
    ok = f->auth_len_ != 0 && f->key_.set(e, nullptr, {recv.recv_hmac.data(), f->auth_len_}, recv.digest);
  } else if (recv.mode == wrap_mode::tls_crypt) {
    f->mode_ = wrap_mode::tls_crypt;
    ok = f->key_.set(e, recv.recv_cipher.data(), {recv.recv_hmac.data(), k_ka_len}, crypto::digest_alg::sha256);
  }
  if (!ok) return nullptr;
  return f;
}

front_filter::verdict front_filter::check(crypto::engine& e, std::span<const uint8_t> pkt) noexcept {
  if (pkt.size() < wire::k_ctl_header) return verdict::bad_auth;
  bool ok = true;
  if (tcv2_) ok = tcv2_ok(e, pkt);
  else if (mode_ == wrap_mode::tls_auth) ok = tls_auth_ok(e, pkt);
  else if (mode_ == wrap_mode::tls_crypt) ok = tls_crypt_ok(e, key_, pkt);
  return ok ? verdict::pass : verdict::bad_auth;
}

// §3.3: HMAC(replay id || op, sid || rest) sits between the header and the replay id.
bool front_filter::tls_auth_ok(crypto::engine& e, std::span<const uint8_t> pkt) noexcept {
  const size_t h = auth_len_;
  const size_t head = wire::k_ctl_header + h + wire::k_replay_long;
  if (pkt.size() < head || pkt.size() - head > sizeof scratch_ - k_clear_hdr) return false;
  const uint8_t* p = pkt.data();
  uint8_t* s = scratch_;
  std::memcpy(s, p + wire::k_ctl_header + h, wire::k_replay_long);
  std::memcpy(s + wire::k_replay_long, p, wire::k_ctl_header);
  std::memcpy(s + k_clear_hdr, p + head, pkt.size() - head);
  uint8_t want[64];
  key_.hmac(e, s, k_clear_hdr + pkt.size() - head, want);
  return equal(want, p + wire::k_ctl_header, h);
}

// §3.4: tag = HMAC-SHA256(Ka, op || sid || replay id || plain); the rest is AES-256-CTR(Ke, IV =
// tag[0..15]). Decrypt into scratch after the clear header, then HMAC the whole.
bool front_filter::tls_crypt_ok(crypto::engine& e, crypto::ctr_hmac& k, std::span<const uint8_t> pkt) noexcept {
  if (pkt.size() < wire::k_tls_crypt_hdr || pkt.size() - wire::k_tls_crypt_hdr > sizeof scratch_ - k_clear_hdr)
    return false;
  const uint8_t* p = pkt.data();
  const uint8_t* tag = p + k_clear_hdr;
  const size_t ct_len = pkt.size() - wire::k_tls_crypt_hdr;
  std::memcpy(scratch_, p, k_clear_hdr);
  if (!k.ctr(e, tag, p + wire::k_tls_crypt_hdr, ct_len, scratch_ + k_clear_hdr)) return false;
  uint8_t want[32];
  k.hmac(e, scratch_, k_clear_hdr + ct_len, want);
  return equal(want, tag, wire::k_tls_crypt_tag);
}

// §3.5: only frames with a WKc can be checked here. WKc = T || AES-256-CTR(Ke_srv, T[0..15],
// Kc || metadata) || len, T = HMAC-SHA256(Ka_srv, len || Kc || metadata); the frame before it is
// tls-crypt with Kc (the server receives with Kc's second half).
bool front_filter::tcv2_ok(crypto::engine& e, std::span<const uint8_t> pkt) noexcept {
  const uint8_t op = wire::op_of(pkt[0]);
  if (op != wire::P_CONTROL_HARD_RESET_CLIENT_V3 && op != wire::P_CONTROL_WKC_V1) return true;
  std::span<const uint8_t> wrapped, wkc;
  if (tcv2_split(pkt, wrapped, wkc) != wrap_err::ok) return false;
  const size_t min = wire::k_tls_crypt_tag + k_wkc_len_field + wire::k_tcv2_client_key;
  if (wkc.size() < min) return false;
  const size_t ct_len = wkc.size() - wire::k_tls_crypt_tag - k_wkc_len_field;
  const uint8_t* len_field = wkc.data() + wkc.size() - k_wkc_len_field;
  std::memcpy(scratch_, len_field, k_wkc_len_field);
  if (!key_.ctr(e, wkc.data(), wkc.data() + wire::k_tls_crypt_tag, ct_len, scratch_ + k_wkc_len_field)) return false;
  uint8_t want[32];
  key_.hmac(e, scratch_, k_wkc_len_field + ct_len, want);
  if (!equal(want, wkc.data(), wire::k_tls_crypt_tag)) return false;
  const uint8_t* kc = scratch_ + k_wkc_len_field;  // key2: [cipher0 hmac0 cipher1 hmac1], 64 bytes each
  const bool keyed = kc_.set(e, kc + 2 * wire::k_key_slot, {kc + 3 * wire::k_key_slot, k_ka_len},
                             crypto::digest_alg::sha256);
  OPENSSL_cleanse(scratch_, k_wkc_len_field + ct_len);
  const bool ok = keyed && tls_crypt_ok(e, kc_, wrapped);
  kc_.wipe();
  return ok;
}

}  // namespace dpvpn::proto
