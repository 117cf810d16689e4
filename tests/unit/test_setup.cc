// SPDX-License-Identifier: MIT
// server.conf -> runtime settings (control/setup.cc): the MSS clamp, the exception port's name, the
// TLS settings (files by path, inline PEM in memory) and the control thread's template and pools.
#include <gtest/gtest.h>

#include "dpvpn/config.h"
#include "setup.h"

namespace dpvpn::cp {
namespace {

server_config conf(const std::string& extra) {
  return parse_server_config_text("local 10.0.0.1\ndev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\n"
                                  "ca ca.crt\ncert server.crt\nkey server.key\ndh none\n" + extra,
                                  "test.conf");
}

TEST(setup, mss_clamp_follows_mssfix_and_the_ciphers) {
  // The default mssfix 1492 with AEAD ciphers: 1492 - 28 - 24 - 40 = 1400; inner IPv6 20 less.
  const server_config gcm = conf("data-ciphers AES-256-GCM:CHACHA20-POLY1305\n");
  EXPECT_EQ(mss_clamp_for(gcm, 40), 1400);
  EXPECT_EQ(mss_clamp_for(gcm, 60), 1380);
  // `fixed`: N is the inner packet ceiling.
  EXPECT_EQ(mss_clamp_for(conf("mssfix 1300 fixed\n"), 40), 1260);
  // A CBC cipher's worst case (HMAC-SHA1 20 + IV 16 + id 4 + padding 16 + op 4): 1492-28-60-40.
  EXPECT_EQ(mss_clamp_for(conf("data-ciphers AES-256-CBC\nauth SHA1\n"), 40), 1364);
  EXPECT_EQ(mss_clamp_for(conf("mssfix 0\n"), 40), 0);
}

TEST(setup, exception_port_name) {
  EXPECT_EQ(exception_ifname("tun"), "tun0");
  EXPECT_EQ(exception_ifname("tun3"), "tun3");
  EXPECT_EQ(exception_ifname("tap"), "tap0");
}

TEST(setup, tls_files_by_path_and_inline_pem_in_memory) {
  std::string missing;
  proto::tls_config tc = tls_config_of(conf("tls-version-min 1.2\nverify-client-cert optional\n"), missing);
  EXPECT_TRUE(missing.empty());
  EXPECT_TRUE(tc.server);
  EXPECT_EQ(tc.ca_file, "ca.crt");
  EXPECT_EQ(tc.cert_file, "server.crt");
  EXPECT_EQ(tc.key_file, "server.key");
  EXPECT_EQ(tc.version_min, "1.2");
  EXPECT_EQ(tc.verify_client, proto::verify_client_cert::optional);
  const server_config inl = parse_server_config_text(
      "local 10.0.0.1\ndev tun\nserver 10.8.0.0 255.255.255.0\ndh none\n<ca>\nCA PEM\n</ca>\ncert c.crt\nkey k.key\n",
      "inline.conf");
  tc = tls_config_of(inl, missing);
  EXPECT_TRUE(tc.ca_file.empty());
  EXPECT_NE(tc.ca_pem.find("CA PEM"), std::string::npos);
  server_config nokey = conf("");
  nokey.key = file_ref{};
  tls_config_of(nokey, missing);
  EXPECT_EQ(missing, "key");
}

TEST(setup, pools_and_push_for_subnet_and_net30) {
  control_setup st = make_control_setup(conf("push \"dhcp-option DNS 10.8.0.1\"\n"), nullptr);
  EXPECT_EQ(st.server_vpn_ip, 0x0a080001u);
  EXPECT_EQ(st.pool_first, 0x0a080002u);
  EXPECT_EQ(st.pool_last, 0x0a0800feu);
  ASSERT_GE(st.push.size(), 3u);
  EXPECT_EQ(st.push[0], "topology subnet");
  EXPECT_EQ(st.push[1], "route-gateway 10.8.0.1");
  EXPECT_EQ(st.push.back(), "dhcp-option DNS 10.8.0.1");
  const server_config n30 = parse_server_config_text(
      "local 10.0.0.1\ndev tun\ntopology net30\nserver 10.8.0.0 255.255.255.0\nca a\ncert b\nkey c\ndh none\n", "n30");
  st = make_control_setup(n30, nullptr);
  EXPECT_EQ(st.pool_first, 0x0a080004u);
  EXPECT_EQ(st.push[0], "route 10.8.0.1");
  EXPECT_TRUE(st.session.server);
}

// The lcores' first-contact filters: one per engine with a wrapping key, none without; the keys
// are the server's receive side (static_wrap_keys), as server_front uses them.
TEST(setup, front_filters_only_with_a_wrapping_key) {
  auto e0 = crypto::engine::create(), e1 = crypto::engine::create();
  const std::vector<crypto::engine*> engines = {e0.get(), e1.get()};
  proto::session_config s;
  EXPECT_TRUE(make_front_filters(s, engines).empty());
  s.wrap = proto::wrap_mode::tls_auth;
  s.key_direction = 0;
  for (size_t i = 0; i < s.wrap_key.size(); ++i) s.wrap_key[i] = static_cast<uint8_t>(i);
  auto f = make_front_filters(s, engines);
  ASSERT_EQ(f.size(), 2u);
  // A client's frame (key-direction 1) passes the server's filter; the server's own does not.
  std::vector<uint8_t> frame;
  proto::wrap(proto::wrap_keys::tls_auth(s.wrap_key, s.auth_digest, 1), wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0),
              wire::session_id{1, 2, 3, 4, 5, 6, 7, 8}, std::vector<uint8_t>(5, 0), {1, 1}, frame);
  EXPECT_EQ(f[1]->check(*e1, frame), proto::front_filter::verdict::pass);
  frame.clear();
  proto::wrap(proto::static_wrap_keys(s), wire::op_byte(wire::P_CONTROL_HARD_RESET_CLIENT_V2, 0),
              wire::session_id{1, 2, 3, 4, 5, 6, 7, 8}, std::vector<uint8_t>(5, 0), {1, 1}, frame);
  EXPECT_EQ(f[0]->check(*e0, frame), proto::front_filter::verdict::bad_auth);
  s.wrap = proto::wrap_mode::none;
  s.tcv2 = true;
  EXPECT_EQ(make_front_filters(s, engines).size(), 2u);
}

}  // namespace
}  // namespace dpvpn::cp
