// SPDX-License-Identifier: MIT
// front_filter: the lcores' check of control frames from addresses that hold no established
// client (issue 11 item 2). With tls-auth, tls-crypt or tls-crypt-v2 every legitimate frame is
// authenticated by a key the server has from its configuration, so the worker that receives the
// frame can verify it and drop a forgery before it costs the control thread anything: a spoofed
// flood is spread over every lcore and dropped there.
//  - tls-auth (§3.3): the HMAC of every frame, with the server's receive key;
//  - tls-crypt (§3.4): the tag of every frame (AES-256-CTR decryption into scratch + HMAC-SHA256);
//  - tls-crypt-v2 (§3.5): a frame that carries a WKc (HARD_RESET_CLIENT_V3, CONTROL_WKC_V1): the
//    WKc with the server key, then the frame with the client key Kc inside it. Other frames pass:
//    they are wrapped with a Kc only the half-open session knows, and the control thread drops one
//    from an address without a session before any crypto (server_front).
// Without a wrapping key nothing can be checked without the control thread's session table, and no
// filter is made. The HMAC cookie stays with server_front on the control thread: a half-open
// session's later frames come from an address the lcores do not know yet (docs/dataplane.md).
// Passing here is necessary, not sufficient: the control thread unwraps again, with replay checks.
// One instance per lcore (it keeps scratch and a per-packet Kc); built by the control thread before
// the workers start, used by its worker only. No allocation or exception in check().
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "dpvpn/crypto.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_wrap.h"

namespace dpvpn::proto {

class front_filter {
 public:
  enum class verdict : uint8_t { pass, bad_auth };
  // recv: the server's wrapping keys for received frames (as server_front builds them); tcv2: the
  // tls-crypt-v2 server key, or null. Null result when there is nothing to check (no wrapping) or
  // the IPsec-MB manager is missing. Allocates; control thread, before the workers start.
  static std::unique_ptr<front_filter> create(crypto::engine& e, const wrap_keys& recv, const tcv2_server_key* tcv2);

  // pkt: the OpenVPN packet (the UDP payload); e: the calling lcore's engine.
  verdict check(crypto::engine& e, std::span<const uint8_t> pkt) noexcept;

 private:
  front_filter() = default;
  bool tls_auth_ok(crypto::engine& e, std::span<const uint8_t> pkt) noexcept;
  bool tls_crypt_ok(crypto::engine& e, crypto::ctr_hmac& k, std::span<const uint8_t> pkt) noexcept;
  bool tcv2_ok(crypto::engine& e, std::span<const uint8_t> pkt) noexcept;

  wrap_mode mode_ = wrap_mode::none;
  bool tcv2_ = false;
  size_t auth_len_ = 0;      // tls-auth: digest length
  crypto::ctr_hmac key_;     // tls-auth HMAC / tls-crypt Ke+Ka / tls-crypt-v2 server Ke+Ka
  crypto::ctr_hmac kc_;      // tls-crypt-v2: the client key of the frame being checked
  alignas(64) uint8_t scratch_[wire::k_tcv2_max_wkc + 2048];  // HMAC input / decrypted bytes
};

}  // namespace dpvpn::proto
