// SPDX-License-Identifier: MIT
// OpenVPN 2.6 wire constants and layouts, in one place (docs/protocol.md, "§").
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace dpvpn::wire {

// §1.2  byte0 = (opcode << 3) | key_id
//   7 6 5 4 3 2 1 0
//  +---------+-----+
//  | opcode  | kid |
//  +---------+-----+
inline constexpr unsigned k_opcode_shift = 3;
inline constexpr uint8_t k_key_id_mask = 0x07;

enum opcode : uint8_t {
  P_CONTROL_HARD_RESET_CLIENT_V1 = 1,  // obsolete, dropped
  P_CONTROL_HARD_RESET_SERVER_V1 = 2,  // obsolete, dropped
  P_CONTROL_SOFT_RESET_V1 = 3,
  P_CONTROL_V1 = 4,
  P_ACK_V1 = 5,
  P_DATA_V1 = 6,
  P_CONTROL_HARD_RESET_CLIENT_V2 = 7,
  P_CONTROL_HARD_RESET_SERVER_V2 = 8,
  P_DATA_V2 = 9,
  P_CONTROL_HARD_RESET_CLIENT_V3 = 10,
  P_CONTROL_WKC_V1 = 11,
};
inline constexpr uint8_t k_first_opcode = 3;
inline constexpr uint8_t k_last_opcode = 11;

constexpr uint8_t op_byte(opcode op, uint8_t key_id) {
  return static_cast<uint8_t>((op << k_opcode_shift) | (key_id & k_key_id_mask));
}
constexpr uint8_t op_of(uint8_t b0) { return b0 >> k_opcode_shift; }
constexpr uint8_t key_id_of(uint8_t b0) { return b0 & k_key_id_mask; }
constexpr bool is_data_op(uint8_t op) { return op == P_DATA_V1 || op == P_DATA_V2; }
constexpr bool is_control_op(uint8_t op) {
  return op >= k_first_opcode && op <= k_last_opcode && !is_data_op(op);
}
// §1.2: after key_id 7 comes 1, never 0.
constexpr uint8_t next_key_id(uint8_t kid) {
  uint8_t n = static_cast<uint8_t>((kid + 1) & k_key_id_mask);
  return n == 0 ? 1 : n;
}

// §1.3 session id: 8 random bytes, never all zero.
inline constexpr size_t k_sid_size = 8;
using session_id = std::array<uint8_t, k_sid_size>;
constexpr bool sid_defined(const session_id& s) {
  for (auto b : s)
    if (b) return true;
  return false;
}

// §1.4 control packet, no wrapping
//  off  size  field
//  0    1     op/key_id
//  1    8     own session id
//  9    1     n = number of ACK entries (0..8)
//  10   4*n   acked message packet-ids, u32 BE
//  ..   8     remote session id          (only if n > 0)
//  ..   4     message packet-id, u32 BE  (absent in P_ACK_V1)
//  ..   rest  payload
// "body" in this code = everything from offset 9 on; wrapping (§3) protects/encrypts the body.
inline constexpr size_t k_ctl_header = 1 + k_sid_size;  // op + own sid
inline constexpr size_t k_ack_max = 8;                  // RELIABLE_ACK_SIZE: more is rejected
inline constexpr size_t k_ack_piggyback_max = 4;        // CONTROL_SEND_ACK_MAX
constexpr size_t ack_record_size(size_t n) { return 1 + (n ? k_sid_size : 0) + 4 * n; }

// §2.1 reliability constants
inline constexpr uint32_t k_reliable_send_window = 6;   // TLS_RELIABLE_N_SEND_BUFFERS
inline constexpr uint32_t k_reliable_recv_window = 12;  // TLS_RELIABLE_N_REC_BUFFERS
inline constexpr uint32_t k_fast_retransmit_acks = 3;   // N_ACK_RETRANSMIT
inline constexpr uint32_t k_tls_mtu_default = 1250;
inline constexpr uint32_t k_tls_mtu_min = 154;
inline constexpr size_t k_tls_channel_buf = 2048;

// §3.3 tls-auth wrapped control packet (H = HMAC length: 20 SHA1, 32 SHA256, 64 SHA512)
//  0      1   op/key_id
//  1      8   own session id
//  9      H   HMAC over (replay id || op || sid || body)
//  9+H    4   replay counter
//  13+H   4   replay time
//  17+H   ..  body
inline constexpr size_t k_replay_long = 8;  // u32 counter || u32 unix time (§8.3)

// §3.4 tls-crypt wrapped control packet
//  0    1    op/key_id
//  1    8    own session id
//  9    4    replay counter
//  13   4    replay time
//  17   32   tag = HMAC-SHA256(Ka, bytes[0..16] || body)
//  49   ..   AES-256-CTR(Ke, IV = tag[0..15], body)
inline constexpr size_t k_tls_crypt_tag = 32;
inline constexpr size_t k_tls_crypt_hdr = k_ctl_header + k_replay_long + k_tls_crypt_tag;  // 49

// §3.5 tls-crypt-v2
inline constexpr size_t k_tcv2_max_wkc = 1024;
inline constexpr size_t k_tcv2_client_key = 256;
inline constexpr size_t k_tcv2_server_key = 128;
inline constexpr uint8_t k_tcv2_meta_user = 0x00;
inline constexpr uint8_t k_tcv2_meta_timestamp = 0x01;

// §4.3 early negotiation
inline constexpr uint32_t k_early_neg_mask = 0xff000000u;
inline constexpr uint32_t k_early_neg_start = 0x0f000000u;
inline constexpr uint16_t k_tlv_early_neg_flags = 0x0001;
inline constexpr uint16_t k_early_neg_resend_wkc = 0x0001;

// §1.5 / §8.1 data packets (AEAD)
//  P_DATA_V2:
//  off 0   1   op/key_id  (0x48 | key_id)
//  off 1   3   peer-id, u24 BE
//  off 4   4   packet-id, u32 BE (from 1, per key_id and direction)
//  off 8   16  AEAD tag
//  off 24  ..  ciphertext
//  nonce = packet-id(4) || implicit IV(8); AAD = bytes 0..7
//  P_DATA_V1: op(1) | packet-id(4) | tag(16) | ciphertext;  AAD = packet-id only
inline constexpr uint32_t k_peer_id_none = 0xFFFFFF;  // MAX_PEER_ID
inline constexpr size_t k_aead_tag = 16;
inline constexpr size_t k_implicit_iv = 8;
inline constexpr size_t k_aead_nonce = 12;
inline constexpr size_t k_data_v2_hdr = 4;
inline constexpr size_t k_data_v1_hdr = 1;
inline constexpr size_t k_aead_v2_overhead = k_data_v2_hdr + 4 + k_aead_tag;  // 24
inline constexpr size_t k_aead_v1_overhead = k_data_v1_hdr + 4 + k_aead_tag;  // 21

// §8.2 CBC + HMAC data packet
//  [op/kid (+peer-id)] | HMAC(H) | IV(16) | AES-CBC(packet-id(4) || payload || PKCS#7 pad)
//  HMAC = HMAC(hmac_key, IV || ciphertext)
inline constexpr size_t k_cbc_iv = 16;
inline constexpr size_t k_cbc_block = 16;

// §8.3 / §8.5 packet ids and replay defaults
inline constexpr uint32_t k_packet_id_wrap_trigger = 0xFF000000u;
inline constexpr uint32_t k_replay_window_default = 64;
inline constexpr uint32_t k_replay_window_max = 65536;
inline constexpr uint32_t k_replay_time_default = 15;
inline constexpr uint32_t k_seq_reap_interval = 5;

// §7 key2: keys[2] x { cipher[64], hmac[64] }
inline constexpr size_t k_key2_size = 256;
inline constexpr size_t k_key_slot = 64;

// §9.2 keepalive ping payload, §9.3 OCC
inline constexpr std::array<uint8_t, 16> k_ping_magic = {0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
                                                         0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48};
inline constexpr std::array<uint8_t, 16> k_occ_magic = {0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81,
                                                        0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c};
inline constexpr uint8_t k_occ_request = 0;
inline constexpr uint8_t k_occ_reply = 1;
inline constexpr uint8_t k_occ_exit = 6;

// §9.1 compression framing bytes
inline constexpr uint8_t k_no_compress_byte = 0xFA;
inline constexpr uint8_t k_comp_swap_byte = 0xFB;
inline constexpr uint8_t k_comp_v2_indicator = 0x50;

// §6 key method 2
inline constexpr uint8_t k_key_method_2 = 2;
inline constexpr size_t k_tls_options_len = 512;
inline constexpr size_t k_user_pass_len = 4096;
inline constexpr size_t k_pre_master = 48;
inline constexpr size_t k_random = 32;

// §10.3 push
inline constexpr size_t k_push_bundle_size = 1024;

// §13 timers (seconds)
inline constexpr uint32_t k_tls_timeout_s = 2;
inline constexpr uint32_t k_hand_window_s = 60;
inline constexpr uint32_t k_tran_window_s = 3600;
inline constexpr uint32_t k_reneg_sec_default = 3600;
inline constexpr uint32_t k_push_request_interval_s = 5;

// IV_PROTO bits (§6.3)
inline constexpr uint32_t k_iv_proto_data_v2 = 1u << 1;
inline constexpr uint32_t k_iv_proto_request_push = 1u << 2;
inline constexpr uint32_t k_iv_proto_tls_key_export = 1u << 3;
inline constexpr uint32_t k_iv_proto_auth_pending_kw = 1u << 4;
inline constexpr uint32_t k_iv_proto_dns_option = 1u << 6;
inline constexpr uint32_t k_iv_proto_cc_exit_notify = 1u << 7;
inline constexpr uint32_t k_iv_proto_auth_fail_temp = 1u << 8;
inline constexpr uint32_t k_iv_proto_dyn_tls_crypt = 1u << 9;

// Big-endian helpers. At run time one load or store and a byte swap: GCC does not merge the
// byte-wise form (it assembled a put_u16 from shifts and ors, ~5 instructions; the outer header of
// every sealed packet has seven of them). The byte-wise form stays for constant evaluation.
namespace detail {
// Big-endian <-> native; the swap is its own inverse, so the put_ helpers use it too.
template <class T>
constexpr T from_be(T v) {
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) return v;
  else if constexpr (sizeof(T) == 2) return __builtin_bswap16(v);
  else if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  else return __builtin_bswap64(v);
}
}  // namespace detail
constexpr uint16_t get_u16(const uint8_t* p) {
  if (std::is_constant_evaluated()) return static_cast<uint16_t>((p[0] << 8) | p[1]);
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return detail::from_be(v);
}
constexpr uint32_t get_u24(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }
constexpr uint32_t get_u32(const uint8_t* p) {
  if (std::is_constant_evaluated())
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return detail::from_be(v);
}
constexpr void put_u16(uint8_t* p, uint16_t v) {
  if (std::is_constant_evaluated()) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
    return;
  }
  const uint16_t be = detail::from_be(v);
  __builtin_memcpy(p, &be, 2);
}
constexpr void put_u24(uint8_t* p, uint32_t v) { p[0] = uint8_t(v >> 16); p[1] = uint8_t(v >> 8); p[2] = uint8_t(v); }
constexpr void put_u32(uint8_t* p, uint32_t v) {
  if (std::is_constant_evaluated()) {
    p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
    return;
  }
  const uint32_t be = detail::from_be(v);
  __builtin_memcpy(p, &be, 4);
}
constexpr void put_u64(uint8_t* p, uint64_t v) {
  if (std::is_constant_evaluated()) {
    put_u32(p, uint32_t(v >> 32));
    put_u32(p + 4, uint32_t(v));
    return;
  }
  const uint64_t be = detail::from_be(v);
  __builtin_memcpy(p, &be, 8);
}

}  // namespace dpvpn::wire

namespace dpvpn::proto {

// A key2 block (§7): keys[2] x {cipher[64], hmac[64]}. Here, not in static_key.h, so that the data
// channel (data_keys.h) names it without including a control-channel header.
using key2 = std::array<uint8_t, wire::k_key2_size>;

}  // namespace dpvpn::proto
