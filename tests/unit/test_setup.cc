// SPDX-License-Identifier: MIT
// server.conf -> runtime settings (control/setup.cc): the MSS clamp, the exception port's name, the
// TLS settings (files by path, inline PEM in memory) and the control thread's template and pools;
// for the client role, its session template, credentials and TLS settings.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "dpvpn/config.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_wrap.h"
#include "setup.h"

namespace dpvpn::cp {
namespace {

server_config conf(const std::string& extra) {
  return parse_server_config_text("local 10.0.0.1\ndev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\n"
                                  "ca ca.crt\ncert server.crt\nkey server.key\ndh none\n" + extra,
                                  "test.conf");
}

// dev tap: the workers' l2_policy and the MAC table's size.
server_config tap_conf(const std::string& extra) {
  return parse_server_config_text("local 10.0.0.1\ndev tap\nca ca.crt\ncert server.crt\nkey server.key\ndh none\n" + extra,
                                  "test.conf");
}

TEST(setup, tap_policy_answers_arp_for_the_server_address_only) {
  const net::mac exc{0x02, 0, 0, 0, 0, 7};
  const net::l2_policy s = l2_policy_for(tap_conf("server 10.8.0.0 255.255.255.0\nclient-to-client\n"), exc);
  EXPECT_EQ(s.gateway_ip, 0x0a080001u);  // NET+1, the exception port's kernel address
  EXPECT_EQ(s.gateway_mac, exc);
  EXPECT_TRUE(s.client_to_client);
  EXPECT_FALSE(s.vlan_tagging);
  EXPECT_EQ(s.max_frame, 1500u + 14);
  // server-bridge: the bridge owns GW and answers for it.
  const net::l2_policy b = l2_policy_for(
      tap_conf("server-bridge 10.8.0.4 255.255.255.0 10.8.0.50 10.8.0.100\nvlan-tagging\n"), exc);
  EXPECT_EQ(b.gateway_ip, 0u);
  EXPECT_FALSE(b.client_to_client);
  EXPECT_TRUE(b.vlan_tagging);
  EXPECT_EQ(b.max_frame, 1500u + 18);
  EXPECT_EQ(l2_policy_for(tap_conf("server-bridge nogw\n"), exc).gateway_ip, 0u);
}

TEST(setup, tap_mac_table_is_sized_from_max_clients) {
  dp::l2_params p = l2_params_for(tap_conf("server 10.8.0.0 255.255.0.0\n"));
  EXPECT_EQ(p.capacity, 4096u);
  EXPECT_EQ(p.max_per_peer, 256u);  // max-routes-per-client's default
  EXPECT_EQ(p.max_segment, 2048u);
  EXPECT_EQ(p.max_age_s, 300u);
  p = l2_params_for(tap_conf("server 10.8.0.0 255.255.0.0\nmax-clients 5000\nmax-routes-per-client 16\ndp-ring-size 2048\n"));
  EXPECT_EQ(p.capacity, 20000u);
  EXPECT_EQ(p.max_per_peer, 16u);
  EXPECT_EQ(p.ring_size, 2048u);
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

// dev tap with server NET MASK (helper.c): single addresses NET+2 .. BCAST-1, route-gateway NET+1
// pushed, no topology; server-bridge: its own pool and gateway; nogw: neither.
TEST(setup, pools_and_push_for_tap) {
  control_setup st = make_control_setup(tap_conf("server 10.8.0.0 255.255.255.0\ntopology subnet\n"
                                                 "push \"dhcp-option DNS 10.8.0.1\"\n"),
                                        nullptr);
  EXPECT_EQ(st.server_vpn_ip, 0x0a080001u);
  EXPECT_EQ(st.netmask, 0xffffff00u);
  EXPECT_EQ(st.pool_first, 0x0a080002u);
  EXPECT_EQ(st.pool_last, 0x0a0800feu);
  EXPECT_EQ(st.push, (std::vector<std::string>{"route-gateway 10.8.0.1", "dhcp-option DNS 10.8.0.1"}));
  st = make_control_setup(tap_conf("server-bridge 10.8.0.4 255.255.255.0 10.8.0.50 10.8.0.100\n"), nullptr);
  EXPECT_EQ(st.server_vpn_ip, 0x0a080004u);
  EXPECT_EQ(st.pool_first, 0x0a080032u);
  EXPECT_EQ(st.pool_last, 0x0a080064u);
  EXPECT_EQ(st.push, (std::vector<std::string>{"route-gateway 10.8.0.4"}));
  st = make_control_setup(tap_conf("server-bridge nogw\n"), nullptr);
  EXPECT_EQ(st.pool_first, 0u);
  EXPECT_EQ(st.server_vpn_ip, 0u);
  EXPECT_TRUE(st.push.empty());
  // A bare server-bridge: no pool either, the clients told to take their gateway from DHCP.
  st = make_control_setup(tap_conf("server-bridge\n"), nullptr);
  EXPECT_EQ(st.pool_first, 0u);
  EXPECT_EQ(st.server_vpn_ip, 0u);
  EXPECT_EQ(st.push, (std::vector<std::string>{"route-gateway dhcp"}));
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

// The client role (docs/client.md): five lines, extra ones start at 6.
server_config client_conf(const std::string& extra) {
  return parse_server_config_text("client\ndev tun\nlocal 192.0.2.2\nremote 192.0.2.1\nca ca.crt\n" + extra,
                                  "client.conf");
}

std::string block(const std::string& tag, const std::string& text) { return "<" + tag + ">\n" + text + "</" + tag + ">\n"; }

proto::key2 test_key(uint8_t seed) {
  proto::key2 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + seed);
  return k;
}

TEST(setup, client_session_template) {
  const proto::key2 k = test_key(1);
  const server_config c =
      client_conf("cert c.crt\nkey c.key\nkey-direction 1\n" + block("tls-auth", proto::format_static_key(k)) +
                  "data-ciphers CHACHA20-POLY1305:AES-128-GCM\nreneg-sec 600\nauth SHA256\nhand-window 30\n");
  const control_setup st = make_control_setup(c, nullptr);
  const proto::session_config& s = st.session;
  EXPECT_FALSE(s.server);
  EXPECT_EQ(s.wrap, proto::wrap_mode::tls_auth);
  EXPECT_EQ(s.key_direction, 1);
  EXPECT_EQ(s.wrap_key, k);
  EXPECT_EQ(s.auth_digest, crypto::digest_alg::sha256);
  EXPECT_EQ(s.data_ciphers,
            (std::vector<crypto::cipher_alg>{crypto::cipher_alg::chacha20_poly1305, crypto::cipher_alg::aes_128_gcm}));
  EXPECT_EQ(s.reneg_sec, 600u);
  EXPECT_EQ(s.hand_window_s, 30u);
  EXPECT_FALSE(s.tcv2);
  EXPECT_TRUE(s.username.empty());
  EXPECT_TRUE(s.password.empty());
  // Nothing of a server's: no pools, no push.
  EXPECT_EQ(st.pool_first, 0u);
  EXPECT_EQ(st.pool_last, 0u);
  EXPECT_EQ(st.server_vpn_ip, 0u);
  EXPECT_TRUE(st.push.empty());
  // tls-auth without a direction: both directions use the same key (-1).
  EXPECT_EQ(make_control_setup(client_conf("cert c.crt\nkey c.key\n" + block("tls-auth", proto::format_static_key(k))),
                               nullptr).session.key_direction,
            -1);
  // The lcores filter nothing in the client role, wrapping key or not.
  auto e0 = crypto::engine::create();
  EXPECT_TRUE(make_front_filters(s, {e0.get()}).empty());
}

TEST(setup, client_wrapping_keys) {
  const proto::key2 k = test_key(2);
  control_setup st =
      make_control_setup(client_conf("cert c.crt\nkey c.key\n" + block("tls-crypt", proto::format_static_key(k))), nullptr);
  EXPECT_EQ(st.session.wrap, proto::wrap_mode::tls_crypt);
  EXPECT_EQ(st.session.wrap_key, k);
  EXPECT_FALSE(st.session.server);
  // tls-crypt-v2: the client's key file (Kc and the wrapped key it sends).
  proto::tcv2_client_key ck;
  ck.kc = test_key(3);
  proto::tcv2_server_key sk;
  for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = static_cast<uint8_t>(i);
  const uint8_t meta[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 0};
  ck.wkc = proto::tcv2_wrap_wkc(sk, ck.kc, meta);
  st = make_control_setup(client_conf("cert c.crt\nkey c.key\n" + block("tls-crypt-v2", proto::format_tcv2_client_key(ck))),
                          nullptr);
  EXPECT_TRUE(st.session.tcv2);
  EXPECT_EQ(st.session.wrap, proto::wrap_mode::none);
  EXPECT_EQ(st.session.tcv2_client.kc, ck.kc);
  EXPECT_EQ(st.session.tcv2_client.wkc, ck.wkc);
  // A server key where the client's belongs.
  try {
    make_control_setup(client_conf("cert c.crt\nkey c.key\n" + block("tls-crypt-v2", proto::format_tcv2_server_key(sk))),
                       nullptr);
    ADD_FAILURE() << "accepted a server key";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("client.conf:8: tls-crypt-v2: expected a tls-crypt-v2 client key: ", 0), 0u)
        << e.what();
  }
}

std::string setup_error(const server_config& c) {
  try {
    make_control_setup(c, nullptr);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(set up)";
}

TEST(setup, client_credentials) {
  control_setup st = make_control_setup(client_conf(block("auth-user-pass", "alice\ns3cret word\nignored\n")), nullptr);
  EXPECT_EQ(st.session.username, "alice");
  EXPECT_EQ(st.session.password, "s3cret word");
  // From a file; CRLF line ends; an empty password is a password.
  const std::string path = ::testing::TempDir() + "dpvpn_test_up.txt";
  std::ofstream(path) << "bob\r\n\r\n";
  st = make_control_setup(client_conf("auth-user-pass " + path + "\n"), nullptr);
  EXPECT_EQ(st.session.username, "bob");
  EXPECT_EQ(st.session.password, "");
  std::ofstream(path) << "carol\npw";  // no final line end
  EXPECT_EQ(make_control_setup(client_conf("auth-user-pass " + path + "\n"), nullptr).session.password, "pw");
  std::remove(path.c_str());
  EXPECT_EQ(setup_error(client_conf("auth-user-pass " + path + "\n")).rfind("client.conf:6: auth-user-pass: expected a readable file", 0), 0u);
  // Missing lines: there is no terminal to ask on.
  EXPECT_EQ(setup_error(client_conf(block("auth-user-pass", "alice\n"))),
            "client.conf:6: auth-user-pass: expected a password on the second line of the <auth-user-pass> block "
            "(dpvpn runs without a terminal)");
  EXPECT_EQ(setup_error(client_conf(block("auth-user-pass", "\npw\n"))),
            "client.conf:6: auth-user-pass: expected a username on the first line of the <auth-user-pass> block");
  // The password never appears in an error.
  EXPECT_EQ(setup_error(client_conf(block("auth-user-pass", "\ns3cret\n"))).find("s3cret"), std::string::npos);
}

TEST(setup, client_tls_config) {
  std::string missing;
  proto::tls_config tc =
      tls_config_of(client_conf("cert c.crt\nkey c.key\nremote-cert-tls server\nverify-x509-name server name\n"), missing);
  EXPECT_TRUE(missing.empty());
  EXPECT_FALSE(tc.server);
  EXPECT_EQ(tc.ca_file, "ca.crt");
  EXPECT_EQ(tc.cert_file, "c.crt");
  EXPECT_EQ(tc.key_file, "c.key");
  EXPECT_EQ(tc.remote_cert, proto::remote_cert_tls::server);
  EXPECT_TRUE(tc.remote_cert_ku.empty());
  EXPECT_EQ(tc.verify_name_type, proto::x509_name_check::name);
  EXPECT_EQ(tc.verify_name, "server");
  // Without remote-cert-tls nothing is checked; with auth-user-pass, no certificate is needed.
  tc = tls_config_of(client_conf("auth-user-pass up.txt\n"), missing);
  EXPECT_TRUE(missing.empty());
  EXPECT_EQ(tc.remote_cert, proto::remote_cert_tls::none);
  EXPECT_TRUE(tc.cert_file.empty() && tc.cert_pem.empty() && tc.key_file.empty() && tc.key_pem.empty());
  // Without it they are required.
  server_config nokey = client_conf("cert c.crt\nkey c.key\n");
  nokey.key = file_ref{};
  tls_config_of(nokey, missing);
  EXPECT_EQ(missing, "key");
}

}  // namespace
}  // namespace dpvpn::cp
