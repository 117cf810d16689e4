// SPDX-License-Identifier: MIT
// Fuzz target: front_filter::check (control/proto/front_filter.h), the lcores' check of first
// contacts' tls-auth / tls-crypt / tls-crypt-v2 frames, against tls_wrap's OpenSSL code.
// Input: a mode byte, a "wrap it" byte, then either a raw frame or an opcode and body the target
// wraps with the client's keys (then flips one byte at a chosen offset, or none), so mutations
// reach the code after the MAC. Property: the filter passes a frame exactly when the reference
// (unwrap; for tls-crypt-v2 frames with a WKc: split, the WKc, then unwrap with Kc) accepts it.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dpvpn/front_filter.h"
#include "fuzz_input.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

key2 fixed_key2(uint8_t seed) {
  key2 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + seed);
  return k;
}

struct fixture {
  std::unique_ptr<crypto::engine> eng = crypto::engine::create();
  key2 k = fixed_key2(1), kc = fixed_key2(2);
  tcv2_server_key sk;
  std::vector<uint8_t> wkc;
  // 0: tls-auth SHA1 dir 0, 1: tls-auth SHA256 bidirectional, 2: tls-auth SHA512 dir 0,
  // 3: tls-crypt, 4: tls-crypt-v2.
  wrap_keys server[4], client[4];
  std::unique_ptr<front_filter> f[5];
  fixture() {
    for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = static_cast<uint8_t>(i * 3 + 5);
    wkc = tcv2_wrap_wkc(sk, kc, std::vector<uint8_t>{wire::k_tcv2_meta_user, 1, 2});
    server[0] = wrap_keys::tls_auth(k, crypto::digest_alg::sha1, 0);
    client[0] = wrap_keys::tls_auth(k, crypto::digest_alg::sha1, 1);
    server[1] = wrap_keys::tls_auth(k, crypto::digest_alg::sha256, -1);
    client[1] = server[1];
    server[2] = wrap_keys::tls_auth(k, crypto::digest_alg::sha512, 0);
    client[2] = wrap_keys::tls_auth(k, crypto::digest_alg::sha512, 1);
    server[3] = wrap_keys::tls_crypt(k, true);
    client[3] = wrap_keys::tls_crypt(k, false);
    for (int i = 0; i < 4; ++i) f[i] = front_filter::create(*eng, server[i], nullptr);
    f[4] = front_filter::create(*eng, wrap_keys::none(), &sk);
    for (auto& x : f)
      if (!x) std::abort();
  }
};

bool reference_accepts(const fixture& fx, int mode, std::span<const uint8_t> pkt) {
  uint8_t op_kid = 0;
  wire::session_id sid;
  replay_id rid;
  std::vector<uint8_t> body;
  if (pkt.size() < wire::k_ctl_header) return false;
  if (mode < 4) return unwrap(fx.server[mode], pkt, op_kid, sid, rid, body) == wrap_err::ok;
  const uint8_t op = wire::op_of(pkt[0]);
  if (op != wire::P_CONTROL_HARD_RESET_CLIENT_V3 && op != wire::P_CONTROL_WKC_V1) return true;  // not checked here
  std::span<const uint8_t> wrapped, wkc;
  key2 kc;
  std::vector<uint8_t> meta;
  if (tcv2_split(pkt, wrapped, wkc) != wrap_err::ok || tcv2_unwrap_wkc(fx.sk, wkc, kc, meta) != wrap_err::ok)
    return false;
  return unwrap(wrap_keys::tls_crypt(kc, true), wrapped, op_kid, sid, rid, body) == wrap_err::ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fixture fx;
  fuzz::reader in(data, size);
  const int mode = in.u8() % 5;
  const uint8_t how = in.u8();
  std::vector<uint8_t> pkt;
  if (how & 1) {  // a frame the client's keys wrap, then one byte changed (or none)
    const uint8_t op = static_cast<uint8_t>(in.u8() % 32);
    const uint16_t flip_at = in.u16();
    const uint8_t flip = in.u8();
    wire::session_id sid{};
    const auto sid_bytes = in.bytes(sid.size());
    std::copy(sid_bytes.begin(), sid_bytes.end(), sid.begin());
    const auto body = in.bytes(1500);
    const wrap_keys& ck = mode < 4 ? fx.client[mode] : wrap_keys::tls_crypt(fx.kc, false);
    wrap(ck, static_cast<uint8_t>(op << 3), sid, body, replay_id{1, 2}, pkt);
    if (mode == 4 && (how & 2)) pkt.insert(pkt.end(), fx.wkc.begin(), fx.wkc.end());
    if (!pkt.empty() && (how & 4)) pkt[flip_at % pkt.size()] ^= flip;
  } else {
    const auto raw = in.rest();
    pkt.assign(raw.begin(), raw.end());
  }
  const bool got = fx.f[mode]->check(*fx.eng, pkt) == front_filter::verdict::pass;
  // Frames shorter than a header are refused by the filter; the reference never sees one.
  const bool want = reference_accepts(fx, mode, pkt);
  if (got != want) std::abort();
  return 0;
}
