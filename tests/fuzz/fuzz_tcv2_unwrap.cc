// SPDX-License-Identifier: MIT
// Fuzz the tls-crypt-v2 receive path (§3.5): split a V3 reset / WKC_V1, unwrap the WKc with a
// server key, then unwrap the tls-crypt part with the Kc found there. The whole input is also
// tried as a bare WKc. Whatever is accepted must re-wrap to the same bytes.
#include "fuzz_wrap_keys.h"

using namespace dpvpn;

namespace {

// Returns true and fills kc if wkc unwraps; aborts if the WKc does not re-wrap identically.
bool unwrap_wkc(const proto::tcv2_server_key& sk, std::span<const uint8_t> wkc, proto::key2& kc) {
  std::vector<uint8_t> meta;
  if (proto::tcv2_unwrap_wkc(sk, wkc, kc, meta) != proto::wrap_err::ok) return false;
  auto again = proto::tcv2_wrap_wkc(sk, kc, meta);
  if (again.size() != wkc.size() || !std::equal(again.begin(), again.end(), wkc.begin())) std::abort();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const proto::tcv2_server_key keys[] = {fuzz::server_key_15_8(), fuzz::server_key_15_12()};
  std::span<const uint8_t> pkt(data, size);
  for (const auto& sk : keys) {
    proto::key2 kc{};
    unwrap_wkc(sk, pkt, kc);
    std::span<const uint8_t> wrapped, wkc;
    if (proto::tcv2_split(pkt, wrapped, wkc) != proto::wrap_err::ok) continue;
    if (wrapped.size() + wkc.size() != size) std::abort();
    if (!unwrap_wkc(sk, wkc, kc)) continue;
    auto server = proto::wrap_keys::tls_crypt(kc, true);
    uint8_t op = 0;
    wire::session_id sid{};
    proto::replay_id rid{};
    std::vector<uint8_t> body;
    if (proto::unwrap(server, wrapped, op, sid, rid, body) == proto::wrap_err::ok)
      fuzz::check_rewrap(proto::wrap_keys::tls_crypt(kc, false), wrapped, op, sid, rid, body);
  }
  return 0;
}
