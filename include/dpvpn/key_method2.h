// SPDX-License-Identifier: MIT
// Key method 2 messages (§6) and peer-info (§6.3).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpvpn/wire.h"

namespace dpvpn::proto {

enum class km2_err : uint8_t {
  ok = 0,
  too_short,
  bad_prefix,       // the leading u32 is not 0
  bad_key_method,   // low nibble != 2
  string_too_long,  // options > 512 incl. NUL, user/pass > 4096
  bad_string,       // length runs past the end, or missing NUL terminator
};
const char* to_string(km2_err e) noexcept;

struct km2_client {
  std::array<uint8_t, wire::k_pre_master> pre_master{};
  std::array<uint8_t, wire::k_random> random1{}, random2{};
  std::string options;
  std::string username;
  std::string password;
  std::string peer_info;
};
struct km2_server {
  std::array<uint8_t, wire::k_random> random1{}, random2{};
  std::string options;
};

std::vector<uint8_t> write_km2(const km2_client& m);
std::vector<uint8_t> write_km2(const km2_server& m);
// Trailing bytes after the message are ignored (as OpenVPN does).
km2_err parse_km2(std::span<const uint8_t> in, km2_client& out);
km2_err parse_km2(std::span<const uint8_t> in, km2_server& out);
// openvpn's string_mod_remap_name (string_mod with CC_PRINT minus CC_CRLF, replacement '_'): every
// byte below 0x20 and DEL becomes '_', bytes >= 0x80 (UTF-8) stay. A server applies it to the
// client's username and password, and to the certificate's common name, before anything else
// (scripts, files, logs, status, CCD) sees them.
void remap_name(std::string& s) noexcept;
// Fill pre_master/random with fresh random bytes.
void randomize(km2_client& m);
void randomize(km2_server& m);

struct peer_info {
  std::string version;   // IV_VER
  std::string platform;  // IV_PLAT
  uint32_t iv_proto = 0;
  int iv_ncp = 0;
  std::string ciphers;  // IV_CIPHERS (colon separated), empty if absent
  bool has_ciphers = false;
  int mtu = 0;  // IV_MTU
  bool lzo_stub = false, comp_stub = false, comp_stubv2 = false;
  std::vector<std::pair<std::string, std::string>> all;  // every KEY=VALUE line, in order
};
peer_info parse_peer_info(std::string_view text);

// The options strings of §6.2 (constants per protocol).
std::string server_options_string(bool tcp, bool tls_auth);
std::string client_options_string(bool tcp, bool tls_auth);

}  // namespace dpvpn::proto
