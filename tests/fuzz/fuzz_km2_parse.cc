// SPDX-License-Identifier: MIT
// Fuzzes the key-method-2 readers (§6.1, §6.2) in both directions and the peer-info parser (§6.3).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dpvpn/key_method2.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dpvpn::proto;
  std::span<const uint8_t> in(data, size);

  km2_client c;
  if (parse_km2(in, c) == km2_err::ok) {
    (void)parse_peer_info(c.peer_info);
    // What parses must re-encode and parse to the same strings.
    km2_client again;
    if (parse_km2(write_km2(c), again) != km2_err::ok || again.options != c.options ||
        again.peer_info != c.peer_info || again.username != c.username || again.password != c.password)
      __builtin_trap();
  }
  km2_server s;
  if (parse_km2(in, s) == km2_err::ok) {
    km2_server again;
    if (parse_km2(write_km2(s), again) != km2_err::ok || again.options != s.options) __builtin_trap();
  }
  (void)to_string(parse_km2(in, s));

  (void)parse_peer_info(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
