// SPDX-License-Identifier: MIT
// Fuzz the key file parsers (§3.1, §3.5) with the input as text. A key that parses must format
// to text that parses back to the same key.
#include <cstdlib>

#include "dpvpn/static_key.h"

using namespace dpvpn::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string err;
  key2 k{};
  if (parse_static_key(text, k, err)) {
    key2 back{};
    if (!parse_static_key(format_static_key(k), back, err) || back != k) std::abort();
  }
  tcv2_server_key sk;
  if (parse_tcv2_server_key(text, sk, err)) {
    tcv2_server_key back;
    if (!parse_tcv2_server_key(format_tcv2_server_key(sk), back, err) || back.bytes != sk.bytes) std::abort();
  }
  tcv2_client_key ck;
  if (parse_tcv2_client_key(text, ck, err)) {
    tcv2_client_key back;
    if (!parse_tcv2_client_key(format_tcv2_client_key(ck), back, err) || back.kc != ck.kc || back.wkc != ck.wkc)
      std::abort();
  }
  return 0;
}
