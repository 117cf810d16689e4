// SPDX-License-Identifier: MIT
// Key method 2 messages (§6.1, §6.2), options strings (§6.2) and peer-info (§6.3).
#include <gtest/gtest.h>

#include "dpvpn/key_method2.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

// §6.3: what the Debian 2.6.14 client sends (lab).
const std::string k_lab_peer_info =
    "IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
    "IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\nIV_PROTO=990\n"
    "IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n";

km2_client lab_like_client() {
  km2_client m;
  for (size_t i = 0; i < m.pre_master.size(); ++i) m.pre_master[i] = uint8_t(i + 1);
  for (size_t i = 0; i < m.random1.size(); ++i) m.random1[i] = uint8_t(0x40 + i);
  for (size_t i = 0; i < m.random2.size(); ++i) m.random2[i] = uint8_t(0x80 + i);
  m.options = client_options_string(false, false);
  m.peer_info = k_lab_peer_info;
  return m;
}

km2_server lab_like_server() {
  km2_server m;
  for (size_t i = 0; i < m.random1.size(); ++i) m.random1[i] = uint8_t(0xa0 + i);
  for (size_t i = 0; i < m.random2.size(); ++i) m.random2[i] = uint8_t(0xc0 + i);
  m.options = server_options_string(false, false);
  return m;
}

// Offset of the first string (options) in each direction.
constexpr size_t k_client_opt_off = 5 + 48 + 32 + 32;  // 117
constexpr size_t k_server_opt_off = 5 + 32 + 32;       // 69

std::vector<uint8_t> client_with_strings(size_t opt_len, size_t user_len, size_t pass_len) {
  km2_client m = lab_like_client();
  m.options.assign(opt_len, 'o');
  m.username.assign(user_len, 'u');
  m.password.assign(pass_len, 'p');
  return write_km2(m);
}

}  // namespace

TEST(key_method2, lab_sizes_and_layout) {
  // §6.1: the lab client message was 353 bytes with L_opt = 0x65 and L_pi = 0x7f. That client's
  // peer-info was the §6.3 list without the three *_STUB lines (46 bytes shorter).
  km2_client m = lab_like_client();
  m.peer_info = k_lab_peer_info.substr(0, k_lab_peer_info.find("IV_LZO_STUB"));
  auto c = write_km2(m);
  ASSERT_EQ(c.size(), 353u);
  EXPECT_EQ((std::vector<uint8_t>(c.begin(), c.begin() + 5)), (std::vector<uint8_t>{0, 0, 0, 0, 2}));
  EXPECT_EQ(wire::get_u16(&c[k_client_opt_off]), 0x65);
  size_t user_off = k_client_opt_off + 2 + 0x65;
  EXPECT_EQ(c[user_off - 1], 0);
  EXPECT_EQ((std::vector<uint8_t>(c.begin() + user_off, c.begin() + user_off + 4)),
            (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(wire::get_u16(&c[user_off + 4]), 0x7f);
  EXPECT_EQ(c.back(), 0);
  // §6.2: the server message was 178 bytes, ending in three empty strings.
  auto s = write_km2(lab_like_server());
  ASSERT_EQ(s.size(), 178u);
  EXPECT_EQ(wire::get_u16(&s[k_server_opt_off]), 0x65);
  EXPECT_EQ((std::vector<uint8_t>(s.end() - 6, s.end())), (std::vector<uint8_t>(6, 0)));
}

TEST(key_method2, client_round_trip) {
  km2_client m = lab_like_client();
  randomize(m);
  m.username = "alice";
  m.password = "secret pass";
  auto bytes = write_km2(m);
  km2_client got;
  ASSERT_EQ(parse_km2(bytes, got), km2_err::ok);
  EXPECT_EQ(got.pre_master, m.pre_master);
  EXPECT_EQ(got.random1, m.random1);
  EXPECT_EQ(got.random2, m.random2);
  EXPECT_EQ(got.options, m.options);
  EXPECT_EQ(got.username, "alice");
  EXPECT_EQ(got.password, "secret pass");
  EXPECT_EQ(got.peer_info, k_lab_peer_info);
}

TEST(key_method2, server_round_trip) {
  km2_server m = lab_like_server();
  randomize(m);
  auto bytes = write_km2(m);
  km2_server got;
  ASSERT_EQ(parse_km2(bytes, got), km2_err::ok);
  EXPECT_EQ(got.random1, m.random1);
  EXPECT_EQ(got.random2, m.random2);
  EXPECT_EQ(got.options, m.options);
}

TEST(key_method2, randomize_fills_fresh_bytes) {
  km2_client a, b;
  randomize(a);
  randomize(b);
  EXPECT_NE(a.pre_master, b.pre_master);
  EXPECT_NE(a.random1, b.random1);
  EXPECT_NE(a.random1, a.random2);
  km2_server s;
  randomize(s);
  EXPECT_NE(s.random1, km2_server{}.random1);
}

TEST(key_method2, empty_strings_are_two_zero_bytes) {
  km2_client m;
  auto bytes = write_km2(m);
  ASSERT_EQ(bytes.size(), k_client_opt_off + 8);
  for (size_t i = k_client_opt_off; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], 0) << i;
  km2_client got;
  got.options = "stale";
  ASSERT_EQ(parse_km2(bytes, got), km2_err::ok);
  EXPECT_TRUE(got.options.empty());
  EXPECT_TRUE(got.peer_info.empty());
}

TEST(key_method2, length_one_string_is_just_nul) {
  auto bytes = write_km2(km2_client{});
  bytes.resize(k_client_opt_off);
  for (int i = 0; i < 4; ++i) bytes.insert(bytes.end(), {0x00, 0x01, 0x00});
  km2_client got;
  ASSERT_EQ(parse_km2(bytes, got), km2_err::ok);
  EXPECT_TRUE(got.options.empty());
  EXPECT_TRUE(got.username.empty());
  EXPECT_TRUE(got.password.empty());
  EXPECT_TRUE(got.peer_info.empty());
}

TEST(key_method2, options_limit_512_including_nul) {
  km2_client c;
  EXPECT_EQ(parse_km2(client_with_strings(511, 0, 0), c), km2_err::ok);
  EXPECT_EQ(c.options.size(), 511u);
  EXPECT_EQ(parse_km2(client_with_strings(512, 0, 0), c), km2_err::string_too_long);

  km2_server s = lab_like_server();
  s.options.assign(511, 'x');
  km2_server got;
  EXPECT_EQ(parse_km2(write_km2(s), got), km2_err::ok);
  s.options.assign(512, 'x');
  EXPECT_EQ(parse_km2(write_km2(s), got), km2_err::string_too_long);
}

TEST(key_method2, user_pass_limit_4096_including_nul) {
  km2_client c;
  EXPECT_EQ(parse_km2(client_with_strings(10, 4095, 4095), c), km2_err::ok);
  EXPECT_EQ(c.username.size(), 4095u);
  EXPECT_EQ(c.password.size(), 4095u);
  EXPECT_EQ(parse_km2(client_with_strings(10, 4096, 0), c), km2_err::string_too_long);
  EXPECT_EQ(parse_km2(client_with_strings(10, 0, 4096), c), km2_err::string_too_long);
}

TEST(key_method2, peer_info_has_no_small_limit) {
  km2_client m = lab_like_client();
  m.peer_info.assign(20000, 'a');
  km2_client got;
  ASSERT_EQ(parse_km2(write_km2(m), got), km2_err::ok);
  EXPECT_EQ(got.peer_info.size(), 20000u);
}

TEST(key_method2, bad_prefix_and_key_method) {
  auto c = write_km2(lab_like_client());
  km2_client got;
  for (size_t i = 0; i < 4; ++i) {
    auto b = c;
    b[i] = 1;
    EXPECT_EQ(parse_km2(b, got), km2_err::bad_prefix) << i;
  }
  auto b = c;
  b[4] = 1;
  EXPECT_EQ(parse_km2(b, got), km2_err::bad_key_method);
  b[4] = 0x03;
  EXPECT_EQ(parse_km2(b, got), km2_err::bad_key_method);
  b[4] = 0x12;  // the high nibble holds flags: still method 2
  EXPECT_EQ(parse_km2(b, got), km2_err::ok);

  auto s = write_km2(lab_like_server());
  km2_server sg;
  s[4] = 0x01;
  EXPECT_EQ(parse_km2(s, sg), km2_err::bad_key_method);
  s[4] = 0x02;
  s[0] = 0x80;
  EXPECT_EQ(parse_km2(s, sg), km2_err::bad_prefix);
}

TEST(key_method2, missing_nul_or_overrun_is_bad_string) {
  auto c = write_km2(lab_like_client());
  km2_client got;
  auto b = c;
  b[k_client_opt_off + 2 + 0x65 - 1] = 'X';  // the options' NUL
  EXPECT_EQ(parse_km2(b, got), km2_err::bad_string);
  b = c;
  wire::put_u16(&b[k_client_opt_off], 0x66);  // runs one byte into the next length field
  EXPECT_NE(parse_km2(b, got), km2_err::ok);
  b = c;
  size_t pi_len = k_lab_peer_info.size() + 1;
  wire::put_u16(&b[c.size() - pi_len - 2], uint16_t(pi_len + 1));  // peer-info runs past the end
  EXPECT_EQ(parse_km2(b, got), km2_err::bad_string);
}

TEST(key_method2, embedded_nul_ends_the_value) {
  auto bytes = write_km2(km2_client{});
  bytes.resize(k_client_opt_off);
  bytes.insert(bytes.end(), {0x00, 0x04, 'a', 0x00, 'b', 0x00, 0, 0, 0, 0, 0, 0});
  km2_client got;
  ASSERT_EQ(parse_km2(bytes, got), km2_err::ok);
  EXPECT_EQ(got.options, "a");
}

TEST(key_method2, trailing_bytes_ignored) {
  auto c = write_km2(lab_like_client());
  c.insert(c.end(), {1, 2, 3});
  km2_client got;
  EXPECT_EQ(parse_km2(c, got), km2_err::ok);
  auto s = write_km2(lab_like_server());
  s.insert(s.end(), {0xff, 0xff});
  km2_server sg;
  EXPECT_EQ(parse_km2(s, sg), km2_err::ok);
}

// Every prefix of a valid message is rejected with a typed error, except the one that ends
// exactly before the (optional) peer-info field.
TEST(key_method2, client_truncation_at_every_offset) {
  km2_client m = lab_like_client();
  m.username = "bob";
  m.password = "pw";
  auto c = write_km2(m);
  size_t no_peer_info = c.size() - 2 - k_lab_peer_info.size() - 1;
  for (size_t n = 0; n < c.size(); ++n) {
    std::vector<uint8_t> t(c.begin(), c.begin() + n);
    km2_client got;
    km2_err e = parse_km2(t, got);
    if (n == no_peer_info) {
      EXPECT_EQ(e, km2_err::ok);
      EXPECT_TRUE(got.peer_info.empty());
    } else {
      EXPECT_NE(e, km2_err::ok) << n;
      EXPECT_TRUE(e == km2_err::too_short || e == km2_err::bad_string) << n;
    }
  }
}

TEST(key_method2, server_truncation_at_every_offset) {
  auto s = write_km2(lab_like_server());
  size_t opt_end = k_server_opt_off + 2 + 0x65;
  for (size_t n = 0; n < s.size(); ++n) {
    std::vector<uint8_t> t(s.begin(), s.begin() + n);
    km2_server got;
    km2_err e = parse_km2(t, got);
    if (n >= opt_end)
      EXPECT_EQ(e, km2_err::ok) << n;  // the client reads nothing after the options (§6.2)
    else
      EXPECT_TRUE(e == km2_err::too_short || e == km2_err::bad_string) << n;
  }
}

TEST(key_method2, error_names) {
  EXPECT_STREQ(to_string(km2_err::ok), "ok");
  EXPECT_NE(std::string(to_string(km2_err::string_too_long)), to_string(km2_err::bad_string));
}

TEST(peer_info, lab_sample) {
  peer_info pi = parse_peer_info(k_lab_peer_info);
  EXPECT_EQ(pi.version, "2.6.14");
  EXPECT_EQ(pi.platform, "linux");
  EXPECT_EQ(pi.iv_proto, 990u);
  EXPECT_EQ(pi.iv_proto & wire::k_iv_proto_tls_key_export, wire::k_iv_proto_tls_key_export);
  EXPECT_EQ(pi.iv_proto & wire::k_iv_proto_dyn_tls_crypt, wire::k_iv_proto_dyn_tls_crypt);
  EXPECT_EQ(pi.iv_ncp, 2);
  EXPECT_TRUE(pi.has_ciphers);
  EXPECT_EQ(pi.ciphers, "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305");
  EXPECT_EQ(pi.mtu, 1600);
  EXPECT_TRUE(pi.lzo_stub);
  EXPECT_TRUE(pi.comp_stub);
  EXPECT_TRUE(pi.comp_stubv2);
  ASSERT_EQ(pi.all.size(), 10u);
  EXPECT_EQ(pi.all[2], (std::pair<std::string, std::string>{"IV_TCPNL", "1"}));
  EXPECT_EQ(pi.all[9].first, "IV_COMP_STUBv2");
}

TEST(peer_info, absent_fields_and_odd_values) {
  peer_info pi = parse_peer_info("IV_VER=2.4.0\nno equals sign\n=novalue\nUV_X=a=b\n\nIV_PROTO=2");
  EXPECT_EQ(pi.version, "2.4.0");
  EXPECT_EQ(pi.iv_proto, 2u);  // last line without '\n' still counts
  EXPECT_FALSE(pi.has_ciphers);
  EXPECT_EQ(pi.iv_ncp, 0);
  EXPECT_EQ(pi.mtu, 0);
  EXPECT_FALSE(pi.lzo_stub || pi.comp_stub || pi.comp_stubv2);
  ASSERT_EQ(pi.all.size(), 3u);
  EXPECT_EQ(pi.all[1], (std::pair<std::string, std::string>{"UV_X", "a=b"}));

  struct {
    const char* text;
    uint32_t want;
  } cases[] = {
      {"IV_PROTO=abc\n", 0},   {"IV_PROTO=-4\n", 0},        {"IV_PROTO=99999999999\n", 0},
      {"IV_PROTO= 12x\n", 12}, {"IV_PROTO=6\nIV_PROTO=8\n", 6}, {"IV_PROTO=\n", 0},
      {"IV_PROTO=+990\n", 990}, {"IV_PROTO=2147483647\n", 2147483647u},
  };
  for (auto& c : cases) EXPECT_EQ(parse_peer_info(c.text).iv_proto, c.want) << c.text;

  peer_info empty_ciphers = parse_peer_info("IV_CIPHERS=\n");
  EXPECT_TRUE(empty_ciphers.has_ciphers);
  EXPECT_TRUE(empty_ciphers.ciphers.empty());
  EXPECT_TRUE(parse_peer_info("").all.empty());
  EXPECT_FALSE(parse_peer_info("IV_LZO_STUB=0\n").lzo_stub);
}

TEST(options_string, exact_strings) {
  EXPECT_EQ(client_options_string(false, false),
            "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client");
  EXPECT_EQ(server_options_string(false, false),
            "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-server");
  EXPECT_EQ(server_options_string(true, false),
            "V4,dev-type tun,link-mtu 1543,tun-mtu 1500,proto TCPv4_SERVER,auth SHA1,keysize 128,key-method 2,"
            "tls-server");
  EXPECT_EQ(client_options_string(true, false),
            "V4,dev-type tun,link-mtu 1543,tun-mtu 1500,proto TCPv4_CLIENT,auth SHA1,keysize 128,key-method 2,"
            "tls-client");
  EXPECT_EQ(client_options_string(false, true),
            "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,tls-auth,key-method 2,"
            "tls-client");
  EXPECT_EQ(server_options_string(true, true),
            "V4,dev-type tun,link-mtu 1543,tun-mtu 1500,proto TCPv4_SERVER,auth SHA1,keysize 128,tls-auth,"
            "key-method 2,tls-server");
}

// openvpn's string_mod_remap_name (CC_PRINT without CC_CRLF, '_'): numbered cases.
TEST(key_method2, remap_name_as_openvpn) {
  struct row {
    int n;
    std::string in, want;
  };
  const row rows[] = {
      {1, "alice", "alice"},
      {2, "alice\nsecret", "alice_secret"},
      {3, "a\rb\tc", "a_b_c"},
      {4, std::string("\x01\x1f\x20\x7e\x7f", 5), "__ ~_"},
      {5, "J\xc3\xbcrgen", "J\xc3\xbcrgen"},  // bytes >= 0x80 (UTF-8) are printable to openvpn
      {6, "", ""},
  };
  for (const row& r : rows) {
    std::string s = r.in;
    remap_name(s);
    EXPECT_EQ(s, r.want) << "row " << r.n;
  }
}
