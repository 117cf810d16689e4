// SPDX-License-Identifier: MIT
// Wire constants and the buffer view.
#include <gtest/gtest.h>

#include <cstring>

#include "dpvpn/buf.h"
#include "dpvpn/wire.h"

using namespace dpvpn;

TEST(wire, op_byte_packing) {
  EXPECT_EQ(wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0), 0x38);
  EXPECT_EQ(wire::op_byte(wire::P_DATA_V2, 3), 0x4b);
  EXPECT_EQ(wire::op_of(0x4b), wire::P_DATA_V2);
  EXPECT_EQ(wire::key_id_of(0x4b), 3);
  EXPECT_TRUE(wire::is_control_op(wire::P_CONTROL_WKC_V1));
  EXPECT_FALSE(wire::is_control_op(wire::P_DATA_V1));
  EXPECT_FALSE(wire::is_control_op(wire::P_CONTROL_HARD_RESET_CLIENT_V1));
}

TEST(wire, key_id_rotation_skips_zero) {
  uint8_t k = 0;
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 1, 2};
  for (uint8_t w : want) {
    k = wire::next_key_id(k);
    EXPECT_EQ(k, w);
  }
}

TEST(wire, big_endian_helpers) {
  uint8_t b[4];
  wire::put_u32(b, 0x0f000001);
  EXPECT_EQ(b[0], 0x0f);
  EXPECT_EQ(wire::get_u32(b), 0x0f000001u);
  wire::put_u24(b, 0xabcdef);
  EXPECT_EQ(wire::get_u24(b), 0xabcdefu);
  uint8_t q[8];
  wire::put_u64(q, 0x4801020300000007ull);  // a P_DATA_V2 header and packet id in one store
  const uint8_t want[8] = {0x48, 0x01, 0x02, 0x03, 0, 0, 0, 7};
  EXPECT_EQ(std::memcmp(q, want, 8), 0);
  static_assert([] {
    uint8_t c[8]{};
    wire::put_u64(c, 0x0102030405060708ull);
    return c[0] == 1 && c[7] == 8;
  }());
  EXPECT_EQ(wire::ack_record_size(0), 1u);
  EXPECT_EQ(wire::ack_record_size(1), 13u);
  EXPECT_EQ(wire::k_tls_crypt_hdr, 49u);
}

TEST(buf, prepend_append_adj_trim) {
  const uint8_t payload[] = {1, 2, 3, 4};
  owned_buf ob(payload, 8, 4);
  buf_view& v = ob.view();
  EXPECT_EQ(v.prepend(9), nullptr);
  ASSERT_NE(v.prepend(8), nullptr);
  EXPECT_EQ(v.len, 12u);
  EXPECT_EQ(v.headroom, 0u);
  EXPECT_EQ(v.append(5), nullptr);
  ASSERT_NE(v.append(4), nullptr);
  EXPECT_TRUE(v.adj(8));
  EXPECT_TRUE(v.trim(4));
  EXPECT_EQ(v.len, 4u);
  EXPECT_EQ(v.data[0], 1);
  EXPECT_FALSE(v.adj(5));
}
