// SPDX-License-Identifier: MIT
// Control-channel text messages (§10): NUL-separated splitting, PUSH_REPLY building with
// push-continuation, PUSH_REPLY accumulation on the client, option parsing, NCP (§11).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/key_method2.h"

namespace dpvpn::proto {

// Splits one plaintext unit into messages (§10.1, §15.13): text up to each NUL, trailing CR/LF
// stripped; a message with an embedded CR or LF is returned as "" (rejected).
std::vector<std::string> split_control_messages(std::span<const uint8_t> unit);

// Builds the PUSH_REPLY message(s) for the given options, in order. Parts never exceed
// k_push_bundle_size; multi-part replies end in ",push-continuation 2" / ",push-continuation 1".
// Each returned string is one message without its NUL.
std::vector<std::string> build_push_reply(const std::vector<std::string>& options);

// Client side: accumulates PUSH_REPLY parts. feed() returns true when the reply is complete.
// `push-continuation N` is consumed (not kept in options()); empty options are skipped. A message
// that is not "PUSH_REPLY" or "PUSH_REPLY,…" is ignored (returns false). reset() before a new reply.
class push_accumulator {
 public:
  bool feed(std::string_view msg);  // msg starts with "PUSH_REPLY"
  const std::vector<std::string>& options() const noexcept { return options_; }
  void reset() { options_.clear(); continuation_ = 0; }

 private:
  std::vector<std::string> options_;
  int continuation_ = 0;
};

// Splits an option line ("route 10.0.0.0 255.0.0.0") into words (whitespace; quotes honoured).
// Returns {} when the line is malformed (see the overload below for the reason).
std::vector<std::string> split_words(std::string_view line);
enum class words_err : uint8_t { ok = 0, unterminated_quote, trailing_backslash };
const char* to_string(words_err e) noexcept;
// Appends the words of `line` to `out`; on an error `out` holds the words before it.
words_err split_words(std::string_view line, std::vector<std::string>& out);

// The pushed options a client needs, parsed (§10.3).
struct pushed_options {
  std::optional<std::string> cipher;
  std::optional<uint32_t> peer_id;
  bool tls_ekm = false;       // protocol-flags tls-ekm or key-derivation tls-ekm
  bool cc_exit = false;
  bool dyn_tls_crypt = false;
  std::string ifconfig_local, ifconfig_remote_or_mask;
  std::string topology;
  int ping = 0, ping_restart = 0;
  std::string comp;           // "", "lzo-no", "stub", "stub-v2"
  std::vector<std::string> unknown;  // kept for the caller to log
};
pushed_options parse_pushed_options(const std::vector<std::string>& options);

// §11 server rule: the first entry of the server's list that the client supports.
// Client list = IV_CIPHERS, else AES-256-GCM:AES-128-GCM if IV_NCP >= 2, else empty.
// Returns nullopt if nothing matches (and no fallback applies).
std::optional<crypto::cipher_alg> ncp_select(const std::vector<crypto::cipher_alg>& server_list,
                                             const peer_info& client,
                                             std::optional<crypto::cipher_alg> fallback);
std::vector<crypto::cipher_alg> parse_cipher_list(std::string_view colon_list, std::string* err);

}  // namespace dpvpn::proto
