// SPDX-License-Identifier: MIT
// Data-channel key derivation: the TLS 1.0 PRF (§15.1) and the OpenVPN PRF method (§7.2, §15.10).
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "dpvpn/key_derive.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

std::vector<uint8_t> unhex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(uint8_t(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

template <size_t N>
std::array<uint8_t, N> unhex_arr(std::string_view h) {
  auto v = unhex(h);
  EXPECT_EQ(v.size(), N);
  std::array<uint8_t, N> a{};
  std::copy_n(v.begin(), std::min(N, v.size()), a.begin());
  return a;
}

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// Independent RFC 2246 PRF from HMAC, as the oracle for the EVP-based one.
std::vector<uint8_t> p_hash(const EVP_MD* md, std::span<const uint8_t> key, std::span<const uint8_t> seed, size_t n) {
  std::vector<uint8_t> out, a(seed.begin(), seed.end());
  unsigned len = 0;
  uint8_t buf[EVP_MAX_MD_SIZE];
  while (out.size() < n) {
    HMAC(md, key.data(), int(key.size()), a.data(), a.size(), buf, &len);
    a.assign(buf, buf + len);
    std::vector<uint8_t> in = a;
    in.insert(in.end(), seed.begin(), seed.end());
    HMAC(md, key.data(), int(key.size()), in.data(), in.size(), buf, &len);
    out.insert(out.end(), buf, buf + len);
  }
  out.resize(n);
  return out;
}

std::vector<uint8_t> naive_prf(std::span<const uint8_t> secret, std::span<const uint8_t> seed, size_t n) {
  size_t half = (secret.size() + 1) / 2;
  auto md5 = p_hash(EVP_md5(), secret.first(half), seed, n);
  auto sha = p_hash(EVP_sha1(), secret.last(half), seed, n);
  for (size_t i = 0; i < n; ++i) md5[i] ^= sha[i];
  return md5;
}

// §15.10 lab vector B inputs.
struct lab_b {
  km2_client c;
  km2_server s;
  wire::session_id csid = unhex_arr<8>("68a720b3abb87880");
  wire::session_id ssid = unhex_arr<8>("996387d175d06800");
  lab_b() {
    c.pre_master = unhex_arr<48>(
        "d449105a688d7cae1bee1fd697d2abd5af90fe2de8b97c91ac79073d07a159aaac5a2085ea0589b44fb07551a022a21d");
    c.random1 = unhex_arr<32>("bb3f45de5a9a8753c791f32e3e3fb5bd6c30cbc7b4a9901beb360ae6ed9f42f5");
    s.random1 = unhex_arr<32>("10345b49f82516372639aded1c68c690cbe2c6b3cdc5599535e4e5cc23c5b3bd");
    c.random2 = unhex_arr<32>("8fdb61a8b268617e7bcc5830647611d369daddb888f8904eed03a0ef1e83c9d6");
    s.random2 = unhex_arr<32>("236f7de0d253160d682d1e58d08a3e826caee6c5e915a0494297d99f14678526");
  }
};

std::vector<uint8_t> slice(const key2& k, size_t off, size_t n) { return {k.begin() + off, k.begin() + off + n}; }

}  // namespace

TEST(tls1_prf, upstream_vector_15_1) {
  auto secret = bytes_of(
      "Lorem ipsum dolor sit amet, consectetur adipisici elit, sed eiusmod tempor incidunt ut labore et dolore "
      "magna aliqua.");
  auto seed = bytes_of("Quis aute iure reprehenderit in voluptate velit esse cillum dolore");
  ASSERT_EQ(secret.size(), 117u);
  std::vector<uint8_t> out(32);
  ASSERT_TRUE(tls1_prf(secret, seed, out));
  EXPECT_EQ(out, unhex("d98c8518c85e946927916acfc2d592fbb1567e4b4b1459e6a904ac2ddab72d67"));
}

TEST(tls1_prf, matches_hmac_oracle_for_odd_and_even_secrets) {
  for (size_t slen : {1u, 2u, 47u, 48u, 117u}) {
    std::vector<uint8_t> secret(slen), seed(77);
    for (size_t i = 0; i < slen; ++i) secret[i] = uint8_t(i * 7 + 3);
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = uint8_t(i ^ 0x5a);
    for (size_t n : {1u, 16u, 48u, 256u}) {
      std::vector<uint8_t> out(n);
      ASSERT_TRUE(tls1_prf(secret, seed, out));
      EXPECT_EQ(out, naive_prf(secret, seed, n)) << slen << " " << n;
    }
  }
}

TEST(derive_prf, lab_vector_15_10) {
  lab_b v;
  // The master secret row (§7.2 first step; the label has no trailing space).
  std::vector<uint8_t> seed = bytes_of("OpenVPN master secret");
  seed.insert(seed.end(), v.c.random1.begin(), v.c.random1.end());
  seed.insert(seed.end(), v.s.random1.begin(), v.s.random1.end());
  std::vector<uint8_t> master(48);
  ASSERT_TRUE(tls1_prf(v.c.pre_master, seed, master));
  EXPECT_EQ(master, unhex("095df476105cbec23c0521fd2994ba6a6f72a1ef67b55a7f325ec5deecc8b29b"
                          "042ea61c6ef3f5ab263e81cda43b3b27"));

  key2 k{};
  ASSERT_TRUE(derive_prf(v.c, v.s, v.csid, v.ssid, k));
  EXPECT_EQ(slice(k, 0, 32), unhex("996ef9cb5b39f853c3a139321cdd5b41aa7a9dfc1aef0927a19a7c2952124023"));
  EXPECT_EQ(slice(k, 64, 8), unhex("eb77d127307ed720"));
  EXPECT_EQ(slice(k, 128, 32), unhex("c5b1caf568ab77367c5c6c16fbffa1a581cf3e122904c5b702b19781bab8ee15"));
  EXPECT_EQ(slice(k, 192, 8), unhex("e0e3f15a34922559"));

  // The whole key2 is the second PRF over the documented seed.
  std::vector<uint8_t> seed2 = bytes_of("OpenVPN key expansion");
  for (auto* p : {&v.c.random2, &v.s.random2}) seed2.insert(seed2.end(), p->begin(), p->end());
  seed2.insert(seed2.end(), v.csid.begin(), v.csid.end());
  seed2.insert(seed2.end(), v.ssid.begin(), v.ssid.end());
  EXPECT_EQ(slice(k, 0, 256), naive_prf(master, seed2, 256));
}

TEST(derive_prf, every_input_matters) {
  lab_b v;
  key2 ref{}, k{};
  ASSERT_TRUE(derive_prf(v.c, v.s, v.csid, v.ssid, ref));
  ASSERT_TRUE(derive_prf(v.c, v.s, v.ssid, v.csid, k));  // session ids swapped
  EXPECT_NE(k, ref);
  lab_b w;
  w.c.pre_master[47] ^= 1;
  ASSERT_TRUE(derive_prf(w.c, w.s, w.csid, w.ssid, k));
  EXPECT_NE(k, ref);
  lab_b x;
  x.s.random2[0] ^= 1;
  ASSERT_TRUE(derive_prf(x.c, x.s, x.csid, x.ssid, k));
  EXPECT_NE(k, ref);
  ASSERT_TRUE(derive_prf(v.c, v.s, v.csid, v.ssid, k));
  EXPECT_EQ(k, ref);
}

TEST(key2_is_weak, zero_cipher_key_in_either_direction) {
  key2 k{};
  EXPECT_TRUE(key2_is_weak(k, 32));
  for (auto& b : k) b = 0x11;
  EXPECT_FALSE(key2_is_weak(k, 32));
  key2 w = k;
  std::fill(w.begin(), w.begin() + 32, 0);  // keys[0].cipher over the key length
  EXPECT_TRUE(key2_is_weak(w, 32));
  EXPECT_FALSE(key2_is_weak(w, 33));  // byte 32 is non-zero
  w = k;
  std::fill(w.begin() + 128, w.begin() + 128 + 16, 0);  // keys[1].cipher
  EXPECT_TRUE(key2_is_weak(w, 16));
  EXPECT_FALSE(key2_is_weak(w, 32));
  w = k;
  std::fill(w.begin() + 64, w.begin() + 128, 0);  // a zero HMAC slot does not matter
  EXPECT_FALSE(key2_is_weak(w, 32));
  EXPECT_FALSE(key2_is_weak(key2{}, 0));  // no cipher: nothing to check
  EXPECT_TRUE(key2_is_weak(key2{}, 1000));  // clamped to the 64-byte slot
}
