// SPDX-License-Identifier: MIT
// Control-channel wrapping (§3): none, tls-auth (HMAC), tls-crypt (AES-256-CTR + HMAC-SHA256),
// tls-crypt-v2 (per-client Kc carried in a wrapped key WKc), dynamic tls-crypt (§3.6) and the
// stateless session-id cookie (§4.2). Pure functions: replay state is the caller's.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/static_key.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

enum class wrap_err : uint8_t {
  ok = 0,
  too_short,
  bad_hmac,       // tls-auth HMAC mismatch
  bad_tag,        // tls-crypt tag mismatch
  bad_wkc_len,    // tls-crypt-v2 trailing length inconsistent with the packet
  wkc_too_long,   // > 1024
  bad_wkc_tag,    // WKc authentication failed
  bad_metadata,   // WKc plaintext shorter than Kc
};
const char* to_string(wrap_err e) noexcept;

enum class wrap_mode : uint8_t { none, tls_auth, tls_crypt };

// One side's wrapping keys, immutable after construction.
struct wrap_keys {
  wrap_mode mode = wrap_mode::none;
  crypto::digest_alg digest = crypto::digest_alg::none;  // tls-auth digest (SHA1 default)
  std::array<uint8_t, 64> send_cipher{}, send_hmac{};     // tls-crypt Ke/Ka (send)
  std::array<uint8_t, 64> recv_cipher{}, recv_hmac{};     // (receive)

  static wrap_keys none();
  // key_direction: -1 = bidirectional (keys[0] both ways), 0 = normal, 1 = inverse (§3.2).
  static wrap_keys tls_auth(const key2& k, crypto::digest_alg d, int key_direction);
  // tls-crypt, tls-crypt-v2 Kc and dynamic tls-crypt: the server sends with keys[0].
  static wrap_keys tls_crypt(const key2& k, bool server);
  // Bytes a wrapped packet has beyond op/sid/body.
  size_t overhead() const noexcept;
};

struct replay_id {
  uint32_t counter = 0;
  uint32_t time = 0;
};

// Appends the wrapped packet: op/kid, sid, then per mode (§3.3/§3.4) around body.
void wrap(const wrap_keys& k, uint8_t op_kid, const wire::session_id& sid, std::span<const uint8_t> body,
          replay_id rid, std::vector<uint8_t>& out);
// §3.4 primitive (also what §15.7 tests): appends tag = HMAC-SHA256(send Ka, clear || plain), then
// AES-256-CTR(send Ke, IV = tag[0..15], plain). wrap() calls it with clear = op || sid || replay id.
void tls_crypt_seal(const wrap_keys& k, std::span<const uint8_t> clear, std::span<const uint8_t> plain,
                    std::vector<uint8_t>& out);
// Verifies/decrypts a wrapped packet. Does not run the replay check. body is replaced.
wrap_err unwrap(const wrap_keys& k, std::span<const uint8_t> pkt, uint8_t& op_kid, wire::session_id& sid,
                replay_id& rid, std::vector<uint8_t>& body);

// tls-crypt-v2 (§3.5): split a V3 reset / WKC_V1 into its tls-crypt part and the trailing WKc.
wrap_err tcv2_split(std::span<const uint8_t> pkt, std::span<const uint8_t>& wrapped, std::span<const uint8_t>& wkc);
wrap_err tcv2_unwrap_wkc(const tcv2_server_key& sk, std::span<const uint8_t> wkc, key2& kc,
                         std::vector<uint8_t>& metadata);
// tls-crypt-v2-max-age: the WKc metadata must be a timestamp (type 1, then the key's creation time
// as u64 big-endian unix seconds) at most max_days old; anything else is refused.
bool tcv2_key_age_ok(std::span<const uint8_t> metadata, uint64_t now_unix_s, uint32_t max_days) noexcept;
// Returns an empty vector if metadata is longer than the 734 bytes a WKc can hold.
std::vector<uint8_t> tcv2_wrap_wkc(const tcv2_server_key& sk, const key2& kc, std::span<const uint8_t> metadata);

// §4.2 stateless cookie: first 8 bytes of HMAC-SHA256(key, u32 slot || client_addr || sc).
wire::session_id cookie_sid(std::span<const uint8_t, 32> key, uint32_t slot, std::span<const uint8_t> client_addr,
                            const wire::session_id& sc);

// §3.6 dynamic tls-crypt: D = exporter output XOR original key2 (pass nullptr for none).
key2 dyn_tls_crypt_key(const key2& exporter_out, const key2* original);

}  // namespace dpvpn::proto
