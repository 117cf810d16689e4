// SPDX-License-Identifier: MIT
// Fuzz tls-crypt unwrap (§3.4) in both directions; accepted packets must re-wrap to the same bytes.
#include "fuzz_wrap_keys.h"

using namespace dpvpn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<fuzz::wrap_pair> pairs = [] {
    std::vector<fuzz::wrap_pair> v;
    for (const proto::key2* k : {&fuzz::k_key_15_2, &fuzz::k_key_15_9}) {  // §15.3, §15.9
      v.push_back({proto::wrap_keys::tls_crypt(*k, false), proto::wrap_keys::tls_crypt(*k, true)});
      v.push_back({proto::wrap_keys::tls_crypt(*k, true), proto::wrap_keys::tls_crypt(*k, false)});
    }
    // The wrapper without keys passes everything through; it must not crash either.
    v.push_back({proto::wrap_keys::none(), proto::wrap_keys::none()});
    return v;
  }();
  std::span<const uint8_t> pkt(data, size);
  for (const auto& p : pairs) {
    uint8_t op = 0;
    wire::session_id sid{};
    proto::replay_id rid{};
    std::vector<uint8_t> body;
    if (proto::unwrap(p.rx, pkt, op, sid, rid, body) == proto::wrap_err::ok)
      fuzz::check_rewrap(p.tx, pkt, op, sid, rid, body);
  }
  return 0;
}
