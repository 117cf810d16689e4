// SPDX-License-Identifier: MIT
// Control-channel wrapping (§3) and the session-id cookie (§4.2) against the §15 vectors.
#include <gtest/gtest.h>

#include <random>

#include "dpvpn/tls_wrap.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

using bytes = std::vector<uint8_t>;

bytes hx(std::string_view s) {
  bytes out;
  int hi = -1;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> arr(std::string_view s) {
  bytes v = hx(s);
  std::array<uint8_t, N> a{};
  EXPECT_EQ(v.size(), N) << s;
  std::copy_n(v.begin(), std::min(N, v.size()), a.begin());
  return a;
}

// §15.2 upstream static key.
const key2 k_upstream = arr<256>(
    "37268ea8f95d7f71f9fb8fc03770c460daf714a483d815c013ce0a537efc18f2"
    "8f4f172669d9e6a413bac6741d8ea05400f49b7fd6326470f23798c606bf53d4"
    "de63ebc64ec59d57ce5d04d5b62e68b53ca6e5354351097fa370446c4d269f18"
    "7bb6ae54af2dc70ff7317fe2f8754b8282aad4202f9fa42c8640245d883e2c54"
    "a0c1c489a036cf3a8964d8d289c1583b9447c262b1da5fd167a5d27bd5ac5143"
    "17bc2343a31a2efc38dd920d910375f51c2e27f3afd36c49269da079f7ce466e"
    "bb0f9ad13e9bbb4665974e6bc24b513c5700393bf4a3e7f967e2f384069ac8a8"
    "e78b18b15604993fd16515cce9c0f3e42b4126b999005ade802797b0eeb8b9e6");

// §15.9 lab tls-crypt key.
const key2 k_lab_a = arr<256>(
    "092b381db8d0be60e9e10e1d3adca6ad8d448f4985280ce65c92cc86d0ac4059"
    "7c0210e250238081c202b8ffb95434b6d299328bb1ab958b09aa1f2be8753e36"
    "7e27fe4b5e3c12df3a648699764908594e9fa2214d8945a9fc1fe8205211d938"
    "99cce791499bcbf19c10f8083d3ccf47b544c411131c4d70b3ada3ba89dd22f4"
    "d1494b73c060fdc964a7122a08cabb3c7e507ef8c3ec7d6d477635cff0249d05"
    "d96ec1f216b7c0caedbb907a9086b0ac6345364d2d6f2dfd2bb659bd719754d9"
    "eaa661446a9cda57d7ce73cba393dfea9aea6099bd353be544be66b964db7a6b"
    "8a23dea400a84c17a882e40e0ea52daa4f355230eef65a09d7ac9e3267be0e3e");

// §15.11 lab ta.key.
const key2 k_lab_c = arr<256>(
    "e477eaf021948ec983ccdd4d19706068fcc0d92d6673d167536e10f1774328ae"
    "821eaf5f526066796a95f738071829cd28cccbe674927b99b403468dd145aaf1"
    "921bac8e34d028e944b0b2b073a49826d5713727ac9d5b94be78cd84c330f9c8"
    "f40eed16c5b7d8a3a1b46de46fa2a5786ab9a785bc93efeefc1e858497a8f99d"
    "7724f990ea143f434ab175bfe39a5eca616841b2fc13021bc1d38cdd02d18ec8"
    "6189fbda8b301d1297b3a750ccd71a77de014fa62d2f5fb381bc213450bbda34"
    "e48cb5b74d25d691ed5b97bf49ab8de7a572f0953cf753fd960c8805dc7e517e"
    "8fbdd094efb6afee126df60fd4bbe45021cdc0ec1d478ce5798b1f54d729c4cc");

struct unwrapped {
  wrap_err err = wrap_err::ok;
  uint8_t op = 0;
  wire::session_id sid{};
  replay_id rid{};
  bytes body;
};

unwrapped do_unwrap(const wrap_keys& k, const bytes& pkt) {
  unwrapped u;
  u.err = unwrap(k, pkt, u.op, u.sid, u.rid, u.body);
  return u;
}

bytes do_wrap(const wrap_keys& k, const unwrapped& u) {
  bytes out;
  wrap(k, u.op, u.sid, u.body, u.rid, out);
  return out;
}

// Every single-byte change of an authentic packet must be rejected.
void expect_every_flip_rejected(const wrap_keys& k, const bytes& pkt) {
  for (size_t i = 0; i < pkt.size(); ++i) {
    bytes p = pkt;
    p[i] ^= 0x01;
    EXPECT_NE(do_unwrap(k, p).err, wrap_err::ok) << "byte " << i;
    p[i] ^= 0x81;
    EXPECT_NE(do_unwrap(k, p).err, wrap_err::ok) << "byte " << i;
  }
}

}  // namespace

TEST(tls_wrap, overhead_per_mode) {
  EXPECT_EQ(wrap_keys::none().overhead(), 0u);
  EXPECT_EQ(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 0).overhead(), 28u);
  EXPECT_EQ(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha256, 0).overhead(), 40u);
  EXPECT_EQ(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha512, 0).overhead(), 72u);
  EXPECT_EQ(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::none, 0).overhead(), 28u);  // SHA1 default
  EXPECT_EQ(wrap_keys::tls_crypt(k_upstream, true).overhead(), 40u);
}

// §3.2 direction table.
TEST(tls_wrap, key_direction_slots) {
  auto at = [](size_t off) { return std::span<const uint8_t>(k_upstream.data() + off, 64); };
  auto eq = [](const std::array<uint8_t, 64>& a, std::span<const uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin());
  };
  auto n = wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 0);
  EXPECT_TRUE(eq(n.send_hmac, at(64)) && eq(n.recv_hmac, at(192)));
  auto i = wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 1);
  EXPECT_TRUE(eq(i.send_hmac, at(192)) && eq(i.recv_hmac, at(64)));
  auto b = wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, -1);
  EXPECT_TRUE(eq(b.send_hmac, at(64)) && eq(b.recv_hmac, at(64)));
  auto s = wrap_keys::tls_crypt(k_upstream, true);
  EXPECT_TRUE(eq(s.send_cipher, at(0)) && eq(s.send_hmac, at(64)));
  EXPECT_TRUE(eq(s.recv_cipher, at(128)) && eq(s.recv_hmac, at(192)));
  auto c = wrap_keys::tls_crypt(k_upstream, false);
  EXPECT_TRUE(eq(c.send_cipher, at(128)) && eq(c.send_hmac, at(192)));
  EXPECT_TRUE(eq(c.recv_cipher, at(0)) && eq(c.recv_hmac, at(64)));
}

// §15.3
TEST(tls_wrap, upstream_tls_crypt_client_reset) {
  const bytes pkt = hx(
      "38 f419cb12d1f9e48f 00000001 61d3f8e1"
      "330206f56802be44fbed905064e3db43416bec5e526719462b7eb90c96defc9b 05c44879f7");
  ASSERT_EQ(pkt.size(), 54u);
  auto server = wrap_keys::tls_crypt(k_upstream, true);
  auto u = do_unwrap(server, pkt);
  ASSERT_EQ(u.err, wrap_err::ok) << to_string(u.err);
  EXPECT_EQ(u.op, 0x38);
  EXPECT_EQ(u.sid, arr<8>("f419cb12d1f9e48f"));
  EXPECT_EQ(u.rid.counter, 1u);
  EXPECT_EQ(u.rid.time, 0x61d3f8e1u);
  EXPECT_EQ(u.body, hx("00 00000000"));
  EXPECT_EQ(do_wrap(wrap_keys::tls_crypt(k_upstream, false), u), pkt);
  EXPECT_EQ(do_unwrap(wrap_keys::tls_crypt(k_upstream, false), pkt).err, wrap_err::bad_tag);
  expect_every_flip_rejected(server, pkt);
}

// §15.4
TEST(tls_wrap, upstream_tls_auth_sha1_client_reset) {
  const bytes pkt = hx("38 de694c5c7bfba274 93537c1ded4e781529ae7cfe4b8c6d6b2b51f05a 00000001 61d3bf6c 00 00000000");
  ASSERT_EQ(pkt.size(), 42u);
  auto server = wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 0);
  auto u = do_unwrap(server, pkt);
  ASSERT_EQ(u.err, wrap_err::ok) << to_string(u.err);
  EXPECT_EQ(u.op, 0x38);
  EXPECT_EQ(u.rid.counter, 1u);
  EXPECT_EQ(u.rid.time, 0x61d3bf6cu);
  EXPECT_EQ(u.body, hx("00 00000000"));
  EXPECT_EQ(do_wrap(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 1), u), pkt);
  // keys[0].hmac gives 428ea377... instead: the bidirectional and inverse setups reject it.
  EXPECT_EQ(do_unwrap(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, -1), pkt).err, wrap_err::bad_hmac);
  EXPECT_EQ(do_unwrap(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, 1), pkt).err, wrap_err::bad_hmac);
  bytes wrong = pkt;
  auto w = hx("428ea37796292b7098271723ed5ccabb7ca6e6c4");
  std::copy(w.begin(), w.end(), wrong.begin() + 9);
  EXPECT_EQ(do_unwrap(wrap_keys::tls_auth(k_upstream, crypto::digest_alg::sha1, -1), wrong).err, wrap_err::ok);
  EXPECT_EQ(do_unwrap(server, wrong).err, wrap_err::bad_hmac);
  expect_every_flip_rejected(server, pkt);
}

// §15.6: the address input is the raw sockaddr_in (family, port BE, address, 8 zero bytes).
TEST(tls_wrap, upstream_cookie_sid) {
  std::array<uint8_t, 32> key{0x01, 0x02, 0x03};
  const wire::session_id sc = arr<8>("0001020304050607");
  const uint32_t slot = 1005 / ((100 + 1) / 2);
  ASSERT_EQ(slot, 20u);
  const bytes le = hx("0200 04ab 0ff000ff 0000000000000000");
  const bytes be = hx("0002 04ab 0ff000ff 0000000000000000");
  EXPECT_EQ(cookie_sid(key, slot, le, sc), arr<8>("8beb3d201453be0a"));
  EXPECT_EQ(cookie_sid(key, slot, be, sc), arr<8>("8473522b5ba92a70"));
  EXPECT_NE(cookie_sid(key, slot + 1, le, sc), cookie_sid(key, slot, le, sc));
  wire::session_id sc2 = sc;
  sc2[7] ^= 1;
  EXPECT_NE(cookie_sid(key, slot, le, sc2), cookie_sid(key, slot, le, sc));
}

// §15.7: the primitive without the op/sid header, client side of a dynamic key.
TEST(tls_wrap, upstream_dynamic_tls_crypt_primitive) {
  key2 exporter;
  exporter.fill(0xba);
  key2 zero{};
  EXPECT_EQ(dyn_tls_crypt_key(exporter, nullptr), exporter);
  EXPECT_EQ(dyn_tls_crypt_key(exporter, &zero), exporter);
  auto client = wrap_keys::tls_crypt(dyn_tls_crypt_key(exporter, nullptr), false);
  const bytes rid = hx("00000001 00000000");
  const std::string_view msg = "1234567890";
  const bytes plain(msg.begin(), msg.end());
  bytes out;
  tls_crypt_seal(client, rid, plain, out);
  EXPECT_EQ(out, hx("e319277f1c8d6e6a7796a855337b9cfb56e1f13a870e6647dfa195c92c17a015 ba4967a11d55ea1a06a7"));

  key2 orig;
  orig.fill(0x42);
  key2 d = dyn_tls_crypt_key(exporter, &orig);
  EXPECT_EQ(d[0], 0xba ^ 0x42);
  bytes other;
  tls_crypt_seal(wrap_keys::tls_crypt(d, false), rid, plain, other);
  EXPECT_EQ(other.size(), out.size());
  EXPECT_NE(other, out);
}

// §15.8
TEST(tls_wrap, upstream_tcv2_wkc) {
  tcv2_server_key sk;
  for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = uint8_t(i);
  key2 kc;
  for (size_t i = 0; i < kc.size(); ++i) kc[i] = uint8_t(i);
  const bytes meta = hx("01 0000000000000000");
  const bytes want = hx(
      "177da5c074a94619b16be4acb71f1a6ccf24f33c6bbaf498459d5f06c369d495"
      "2c78396efd93c2598f4771e068cafca3d2d387d87151392b1f74b43df2913707"
      "2ca3ceae6bf741153c97b0cf6d8386b0ddd4baa201fd024693fa44510e035c29"
      "691009bc2624ad8995f9171c1c1b02d9a7efc02436e868e90085a8276a19a6f7"
      "ce1daf85e16a18c3dd1a9ba46c5ad3deb70edd52f151e1be45dcd788c4c2a494"
      "a8bc504fd650e46306093e7cfa75a1218f44f3277055aeef56dc2a68b5d36dee"
      "ed3d927c407e90b18edacfdec7a6b037b0fe04c1b5c7d0fcea131721479cde64"
      "459faad7b482e276dadcfa7cfc5b34fa149bbf6b49a33a03f1212516aed22162"
      "6c7224d887cabc7f9c90c6376de16c6efd9e70b4f080674b4ece3e08b5323bed"
      "f04e6114df11acb31e 012b");
  ASSERT_EQ(want.size(), 299u);
  EXPECT_EQ(tcv2_wrap_wkc(sk, kc, meta), want);

  key2 got{};
  bytes got_meta;
  ASSERT_EQ(tcv2_unwrap_wkc(sk, want, got, got_meta), wrap_err::ok);
  EXPECT_EQ(got, kc);
  EXPECT_EQ(got_meta, meta);

  // USER metadata: type 00, then base64-decoded "AABBCCDD".
  bytes user = tcv2_wrap_wkc(sk, kc, hx("00 000041 0820c3"));
  ASSERT_EQ(user.size(), 297u);
  EXPECT_EQ(bytes(user.begin(), user.begin() + 32),
            hx("69eda75582aa170b8c9418fe28248cdb7761bea2d277aa1647eb3a9d94083733"));
  EXPECT_EQ(bytes(user.end() - 2, user.end()), hx("0129"));
  ASSERT_EQ(tcv2_unwrap_wkc(sk, user, got, got_meta), wrap_err::ok);
  EXPECT_EQ(got_meta, hx("00 000041 0820c3"));

  for (size_t i = 0; i < want.size(); ++i) {
    bytes w = want;
    w[i] ^= 0x10;
    wrap_err e = tcv2_unwrap_wkc(sk, w, got, got_meta);
    EXPECT_EQ(e, i >= want.size() - 2 ? wrap_err::bad_wkc_len : wrap_err::bad_wkc_tag) << "byte " << i;
  }
}

TEST(tls_wrap, tcv2_wkc_limits) {
  tcv2_server_key sk{};
  key2 kc{};
  key2 got{};
  bytes meta;
  EXPECT_EQ(tcv2_wrap_wkc(sk, kc, bytes(734, 7)).size(), 1024u);
  EXPECT_TRUE(tcv2_wrap_wkc(sk, kc, bytes(735, 7)).empty());
  bytes max = tcv2_wrap_wkc(sk, kc, bytes(734, 7));
  EXPECT_EQ(tcv2_unwrap_wkc(sk, max, got, meta), wrap_err::ok);
  EXPECT_EQ(meta.size(), 734u);
  // No metadata at all is still a whole Kc.
  EXPECT_EQ(tcv2_unwrap_wkc(sk, tcv2_wrap_wkc(sk, kc, {}), got, meta), wrap_err::ok);
  EXPECT_TRUE(meta.empty());

  EXPECT_EQ(tcv2_unwrap_wkc(sk, bytes{}, got, meta), wrap_err::too_short);
  EXPECT_EQ(tcv2_unwrap_wkc(sk, bytes(33, 0), got, meta), wrap_err::too_short);
  bytes long_wkc(1025, 0);
  long_wkc[1023] = 0x04;
  long_wkc[1024] = 0x01;
  EXPECT_EQ(tcv2_unwrap_wkc(sk, long_wkc, got, meta), wrap_err::wkc_too_long);
  // An authentic WKc whose plaintext is shorter than Kc: forge one with the right tag.
  wrap_keys w;
  std::copy_n(sk.bytes.begin(), 64, w.send_cipher.begin());
  std::copy_n(sk.bytes.begin() + 64, 64, w.send_hmac.begin());
  const bytes len_field = hx("0040");  // 64 = 32 + 30 + 2
  bytes shortw;
  tls_crypt_seal(w, len_field, bytes(30, 1), shortw);
  shortw.insert(shortw.end(), len_field.begin(), len_field.end());
  ASSERT_EQ(shortw.size(), 64u);
  EXPECT_EQ(tcv2_unwrap_wkc(sk, shortw, got, meta), wrap_err::bad_metadata);
}

TEST(tls_wrap, tcv2_split_limits) {
  std::span<const uint8_t> wrapped, wkc;
  EXPECT_EQ(tcv2_split(bytes(50, 0), wrapped, wkc), wrap_err::too_short);
  bytes p(49 + 299, 0);
  p[p.size() - 2] = 0x01;
  p[p.size() - 1] = 0x2b;
  ASSERT_EQ(tcv2_split(p, wrapped, wkc), wrap_err::ok);
  EXPECT_EQ(wrapped.size(), 49u);
  EXPECT_EQ(wkc.size(), 299u);
  p[p.size() - 1] = 0x2c;  // 300: leaves only 48 bytes for the tls-crypt part
  EXPECT_EQ(tcv2_split(p, wrapped, wkc), wrap_err::bad_wkc_len);
  p[p.size() - 2] = 0x04;
  p[p.size() - 1] = 0x01;  // 1025
  EXPECT_EQ(tcv2_split(p, wrapped, wkc), wrap_err::wkc_too_long);
  p[p.size() - 2] = 0x00;
  p[p.size() - 1] = 0x01;  // 1: cannot even hold itself
  EXPECT_EQ(tcv2_split(p, wrapped, wkc), wrap_err::bad_wkc_len);
}

// §15.9 lab vector A, packets 1 and 2, and the dynamic tls-crypt soft reset.
TEST(tls_wrap, lab_a_tls_crypt) {
  const bytes p1 = hx(
      "38 13c9813c6d92523c 00000001 6b0a894e adb204f7cc34d0ff373c5e63dcd74a33c2a280d4a31eecac33884232dcf42917 521d64f17b");
  auto server = wrap_keys::tls_crypt(k_lab_a, true);
  auto client = wrap_keys::tls_crypt(k_lab_a, false);
  auto u1 = do_unwrap(server, p1);
  ASSERT_EQ(u1.err, wrap_err::ok) << to_string(u1.err);
  EXPECT_EQ(u1.body, hx("00 00000000"));
  EXPECT_EQ(do_wrap(client, u1), p1);

  const bytes p2 = hx(
      "40 4faf881fec4a79d4 00000001 6b0a894e 72e95ac496a2d2cdb62f2a5331a340666b11545acce1a7b700a1c3b7090eb32e"
      "0a519590dd5b6797de6ca77332a13d712a");
  ASSERT_EQ(p2.size(), 66u);
  unwrapped s2{wrap_err::ok, 0x40, arr<8>("4faf881fec4a79d4"), {1, 0x6b0a894e},
               hx("01 00000000 13c9813c6d92523c 00000000")};
  EXPECT_EQ(do_wrap(server, s2), p2);
  auto u2 = do_unwrap(client, p2);
  ASSERT_EQ(u2.err, wrap_err::ok);
  EXPECT_EQ(u2.body, s2.body);
  EXPECT_EQ(do_unwrap(server, p2).err, wrap_err::bad_tag);

  const key2 exporter = arr<256>(
      "dcfa79604afb83b8a79cb9d0ef9dbdf5cc268e04d4d023413f4c1c4ca77ff513"
      "0731da3659ef33d7a757853622411ffa9cd67b7cb8b2f0c34e3308cd8f36db07"
      "37f88902d07176d3feb233317823715b51b1b94c3f1933f9a5603ccf1c06b22b"
      "87ece0dd881c8789da456316a0e7b169beabdb61375d8e9321bde57489487ad1"
      "dec6bc2a7d44d8d37005acd278cc65d85e6b3a69130b8e3dcc5bff9525b64de0"
      "0c42cbd60d35cf7653822b3a07d2ca2bcf034fff6287b24d0b01c3a53d508c56"
      "ca2eb71cda5dac8657a01f8919bc5f828b1fe31460987844c13ad5161123cc51"
      "13456f5ae9bb627a6a5b9e75bcb3efb6476475ac2a802cedba917ce977b505fe");
  key2 d = dyn_tls_crypt_key(exporter, &k_lab_a);
  EXPECT_EQ(bytes(d.begin(), d.begin() + 32), hx("d5d1417df22b3dd84e7db7cdd5411b584162014d51f82fa763ded0ca77d3b54a"));
  const bytes soft = hx(
      "19 4faf881fec4a79d4 00000001 6b0a896d cccf2bfd75c45b8ce9c25f15e1287f76318716857791bc74ac959cda05747509 cabb10d48e");
  auto u3 = do_unwrap(wrap_keys::tls_crypt(d, false), soft);
  ASSERT_EQ(u3.err, wrap_err::ok);
  EXPECT_EQ(u3.op, 0x19);
  EXPECT_EQ(u3.body, hx("00 00000000"));
  EXPECT_EQ(do_wrap(wrap_keys::tls_crypt(d, true), u3), soft);
  EXPECT_EQ(do_unwrap(client, soft).err, wrap_err::bad_tag);  // not the original key
}

// §15.11 lab vector C: tls-auth with SHA256, server key-direction 0, client 1.
TEST(tls_wrap, lab_c_tls_auth_sha256) {
  auto server = wrap_keys::tls_auth(k_lab_c, crypto::digest_alg::sha256, 0);
  auto client = wrap_keys::tls_auth(k_lab_c, crypto::digest_alg::sha256, 1);
  const bytes c2s = hx(
      "38 c1c3e3f64f6b16a7 8cceab23f48fb6c1f59efeaefaee3a2aa3dbffe722df1ea892fd3aa2392f3e0f 00000001 6b0a89e0 00 00000000");
  ASSERT_EQ(c2s.size(), 54u);
  auto u = do_unwrap(server, c2s);
  ASSERT_EQ(u.err, wrap_err::ok);
  EXPECT_EQ(u.rid.time, 0x6b0a89e0u);
  EXPECT_EQ(do_wrap(client, u), c2s);
  EXPECT_EQ(do_unwrap(client, c2s).err, wrap_err::bad_hmac);

  const bytes s2c = hx(
      "40 171d1f0c2afbff70 6a789ca5305b0e56d6cd9f19ed4c36ece4d2e64ed0dec0aa9e3b8649bc2c4139 00000001 6b0a89e0"
      "01 00000000 c1c3e3f64f6b16a7 00000000");
  ASSERT_EQ(s2c.size(), 66u);
  auto v = do_unwrap(client, s2c);
  ASSERT_EQ(v.err, wrap_err::ok);
  EXPECT_EQ(v.body, hx("01 00000000 c1c3e3f64f6b16a7 00000000"));
  EXPECT_EQ(do_wrap(server, v), s2c);
  EXPECT_EQ(do_unwrap(server, s2c).err, wrap_err::bad_hmac);
  EXPECT_EQ(do_unwrap(wrap_keys::tls_auth(k_lab_c, crypto::digest_alg::sha1, 1), s2c).err, wrap_err::bad_hmac);
  expect_every_flip_rejected(server, c2s);
}

// §15.12 lab vector D: tls-crypt-v2 V3 reset with early negotiation.
TEST(tls_wrap, lab_d_tls_crypt_v2) {
  tcv2_server_key sk;
  sk.bytes = arr<128>(
      "cbce280f08415f8277a1d5f30447c494c237ea21a2e9eb8fed3c4af781dcf71e"
      "c94e3783fe18196457327249cb9c055b12e1dd25447ebecc2f637f58ac13daa8"
      "d1f3f484db5c947945bf0cfe6e2cf3d958139f34d722579b6b7fbb491fbc1c18"
      "29a92e36cc206498d02194396d51249b10c0bf5111e697bc5211634c4195f3af");
  const bytes v3 = hx(
      "505c1d27bfdd0f01210f0000016b0a89dfd68444f139043f6263625629e34cd5789900c64a2e40febfa7c76f8168736842c6f59f8154e183f6dc82047b55e2ce"
      "6a2ada0e1d6d4d11fff5a9bcce43bc6aa102ec48c2290640c0e5a250f39acc533845ea8dcd6cb0d978295a1bd107e694ab1c4e178f4873ad5b925ea1db00e83e"
      "c1eb3f26e087c25be776deef06c840d26285ca5476bc37779a8ee46d4fe8cccfd90c5b9a10d2fc29bab140e72501a799581ce107b7fd056f9567b812f081fe78"
      "24dffce709bdd84d2cf971d5e864c7581d97f680b36fb224a83fd127540d8d31f28dd874c49a5de064364182d8144843f854b7c2c56453741fee9827ea65e900"
      "0fd64e227c8bcf842cf2cd7b90d069fce37d96b9b5e8c34fbfe8062e27db38d0100cf5146b6cc1857075ffe004732161f875551eae9b2893fa0ae40caaeeed32"
      "25b0a3a60d46cda6d77a3978d4f89345c31c6fa6cdc33b639836d07ce6ee31012b");
  ASSERT_EQ(v3.size(), 353u);
  std::span<const uint8_t> wrapped, wkc;
  ASSERT_EQ(tcv2_split(v3, wrapped, wkc), wrap_err::ok);
  EXPECT_EQ(wrapped.size(), 54u);
  EXPECT_EQ(wkc.size(), 299u);
  key2 kc{};
  bytes meta;
  ASSERT_EQ(tcv2_unwrap_wkc(sk, wkc, kc, meta), wrap_err::ok);
  EXPECT_EQ(bytes(kc.begin(), kc.begin() + 8), hx("97065fbba5ba7467"));
  EXPECT_EQ(meta, hx("01 000000006b0a88cf"));
  EXPECT_EQ(tcv2_wrap_wkc(sk, kc, meta), bytes(wkc.begin(), wkc.end()));

  auto server = wrap_keys::tls_crypt(kc, true);
  auto client = wrap_keys::tls_crypt(kc, false);
  auto u = do_unwrap(server, bytes(wrapped.begin(), wrapped.end()));
  ASSERT_EQ(u.err, wrap_err::ok);
  EXPECT_EQ(wire::op_of(u.op), wire::P_CONTROL_HARD_RESET_CLIENT_V3);
  EXPECT_EQ(u.rid.counter, 0x0f000001u);  // §4.3 early-negotiation signal
  EXPECT_EQ(u.rid.time, 0x6b0a89dfu);
  EXPECT_EQ(u.body, hx("00 00000000"));

  const bytes answer = hx(
      "40 0cc0deb0027d946a 00000001 6b0a89e0 0aca061a28ae4bc53774634c78c6ad31c736051589b3f485dddc1f9e6b8698a1"
      "ee3cf7c7f3e554f35b16ca41b65ac75876fac64b1fc8cf");
  ASSERT_EQ(answer.size(), 72u);
  auto a = do_unwrap(client, answer);
  ASSERT_EQ(a.err, wrap_err::ok);
  EXPECT_EQ(a.body, hx("01 00000000 5c1d27bfdd0f0121 00000000 0001 0002 0001"));
  EXPECT_EQ(do_wrap(server, a), answer);

  bytes bad = v3;
  bad[100] ^= 1;  // inside WKc
  ASSERT_EQ(tcv2_split(bad, wrapped, wkc), wrap_err::ok);
  EXPECT_EQ(tcv2_unwrap_wkc(sk, wkc, kc, meta), wrap_err::bad_wkc_tag);
}

// Round trips for every mode and direction pair, random bodies, and truncations that must fail.
TEST(tls_wrap, round_trip_all_modes) {
  std::mt19937 rng(7);
  struct pair {
    wrap_keys tx, rx;
  };
  std::vector<pair> pairs = {{wrap_keys::none(), wrap_keys::none()},
                             {wrap_keys::tls_crypt(k_upstream, true), wrap_keys::tls_crypt(k_upstream, false)},
                             {wrap_keys::tls_crypt(k_upstream, false), wrap_keys::tls_crypt(k_upstream, true)}};
  for (auto d : {crypto::digest_alg::sha1, crypto::digest_alg::sha256, crypto::digest_alg::sha512}) {
    pairs.push_back({wrap_keys::tls_auth(k_upstream, d, 0), wrap_keys::tls_auth(k_upstream, d, 1)});
    pairs.push_back({wrap_keys::tls_auth(k_upstream, d, 1), wrap_keys::tls_auth(k_upstream, d, 0)});
    pairs.push_back({wrap_keys::tls_auth(k_upstream, d, -1), wrap_keys::tls_auth(k_upstream, d, -1)});
  }
  for (size_t pi = 0; pi < pairs.size(); ++pi) {
    const auto& [tx, rx] = pairs[pi];
    for (size_t len : {0, 1, 5, 15, 16, 17, 100, 1250}) {
      unwrapped in;
      in.op = static_cast<uint8_t>(rng());
      for (auto& b : in.sid) b = static_cast<uint8_t>(rng());
      in.rid = {static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng())};
      in.body.resize(len);
      for (auto& b : in.body) b = static_cast<uint8_t>(rng());
      bytes out = {0xaa, 0xbb};  // wrap appends
      wrap(tx, in.op, in.sid, in.body, in.rid, out);
      ASSERT_EQ(out.size(), 2 + wire::k_ctl_header + tx.overhead() + len) << "pair " << pi;
      EXPECT_EQ(out[0], 0xaa);
      bytes pkt(out.begin() + 2, out.end());
      auto u = do_unwrap(rx, pkt);
      ASSERT_EQ(u.err, wrap_err::ok) << "pair " << pi << " len " << len;
      EXPECT_EQ(u.op, in.op);
      EXPECT_EQ(u.sid, in.sid);
      EXPECT_EQ(u.body, in.body);
      if (tx.mode != wrap_mode::none) {
        EXPECT_EQ(u.rid.counter, in.rid.counter);
        EXPECT_EQ(u.rid.time, in.rid.time);
        bytes cut(pkt.begin(), pkt.end() - 1);
        EXPECT_NE(do_unwrap(rx, cut).err, wrap_err::ok);
      }
      for (size_t n = 0; n < wire::k_ctl_header + rx.overhead(); ++n)
        EXPECT_EQ(do_unwrap(rx, bytes(pkt.begin(), pkt.begin() + n)).err, wrap_err::too_short);
    }
  }
}

TEST(tls_wrap, error_strings) {
  for (auto e : {wrap_err::ok, wrap_err::too_short, wrap_err::bad_hmac, wrap_err::bad_tag, wrap_err::bad_wkc_len,
                 wrap_err::wkc_too_long, wrap_err::bad_wkc_tag, wrap_err::bad_metadata})
    EXPECT_STRNE(to_string(e), "unknown");
  EXPECT_STREQ(to_string(static_cast<wrap_err>(200)), "unknown");
}

// tls-crypt-v2-max-age (openvpn 2.7's tls_crypt_v2_check_client_key_age), numbered cases.
TEST(tls_wrap, tcv2_key_age) {
  auto ts_meta = [](uint64_t t) {
    std::vector<uint8_t> m{wire::k_tcv2_meta_timestamp};
    for (int i = 7; i >= 0; --i) m.push_back(static_cast<uint8_t>(t >> (8 * i)));
    return m;
  };
  const uint64_t now = 1'800'000'000, day = 86400;
  struct row {
    int n;
    std::vector<uint8_t> meta;
    uint32_t days;
    bool ok;
  };
  const row rows[] = {
      {1, ts_meta(now), 1, true},
      {2, ts_meta(now - day), 1, true},           // exactly n days: kept (openvpn: older than)
      {3, ts_meta(now - day - 1), 1, false},
      {4, ts_meta(now - 30 * day), 365, true},
      {5, ts_meta(now + 5 * day), 1, true},       // from the future: not too old
      {6, {wire::k_tcv2_meta_user, 1, 2, 3, 4, 5, 6, 7, 8}, 365, false},  // user metadata: no timestamp
      {7, {wire::k_tcv2_meta_timestamp, 0, 0, 0}, 365, false},           // too short
      {8, {}, 365, false},
  };
  for (const row& r : rows) EXPECT_EQ(tcv2_key_age_ok(r.meta, now, r.days), r.ok) << "row " << r.n;
}
