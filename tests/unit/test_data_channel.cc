// SPDX-License-Identifier: MIT
// Data channel tests: lab known answers (§15.9-§15.11), round trips over every cipher, backend,
// header version and framing, replay, tamper, truncation, packet-id limits and room checks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dpvpn/data_channel.h"

namespace dpvpn::proto {
namespace {

using crypto::backend;
using crypto::cipher_alg;
using crypto::digest_alg;
using bytes = std::vector<uint8_t>;

bytes hex(std::string_view s) {
  bytes out;
  int hi = -1;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;  // spaces in the vectors as printed in the doc
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

using key2_t = std::array<uint8_t, wire::k_key2_size>;

// keys[d].cipher starts at 128d, keys[d].hmac at 128d + 64 (§7).
void put(key2_t& k, size_t off, const bytes& b) { std::memcpy(k.data() + off, b.data(), b.size()); }

crypto::engine& eng() {
  static std::unique_ptr<crypto::engine> e = crypto::engine::create();
  return *e;
}

struct suite {
  cipher_alg c;
  digest_alg d;
  const char* name;
};
const suite k_suites[] = {
    {cipher_alg::aes_128_gcm, digest_alg::none, "AES-128-GCM"},
    {cipher_alg::aes_256_gcm, digest_alg::none, "AES-256-GCM"},
    {cipher_alg::chacha20_poly1305, digest_alg::none, "CHACHA20-POLY1305"},
    {cipher_alg::aes_128_cbc, digest_alg::sha1, "AES-128-CBC/SHA1"},
    {cipher_alg::aes_128_cbc, digest_alg::sha256, "AES-128-CBC/SHA256"},
    {cipher_alg::aes_256_cbc, digest_alg::sha1, "AES-256-CBC/SHA1"},
    {cipher_alg::aes_256_cbc, digest_alg::sha256, "AES-256-CBC/SHA256"},
    {cipher_alg::aes_256_cbc, digest_alg::sha512, "AES-256-CBC/SHA512"},
};
const comp_framing k_framings[] = {comp_framing::none, comp_framing::lzo_no, comp_framing::stub,
                                   comp_framing::stub_v2};
const backend k_backends[] = {backend::openssl, backend::ipsec_mb};

key2_t test_key2() {
  key2_t k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 37 + 11);
  return k;
}

data_key_params params(const suite& s, backend b) {
  data_key_params p;
  p.cipher = s.c;
  p.digest = s.d;
  p.backend = b;
  return p;
}

std::unique_ptr<dc_tx> make_tx(const data_key_params& p, const key2_t& k, int dir) {
  std::string err;
  auto tx = dc_tx::create(p, k, dir, &err);
  EXPECT_TRUE(tx) << err;
  return tx;
}
std::unique_ptr<dc_rx> make_rx(const data_key_params& p, const key2_t& k, int dir) {
  std::string err;
  auto rx = dc_rx::create(p, k, dir, &err);
  EXPECT_TRUE(rx) << err;
  return rx;
}

bytes pattern(size_t n, uint8_t seed) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 131 + (i >> 8));
  return b;
}

// Opens a copy of pkt; returns the error and the payload.
dc_err open_copy(dc_rx& rx, const bytes& pkt, comp_framing f, bytes* payload = nullptr, dc_kind* kind = nullptr,
                 uint32_t tailroom = 0) {
  owned_buf ob(pkt, k_min_headroom, tailroom);
  dc_kind k = dc_kind::ip;
  dc_err e = rx.open(eng(), ob.view(), 1000, f, k);
  if (payload) *payload = ob.bytes();
  if (kind) *kind = k;
  return e;
}

bytes seal_copy(dc_tx& tx, const bytes& payload, uint8_t kid, uint32_t peer_id, comp_framing f,
                dc_err expect = dc_err::ok) {
  owned_buf ob(payload, k_min_headroom, 128);
  EXPECT_EQ(tx.seal(eng(), ob.view(), kid, peer_id, f), expect);
  return ob.bytes();
}

// ---- §15.9 lab vector A: AES-256-GCM pings, full key2 --------------------------------------

key2_t lab_a_key2() {
  key2_t k;
  bytes b = hex(
      "693bc4b80940c58f39bb8b4e77b2141f106942a4ee630f80da99719d3e78af37"
      "688842bd6d1e17eebcad1c5aa5b068136daaf03701b1490b7da85b290161c65c"
      "d2847b770e68ffa603c444148cb31c1f8d33fd9bb039c9960067ed0d58db219d"
      "06f35490763ee6af61b662600ad4d091301a0892f6f83642de0fae7f231c4b8d"
      "dea59009b18eacff6ae1a54ad87005ee7983082348c247e049b31f0b3bede504"
      "4d82a483d9b7f1da64a306f8c25532c68ff96b55fcdce4625a31733e43aab343"
      "02152f4e55a7713886502dfdc4560d8012281f1395d3280e35fb998070b248a5"
      "8acdcfbd195eba874979b36f717a5b4a577426d923a6144221e6ceebb0b2e35b");
  EXPECT_EQ(b.size(), k.size());
  std::memcpy(k.data(), b.data(), k.size());
  return k;
}
const bytes k_lab_a_c2s = hex("48000000 00000004 6c7776f036e04c22d8dcb7182f3fb1ee 616310da8c7141548892f501a44fd8cf");
const bytes k_lab_a_s2c = hex("48000000 00000003 e4b54cd540b3cab9fd2b0648fe89991e 4aae6f3217450012f335fda66c98412c");
const bytes k_ping(wire::k_ping_magic.begin(), wire::k_ping_magic.end());

TEST(DataChannelVectors, LabA_ServerOpensClientPing) {
  for (backend be : k_backends) {
    data_key_params p = params(k_suites[1], be);
    auto rx = make_rx(p, lab_a_key2(), k_dir_client_to_server);
    bytes out;
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, k_lab_a_c2s, comp_framing::none, &out, &kind), dc_err::ok) << crypto::name(be);
    EXPECT_EQ(out, k_ping);
    EXPECT_EQ(kind, dc_kind::ping);
    EXPECT_EQ(rx->replay().highest_id(), 4u);
  }
}

TEST(DataChannelVectors, LabA_ClientOpensServerPingWithDir1) {
  for (backend be : k_backends) {
    data_key_params p = params(k_suites[1], be);
    auto rx = make_rx(p, lab_a_key2(), k_dir_server_to_client);
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, k_lab_a_s2c, comp_framing::none, nullptr, &kind), dc_err::ok);
    EXPECT_EQ(kind, dc_kind::ping);
    // The wrong direction's keys do not open it.
    auto wrong = make_rx(p, lab_a_key2(), k_dir_client_to_server);
    EXPECT_EQ(open_copy(*wrong, k_lab_a_s2c, comp_framing::none), dc_err::bad_tag);
  }
}

TEST(DataChannelVectors, LabA_SealReproducesBothPings) {
  for (backend be : k_backends) {
    data_key_params p = params(k_suites[1], be);
    auto srv = make_tx(p, lab_a_key2(), k_dir_server_to_client);  // server seals with d=1
    srv->set_packet_id(2);
    EXPECT_EQ(seal_copy(*srv, k_ping, 0, 0, comp_framing::none), k_lab_a_s2c);
    auto cli = make_tx(p, lab_a_key2(), k_dir_client_to_server);
    cli->set_packet_id(3);
    EXPECT_EQ(seal_copy(*cli, k_ping, 0, 0, comp_framing::none), k_lab_a_c2s);
  }
}

// ---- §15.10 lab vector B: only the first key rows are known; zeros elsewhere ----------------

TEST(DataChannelVectors, LabB_FirstClientPacket) {
  key2_t k{};
  put(k, 0, hex("996ef9cb5b39f853c3a139321cdd5b41aa7a9dfc1aef0927a19a7c2952124023"));
  put(k, 64, hex("eb77d127307ed720"));
  const bytes pkt = hex(
      "48000000 00000001 2a1c920119eda69c8437ca5f22f57918 "
      "3d72f634f19378aec783bfa2768e6849ae08cf6d1151aad7f900e7dde5251ec3dc192eab72679334751f80c49e810914");
  for (backend be : k_backends) {
    data_key_params p = params(k_suites[1], be);
    auto rx = make_rx(p, k, k_dir_client_to_server);
    bytes out;
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, pkt, comp_framing::none, &out, &kind), dc_err::ok);
    ASSERT_EQ(out.size(), 48u);
    EXPECT_EQ(bytes(out.begin(), out.begin() + 10), hex("6000000000083afffe80"));
    EXPECT_EQ(kind, dc_kind::ip);
    auto tx = make_tx(p, k, k_dir_client_to_server);
    EXPECT_EQ(seal_copy(*tx, out, 0, 0, comp_framing::none), pkt);
  }
}

// ---- §15.11 lab vector C: AES-256-CBC + HMAC-SHA256 -----------------------------------------

TEST(DataChannelVectors, LabC_CbcHmacSha256) {
  key2_t k{};
  put(k, 0, hex("f2a6fa02ba625deb512ccf0ba2a64ff700958251342a762275f66d1f83a4a876"));
  put(k, 64, hex("47cfeb0e177f658ca1ae5b914a9087d0c74e79557c19eeaa3b87cf85ea61973a"));
  const bytes pkt = hex(
      "48000000 d41cbad3ace7ee907cf2914790fc6666818c63932d4bef247c9bc0f744d57975 "
      "63fe7741ff123a8d04357b931a14f8da "
      "e18b5e5f7e594d01978c04fbfae4854f64195e272e6d7309372dd0fa0320aa14"
      "bb13d77832975df75f94aa9b50fa3cc7d8d062f1357f100fb833a5f721b8c754");
  ASSERT_EQ(pkt.size(), 116u);
  for (backend be : k_backends) {
    data_key_params p = params(k_suites[6], be);
    auto rx = make_rx(p, k, k_dir_client_to_server);
    bytes out;
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, pkt, comp_framing::none, &out, &kind), dc_err::ok) << crypto::name(be);
    EXPECT_EQ(rx->replay().highest_id(), 1u);
    ASSERT_EQ(out.size(), 48u);
    EXPECT_EQ(out[0] >> 4, 6);                  // IPv6
    EXPECT_EQ(wire::get_u16(&out[4]), 48 - 40);  // payload length matches
    EXPECT_EQ(kind, dc_kind::ip);
    EXPECT_EQ(open_copy(*rx, pkt, comp_framing::none), dc_err::replay);
  }
}

// ---- round trips --------------------------------------------------------------------------

size_t framed_len(size_t n, const bytes& payload, comp_framing f) {
  if (n == 0) return 0;
  switch (f) {
    case comp_framing::none: return n;
    case comp_framing::lzo_no:
    case comp_framing::stub: return n + 1;
    case comp_framing::stub_v2: return payload[0] == 0x50 ? n + 2 : n;
  }
  return n;
}

size_t expected_len(const suite& s, bool v2, size_t framed) {
  const size_t hdr = v2 ? 4 : 1;
  if (crypto::is_aead(s.c)) return hdr + 4 + 16 + framed;
  const size_t plain = 4 + framed;
  return hdr + crypto::digest_len(s.d) + 16 + plain + (16 - plain % 16);
}

void round_trip(const suite& s, backend tx_be, backend rx_be, bool v2, comp_framing f, const std::vector<size_t>& sizes) {
  const key2_t k = test_key2();
  auto tx = make_tx(params(s, tx_be), k, k_dir_server_to_client);
  auto rx = make_rx(params(s, rx_be), k, k_dir_server_to_client);
  ASSERT_TRUE(tx && rx);
  const uint32_t peer = v2 ? 0x123456 : wire::k_peer_id_none;
  for (size_t n : sizes) {
    SCOPED_TRACE(testing::Message() << s.name << " tx=" << crypto::name(tx_be) << " rx=" << crypto::name(rx_be)
                                    << " v2=" << v2 << " framing=" << int(f) << " size=" << n);
    const bytes payload = pattern(n, uint8_t(n));
    const bytes pkt = seal_copy(*tx, payload, 5, peer, f);
    ASSERT_EQ(pkt.size(), expected_len(s, v2, framed_len(n, payload, f)));
    EXPECT_EQ(pkt[0], wire::op_byte(v2 ? wire::P_DATA_V2 : wire::P_DATA_V1, 5));
    if (v2) {
      EXPECT_EQ(wire::get_u24(&pkt[1]), peer);
    }
    bytes out;
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, pkt, f, &out, &kind), dc_err::ok);
    ASSERT_EQ(out, payload);
  }
  EXPECT_EQ(tx->packet_id(), sizes.size());
  EXPECT_EQ(rx->replay().highest_id(), sizes.size());
}

std::vector<size_t> all_sizes() {
  std::vector<size_t> v;
  for (size_t n = 0; n <= 1500; ++n) v.push_back(n);
  v.push_back(9000);
  return v;
}

class DataChannelRoundTrip : public testing::TestWithParam<size_t> {};

// Every size with the other backend opening; the same-backend pairs get a short size list.
TEST_P(DataChannelRoundTrip, AllSizesFramingsVersionsBackends) {
  const suite& s = k_suites[GetParam()];
  const std::vector<size_t> full = all_sizes();
  const std::vector<size_t> some = {0, 1, 15, 16, 17, 31, 32, 80, 1400, 1500, 9000};
  for (bool v2 : {true, false})
    for (comp_framing f : k_framings) {
      round_trip(s, backend::openssl, backend::ipsec_mb, v2, f, full);
      round_trip(s, backend::ipsec_mb, backend::openssl, v2, f, full);
      round_trip(s, backend::openssl, backend::openssl, v2, f, some);
      round_trip(s, backend::ipsec_mb, backend::ipsec_mb, v2, f, some);
    }
}
INSTANTIATE_TEST_SUITE_P(Suites, DataChannelRoundTrip, testing::Range(size_t{0}, std::size(k_suites)),
                         [](const testing::TestParamInfo<size_t>& i) {
                           std::string n = k_suites[i.param].name;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// ---- framing bytes on the wire (§9.1) -------------------------------------------------------

TEST(DataChannelFraming, BytesInsideThePacket) {
  const key2_t k = test_key2();
  const data_key_params p = params(k_suites[1], backend::openssl);
  auto tx = make_tx(p, k, 0);
  auto rx = make_rx(p, k, 0);
  const bytes ip = {0x45, 0x01, 0x02, 0x03};
  const bytes v2esc = {0x50, 0x01, 0x02};
  struct row {
    comp_framing f;
    bytes in;
    bytes inner;
  } rows[] = {
      {comp_framing::none, ip, ip},
      {comp_framing::lzo_no, ip, {0xFA, 0x45, 0x01, 0x02, 0x03}},
      {comp_framing::stub, ip, {0xFB, 0x01, 0x02, 0x03, 0x45}},
      {comp_framing::stub_v2, ip, ip},
      {comp_framing::stub_v2, v2esc, {0x50, 0x00, 0x50, 0x01, 0x02}},  // what 2.6.14 reads (§9.1 note 1)
      {comp_framing::lzo_no, {}, {}},
      {comp_framing::stub, {0x99}, {0xFB, 0x99}},
  };
  for (const row& r : rows) {
    const bytes pkt = seal_copy(*tx, r.in, 0, 1, r.f);
    bytes inner;
    ASSERT_EQ(open_copy(*rx, pkt, comp_framing::none, &inner), dc_err::ok);  // see the raw framed bytes
    EXPECT_EQ(inner, r.inner) << int(r.f);
  }
}

TEST(DataChannelFraming, MismatchIsBadFramingButConsumesTheId) {
  const key2_t k = test_key2();
  const data_key_params p = params(k_suites[0], backend::openssl);
  auto tx = make_tx(p, k, 0);
  auto rx = make_rx(p, k, 0);
  const bytes ip = {0x45, 0, 0, 20};
  EXPECT_EQ(open_copy(*rx, seal_copy(*tx, ip, 0, 1, comp_framing::none), comp_framing::lzo_no), dc_err::bad_framing);
  EXPECT_EQ(open_copy(*rx, seal_copy(*tx, ip, 0, 1, comp_framing::lzo_no), comp_framing::stub), dc_err::bad_framing);
  EXPECT_EQ(open_copy(*rx, seal_copy(*tx, ip, 0, 1, comp_framing::none), comp_framing::stub), dc_err::bad_framing);
  // 0x50 followed by an algorithm byte other than 0 (for example 2.6.14's own 0x0A).
  EXPECT_EQ(open_copy(*rx, seal_copy(*tx, {0x50, 0x0A, 0x45}, 0, 1, comp_framing::none), comp_framing::stub_v2),
            dc_err::bad_framing);
  EXPECT_EQ(open_copy(*rx, seal_copy(*tx, {0x50}, 0, 1, comp_framing::none), comp_framing::stub_v2),
            dc_err::bad_framing);
  // The packet authenticated, so its id is spent (§8.5: record after authentication).
  EXPECT_EQ(rx->replay().highest_id(), 5u);
}

// ---- replay (§8.5) --------------------------------------------------------------------------

TEST(DataChannelReplay, ReorderWithinWindowReplayAndTooOld) {
  for (const suite& s : {k_suites[1], k_suites[6]}) {
    const key2_t k = test_key2();
    auto tx = make_tx(params(s, backend::ipsec_mb), k, 0);
    auto rx = make_rx(params(s, backend::openssl), k, 0);
    std::vector<bytes> pkts;
    for (int i = 1; i <= 70; ++i) pkts.push_back(seal_copy(*tx, pattern(40, uint8_t(i)), 1, 2, comp_framing::none));
    // #n is pkts[n-1].
    for (int n : {1, 3, 2, 5, 4}) EXPECT_EQ(open_copy(*rx, pkts[n - 1], comp_framing::none), dc_err::ok) << n;
    EXPECT_EQ(open_copy(*rx, pkts[2], comp_framing::none), dc_err::replay);
    EXPECT_EQ(open_copy(*rx, pkts[69], comp_framing::none), dc_err::ok);
    EXPECT_EQ(open_copy(*rx, pkts[5], comp_framing::none), dc_err::replay);   // 70 - 6 >= 64: too old
    EXPECT_EQ(open_copy(*rx, pkts[9], comp_framing::none), dc_err::ok);       // 70 - 10 < 64: in window
    EXPECT_EQ(open_copy(*rx, pkts[9], comp_framing::none), dc_err::replay);
    EXPECT_EQ(rx->replay().highest_id(), 70u);
  }
}

// ---- tampering and truncation ----------------------------------------------------------------

// Bits that no check covers: the key_id (the caller picks the key state by it), and for CBC
// the peer-id, which §8.2 leaves out of the HMAC. Each is tested to open as-is.
bool unauthenticated_bit(const suite& s, bool v2, size_t byte, int bit) {
  if (byte == 0 && bit < 3) return !(crypto::is_aead(s.c) && v2);
  return !crypto::is_aead(s.c) && v2 && byte >= 1 && byte <= 3;
}

TEST(DataChannelTamper, EveryFlippedBitFailsAndLeavesTheWindow) {
  const key2_t k = test_key2();
  for (const suite& s : k_suites)
    for (bool v2 : {true, false}) {
      SCOPED_TRACE(testing::Message() << s.name << " v2=" << v2);
      auto tx = make_tx(params(s, backend::openssl), k, 1);
      auto rx = make_rx(params(s, backend::ipsec_mb), k, 1);
      tx->set_packet_id(1000);  // several bits set: no single flip makes the id 0
      const bytes pkt = seal_copy(*tx, pattern(100, 7), 2, v2 ? 9 : wire::k_peer_id_none, comp_framing::none);
      for (size_t i = 0; i < pkt.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
          bytes bad = pkt;
          bad[i] ^= uint8_t(1u << bit);
          const dc_err e = open_copy(*rx, bad, comp_framing::none);
          if (unauthenticated_bit(s, v2, i, bit)) {
            EXPECT_EQ(e, dc_err::ok) << i << ":" << bit;
            rx = make_rx(params(s, backend::ipsec_mb), k, 1);  // forget the id it recorded
          } else if (i == 0 && bit >= 3) {
            EXPECT_EQ(e, dc_err::bad_opcode) << bit;
          } else {
            EXPECT_EQ(e, dc_err::bad_tag) << i << ":" << bit;
          }
          ASSERT_EQ(rx->replay().highest_id(), 0u);
        }
      EXPECT_EQ(open_copy(*rx, pkt, comp_framing::none), dc_err::ok);
    }
}

TEST(DataChannelTamper, EveryTruncationFailsCleanly) {
  const key2_t k = test_key2();
  for (const suite& s : k_suites)
    for (bool v2 : {true, false}) {
      auto tx = make_tx(params(s, backend::ipsec_mb), k, 0);
      auto rx = make_rx(params(s, backend::ipsec_mb), k, 0);
      const bytes pkt = seal_copy(*tx, pattern(61, 3), 0, v2 ? 0 : wire::k_peer_id_none, comp_framing::stub);
      for (size_t n = 0; n < pkt.size(); ++n) {
        // No tailroom: ASan sees any read past the end.
        const dc_err e = open_copy(*rx, bytes(pkt.begin(), pkt.begin() + n), comp_framing::stub);
        EXPECT_TRUE(e == dc_err::too_short || e == dc_err::bad_tag) << s.name << " n=" << n << " " << to_string(e);
      }
      EXPECT_EQ(rx->replay().highest_id(), 0u);
      EXPECT_EQ(open_copy(*rx, pkt, comp_framing::stub), dc_err::ok);
    }
}

TEST(DataChannelTamper, CbcBadPaddingAndMisalignmentBehindAValidHmac) {
  // A peer holding the keys can still send malformed plaintext; build such packets by hand.
  const key2_t k = test_key2();
  const suite s = k_suites[6];
  auto key = crypto::cbc_hmac_key::create(backend::openssl, s.c, s.d, std::span(k).subspan(0, 32),
                                          std::span(k).subspan(64, 32));
  ASSERT_TRUE(key);
  auto rx = make_rx(params(s, backend::openssl), k, 0);
  auto build = [&](bytes plain, size_t ct_len_override = 0) {
    bytes iv(16, 0x11);
    bytes ct = plain;
    if (ct.size() % 16 == 0) key->encrypt(eng(), iv.data(), plain.data(), plain.size(), ct.data());
    if (ct_len_override) ct.resize(ct_len_override);
    bytes mac_in = iv;
    mac_in.insert(mac_in.end(), ct.begin(), ct.end());
    bytes mac(32);
    key->hmac(eng(), mac_in.data(), mac_in.size(), mac.data());
    bytes pkt = {0x48, 0, 0, 0};
    pkt.insert(pkt.end(), mac.begin(), mac.end());
    pkt.insert(pkt.end(), iv.begin(), iv.end());
    pkt.insert(pkt.end(), ct.begin(), ct.end());
    return pkt;
  };
  bytes good = {0, 0, 0, 1, 0x45, 0x00};
  good.resize(16, 10);
  EXPECT_EQ(open_copy(*rx, build(good), comp_framing::none), dc_err::ok);
  bytes zero_pad = good;
  zero_pad[15] = 0;
  zero_pad[3] = 2;
  EXPECT_EQ(open_copy(*rx, build(zero_pad), comp_framing::none), dc_err::bad_padding);
  bytes uneven = good;
  uneven[3] = 3;
  uneven[8] = 9;
  EXPECT_EQ(open_copy(*rx, build(uneven), comp_framing::none), dc_err::bad_padding);
  bytes eats_pid(16, 14);  // padding 14 leaves only 2 bytes for the packet-id
  EXPECT_EQ(open_copy(*rx, build(eats_pid), comp_framing::none), dc_err::bad_padding);
  bytes big(16, 17);
  EXPECT_EQ(open_copy(*rx, build(big), comp_framing::none), dc_err::bad_padding);
  EXPECT_EQ(open_copy(*rx, build(bytes(20, 4)), comp_framing::none), dc_err::bad_padding);  // 20 bytes: not blocks
  EXPECT_EQ(rx->replay().highest_id(), 1u);
}

// ---- kinds (§9.2, §9.3) ----------------------------------------------------------------------

TEST(DataChannelKinds, PingAndOcc) {
  const bytes occ(wire::k_occ_magic.begin(), wire::k_occ_magic.end());
  bytes occ_exit = occ;
  occ_exit.push_back(wire::k_occ_exit);
  bytes occ_req = occ;
  occ_req.push_back(wire::k_occ_request);
  bytes ping_plus = k_ping;
  ping_plus.push_back(0);
  EXPECT_EQ(classify_payload(k_ping), dc_kind::ping);
  EXPECT_EQ(classify_payload(ping_plus), dc_kind::ip);
  EXPECT_EQ(classify_payload(std::span(k_ping).first(15)), dc_kind::ip);
  EXPECT_EQ(classify_payload(occ_exit), dc_kind::occ_exit);
  EXPECT_EQ(classify_payload(occ_req), dc_kind::occ_other);
  EXPECT_EQ(classify_payload(occ), dc_kind::occ_other);
  EXPECT_EQ(classify_payload({}), dc_kind::ip);

  const key2_t k = test_key2();
  for (comp_framing f : k_framings) {
    auto tx = make_tx(params(k_suites[2], backend::ipsec_mb), k, 1);
    auto rx = make_rx(params(k_suites[2], backend::openssl), k, 1);
    dc_kind kind;
    ASSERT_EQ(open_copy(*rx, seal_copy(*tx, k_ping, 0, 0, f), f, nullptr, &kind), dc_err::ok);
    EXPECT_EQ(kind, dc_kind::ping);
    ASSERT_EQ(open_copy(*rx, seal_copy(*tx, occ_exit, 0, 0, f), f, nullptr, &kind), dc_err::ok);
    EXPECT_EQ(kind, dc_kind::occ_exit);
    ASSERT_EQ(open_copy(*rx, seal_copy(*tx, ping_plus, 0, 0, f), f, nullptr, &kind), dc_err::ok);
    EXPECT_EQ(kind, dc_kind::ip);
  }
}

// ---- packet-id limits (§8.3) -----------------------------------------------------------------

TEST(DataChannelPacketId, ExhaustionAndWrapTrigger) {
  const key2_t k = test_key2();
  for (const suite& s : {k_suites[1], k_suites[5]}) {
    auto tx = make_tx(params(s, backend::openssl), k, 0);
    auto rx = make_rx(params(s, backend::openssl), k, 0);
    tx->set_packet_id(0xFEFFFFFE);
    EXPECT_FALSE(tx->wrap_due());
    seal_copy(*tx, k_ping, 0, 0, comp_framing::none);
    EXPECT_FALSE(tx->wrap_due());  // 0xFEFFFFFF
    seal_copy(*tx, k_ping, 0, 0, comp_framing::none);
    EXPECT_TRUE(tx->wrap_due());  // 0xFF000000
    tx->set_packet_id(0xFFFFFFFE);
    const bytes last = seal_copy(*tx, k_ping, 0, 0, comp_framing::none);  // id 0xFFFFFFFF is still sent
    EXPECT_EQ(open_copy(*rx, last, comp_framing::none), dc_err::ok);
    EXPECT_EQ(rx->replay().highest_id(), 0xFFFFFFFFu);
    EXPECT_EQ(seal_copy(*tx, k_ping, 0, 0, comp_framing::none, dc_err::packet_id_exhausted), k_ping);
    EXPECT_EQ(tx->packet_id(), 0xFFFFFFFFu);
  }
}

// ---- room ------------------------------------------------------------------------------------

TEST(DataChannelRoom, NoRoomLeavesEverythingUntouched) {
  const key2_t k = test_key2();
  struct row {
    size_t suite;
    comp_framing f;
    size_t len;
    uint32_t head, tail;  // exactly enough
  } rows[] = {
      {1, comp_framing::none, 100, 24, 0},     {1, comp_framing::lzo_no, 100, 25, 0},
      {1, comp_framing::stub, 100, 24, 1},     {6, comp_framing::none, 12, 4 + 32 + 16 + 4, 16},
      {6, comp_framing::none, 11, 56, 1},      {3, comp_framing::lzo_no, 11, 4 + 20 + 16 + 4 + 1, 16},
      {7, comp_framing::stub, 27, 4 + 64 + 16 + 4, 1 + 16},
  };
  for (const row& r : rows) {
    const suite& s = k_suites[r.suite];
    auto tx = make_tx(params(s, backend::openssl), k, 0);
    const bytes payload = pattern(r.len, 1);
    for (int which = 0; which < 2; ++which) {
      if (which == 1 && r.tail == 0) continue;
      owned_buf ob(payload, r.head - (which == 0), r.tail - (which == 1));
      EXPECT_EQ(tx->seal(eng(), ob.view(), 0, 0, r.f), dc_err::no_room) << s.name << " " << which;
      EXPECT_EQ(ob.bytes(), payload);
      EXPECT_EQ(tx->packet_id(), 0u);
    }
    owned_buf ok(payload, r.head, r.tail);
    EXPECT_EQ(tx->seal(eng(), ok.view(), 0, 0, r.f), dc_err::ok) << s.name;
    EXPECT_EQ(ok.view().headroom, 0u);
    EXPECT_EQ(ok.view().tailroom, 0u);
  }
}

// ---- key setup (§7.3) ------------------------------------------------------------------------

TEST(DataChannelKeys, WeakKeyDirectionAndUnsupported) {
  key2_t k{};
  std::string err;
  EXPECT_FALSE(dc_tx::create(params(k_suites[1], backend::openssl), k, 0, &err));
  EXPECT_NE(err.find("weak"), std::string::npos);
  // AES-128 looks only at 16 bytes: the rest of the slot does not make it strong.
  for (size_t i = 16; i < 64; ++i) k[i] = 1;
  err.clear();
  EXPECT_FALSE(dc_rx::create(params(k_suites[0], backend::ipsec_mb), k, 0, &err));
  EXPECT_FALSE(err.empty());
  EXPECT_TRUE(dc_rx::create(params(k_suites[1], backend::ipsec_mb), k, 0, &err));
  // keys[1] is still zero.
  EXPECT_FALSE(dc_tx::create(params(k_suites[1], backend::ipsec_mb), k, 1, &err));
  k = test_key2();
  EXPECT_FALSE(dc_tx::create(params(k_suites[1], backend::openssl), k, 2, &err));
  EXPECT_FALSE(dc_tx::create(params(k_suites[1], backend::openssl), k, -1, &err));
  data_key_params p = params(k_suites[5], backend::openssl);
  p.digest = digest_alg::none;
  EXPECT_FALSE(dc_rx::create(p, k, 0, &err));
  p = params(k_suites[1], backend::openssl);
  p.cipher = cipher_alg::none;
  EXPECT_FALSE(dc_rx::create(p, k, 0, &err));
}

TEST(DataChannelMisc, ToStringAndOpcodeCheck) {
  for (int i = 0; i <= int(dc_err::crypto_failure); ++i) EXPECT_STRNE(to_string(dc_err(i)), "unknown");
  const key2_t k = test_key2();
  auto rx = make_rx(params(k_suites[1], backend::openssl), k, 0);
  EXPECT_EQ(open_copy(*rx, {}, comp_framing::none), dc_err::too_short);
  bytes ctl(64, 0);
  ctl[0] = wire::op_byte(wire::P_CONTROL_V1, 0);
  EXPECT_EQ(open_copy(*rx, ctl, comp_framing::none), dc_err::bad_opcode);
}

// ---- fuzz seeds ------------------------------------------------------------------------------
// DPVPN_WRITE_SEEDS=<dir> ./test_data_channel --gtest_filter='*FuzzSeeds*' writes valid sealed
// packets in the input format of tests/fuzz/fuzz_data_open.cc (selector byte, then the packet).

TEST(DataChannelFuzzSeeds, Write) {
  const char* dir = std::getenv("DPVPN_WRITE_SEEDS");
  if (!dir) GTEST_SKIP() << "set DPVPN_WRITE_SEEDS=<dir> to write the fuzz seeds";
  const key2_t k = test_key2();
  int n = 0;
  for (size_t si = 0; si < std::size(k_suites); ++si)
    for (size_t fi = 0; fi < std::size(k_framings); ++fi) {
      // Selector: bits 0-2 suite, bits 3-4 framing, bit 5 backend, bit 6 P_DATA_V1.
      const bool v1 = (si + fi) % 3 == 0;
      const uint8_t sel = uint8_t(si | fi << 3 | (si % 2) << 5 | (v1 ? 1 : 0) << 6);
      auto tx = make_tx(params(k_suites[si], backend::openssl), k, 0);
      const bytes payload = fi == 1 ? k_ping : pattern(20 + 7 * si, uint8_t(fi));
      bytes seed = {sel};
      const bytes pkt = seal_copy(*tx, payload, uint8_t(fi), v1 ? wire::k_peer_id_none : 3, k_framings[fi]);
      seed.insert(seed.end(), pkt.begin(), pkt.end());
      std::ofstream(std::filesystem::path(dir) / ("sealed_" + std::to_string(n++)), std::ios::binary)
          .write(reinterpret_cast<const char*>(seed.data()), std::streamsize(seed.size()));
    }
}

}  // namespace
}  // namespace dpvpn::proto
