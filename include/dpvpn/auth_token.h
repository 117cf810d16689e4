// SPDX-License-Identifier: MIT
// auth-gen-token session tokens in OpenVPN 2.6's format: generate, renew and verify. Sans-IO:
// the wall-clock time (seconds since the epoch) is a parameter. Control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpvpn::proto {

// A token is k_auth_token_prefix + base64(data), no padding (60 bytes -> 80 characters):
//
//    0           12                  20                  28                              60
//    +-----------+-------------------+-------------------+-------------------------------+
//    | session id| initial timestamp | timestamp         | HMAC-SHA256(username || 0..28)|
//    | 12 random | u64 big endian, s | u64 big endian, s | with the server key           |
//    +-----------+-------------------+-------------------+-------------------------------+
//
// The session id and the initial timestamp stay the same when the token is renewed; the HMAC
// binds the token to the username (or to "" for a token that was valid only for an empty user).
inline constexpr std::string_view k_auth_token_prefix = "SESS_ID_AT_";
inline constexpr size_t k_auth_token_sessid_len = 12;
inline constexpr size_t k_auth_token_data_len = k_auth_token_sessid_len + 8 + 8 + 32;
inline constexpr size_t k_auth_token_len = k_auth_token_prefix.size() + k_auth_token_data_len / 3 * 4;
// The PEM label `openvpn --genkey auth-token FILE` writes (128 random bytes: OpenVPN's struct key,
// cipher half then HMAC half; the HMAC key is the first 32 bytes of the HMAC half).
inline constexpr std::string_view k_auth_token_pem_name = "OpenVPN auth-token server key";

struct auth_token_key {
  std::array<uint8_t, 32> hmac{};
};

// The key from the text of an auth-token key file (or inline block). nullopt + err if it is not
// such a PEM block or holds fewer than 128 bytes.
std::optional<auth_token_key> parse_auth_token_key(std::string_view pem, std::string& err);
// A random key: tokens then die with the process (openvpn without auth-gen-token-secret).
auth_token_key random_auth_token_key();

// What a password starting with the prefix is worth (openvpn's AUTH_TOKEN_* flags).
struct auth_token_check {
  bool hmac_ok = false;     // made with our key, for this username or for ""
  bool empty_user = false;  // only valid for the empty username
  bool expired = false;     // outside [timestamp, timestamp + 2 * renewal), lifetime over, or clock odd
  // Accepted as a replacement for the password: openvpn wants exactly HMAC_OK.
  bool valid() const noexcept { return hmac_ok && !empty_user && !expired; }
};

inline bool is_auth_token(std::string_view password) { return password.starts_with(k_auth_token_prefix); }

// Checks `token` for `username`. renewal_s: the renewal interval (a token is good for twice that
// after it was issued); lifetime_s: 0 = no limit, else seconds since the initial token.
auth_token_check verify_auth_token(const auth_token_key& key, std::string_view token, std::string_view username,
                                   uint64_t now_s, uint64_t renewal_s, uint64_t lifetime_s);

// A token for `username`. With `initial` (an earlier token of this session, already verified)
// the session id and initial timestamp are kept (renewal); without it a new session id is drawn.
// empty_user: the session's token was valid only for "" (the HMAC stays over "").
std::string generate_auth_token(const auth_token_key& key, std::string_view username, std::string_view initial,
                                bool empty_user, uint64_t now_s);

// The 16 base64 characters of the session id (openvpn's `session_id` script variable), or "".
std::string auth_token_session_id(std::string_view token);

}  // namespace dpvpn::proto
