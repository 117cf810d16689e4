// SPDX-License-Identifier: MIT
// front_filter (the lcores' first-contact check, issue 11) against tls_wrap's OpenSSL code: every
// frame tls_wrap seals passes, every single-bit change of it fails, for tls-auth with each digest
// and key direction, tls-crypt and tls-crypt-v2.
#include <gtest/gtest.h>

#include <random>

#include "dpvpn/front_filter.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

using bytes = std::vector<uint8_t>;

key2 random_key2(std::mt19937& rng) {
  key2 k;
  for (auto& b : k) b = static_cast<uint8_t>(rng());
  return k;
}

bytes body_of(std::mt19937& rng, size_t n) {
  bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

wire::session_id sid_of(std::mt19937& rng) {
  wire::session_id s;
  for (auto& b : s) b = static_cast<uint8_t>(rng());
  return s;
}

// A client's frame as the server receives it: client-side keys wrap, the server's filter checks.
bytes client_frame(const wrap_keys& client, wire::opcode op, std::mt19937& rng, size_t body_len) {
  bytes out;
  wrap(client, wire::op_byte(op, 0), sid_of(rng), body_of(rng, body_len), replay_id{1, 1700000000}, out);
  return out;
}

// Every frame passes; each of a sample of single-bit flips (every byte for short frames) fails.
void expect_exact(front_filter& f, crypto::engine& e, const bytes& frame) {
  EXPECT_EQ(f.check(e, frame), front_filter::verdict::pass);
  const size_t step = frame.size() > 200 ? 7 : 1;
  for (size_t i = 0; i < frame.size(); i += step) {
    bytes bad = frame;
    bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
    if (i == 0 && wire::op_of(bad[0]) != wire::op_of(frame[0])) continue;  // the op is covered too, below
    EXPECT_EQ(f.check(e, bad), front_filter::verdict::bad_auth) << "byte " << i << " of " << frame.size();
  }
  bytes cut(frame.begin(), frame.end() - 1);
  EXPECT_EQ(f.check(e, cut), front_filter::verdict::bad_auth);
}

TEST(FrontFilter, NoWrapMakesNoFilter) {
  auto e = crypto::engine::create();
  ASSERT_TRUE(e);
  EXPECT_EQ(front_filter::create(*e, wrap_keys::none(), nullptr), nullptr);
}

TEST(FrontFilter, TlsAuthEachDigestAndDirection) {
  auto e = crypto::engine::create();
  std::mt19937 rng(1);
  for (auto d : {crypto::digest_alg::sha1, crypto::digest_alg::sha256, crypto::digest_alg::sha512}) {
    for (int dir : {-1, 0}) {
      const key2 k = random_key2(rng);
      const int client_dir = dir == -1 ? -1 : 1;
      auto f = front_filter::create(*e, wrap_keys::tls_auth(k, d, dir), nullptr);
      ASSERT_TRUE(f);
      for (size_t len : {0u, 14u, 100u, 1200u}) {
        SCOPED_TRACE(std::string(crypto::name(d)) + " dir " + std::to_string(dir) + " len " + std::to_string(len));
        expect_exact(*f, *e, client_frame(wrap_keys::tls_auth(k, d, client_dir), wire::P_CONTROL_HARD_RESET_CLIENT_V2,
                                          rng, len));
      }
      // The server's own direction (a reflected frame) does not pass when directions are used.
      if (dir == 0) {
        const bytes refl = client_frame(wrap_keys::tls_auth(k, d, 0), wire::P_CONTROL_V1, rng, 50);
        EXPECT_EQ(f->check(*e, refl), front_filter::verdict::bad_auth);
      }
    }
  }
}

TEST(FrontFilter, TlsCrypt) {
  auto e = crypto::engine::create();
  std::mt19937 rng(2);
  const key2 k = random_key2(rng);
  auto f = front_filter::create(*e, wrap_keys::tls_crypt(k, true), nullptr);
  ASSERT_TRUE(f);
  for (size_t len : {0u, 1u, 15u, 16u, 17u, 300u, 1300u}) {
    SCOPED_TRACE("len " + std::to_string(len));
    expect_exact(*f, *e, client_frame(wrap_keys::tls_crypt(k, false), wire::P_CONTROL_V1, rng, len));
  }
  // Another key, and garbage of every short length, fail.
  EXPECT_EQ(f->check(*e, client_frame(wrap_keys::tls_crypt(random_key2(rng), false), wire::P_ACK_V1, rng, 20)),
            front_filter::verdict::bad_auth);
  for (size_t n = 0; n < 60; ++n) {
    bytes g = body_of(rng, n);
    if (!g.empty()) g[0] = wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0);
    EXPECT_EQ(f->check(*e, g), front_filter::verdict::bad_auth) << n;
  }
}

TEST(FrontFilter, TlsCryptV2) {
  auto e = crypto::engine::create();
  std::mt19937 rng(3);
  tcv2_server_key sk;
  for (auto& b : sk.bytes) b = static_cast<uint8_t>(rng());
  auto f = front_filter::create(*e, wrap_keys::none(), &sk);
  ASSERT_TRUE(f);
  const key2 kc = random_key2(rng);
  const bytes meta = {wire::k_tcv2_meta_user, 'x', 'y'};
  const bytes wkc = tcv2_wrap_wkc(sk, kc, meta);
  ASSERT_FALSE(wkc.empty());
  for (wire::opcode op : {wire::P_CONTROL_HARD_RESET_CLIENT_V3, wire::P_CONTROL_WKC_V1}) {
    bytes frame = client_frame(wrap_keys::tls_crypt(kc, false), op, rng, op == wire::P_CONTROL_WKC_V1 ? 40 : 14);
    frame.insert(frame.end(), wkc.begin(), wkc.end());
    expect_exact(*f, *e, frame);
    // A WKc made with another server key fails, as does a frame sealed with another Kc.
    tcv2_server_key other = sk;
    other.bytes[5] ^= 1;
    bytes forged = client_frame(wrap_keys::tls_crypt(kc, false), op, rng, 14);
    const bytes wkc2 = tcv2_wrap_wkc(other, kc, meta);
    forged.insert(forged.end(), wkc2.begin(), wkc2.end());
    EXPECT_EQ(f->check(*e, forged), front_filter::verdict::bad_auth);
    bytes wrong_kc = client_frame(wrap_keys::tls_crypt(random_key2(rng), false), op, rng, 14);
    wrong_kc.insert(wrong_kc.end(), wkc.begin(), wkc.end());
    EXPECT_EQ(f->check(*e, wrong_kc), front_filter::verdict::bad_auth);
  }
  // Frames without a WKc pass: only the half-open session can check them.
  const bytes plain = client_frame(wrap_keys::tls_crypt(kc, false), wire::P_CONTROL_V1, rng, 30);
  EXPECT_EQ(f->check(*e, plain), front_filter::verdict::pass);
}

}  // namespace
