// SPDX-License-Identifier: MIT
// Crypto backends: known-answer vectors, and IPsec-MB checked byte for byte against OpenSSL.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"

using namespace dpvpn::crypto;
using bytes = std::vector<uint8_t>;

namespace {

bytes hex(std::string_view s) {
  bytes out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < s.size();) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<uint8_t>(nib(s[i]) << 4 | nib(s[i + 1])));
    i += 2;
  }
  return out;
}

bytes str(std::string_view s) { return bytes(s.begin(), s.end()); }

constexpr backend k_backends[] = {backend::openssl, backend::ipsec_mb};
constexpr cipher_alg k_aeads[] = {cipher_alg::aes_128_gcm, cipher_alg::aes_256_gcm, cipher_alg::chacha20_poly1305};

class crypto_test : public ::testing::Test {
 protected:
  void SetUp() override {
    eng = engine::create();
    ASSERT_NE(eng, nullptr);
  }
  bytes rnd(size_t n) {
    bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  }
  std::unique_ptr<engine> eng;
  std::mt19937 rng{12345};
};

// ---- names ----

TEST(crypto_names, cipher_names_case_insensitive_with_openssl_aliases) {
  EXPECT_EQ(cipher_from_name("AES-256-GCM"), cipher_alg::aes_256_gcm);
  EXPECT_EQ(cipher_from_name("aes-256-gcm"), cipher_alg::aes_256_gcm);
  EXPECT_EQ(cipher_from_name("id-aes256-GCM"), cipher_alg::aes_256_gcm);
  EXPECT_EQ(cipher_from_name("ID-AES128-gcm"), cipher_alg::aes_128_gcm);
  EXPECT_EQ(cipher_from_name("ChaCha20-Poly1305"), cipher_alg::chacha20_poly1305);
  EXPECT_EQ(cipher_from_name("aes-128-cbc"), cipher_alg::aes_128_cbc);
  EXPECT_EQ(cipher_from_name("AES-256-CBC"), cipher_alg::aes_256_cbc);
  EXPECT_EQ(cipher_from_name("none"), cipher_alg::none);
  EXPECT_FALSE(cipher_from_name("BF-CBC"));
  EXPECT_FALSE(cipher_from_name("AES-256-GCM "));
  EXPECT_FALSE(cipher_from_name(""));
  EXPECT_STREQ(name(cipher_alg::aes_256_gcm), "AES-256-GCM");
  EXPECT_STREQ(name(cipher_alg::chacha20_poly1305), "CHACHA20-POLY1305");
  EXPECT_STREQ(name(*cipher_from_name("id-aes128-GCM")), "AES-128-GCM");
}

TEST(crypto_names, digest_names) {
  EXPECT_EQ(digest_from_name("SHA1"), digest_alg::sha1);
  EXPECT_EQ(digest_from_name("sha256"), digest_alg::sha256);
  EXPECT_EQ(digest_from_name("SHA512"), digest_alg::sha512);
  EXPECT_EQ(digest_from_name("SHA-256"), digest_alg::sha256);
  EXPECT_FALSE(digest_from_name("MD5"));
  EXPECT_STREQ(name(digest_alg::sha256), "SHA256");
  EXPECT_STREQ(name(backend::ipsec_mb), "ipsec-mb");
  EXPECT_STREQ(name(backend::openssl), "openssl");
}

TEST_F(crypto_test, engine_reports_an_arch) {
  EXPECT_NE(eng->imb(), nullptr);
  EXPECT_STRNE(eng->arch_name(), "none");
}

TEST_F(crypto_test, create_rejects_bad_keys_and_algs) {
  for (backend b : k_backends) {
    EXPECT_EQ(aead_key::create(b, cipher_alg::aes_256_gcm, rnd(16)), nullptr);
    EXPECT_EQ(aead_key::create(b, cipher_alg::aes_128_gcm, rnd(32)), nullptr);
    EXPECT_EQ(aead_key::create(b, cipher_alg::aes_256_cbc, rnd(32)), nullptr);
    EXPECT_EQ(aead_key::create(b, cipher_alg::none, {}), nullptr);
    EXPECT_EQ(cbc_hmac_key::create(b, cipher_alg::aes_256_gcm, digest_alg::sha1, rnd(32), rnd(20)), nullptr);
    EXPECT_EQ(cbc_hmac_key::create(b, cipher_alg::aes_128_cbc, digest_alg::sha1, rnd(32), rnd(20)), nullptr);
    auto k = aead_key::create(b, cipher_alg::chacha20_poly1305, rnd(32));
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->which(), b);
    EXPECT_EQ(k->alg(), cipher_alg::chacha20_poly1305);
  }
}

TEST(crypto_random, random_bytes_differ) {
  std::array<uint8_t, 32> a{}, b{};
  random_bytes(a.data(), a.size());
  random_bytes(b.data(), b.size());
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<uint8_t, 32>{}));
}

// ---- AEAD known answers ----

struct aead_kat {
  const char* source;
  cipher_alg alg;
  const char *key, *iv, *aad, *pt, *ct, *tag;
};

const aead_kat k_aead_kats[] = {
    {"GCM spec (McGrew-Viega) test case 4, AES-128", cipher_alg::aes_128_gcm, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM spec test case 16, AES-256", cipher_alg::aes_256_gcm,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"RFC 8439 2.8.2", cipher_alg::chacha20_poly1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204920636f756c64206f6666"
     "657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73637265656e20776f756c642062652069"
     "742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b29"
     "05d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b"
     "6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    // Protocol doc §15.9, lab vector A: 2.6.14 ping packets, P_DATA_V2, nonce = packet_id || implicit IV (§8.1).
    {"lab vector A, C->S ping", cipher_alg::aes_256_gcm,
     "693bc4b80940c58f39bb8b4e77b2141f106942a4ee630f80da99719d3e78af37", "00000004d2847b770e68ffa6",
     "4800000000000004", "2a187bf3641eb4cb07ed2d0a981fc748", "616310da8c7141548892f501a44fd8cf",
     "6c7776f036e04c22d8dcb7182f3fb1ee"},
    {"lab vector A, S->C ping", cipher_alg::aes_256_gcm,
     "dea59009b18eacff6ae1a54ad87005ee7983082348c247e049b31f0b3bede504", "0000000302152f4e55a77138",
     "4800000000000003", "2a187bf3641eb4cb07ed2d0a981fc748", "4aae6f3217450012f335fda66c98412c",
     "e4b54cd540b3cab9fd2b0648fe89991e"},
};

TEST_F(crypto_test, aead_known_answers) {
  for (const auto& v : k_aead_kats) {
    for (backend b : k_backends) {
      SCOPED_TRACE(std::string(v.source) + " / " + name(b));
      auto k = aead_key::create(b, v.alg, hex(v.key));
      ASSERT_NE(k, nullptr);
      bytes iv = hex(v.iv), aad = hex(v.aad), data = hex(v.pt), tag(16);
      ASSERT_TRUE(k->seal(*eng, iv.data(), aad.data(), aad.size(), data.data(), data.size(), tag.data()));
      EXPECT_EQ(data, hex(v.ct));
      EXPECT_EQ(tag, hex(v.tag));
      ASSERT_TRUE(k->open(*eng, iv.data(), aad.data(), aad.size(), data.data(), data.size(), tag.data()));
      EXPECT_EQ(data, hex(v.pt));
    }
  }
}

// ---- AEAD differential: IPsec-MB against OpenSSL ----

std::vector<size_t> diff_sizes() {
  std::vector<size_t> s;
  for (size_t n = 0; n <= 64; ++n) s.push_back(n);
  for (size_t n = 65; n < 9000; n += 97) s.push_back(n);
  for (size_t n : {127u, 128u, 255u, 256u, 257u, 1420u, 1500u, 4096u, 9000u}) s.push_back(n);
  return s;
}

TEST_F(crypto_test, aead_backends_agree_both_directions) {
  for (cipher_alg c : k_aeads) {
    for (size_t aad_len : {4u, 8u, 0u}) {
      for (size_t n : diff_sizes()) {
        SCOPED_TRACE(std::string(name(c)) + " aad " + std::to_string(aad_len) + " len " + std::to_string(n));
        const bytes key = rnd(key_len(c)), iv = rnd(12), aad = rnd(aad_len), pt = rnd(n);
        auto ko = aead_key::create(backend::openssl, c, key);
        auto ki = aead_key::create(backend::ipsec_mb, c, key);
        ASSERT_TRUE(ko && ki);
        bytes d_o = pt, d_i = pt, t_o(16), t_i(16);
        ASSERT_TRUE(ko->seal(*eng, iv.data(), aad.data(), aad_len, d_o.data(), n, t_o.data()));
        ASSERT_TRUE(ki->seal(*eng, iv.data(), aad.data(), aad_len, d_i.data(), n, t_i.data()));
        ASSERT_EQ(d_o, d_i);
        ASSERT_EQ(t_o, t_i);
        // Each backend opens what the other sealed.
        ASSERT_TRUE(ki->open(*eng, iv.data(), aad.data(), aad_len, d_o.data(), n, t_o.data()));
        ASSERT_TRUE(ko->open(*eng, iv.data(), aad.data(), aad_len, d_i.data(), n, t_i.data()));
        ASSERT_EQ(d_o, pt);
        ASSERT_EQ(d_i, pt);
      }
    }
  }
}

TEST_F(crypto_test, aead_tamper_fails_on_both_backends) {
  for (cipher_alg c : k_aeads) {
    for (size_t n : {0u, 1u, 15u, 16u, 17u, 64u, 100u, 1420u}) {
      const bytes key = rnd(key_len(c)), iv = rnd(12), aad = rnd(8), pt = rnd(n);
      for (backend b : k_backends) {
        SCOPED_TRACE(std::string(name(c)) + " " + name(b) + " len " + std::to_string(n));
        auto k = aead_key::create(b, c, key);
        bytes ct = pt, tag(16);
        ASSERT_TRUE(k->seal(*eng, iv.data(), aad.data(), aad.size(), ct.data(), n, tag.data()));
        auto opens = [&](const bytes& d, const bytes& a, const bytes& t, const bytes& v) {
          bytes work = d;
          return k->open(*eng, v.data(), a.data(), a.size(), work.data(), work.size(), t.data());
        };
        ASSERT_TRUE(opens(ct, aad, tag, iv));
        for (size_t bit = 0; bit < 128; ++bit) {
          bytes t = tag;
          t[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          ASSERT_FALSE(opens(ct, aad, t, iv)) << "tag bit " << bit;
        }
        for (size_t bit = 0; bit < n * 8; bit += (n > 64 ? 13 : 1)) {
          bytes d = ct;
          d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          ASSERT_FALSE(opens(d, aad, tag, iv)) << "data bit " << bit;
        }
        for (size_t bit = 0; bit < 64; ++bit) {
          bytes a = aad;
          a[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          ASSERT_FALSE(opens(ct, a, tag, iv)) << "aad bit " << bit;
        }
        bytes v = iv;
        v[11] ^= 1;
        ASSERT_FALSE(opens(ct, aad, tag, v));
        ASSERT_FALSE(opens(ct, bytes(aad.begin(), aad.begin() + 4), tag, iv));  // AAD length matters
      }
    }
  }
}

TEST_F(crypto_test, aead_burst_equals_single) {
  constexpr size_t n_ops = 40;  // more than one 32-job chunk
  for (cipher_alg c : k_aeads) {
    const bytes key = rnd(key_len(c));
    for (backend b : k_backends) {
      SCOPED_TRACE(std::string(name(c)) + " " + name(b));
      auto k = aead_key::create(b, c, key);
      std::vector<bytes> ivs, aads, pts, burst, single, tags(n_ops, bytes(16)), single_tags(n_ops, bytes(16));
      std::array<aead_key::op, n_ops> ops{};
      for (size_t i = 0; i < n_ops; ++i) {
        ivs.push_back(rnd(12));
        aads.push_back(rnd(i % 2 ? 8 : 4));
        pts.push_back(rnd(i * 47 % 1500));
        burst.push_back(pts[i]);
        single.push_back(pts[i]);
        ops[i] = {ivs[i].data(), aads[i].data(), static_cast<uint32_t>(aads[i].size()), burst[i].data(),
                  static_cast<uint32_t>(burst[i].size()), tags[i].data(), false};
        ASSERT_TRUE(k->seal(*eng, ivs[i].data(), aads[i].data(), aads[i].size(), single[i].data(), single[i].size(),
                            single_tags[i].data()));
      }
      for (bool job_api : {false, true}) {  // the direct-API burst, then the job API
        SCOPED_TRACE(job_api ? "job API" : "burst");
        for (size_t i = 0; i < n_ops; ++i) {
          burst[i] = pts[i];
          tags[i].assign(16, 0);
          ops[i].data = burst[i].data();
          ops[i].tag = tags[i].data();
        }
        job_api ? k->seal_jobs(*eng, ops.data(), n_ops) : k->seal_burst(*eng, ops.data(), n_ops);
        for (size_t i = 0; i < n_ops; ++i) {
          EXPECT_TRUE(ops[i].ok);
          EXPECT_EQ(burst[i], single[i]) << i;
          EXPECT_EQ(tags[i], single_tags[i]) << i;
        }
        tags[5][3] ^= 0x10;  // one bad tag fails that op only
        job_api ? k->open_jobs(*eng, ops.data(), n_ops) : k->open_burst(*eng, ops.data(), n_ops);
        for (size_t i = 0; i < n_ops; ++i) {
          EXPECT_EQ(ops[i].ok, i != 5) << i;
          if (i != 5) {
            EXPECT_EQ(burst[i], pts[i]) << i;
          }
        }
      }
    }
  }
}

// ---- CBC and HMAC ----

// NIST SP800-38A F.2.1 (CBC-AES128.Encrypt) and F.2.5 (CBC-AES256.Encrypt).
const char* k_sp800_iv = "000102030405060708090a0b0c0d0e0f";
const char* k_sp800_pt =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b41"
    "7be66c3710";

TEST_F(crypto_test, cbc_known_answers_in_and_out_of_place) {
  struct {
    cipher_alg alg;
    const char *key, *ct;
  } const kats[] = {
      {cipher_alg::aes_128_cbc, "2b7e151628aed2a6abf7158809cf4f3c",
       "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac0912"
       "0eca307586e1a7"},
      {cipher_alg::aes_256_cbc, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
       "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda"
       "6c19078c6a9d1b"},
  };
  for (const auto& v : kats) {
    for (backend b : k_backends) {
      SCOPED_TRACE(std::string(name(v.alg)) + " " + name(b));
      auto k = cbc_hmac_key::create(b, v.alg, digest_alg::sha256, hex(v.key), rnd(32));
      ASSERT_NE(k, nullptr);
      const bytes iv = hex(k_sp800_iv), pt = hex(k_sp800_pt), ct = hex(v.ct);
      bytes out(pt.size()), inplace = pt;
      ASSERT_TRUE(k->encrypt(*eng, iv.data(), pt.data(), pt.size(), out.data()));
      EXPECT_EQ(out, ct);
      ASSERT_TRUE(k->encrypt(*eng, iv.data(), inplace.data(), inplace.size(), inplace.data()));
      EXPECT_EQ(inplace, ct);
      ASSERT_TRUE(k->decrypt(*eng, iv.data(), ct.data(), ct.size(), out.data()));
      EXPECT_EQ(out, pt);
      ASSERT_TRUE(k->decrypt(*eng, iv.data(), inplace.data(), inplace.size(), inplace.data()));
      EXPECT_EQ(inplace, pt);
      EXPECT_FALSE(k->encrypt(*eng, iv.data(), pt.data(), 15, out.data()));  // no padding is added here
      EXPECT_FALSE(k->decrypt(*eng, iv.data(), ct.data(), 33, out.data()));
    }
  }
}

TEST_F(crypto_test, hmac_known_answers) {
  struct {
    const char* source;
    digest_alg d;
    bytes key, data;
    const char* mac;
  } const kats[] = {
      {"RFC 2202 case 2", digest_alg::sha1, str("Jefe"), str("what do ya want for nothing?"),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"RFC 4231 case 2", digest_alg::sha256, str("Jefe"), str("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"RFC 4231 case 2", digest_alg::sha512, str("Jefe"), str("what do ya want for nothing?"),
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b63"
       "6e070a38bce737"},
      {"RFC 4231 case 6 (131-byte key)", digest_alg::sha256, bytes(131, 0xaa),
       str("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const auto& v : kats) {
    for (backend b : k_backends) {
      SCOPED_TRACE(std::string(v.source) + " " + name(b));
      auto k = cbc_hmac_key::create(b, cipher_alg::aes_256_cbc, v.d, rnd(32), v.key);
      ASSERT_NE(k, nullptr);
      bytes mac(digest_len(v.d));
      k->hmac(*eng, v.data.data(), v.data.size(), mac.data());
      EXPECT_EQ(mac, hex(v.mac));
    }
  }
}

// Protocol doc §15.11, lab vector C: a real 2.6.14 AES-256-CBC + HMAC-SHA256 data packet (§8.2).
TEST_F(crypto_test, lab_vector_c_cbc_hmac_sha256_packet) {
  const bytes cipher_key = hex("f2a6fa02ba625deb512ccf0ba2a64ff700958251342a762275f66d1f83a4a876");
  const bytes hmac_key = hex("47cfeb0e177f658ca1ae5b914a9087d0c74e79557c19eeaa3b87cf85ea61973a");
  const bytes iv_ct = hex(
      "63fe7741ff123a8d04357b931a14f8da"
      "e18b5e5f7e594d01978c04fbfae4854f64195e272e6d7309372dd0fa0320aa14bb13d77832975df75f94aa9b50fa3cc7d8d062f1357f100fb8"
      "33a5f721b8c754");
  const bytes want_mac = hex("d41cbad3ace7ee907cf2914790fc6666818c63932d4bef247c9bc0f744d57975");
  for (backend b : k_backends) {
    SCOPED_TRACE(name(b));
    auto k = cbc_hmac_key::create(b, cipher_alg::aes_256_cbc, digest_alg::sha256, cipher_key, hmac_key);
    ASSERT_NE(k, nullptr);
    bytes mac(32);
    k->hmac(*eng, iv_ct.data(), iv_ct.size(), mac.data());
    EXPECT_EQ(mac, want_mac);
    bytes pt(64);
    ASSERT_TRUE(k->decrypt(*eng, iv_ct.data(), iv_ct.data() + 16, 64, pt.data()));
    EXPECT_EQ(bytes(pt.begin(), pt.begin() + 5), hex("0000000160"));  // packet-id 1, then an IPv6 header
    EXPECT_EQ(bytes(pt.end() - 12, pt.end()), bytes(12, 0x0c));      // PKCS#7 padding
  }
}

TEST_F(crypto_test, cbc_hmac_backends_agree) {
  for (cipher_alg c : {cipher_alg::aes_128_cbc, cipher_alg::aes_256_cbc}) {
    for (digest_alg d : {digest_alg::sha1, digest_alg::sha256, digest_alg::sha512}) {
      const bytes ck = rnd(key_len(c)), hk = rnd(digest_len(d));
      auto ko = cbc_hmac_key::create(backend::openssl, c, d, ck, hk);
      auto ki = cbc_hmac_key::create(backend::ipsec_mb, c, d, ck, hk);
      ASSERT_TRUE(ko && ki);
      for (size_t n : diff_sizes()) {
        SCOPED_TRACE(std::string(name(c)) + " " + name(d) + " len " + std::to_string(n));
        const bytes iv = rnd(16), data = rnd(n);
        bytes m_o(digest_len(d)), m_i(digest_len(d));
        ko->hmac(*eng, data.data(), n, m_o.data());
        ki->hmac(*eng, data.data(), n, m_i.data());
        ASSERT_EQ(m_o, m_i);
        const size_t cn = n & ~size_t{15};
        bytes c_o(cn), c_i = data;
        ASSERT_TRUE(ko->encrypt(*eng, iv.data(), data.data(), cn, c_o.data()));
        ASSERT_TRUE(ki->encrypt(*eng, iv.data(), c_i.data(), cn, c_i.data()));  // in place
        ASSERT_TRUE(std::equal(c_o.begin(), c_o.end(), c_i.begin()));
        bytes p_o = c_o, p_i(cn);
        ASSERT_TRUE(ki->decrypt(*eng, iv.data(), c_o.data(), cn, p_i.data()));
        ASSERT_TRUE(ko->decrypt(*eng, iv.data(), p_o.data(), cn, p_o.data()));  // in place
        ASSERT_TRUE(std::equal(p_i.begin(), p_i.end(), data.begin()));
        ASSERT_EQ(p_o, p_i);
      }
    }
  }
}

TEST_F(crypto_test, cbc_hmac_key_lengths_and_digest_none) {
  for (backend b : k_backends) {
    SCOPED_TRACE(name(b));
    // HMAC keys shorter and longer than the block agree with OpenSSL.
    for (size_t kl : {0u, 1u, 20u, 64u, 65u, 128u, 129u, 200u}) {
      for (digest_alg d : {digest_alg::sha1, digest_alg::sha256, digest_alg::sha512}) {
        const bytes hk = rnd(kl), data = rnd(77);
        auto k = cbc_hmac_key::create(b, cipher_alg::aes_128_cbc, d, rnd(16), hk);
        auto ref = cbc_hmac_key::create(backend::openssl, cipher_alg::aes_128_cbc, d, rnd(16), hk);
        ASSERT_TRUE(k && ref);
        bytes m(digest_len(d)), r(digest_len(d));
        k->hmac(*eng, data.data(), data.size(), m.data());
        ref->hmac(*eng, data.data(), data.size(), r.data());
        EXPECT_EQ(m, r) << name(d) << " key " << kl;
      }
    }
    auto k = cbc_hmac_key::create(b, cipher_alg::aes_256_cbc, digest_alg::none, rnd(32), {});
    ASSERT_NE(k, nullptr);
    uint8_t out[4] = {1, 2, 3, 4};
    k->hmac(*eng, out, 4, out);  // writes digest_len(none) == 0 bytes
    EXPECT_EQ(out[0], 1);
  }
}

}  // namespace
