// SPDX-License-Identifier: MIT
// Wire layer: classify, control body codec (§1.4, §2.2, vectors §15.3-15.5), TCP framing (§1.1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "dpvpn/packet.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : s)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(uint8_t(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

wire::session_id sid_of(const std::string& s) {
  auto b = hex(s);
  wire::session_id sid{};
  std::memcpy(sid.data(), b.data(), sid.size());
  return sid;
}

// §15.5 upstream test_parse_ack: a CONTROL_V1 with a TLS record header as payload.
const std::string k_ctl_v1 = "20 7819bf2ebcd19a45 01 00000000 eafebfa4418ae31b 00000001 160301";
const std::string k_ack_v1 = "28 aeb9afe1f01d79c8 01 00000000 dd85db535623b02e";
// §15.3 / §15.4 wrapped client resets (classification only looks at op and sid).
const std::string k_tls_crypt_reset =
    "38 f419cb12d1f9e48f 00000001 61d3f8e1 330206f56802be44fbed905064e3db43416bec5e526719462b7eb90c96defc9b"
    "05c44879f7";
const std::string k_tls_auth_reset =
    "38 de694c5c7bfba274 93537c1ded4e781529ae7cfe4b8c6d6b2b51f05a 00000001 61d3bf6c 00 00000000";

}  // namespace

// ---- classify ----------------------------------------------------------------------------

struct classify_case {
  int no;
  std::string pkt;
  pkt_err want;
  uint8_t op = 0, kid = 0;
  bool is_data = false;
  uint32_t peer_id = wire::k_peer_id_none;
};

TEST(packet, classify_table) {
  const classify_case cases[] = {
      {1, "", pkt_err::empty},
      {2, k_tls_crypt_reset, pkt_err::ok, wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0},
      {3, k_tls_auth_reset, pkt_err::ok, wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0},
      {4, k_ctl_v1, pkt_err::ok, wire::P_CONTROL_V1, 0},
      {5, k_ack_v1, pkt_err::ok, wire::P_ACK_V1, 0},
      // §1.5: DATA_V2 peer-id is the u24 after the op byte.
      {6, "4b 000102 00000001", pkt_err::ok, wire::P_DATA_V2, 3, true, 0x000102},
      {7, "48 ffffff", pkt_err::ok, wire::P_DATA_V2, 0, true, 0xffffff},
      {8, "48 0001", pkt_err::too_short},
      {9, "31 00000001", pkt_err::ok, wire::P_DATA_V1, 1, true},
      {10, "30", pkt_err::ok, wire::P_DATA_V1, 0, true},
      // §1.2: obsolete key-method 1 resets, opcode 0, 12..31 are unknown.
      {11, "08 0102030405060708 00 00000000", pkt_err::bad_opcode},
      {12, "10 0102030405060708 00 00000000", pkt_err::bad_opcode},
      {13, "00 0102030405060708", pkt_err::bad_opcode},
      {14, "60 0102030405060708", pkt_err::bad_opcode},
      {15, "ff 0102030405060708", pkt_err::bad_opcode},
      // Hard resets must use key_id 0; soft reset and CONTROL_V1 may use any.
      {16, "39 0102030405060708 00 00000000", pkt_err::bad_key_id},
      {17, "47 0102030405060708 00 00000000", pkt_err::bad_key_id},
      {18, "52 0102030405060708 00 00000000", pkt_err::bad_key_id},
      {19, "1b 0102030405060708 00 00000000", pkt_err::ok, wire::P_CONTROL_SOFT_RESET_V1, 3},
      {20, "5f 0102030405060708", pkt_err::ok, wire::P_CONTROL_WKC_V1, 7},
      // Control needs op + sid (9 bytes), §1.4 / Appendix C.
      {21, "20 01020304050607", pkt_err::too_short},
      {22, "20 0102030405060708", pkt_err::ok, wire::P_CONTROL_V1, 0},
      {23, "38", pkt_err::too_short},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.no));
    classified out;
    auto b = hex(c.pkt);
    ASSERT_EQ(classify(b, out), c.want) << to_string(classify(b, out));
    if (c.want != pkt_err::ok) continue;
    EXPECT_EQ(out.op, c.op);
    EXPECT_EQ(out.key_id, c.kid);
    EXPECT_EQ(out.is_data, c.is_data);
    EXPECT_EQ(out.peer_id, c.peer_id);
  }
}

TEST(packet, classify_size_limit) {
  std::vector<uint8_t> b(k_max_packet, 0);
  b[0] = wire::op_byte(wire::P_DATA_V2, 0);
  classified out;
  EXPECT_EQ(classify(b, out), pkt_err::ok);
  b.push_back(0);
  EXPECT_EQ(classify(b, out), pkt_err::too_long);
}

// ---- control decode ----------------------------------------------------------------------

TEST(packet, decode_control_v1_vector) {  // §15.5
  auto b = hex(k_ctl_v1);
  control_packet p;
  ASSERT_EQ(decode_control(b, p), pkt_err::ok);
  EXPECT_EQ(p.op, wire::P_CONTROL_V1);
  EXPECT_EQ(p.key_id, 0);
  EXPECT_EQ(p.sid, sid_of("7819bf2ebcd19a45"));
  ASSERT_EQ(p.acks.n, 1);
  EXPECT_EQ(p.acks.ids[0], 0u);
  EXPECT_EQ(p.acks.remote_sid, sid_of("eafebfa4418ae31b"));
  EXPECT_TRUE(p.has_msg_id);
  EXPECT_EQ(p.msg_id, 1u);
  ASSERT_EQ(p.payload.size(), 3u);
  EXPECT_EQ(p.payload[0], 0x16);  // TLS handshake record
  EXPECT_EQ(p.payload.data(), b.data() + 26);  // points into the input, no copy
}

TEST(packet, decode_ack_v1_vector) {  // §15.5, 22 bytes (§1.4)
  auto b = hex(k_ack_v1);
  ASSERT_EQ(b.size(), 22u);
  control_packet p;
  ASSERT_EQ(decode_control(b, p), pkt_err::ok);
  EXPECT_EQ(p.op, wire::P_ACK_V1);
  EXPECT_EQ(p.sid, sid_of("aeb9afe1f01d79c8"));
  ASSERT_EQ(p.acks.n, 1);
  EXPECT_EQ(p.acks.ids[0], 0u);
  EXPECT_EQ(p.acks.remote_sid, sid_of("dd85db535623b02e"));
  EXPECT_FALSE(p.has_msg_id);
  EXPECT_TRUE(p.payload.empty());
}

TEST(packet, decode_minimal_hard_reset) {  // §1.4: 14 bytes, `38 sid8 00 00000000`
  auto b = hex("38 0102030405060708 00 00000000");
  ASSERT_EQ(b.size(), 14u);
  control_packet p;
  ASSERT_EQ(decode_control(b, p), pkt_err::ok);
  EXPECT_EQ(p.op, wire::P_CONTROL_HARD_RESET_CLIENT_V2);
  EXPECT_EQ(p.acks.n, 0);
  EXPECT_TRUE(p.has_msg_id);
  EXPECT_EQ(p.msg_id, 0u);
  EXPECT_TRUE(p.payload.empty());
  // One byte less has no room for the message id.
  b.pop_back();
  EXPECT_EQ(decode_control(b, p), pkt_err::too_short);
}

struct decode_case {
  int no;
  std::string pkt;
  pkt_err want;
};

TEST(packet, decode_control_errors) {
  const decode_case cases[] = {
      {1, "", pkt_err::empty},
      {2, "20 0102030405060708", pkt_err::too_short},                     // no ACK count
      {3, "20 0000000000000000 00 00000001", pkt_err::zero_session_id},  // §1.3
      {4, "48 000001 00000001", pkt_err::bad_opcode},                    // data is not control
      {5, "08 0102030405060708 00 00000000", pkt_err::bad_opcode},       // obsolete V1 reset
      {6, "3a 0102030405060708 00 00000000", pkt_err::bad_key_id},
      // ACK count over RELIABLE_ACK_SIZE (§2.1) is rejected before reading the ids.
      {7, "28 0102030405060708 09", pkt_err::too_many_acks},
      {8, "20 0102030405060708 ff", pkt_err::too_many_acks},
      // n = 1 but the remote sid is cut short.
      {9, "28 0102030405060708 01 00000000 11223344556677", pkt_err::too_short},
      {10, "28 0102030405060708 01 000000", pkt_err::too_short},
      // P_ACK_V1 carries no message id and no payload (§2.3).
      {11, "28 0102030405060708 01 00000000 1122334455667788 00", pkt_err::trailing_bytes},
      {12, "28 0102030405060708 00 00000000", pkt_err::trailing_bytes},
      // n = 0 means no remote sid: the 4 bytes are the message id.
      {13, "20 0102030405060708 00 000000", pkt_err::too_short},
      {14, "28 0102030405060708 00", pkt_err::ok},  // an empty ACK parses; the caller ignores it
      {15, "20 0102030405060708 08" + std::string(8 * 8, '0') + "1122334455667788 00000005", pkt_err::ok},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.no));
    auto b = hex(c.pkt);
    control_packet p;
    EXPECT_EQ(decode_control(b, p), c.want) << to_string(decode_control(b, p));
  }
}

TEST(packet, decode_body_rejects_data_opcode) {
  auto b = hex("00 00000001");
  control_packet p;
  EXPECT_EQ(decode_control_body(wire::P_DATA_V2, b, p), pkt_err::bad_opcode);
  EXPECT_EQ(decode_control_body(wire::P_CONTROL_V1, {}, p), pkt_err::too_short);
  ASSERT_EQ(decode_control_body(wire::P_CONTROL_V1, b, p), pkt_err::ok);
  EXPECT_EQ(p.msg_id, 1u);
}

TEST(packet, decode_leaves_output_alone_on_error) {
  control_packet p;
  p.msg_id = 77;
  auto b = hex("28 0102030405060708 01 00000000 1122334455667788 00");
  EXPECT_EQ(decode_control(b, p), pkt_err::trailing_bytes);
  EXPECT_EQ(p.msg_id, 77u);
  EXPECT_EQ(p.acks.n, 0);
}

// ---- encode / round trip -----------------------------------------------------------------

TEST(packet, encode_reproduces_vectors) {
  for (const auto& s : {k_ctl_v1, k_ack_v1, std::string("38 0102030405060708 00 00000000"),
                        std::string("40 a1a2a3a4a5a6a7a8 01 00000000 0102030405060708 00000000")}) {
    SCOPED_TRACE(s);
    auto b = hex(s);
    control_packet p;
    ASSERT_EQ(decode_control(b, p), pkt_err::ok);
    std::vector<uint8_t> out;
    encode_control(p, out);
    EXPECT_EQ(out, b);
  }
}

TEST(packet, round_trip_every_opcode) {
  const uint8_t ops[] = {wire::P_CONTROL_SOFT_RESET_V1, wire::P_CONTROL_V1, wire::P_ACK_V1,
                         wire::P_CONTROL_HARD_RESET_CLIENT_V2, wire::P_CONTROL_HARD_RESET_SERVER_V2,
                         wire::P_CONTROL_HARD_RESET_CLIENT_V3, wire::P_CONTROL_WKC_V1};
  const std::vector<uint8_t> payload = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
  for (uint8_t op : ops) {
    for (uint8_t n : {0, 1, 4, 8}) {
      SCOPED_TRACE("op " + std::to_string(op) + " n " + std::to_string(n));
      const bool is_ack = op == wire::P_ACK_V1;
      const bool reset = op == wire::P_CONTROL_HARD_RESET_CLIENT_V2 || op == wire::P_CONTROL_HARD_RESET_SERVER_V2 ||
                         op == wire::P_CONTROL_HARD_RESET_CLIENT_V3;
      control_packet p;
      p.op = op;
      p.key_id = reset ? 0 : 5;
      p.sid = sid_of("0102030405060708");
      p.acks.n = n;
      for (uint8_t i = 0; i < n; ++i) p.acks.ids[i] = 0x01000000u * i + 7;
      if (n) p.acks.remote_sid = sid_of("f1f2f3f4f5f6f7f8");
      p.has_msg_id = !is_ack;
      p.msg_id = is_ack ? 0 : 0xdeadbeef;
      if (!is_ack) p.payload = payload;

      std::vector<uint8_t> wire_bytes;
      encode_control(p, wire_bytes);
      const size_t want_len = wire::k_ctl_header + wire::ack_record_size(n) + (is_ack ? 0 : 4 + payload.size());
      ASSERT_EQ(wire_bytes.size(), want_len);

      classified c;
      ASSERT_EQ(classify(wire_bytes, c), pkt_err::ok);
      EXPECT_EQ(c.op, op);
      EXPECT_FALSE(c.is_data);

      control_packet q;
      ASSERT_EQ(decode_control(wire_bytes, q), pkt_err::ok);
      EXPECT_EQ(q.op, p.op);
      EXPECT_EQ(q.key_id, p.key_id);
      EXPECT_EQ(q.sid, p.sid);
      EXPECT_EQ(q.acks.n, n);
      for (uint8_t i = 0; i < n; ++i) EXPECT_EQ(q.acks.ids[i], p.acks.ids[i]);
      if (n) {
        EXPECT_EQ(q.acks.remote_sid, p.acks.remote_sid);
      }
      EXPECT_EQ(q.has_msg_id, p.has_msg_id);
      EXPECT_EQ(q.msg_id, p.msg_id);
      EXPECT_TRUE(std::equal(q.payload.begin(), q.payload.end(), p.payload.begin(), p.payload.end()));

      // The body codec alone, as used after tls-auth/tls-crypt unwrapping (§3).
      std::vector<uint8_t> body;
      encode_control_body(p, body);
      EXPECT_TRUE(std::equal(body.begin(), body.end(), wire_bytes.begin() + wire::k_ctl_header));
      control_packet r;
      ASSERT_EQ(decode_control_body(op, body, r), pkt_err::ok);
      EXPECT_EQ(r.msg_id, p.msg_id);
      EXPECT_EQ(r.acks.n, n);
    }
  }
}

TEST(packet, encode_caps_ack_count) {
  control_packet p;
  p.op = wire::P_ACK_V1;
  p.sid = sid_of("0102030405060708");
  p.acks.n = 9;  // precondition violated: only k_ack_max entries are written
  std::vector<uint8_t> b;
  encode_control(p, b);
  control_packet q;
  ASSERT_EQ(decode_control(b, q), pkt_err::ok);
  EXPECT_EQ(q.acks.n, wire::k_ack_max);
}

// ---- TCP framing -------------------------------------------------------------------------

TEST(packet, tcp_frame_prefix) {
  std::vector<uint8_t> out;
  auto pkt = hex(k_ack_v1);
  tcp_frame(pkt, out);
  ASSERT_EQ(out.size(), pkt.size() + 2);
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 22);
  EXPECT_TRUE(std::equal(pkt.begin(), pkt.end(), out.begin() + 2));
  std::vector<uint8_t> big(0x10000);
  EXPECT_THROW(tcp_frame(big, out), std::length_error);
}

TEST(packet, tcp_deframe_byte_at_a_time) {
  std::vector<std::vector<uint8_t>> pkts = {hex(k_ctl_v1), hex(k_ack_v1), {}, hex(k_tls_crypt_reset),
                                            std::vector<uint8_t>(k_max_packet, 0xab)};
  std::vector<uint8_t> stream;
  for (const auto& p : pkts) tcp_frame(p, stream);

  tcp_deframer d;
  std::vector<std::vector<uint8_t>> got;
  std::vector<uint8_t> out;
  for (uint8_t byte : stream) {
    ASSERT_EQ(d.feed({&byte, 1}), pkt_err::ok);
    while (d.next(out)) got.push_back(out);
  }
  EXPECT_EQ(got, pkts);
  EXPECT_FALSE(d.next(out));
}

TEST(packet, tcp_deframe_many_in_one_feed) {
  std::vector<uint8_t> stream;
  std::vector<uint8_t> pkt(1000);
  for (int i = 0; i < 20; ++i) {
    pkt[0] = uint8_t(i);
    tcp_frame(pkt, stream);
  }
  stream.push_back(0x03);  // half a length prefix
  tcp_deframer d;
  ASSERT_EQ(d.feed(stream), pkt_err::ok);
  std::vector<uint8_t> out;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(d.next(out));
    ASSERT_EQ(out.size(), 1000u);
    EXPECT_EQ(out[0], i);
  }
  EXPECT_FALSE(d.next(out));
  const uint8_t rest[] = {0xe8, 0x42};  // completes 0x03e8 = 1000, then one byte of it
  ASSERT_EQ(d.feed(rest), pkt_err::ok);
  EXPECT_FALSE(d.next(out));
}

TEST(packet, tcp_deframe_rejects_long_prefix) {
  std::vector<uint8_t> stream;
  tcp_frame(hex(k_ack_v1), stream);
  const uint16_t bad = k_max_packet + 1;
  stream.push_back(uint8_t(bad >> 8));
  stream.push_back(uint8_t(bad));
  tcp_deframer d;
  EXPECT_EQ(d.feed(stream), pkt_err::frame_too_long);
  // The frame before the bad prefix is still delivered; then the stream is dead.
  std::vector<uint8_t> out;
  EXPECT_TRUE(d.next(out));
  EXPECT_EQ(out, hex(k_ack_v1));
  EXPECT_FALSE(d.next(out));
  const uint8_t more[] = {0, 1, 0x28};
  EXPECT_EQ(d.feed(more), pkt_err::frame_too_long);
  EXPECT_FALSE(d.next(out));
}

TEST(packet, tcp_deframe_accepts_max_prefix) {
  const uint8_t prefix[] = {uint8_t(k_max_packet >> 8), uint8_t(k_max_packet & 0xff)};
  tcp_deframer d;
  EXPECT_EQ(d.feed(prefix), pkt_err::ok);
}

TEST(packet, to_string_names) {
  EXPECT_STREQ(to_string(pkt_err::ok), "ok");
  EXPECT_STREQ(to_string(pkt_err::too_many_acks), "too_many_acks");
  EXPECT_STREQ(to_string(pkt_err::frame_too_long), "frame_too_long");
  EXPECT_STREQ(to_string(static_cast<pkt_err>(200)), "unknown");
}
