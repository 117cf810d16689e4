// SPDX-License-Identifier: MIT
// Fuzz tls-auth unwrap (§3.3) with SHA1/SHA256/SHA512 and every key direction; accepted packets
// must re-wrap to the same bytes.
#include "fuzz_wrap_keys.h"

using namespace dpvpn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<fuzz::wrap_pair> pairs = [] {
    std::vector<fuzz::wrap_pair> v;
    const std::pair<const proto::key2*, crypto::digest_alg> keys[] = {
        {&fuzz::k_key_15_2, crypto::digest_alg::sha1},     // §15.4
        {&fuzz::k_key_15_11, crypto::digest_alg::sha256},  // §15.11
        {&fuzz::k_key_15_2, crypto::digest_alg::sha512}};
    for (auto [k, d] : keys) {
      v.push_back({proto::wrap_keys::tls_auth(*k, d, 1), proto::wrap_keys::tls_auth(*k, d, 0)});
      v.push_back({proto::wrap_keys::tls_auth(*k, d, 0), proto::wrap_keys::tls_auth(*k, d, 1)});
      v.push_back({proto::wrap_keys::tls_auth(*k, d, -1), proto::wrap_keys::tls_auth(*k, d, -1)});
    }
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
