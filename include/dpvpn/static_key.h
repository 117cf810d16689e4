// SPDX-License-Identifier: MIT
// Key files (§3.1, §3.5): "OpenVPN Static key V1" (tls-auth, tls-crypt) and tls-crypt-v2 PEM keys.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/wire.h"

namespace dpvpn::proto {

// key2 (keys[2] x {cipher[64], hmac[64]}) is declared in wire.h.

// Parses the static key block; ignores text before the header. On failure returns false and
// sets err to a one-line reason (e.g. "line 7: non-hex character").
bool parse_static_key(std::string_view text, key2& out, std::string& err);
std::string format_static_key(const key2& k);  // the file openvpn --genkey secret writes

struct tcv2_server_key {
  std::array<uint8_t, wire::k_tcv2_server_key> bytes{};  // cipher[64] || hmac[64]
};
struct tcv2_client_key {
  key2 kc{};
  std::vector<uint8_t> wkc;  // wrapped client key, sent in clear by the client
};
bool parse_tcv2_server_key(std::string_view pem, tcv2_server_key& out, std::string& err);
bool parse_tcv2_client_key(std::string_view pem, tcv2_client_key& out, std::string& err);
std::string format_tcv2_server_key(const tcv2_server_key& k);
std::string format_tcv2_client_key(const tcv2_client_key& k);

// Reads a whole file; false + err on I/O failure. (Control plane only.)
bool read_file(const std::string& path, std::string& out, std::string& err);

}  // namespace dpvpn::proto
