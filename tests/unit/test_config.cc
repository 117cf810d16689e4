// SPDX-License-Identifier: MIT
// server.conf parser: the shipped example, OpenVPN line syntax, every error path's
// "FILE:LINE: DIRECTIVE: expected ..." text, and the cross-checks.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <unistd.h>

#include "dpvpn/config.h"
#include "dpvpn/config_known.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

// The smallest config that passes the cross-checks: six lines, so extra lines start at 7.
const std::string k_base =
    "dev tun\n"
    "server 10.8.0.0 255.255.255.0\n"
    "ca ca.crt\n"
    "cert server.crt\n"
    "key server.key\n"
    "topology subnet\n";

server_config parse(const std::string& text, const std::string& name = "server.conf") {
  return parse_server_config_text(text, name);
}

// The 1-based number of the first line equal to `text` in a file.
unsigned line_of(const std::string& path, const std::string& text) {
  std::ifstream in(path);
  std::string l;
  for (unsigned n = 1; std::getline(in, l); ++n)
    if (l == text) return n;
  return 0;
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(config, shipped_example) {
  std::string root = DPVPN_SOURCE_ROOT;
  server_config c = parse_server_config(root + "/conf/server.conf");
  EXPECT_EQ(c.source, root + "/conf/server.conf");
  EXPECT_EQ(format_ipv4(*c.local), "192.0.2.1");
  EXPECT_EQ(c.port, 1194);
  EXPECT_EQ(c.proto_family, ip_family::any);
  EXPECT_EQ(c.dev, "tun");
  EXPECT_EQ(c.dev_type, dev_kind::tun);
  EXPECT_EQ(c.topology, topology_kind::subnet);
  ASSERT_TRUE(c.server);
  EXPECT_EQ(format_ipv4(c.server->network), "10.8.0.0");
  EXPECT_EQ(c.server->prefix_len(), 24u);
  EXPECT_FALSE(c.server->nopool);
  EXPECT_TRUE(c.mode_server);
  EXPECT_TRUE(c.tls_server);
  EXPECT_EQ(c.max_clients, 250u);
  EXPECT_FALSE(c.client_to_client);
  // Relative names stay as written: they resolve against the working directory (openvpn's rule).
  EXPECT_EQ(c.ca.path, "ca.crt");
  EXPECT_EQ(c.cert.path, "server.crt");
  EXPECT_EQ(c.key.path, "server.key");
  EXPECT_EQ(c.ca.line, line_of(root + "/conf/server.conf", "ca ca.crt"));
  EXPECT_TRUE(c.dh_none);
  EXPECT_FALSE(c.dh.present());
  EXPECT_EQ(c.tls_crypt.path, "ta.key");
  EXPECT_FALSE(c.tls_auth.present());
  EXPECT_FALSE(c.tls_crypt_v2.present());
  EXPECT_EQ(c.verify_client_cert, verify_client_cert_mode::require);
  EXPECT_TRUE(c.remote_cert_tls_client);
  EXPECT_EQ(c.tls_version_min, tls_version::v1_2);
  EXPECT_EQ(c.data_ciphers, (std::vector<crypto::cipher_alg>{crypto::cipher_alg::aes_256_gcm,
                                                             crypto::cipher_alg::aes_128_gcm,
                                                             crypto::cipher_alg::chacha20_poly1305}));
  EXPECT_FALSE(c.data_ciphers_fallback);
  EXPECT_EQ(c.auth, crypto::digest_alg::sha256);
  // keepalive 10 60: push ping 10 / ping-restart 60, the server itself waits 120 s (§13).
  EXPECT_EQ(c.push_ping, 10u);
  EXPECT_EQ(c.push_ping_restart, 60u);
  EXPECT_EQ(c.ping, 10u);
  EXPECT_EQ(c.ping_restart, 120u);
  EXPECT_EQ(c.reneg_sec_max, 3600u);
  EXPECT_EQ(c.reneg_sec_min, 3240u);
  EXPECT_EQ(c.explicit_exit_notify, 1u);
  EXPECT_EQ(c.push, (std::vector<std::string>{"route 192.168.10.0 255.255.255.0", "dhcp-option DNS 10.8.0.1"}));
  EXPECT_EQ(c.status_path, "openvpn-status.log");
  EXPECT_EQ(c.status_interval, 60u);
  EXPECT_EQ(c.verb, 3u);
  // The dp- lines are commented out: defaults.
  EXPECT_EQ(c.dp_exception, exception_port_kind::tun);
  EXPECT_EQ(c.dp_rx_burst, 32u);
  EXPECT_EQ(c.dp_crypto, crypto::backend::ipsec_mb);
}

TEST(config, wan_families) {
  // One `local` per family; a repeated one of the same family overrides.
  server_config c = parse(k_base + "local 192.0.2.1\nlocal 2001:db8::1\nproto udp6\nlocal 2001:db8::2\n");
  EXPECT_EQ(format_ipv4(*c.local), "192.0.2.1");
  EXPECT_EQ(format_ipv6(*c.local6), "2001:db8::2");
  EXPECT_EQ(c.proto_family, ip_family::v6);
  c = parse(k_base + "local 2001:db8::1\n");  // proto udp with only an IPv6 address: IPv6 only
  EXPECT_FALSE(c.local);
  EXPECT_EQ(format_ipv6(*c.local6), "2001:db8::1");
  c = parse(k_base + "proto udp4\nlocal 192.0.2.1\nlocal 192.0.2.2\n");
  EXPECT_EQ(format_ipv4(*c.local), "192.0.2.2");
  EXPECT_FALSE(c.local6);
}

TEST(config, defaults) {
  server_config c = parse(k_base);
  EXPECT_FALSE(c.local);
  EXPECT_EQ(c.port, 1194);
  EXPECT_EQ(c.tun_mtu, 1500u);
  EXPECT_EQ(c.auth, crypto::digest_alg::sha1);
  EXPECT_EQ(c.replay_window, 64u);
  EXPECT_EQ(c.replay_time, 15u);
  EXPECT_EQ(c.hand_window, 60u);
  EXPECT_EQ(c.tran_window, 3600u);
  EXPECT_EQ(c.tls_timeout, 2u);
  EXPECT_EQ(c.ping, 0u);
  EXPECT_EQ(c.push_ping, 0u);
  EXPECT_EQ(c.verify_client_cert, verify_client_cert_mode::require);
  EXPECT_EQ(c.data_ciphers.size(), 3u);
  EXPECT_EQ(c.dp_rx_burst, 32u);
  EXPECT_EQ(c.dp_mbufs, 0u);
  EXPECT_EQ(c.dp_stats_interval, 10u);
  EXPECT_EQ(c.dp_ring_size, 1024u);
  EXPECT_EQ(c.dp_crypto, crypto::backend::ipsec_mb);
  EXPECT_TRUE(c.dp_mirror.empty());
  // No directory in the name: relative paths stay relative (to the current directory).
  EXPECT_EQ(c.ca.path, "ca.crt");
}

TEST(config, syntax_quotes_comments_prefix) {
  server_config c = parse(k_base +
                          "  # a comment\n"
                          "; another\n"
                          "\n"
                          "--port 1195   # trailing comment\n"
                          "push \"route 10.9.0.0 255.255.0.0\" ; trailing\n"
                          "push \"dhcp-option DOMAIN \\\"x y\\\"\"\n"
                          "push 'dhcp-option DOMAIN a\\b'\n"
                          "push a#b\n"
                          "push 'q\"r'\n"
                          "push x\"y;z\n"
                          "push with\\ space\n"
                          "\tverb\t5\r\n"
                          "cd /\n"
                          "tls-crypt \"my keys/ta.key\"\n");
  EXPECT_EQ(c.port, 1195);
  EXPECT_EQ(c.push, (std::vector<std::string>{"route 10.9.0.0 255.255.0.0", "dhcp-option DOMAIN \"x y\"",
                                              "dhcp-option DOMAIN a\\b", "a#b", "q\"r", "x\"y;z",
                                              "with space"}));
  EXPECT_EQ(c.verb, 5u);
  EXPECT_EQ(c.tls_crypt.path, "my keys/ta.key");  // relative to the working directory, `cd /`
  EXPECT_EQ(c.cd, "/");
  EXPECT_EQ(c.tls_crypt.line, 20u);
}

TEST(config, inline_blocks) {
  server_config c = parse(
      "\xEF\xBB\xBF"
      "dev tap0\n"
      "server 10.8.0.0 255.255.255.0\n"
      "<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n"
      "  <cert>\r\nCERT\r\n  </cert>  \n"
      "<key>\n</key>\n"
      "key-direction 1\n"
      "<tls-auth>\nKEY\n</tls-auth>\n",
      "/etc/x/server.conf");
  EXPECT_EQ(c.dev_type, dev_kind::tap);
  EXPECT_EQ(c.dp_exception, exception_port_kind::tap);
  EXPECT_TRUE(c.ca.is_inline);
  EXPECT_TRUE(c.ca.path.empty());
  EXPECT_EQ(c.ca.line, 3u);
  EXPECT_EQ(c.ca.inline_text, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(c.ca.load("x"), c.ca.inline_text);
  EXPECT_EQ(c.cert.inline_text, "CERT\n");
  EXPECT_TRUE(c.key.present());
  EXPECT_EQ(c.key.inline_text, "");
  EXPECT_EQ(c.tls_auth.inline_text, "KEY\n");
  EXPECT_EQ(c.tls_auth.directive, "tls-auth");
  EXPECT_EQ(c.tls_auth_direction, 1);
}

TEST(config, derived_values) {
  server_config c = parse(k_base + "tls-auth ta.key 0\nkey-direction 1\ncipher AES-128-CBC\n");
  EXPECT_EQ(c.tls_auth_direction, 0);  // the tls-auth argument wins over key-direction
  EXPECT_EQ(c.data_ciphers_fallback, crypto::cipher_alg::aes_128_cbc);  // legacy cipher = fallback

  c = parse(k_base + "tls-auth ta.key\ndata-ciphers-fallback AES-256-CBC\ncipher AES-128-CBC\n");
  EXPECT_FALSE(c.tls_auth_direction);  // bidirectional
  EXPECT_EQ(c.data_ciphers_fallback, crypto::cipher_alg::aes_256_cbc);
  EXPECT_EQ(c.cipher, crypto::cipher_alg::aes_128_cbc);

  c = parse(k_base + "ping 5\nping-restart 30\nreneg-sec 600 300\nncp-ciphers id-aes128-GCM:aes-128-gcm\n");
  EXPECT_EQ(c.ping, 5u);
  EXPECT_EQ(c.ping_restart, 30u);
  EXPECT_EQ(c.push_ping, 0u);  // not pushed without keepalive
  EXPECT_EQ(c.reneg_sec_min, 300u);
  EXPECT_EQ(c.data_ciphers, std::vector<crypto::cipher_alg>{crypto::cipher_alg::aes_128_gcm});

  c = parse(k_base + "tls-crypt-v2 s.key force-cookie\ndp-exception virtio-user\ndp-crypto openssl\n"
                     "dp-ring-size 4096\ndp-mirror mirror0\nproto udp4\nserver 10.8.0.0 255.255.255.248 nopool\n"
                     "dp-udp-checksum off\n");
  EXPECT_FALSE(c.dp_udp_checksum);
  EXPECT_EQ(parse(k_base).dp_tunnel_spread, 1u);
  EXPECT_EQ(parse(k_base + "dp-tunnel-spread 2\n").dp_tunnel_spread, 2u);
  EXPECT_FALSE(parse(k_base + "dp-idle-sleep off\n").dp_idle_sleep);
  EXPECT_TRUE(parse(k_base).dp_idle_sleep);
  EXPECT_TRUE(parse(k_base).dp_udp_checksum);
  EXPECT_EQ(c.tcv2_cookie, tcv2_cookie_mode::force_cookie);
  EXPECT_EQ(c.dp_exception, exception_port_kind::virtio_user);
  EXPECT_EQ(c.dp_crypto, crypto::backend::openssl);
  EXPECT_EQ(c.dp_ring_size, 4096u);
  EXPECT_EQ(c.dp_mirror, "mirror0");
  EXPECT_EQ(c.proto_family, ip_family::v4);
  EXPECT_TRUE(c.server->nopool);
  EXPECT_EQ(c.server->prefix_len(), 29u);
}

struct error_case {
  const char* extra;  // appended to k_base (lines 7, 8, ...)
  const char* want;
};

const error_case k_errors[] = {
    // unknown, argument counts
    {"frobnicate 1\n", "server.conf:7: frobnicate: unknown directive (not an OpenVPN 2.6 option; check the spelling)"},
    {"--frob\n", "server.conf:7: frob: unknown directive (not an OpenVPN 2.6 option; check the spelling)"},
    {"port\n", "server.conf:7: port: expected \"port NUMBER\" (missing arguments)"},
    {"\nport 1 2\n", "server.conf:8: port: expected \"port NUMBER\" (too many arguments)"},
    {"server 10.0.0.0\n", "server.conf:7: server: expected \"server NETWORK NETMASK [nopool]\" (missing arguments)"},
    {"persist-key yes\n", "server.conf:7: persist-key: expected \"persist-key\" (too many arguments)"},
    // numbers
    {"port abc\n", "server.conf:7: port: expected a number 1..65535, got \"abc\""},
    {"port 0\n", "server.conf:7: port: expected a number 1..65535, got \"0\""},
    {"port 65536\n", "server.conf:7: port: expected a number 1..65535, got \"65536\""},
    {"port -1\n", "server.conf:7: port: expected a number 1..65535, got \"-1\""},
    {"port 99999999999999999999999\n",
     "server.conf:7: port: expected a number 1..65535, got \"99999999999999999999999\""},
    {"verb 12\n", "server.conf:7: verb: expected a number 0..11, got \"12\""},
    {"dp-rx-burst 0\n", "server.conf:7: dp-rx-burst: expected a number 1..256, got \"0\""},
    {"dp-rx-burst 257\n", "server.conf:7: dp-rx-burst: expected a number 1..256, got \"257\""},
    {"dp-ring-size 1000\n", "server.conf:7: dp-ring-size: expected a power of two 64..65536, got \"1000\""},
    {"replay-window 65537\n", "server.conf:7: replay-window: expected a number 0..65536, got \"65537\""},
    {"replay-window 64 601\n", "server.conf:7: replay-window: expected a number 0..600, got \"601\""},
    {"reneg-sec 100 200\n", "server.conf:7: reneg-sec: expected a number 0..100, got \"200\""},
    {"explicit-exit-notify 3\n", "server.conf:7: explicit-exit-notify: expected a number 0..2, got \"3\""},
    {"keepalive 10 15\n",
     "server.conf:7: keepalive: expected the restart time (15) to be at least twice the ping time (10)"},
    {"keepalive 0 60\n", "server.conf:7: keepalive: expected a number 1..31536000, got \"0\""},
    // addresses
    {"local 10.0.0\n", "server.conf:7: local: expected an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1, got \"10.0.0\""},
    {"local 1.2.3.256\n", "server.conf:7: local: expected an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1, got \"1.2.3.256\""},
    {"local 01.2.3.4\n", "server.conf:7: local: expected an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1, got \"01.2.3.4\""},
    {"local vpn.example.com\n",
     "server.conf:7: local: expected an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1, got \"vpn.example.com\""},
    {"server 10.8.0.0 255.0.255.0\n",
     "server.conf:7: server: expected a contiguous netmask such as 255.255.255.0, got \"255.0.255.0\""},
    {"server 10.8.0.0 255.255.255.1\n",
     "server.conf:7: server: expected a contiguous netmask such as 255.255.255.0, got \"255.255.255.1\""},
    {"server 10.8.0.0 0.0.0.0\n",
     "server.conf:7: server: expected a contiguous netmask such as 255.255.255.0, got \"0.0.0.0\""},
    {"server 10.8.0.1 255.255.255.0\n",
     "server.conf:7: server: expected a network address with the host bits zero for netmask 255.255.255.0, got "
     "\"10.8.0.1\""},
    {"server 10.8.0.0 255.255.255.0 pool\n", "server.conf:7: server: expected nopool, got \"pool\""},
    {"server 10.8.0.0 255.255.255.252\n", "server.conf:7: server: expected a subnet of /29 or larger, got /30"},
    {"dev tap\nserver 10.8.0.0 255.255.255.254\n",
     "server.conf:8: server: expected a subnet of /30 or larger, got /31"},
    // enum words
    {"proto tcp-server\n",
     "server.conf:7: proto: expected udp, udp4 or udp6, got \"tcp-server\": TCP is not supported yet (dp-mirror can "
     "hand TCP to a kernel openvpn)"},
    {"proto sctp\n", "server.conf:7: proto: expected udp, udp4 or udp6, got \"sctp\""},
    {"mode p2p\n", "server.conf:7: mode: expected server, got \"p2p\""},
    {"topology star\n", "server.conf:7: topology: expected net30, p2p or subnet, got \"star\""},
    {"dev-type tunnel\n", "server.conf:7: dev-type: expected tun or tap, got \"tunnel\""},
    {"verify-client-cert maybe\n",
     "server.conf:7: verify-client-cert: expected none, optional or require, got \"maybe\""},
    {"remote-cert-tls server\n", "server.conf:7: remote-cert-tls: expected client, got \"server\""},
    {"tls-auth ta.key 2\n", "server.conf:7: tls-auth: expected 0 or 1, got \"2\""},
    {"key-direction x\n", "server.conf:7: key-direction: expected 0 or 1, got \"x\""},
    {"tls-crypt-v2 k cookie\n",
     "server.conf:7: tls-crypt-v2: expected allow-noncookie or force-cookie, got \"cookie\""},
    {"tls-version-min 1.4\n", "server.conf:7: tls-version-min: expected 1.0, 1.1, 1.2 or 1.3, got \"1.4\""},
    {"mssfix 1400 auto\n", "server.conf:7: mssfix: expected mtu or fixed, got \"auto\""},
    {"dp-exception kni\n", "server.conf:7: dp-exception: expected tun, tap or virtio-user, got \"kni\""},
    {"dp-crypto aesni\n", "server.conf:7: dp-crypto: expected openssl or ipsec-mb, got \"aesni\""},
    {"dp-udp-checksum no\n", "server.conf:7: dp-udp-checksum: expected off or on, got \"no\""},
    {"dp-mirror eth/0\n",
     "server.conf:7: dp-mirror: expected an interface name of 1..15 characters without '/', ':' or spaces, got "
     "\"eth/0\""},
    {"dp-mirror 0123456789abcdef\n",
     "server.conf:7: dp-mirror: expected an interface name of 1..15 characters without '/', ':' or spaces, got "
     "\"0123456789abcdef\""},
    // crypto names
    {"data-ciphers AES-256-GCM:BF-CBC\n",
     "server.conf:7: data-ciphers: expected a cipher: AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC or "
     "AES-128-CBC, got \"BF-CBC\""},
    {"data-ciphers AES-256-GCM:\n",
     "server.conf:7: data-ciphers: expected a cipher: AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC or "
     "AES-128-CBC, got \"\""},
    {"cipher none\n",
     "server.conf:7: cipher: expected a cipher: AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, AES-256-CBC or "
     "AES-128-CBC, got \"none\""},
    {"auth MD5\n", "server.conf:7: auth: expected a digest: SHA1, SHA256, SHA512 or none, got \"MD5\""},
    // outer families
    {"proto udp6\n",
     "server.conf:7: proto: expected a `local` line with an IPv6 address as well: with proto udp6 the gateway "
     "answers on the IPv6 address it is given (it binds no wildcard socket)"},
    {"local 192.0.2.1\nproto udp6\n",
     "server.conf:8: proto: expected a `local` line with an IPv6 address as well: with proto udp6 the gateway "
     "answers on the IPv6 address it is given (it binds no wildcard socket)"},
    {"proto udp4\nlocal 2001:db8::1\n",
     "server.conf:8: local: expected an IPv4 address with proto udp4 (proto udp or udp6 for an IPv6 WAN)"},
    // addressing
    {"server-ipv6 fd00::/48\n", "server.conf:7: server-ipv6: expected a prefix length of /64 to /124, got \"fd00::/48\""},
    {"server-ipv6 fd00::1/64\n", "server.conf:7: server-ipv6: expected the host bits to be zero for /64, got \"fd00::1/64\""},
    {"server-ipv6 10.8.0.0/24\n",
     "server.conf:7: server-ipv6: expected an IPv6 network such as fd00:8::/64, got \"10.8.0.0/24\""},
    {"ifconfig-ipv6-pool fd00::1000/64\n", "server.conf:7: ifconfig-ipv6-pool: expected a server-ipv6 line as well"},
    {"ifconfig-pool 10.8.0.50 10.8.0.10\n", "server.conf:7: ifconfig-pool: expected START <= END, got 10.8.0.50 > 10.8.0.10"},
    {"ifconfig-pool 10.8.0.10 10.9.0.10\n", "server.conf:7: ifconfig-pool: expected a range inside 10.8.0.0/24"},
    {"route 192.168.1.1 255.255.255.0\n", "server.conf:7: route: expected the host bits of 192.168.1.1 to be zero for its netmask"},
    {"route-ipv6 fd01::/200\n", "server.conf:7: route-ipv6: expected an IPv6 network such as fd00:8::/64, got \"fd01::/200\""},
    {"ccd-exclusive\n", "server.conf:7: ccd-exclusive: expected a client-config-dir line as well"},
    {"connect-freq 0 10\n", "server.conf:7: connect-freq: expected a number 1..4294967295, got \"0\""},
    {"tls-verify /bin/true\n", "server.conf:7: tls-verify: expected script-security 2 or higher to run a script (it is 1)"},
    {"auth-gen-token 10 20 30\n", "server.conf:7: auth-gen-token: expected at most LIFETIME RENEWAL external-auth, got \"30\""},
    {"auth-gen-token 0 10\n",
     "server.conf:7: auth-gen-token: expected a renewal time of at least two hand-windows (120 s)"},
    {"reneg-sec 0\nauth-gen-token\n", "server.conf:8: auth-gen-token: expected a finite reneg-sec (or a RENEWAL time)"},
    {"compress zstd\n", "server.conf:7: compress: expected stub, stub-v2, lzo, lz4 or lz4-v2, got \"zstd\""},
    {"allow-compression maybe\n", "server.conf:7: allow-compression: expected no, asym or yes, got \"maybe\""},
    {"crl-verify crls dir\n",
     "server.conf:7: crl-verify: expected \"crl-verify FILE\": the directory form is not supported yet"},
    // values
    {"ca \"\"\n", "server.conf:7: ca: expected a file name, got \"\""},
    {"push \"\"\n", "server.conf:7: push: expected one option of 1..1023 characters, got \"\""},
    {"dev eth0\n", "server.conf:7: dev: expected a name starting with tun or tap (or a dev-type line), got \"eth0\""},
    {"dp-exception tap\n", "server.conf:7: dp-exception: expected tun or virtio-user to match \"dev tun\""},
    // syntax
    {"push \"route 10.0.0.0\n", "server.conf:7: push: expected a closing \" on this line"},
    {"push 'route\n", "server.conf:7: push: expected a closing ' on this line"},
    {"push a\"b c\"\n", "server.conf:7: push: expected \"push 'OPTION ...'\" (too many arguments)"},
    {"push \"a b\"c\n", "server.conf:7: push: expected \"push 'OPTION ...'\" (too many arguments)"},
    {"push x\\\n", "server.conf:7: push: expected a character after the backslash at the end of the line"},
    {"<ca>\nX\n", "server.conf:7: <ca>: expected </ca> before the end of the file"},
    {"<pkcs12>\nX\n</pkcs12>\n", "server.conf:7: <pkcs12>: unknown or unsupported inline block"},
    // cross-checks, reported at the later line
    {"tls-auth ta.key 0\ntls-crypt tc.key\n",
     "server.conf:8: tls-crypt: expected only one of tls-auth, tls-crypt and tls-crypt-v2, but tls-auth is set at "
     "line 7"},
    {"tls-crypt-v2 v2.key\n<tls-auth>\nK\n</tls-auth>\n",
     "server.conf:8: tls-auth: expected only one of tls-auth, tls-crypt and tls-crypt-v2, but tls-crypt-v2 is set "
     "at line 7"},
    {"keepalive 10 60\nping 5\n",
     "server.conf:8: ping: expected either keepalive or ping/ping-restart, not both (keepalive sets them)"},
    {"ping-restart 60\nkeepalive 10 60\n",
     "server.conf:8: keepalive: expected either keepalive or ping/ping-restart, not both (keepalive sets them)"},
};

TEST(config, error_messages) {
  for (size_t i = 0; i < std::size(k_errors); ++i)
    EXPECT_EQ(error_of(k_base + k_errors[i].extra), k_errors[i].want) << "case " << i << ": " << k_errors[i].extra;
}

TEST(config, missing_required) {
  const struct {
    int drop_line;  // index into k_base's lines
    const char* want;
  } cases[] = {
      {0, "server.conf: dev: expected \"dev tun\" (required)"},
      {1, "server.conf: server: expected \"server NETWORK NETMASK\" (the VPN subnet) (required)"},
      {2, "server.conf: ca: expected \"ca FILE\", a <ca> block or \"capath DIRECTORY\" (required)"},
      {3, "server.conf: cert: expected \"cert FILE\" or a <cert> block (required)"},
      {4, "server.conf: key: expected \"key FILE\" or a <key> block (required)"},
  };
  for (const auto& c : cases) {
    std::string text;
    size_t start = 0;
    for (int l = 0; start < k_base.size(); ++l) {
      size_t end = k_base.find('\n', start) + 1;
      if (l != c.drop_line) text += k_base.substr(start, end - start);
      start = end;
    }
    EXPECT_EQ(error_of(text), c.want) << "without line " << c.drop_line;
  }
  try {
    parse("");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.file(), "server.conf");
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(e.directive(), "server");
  }
}

TEST(config, error_fields) {
  try {
    parse(k_base + "port abc\n", "/etc/dpvpn/a.conf");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "/etc/dpvpn/a.conf:7: port: expected a number 1..65535, got \"abc\"");
    EXPECT_EQ(e.file(), "/etc/dpvpn/a.conf");
    EXPECT_EQ(e.line(), 7u);
    EXPECT_EQ(e.directive(), "port");
    EXPECT_EQ(e.detail(), "expected a number 1..65535, got \"abc\"");
  }
  // Control characters in the echoed value are escaped and long values are cut.
  EXPECT_EQ(error_of(k_base + "port 1\x01\n"), "server.conf:7: port: expected a number 1..65535, got \"1\\x01\"");
  EXPECT_EQ(error_of(k_base + "port " + std::string(100, '9') + "\n"),
            "server.conf:7: port: expected a number 1..65535, got \"" + std::string(60, '9') + "...\"");
}

TEST(config, files) {
  auto dir = std::filesystem::temp_directory_path() / ("dpvpn_test_config_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string conf = (dir / "server.conf").string();
  {
    std::ofstream(conf) << k_base;
    std::ofstream(dir / "ca.crt") << "CA PEM\n";
  }
  server_config c = parse_server_config(conf);
  EXPECT_EQ(c.ca.path, "ca.crt");  // read from the working directory, as openvpn does
  const std::filesystem::path here = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  const std::string ca_text = c.ca.load(conf);
  std::filesystem::current_path(here);
  EXPECT_EQ(ca_text, "CA PEM\n");
  try {
    c.cert.load(conf);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.line(), 4u);
    EXPECT_EQ(e.directive(), "cert");
    EXPECT_NE(std::string(e.what()).find(conf + ":4: cert: expected a readable file, got "), std::string::npos);
  }
  std::filesystem::remove_all(dir);
  try {
    parse_server_config(conf);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(std::string(e.what()).rfind(conf + ": config: expected a readable file, got ", 0), 0u);
  }
}

TEST(config, addressing_auth_compression) {
  server_config c = parse(k_base + "server-ipv6 fd00:8::/64\nifconfig-pool 10.8.0.10 10.8.0.99\n"
                                   "route 192.168.50.0 255.255.255.0\nroute 172.16.1.1\nroute-ipv6 fd01::/48 default 5\n"
                                   "client-config-dir ccd\nccd-exclusive\nconnect-freq 10 60\n"
                                   "script-security 2\ntls-verify \"/bin/check depth\"\nauth-gen-token 3600 external-auth\n"
                                   "comp-lzo no\nallow-compression asym\n");
  ASSERT_TRUE(c.server_ipv6);
  EXPECT_EQ(format_ipv6_net(*c.server_ipv6), "fd00:8::/64");
  EXPECT_EQ(c.ifconfig_pool, (std::pair<uint32_t, uint32_t>{0x0A08000Au, 0x0A080063u}));
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0], (route4{0xC0A83200u, 0xFFFFFF00u}));
  EXPECT_EQ(c.routes[1], (route4{0xAC100101u, 0xFFFFFFFFu}));
  ASSERT_EQ(c.routes_v6.size(), 1u);
  EXPECT_EQ(format_ipv6_net(c.routes_v6[0]), "fd01::/48");
  EXPECT_EQ(c.client_config_dir, "ccd");  // relative to the config's directory (none here)
  EXPECT_TRUE(c.ccd_exclusive);
  EXPECT_EQ(c.connect_freq, (std::pair<unsigned, unsigned>{10, 60}));
  EXPECT_EQ(c.tls_verify, (std::vector<std::string>{"/bin/check", "depth"}));
  EXPECT_TRUE(c.auth_gen_token);
  EXPECT_EQ(c.auth_gen_token_lifetime, 3600u);
  EXPECT_TRUE(c.auth_gen_token_external);
  EXPECT_EQ(c.comp, comp_mode::lzo_no);
  EXPECT_EQ(c.allow_compression, allow_compression_mode::asym);

  c = parse(k_base + "compress\n");
  EXPECT_EQ(c.comp, comp_mode::stub);
  c = parse(k_base + "compress stub-v2\ncomp-lzo\n");  // the later line wins
  EXPECT_EQ(c.comp, comp_mode::lzo);
}

TEST(config, ipv6_helpers) {
  auto n = parse_ipv6_net("fd00:8::/64");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->len, 64u);
  EXPECT_EQ(format_ipv6(ipv6_add(n->addr, 0x1000)), "fd00:8::1000");
  EXPECT_EQ(format_ipv6(ipv6_add(*parse_ipv6("fd00::ffff"), 1)), "fd00::1:0");
  EXPECT_TRUE(ipv6_in(*parse_ipv6("fd00:8::1:2"), *n));
  EXPECT_FALSE(ipv6_in(*parse_ipv6("fd00:9::1"), *n));
  EXPECT_TRUE(ipv6_is_network(n->addr, 64));
  EXPECT_FALSE(ipv6_is_network(*parse_ipv6("fd00::1"), 127));
  EXPECT_TRUE(ipv6_is_network(*parse_ipv6("fd00::1"), 128));
  EXPECT_EQ(parse_ipv6_net("fd00::1", 128)->len, 128u);
  for (const char* bad : {"", "fd00::/", "fd00::/129", "fd00::/064", "fd00::/6a", "fd00::1", "10.0.0.1/8", "::g/64"})
    EXPECT_FALSE(parse_ipv6_net(bad)) << bad;
}

TEST(config, ipv4_helpers) {
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xFFFFFFFFu);
  EXPECT_EQ(parse_ipv4("10.8.0.1"), 0x0A080001u);
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "a.b.c.d", " 1.2.3.4", "1.2.3.4 ", "1..2.3",
                          "1234.1.1.1", "00.1.1.1"})
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  EXPECT_EQ(format_ipv4(0xC0000201u), "192.0.2.1");
}

// Issue 5: every refused line of a file is reported in one error, each with its line and reason.
TEST(config, unsupported_reported_together) {
  try {
    parse(k_base + "verify-hash AB:CD\nport 1194\nshaper 1000\npkcs12 server.p12\n");
    FAIL() << "parsed";
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(),
                 "server.conf: config: 3 lines are not accepted (docs/directives.md):\n"
                 "  7: verify-hash: not supported by dpvpn yet: CA fingerprint pinning (docs/directives.md)\n"
                 "  9: shaper: not supported by dpvpn yet: needs a token bucket in the dataplane (docs/directives.md)\n"
                 "  10: pkcs12: not supported by dpvpn yet: give PEM 'ca', 'cert' and 'key' (docs/directives.md)");
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(e.directive(), "config");
  }
  // Bad values are listed with them, in file order; one bad line keeps the one-line form.
  EXPECT_EQ(error_of(k_base + "secret static.key\nport 0\n"),
            "server.conf: config: 2 lines are not accepted (docs/directives.md):\n"
            "  7: secret: not supported by dpvpn: static-key mode: deprecated in 2.6, no multi-client server "
            "(docs/directives.md)\n"
            "  8: port: expected a number 1..65535, got \"0\"");
  EXPECT_EQ(error_of(k_base + "ifconfig-pool-linear\n"),
            "server.conf:7: ifconfig-pool-linear: not supported by dpvpn: removed in OpenVPN 2.6: use 'topology "
            "subnet' (docs/directives.md)");
  // A wrong file must not flood the log: 30 lines, then a count.
  std::string many;
  for (int i = 0; i < 40; ++i) many += "nonsense" + std::to_string(i) + "\n";
  std::string err = error_of(many);
  EXPECT_NE(err.find("server.conf: config: 40 lines are not accepted"), std::string::npos) << err;
  EXPECT_NE(err.find("\n  30: nonsense29: "), std::string::npos) << err;
  EXPECT_EQ(err.find("nonsense30"), std::string::npos) << err;
  EXPECT_NE(err.find("\n  ... and 10 more"), std::string::npos) << err;
}

TEST(config, client_option) {
  EXPECT_EQ(error_of(k_base + "remote vpn.example.com 1194\n"),
            "server.conf:7: remote: is a client option; not valid in a server config");
  EXPECT_EQ(error_of(k_base + "--auth-user-pass creds.txt\n"),
            "server.conf:7: auth-user-pass: is a client option; not valid in a server config");
  // What a server means by it is pushing it.
  EXPECT_EQ(error_of(k_base + "redirect-gateway def1\n"),
            "server.conf:7: redirect-gateway: is a client option; not valid in a server config (push it: push "
            "\"redirect-gateway ...\")");
  // Per-client options belong in client-config-dir files, as in OpenVPN.
  EXPECT_EQ(error_of(k_base + "iroute 192.168.20.0 255.255.255.0\n"),
            "server.conf:7: iroute: only valid in a client-config-dir file or client-connect output, not in the "
            "server config");
}

TEST(config, misspelling) {
  EXPECT_EQ(error_of(k_base + "keepalvie 10 60\n"),
            "server.conf:7: keepalvie: unknown directive (not an OpenVPN 2.6 option; check the spelling): did you "
            "mean \"keepalive\"?");
  EXPECT_EQ(error_of(k_base + "data-cipher AES-256-GCM\n"),
            "server.conf:7: data-cipher: unknown directive (not an OpenVPN 2.6 option; check the spelling): did you "
            "mean \"data-ciphers\"?");
  EXPECT_EQ(error_of(k_base + "Port 1194\n"),  // names are case-sensitive, as in OpenVPN
            "server.conf:7: Port: unknown directive (not an OpenVPN 2.6 option; check the spelling): did you mean "
            "\"port\"?");
  // Far from everything: no guess.
  EXPECT_EQ(error_of(k_base + "xyzzy\n"),
            "server.conf:7: xyzzy: unknown directive (not an OpenVPN 2.6 option; check the spelling)");
  EXPECT_EQ(edit_distance("keepalive", "keepalvie", 5), 2u);
  EXPECT_EQ(edit_distance("", "abc", 5), 3u);
  EXPECT_EQ(edit_distance("abcdef", "uvwxyz", 3), 3u);  // cut off at the limit
}

TEST(config, harmless_ignored) {
  server_config c = parse(k_base + "tun-ipv6\nsuppress-timestamps\nping-timer-rem\ncomp-noadapt\ndisable-dco\n"
                                   "persist-local-ip\nbind\nnice 5\nmax-routes 100\n");
  EXPECT_EQ(c.port, 1194);
  // An unknown inline block is skipped to its end tag, so its lines are not reported as directives.
  EXPECT_EQ(error_of(k_base + "<pkcs12>\nMIIB\nfoo bar\n</pkcs12>\n"),
            "server.conf:7: <pkcs12>: unknown or unsupported inline block");
}

// docs/directives.md against the parser: each row's status is what start-up does with the name.
TEST(config, directives_doc) {
  std::ifstream in(std::string(DPVPN_SOURCE_ROOT) + "/docs/directives.md");
  ASSERT_TRUE(in);
  std::map<std::string, std::string> status;  // directive -> status
  std::string l;
  while (std::getline(in, l)) {
    if (!l.starts_with("| `")) continue;
    auto tick = l.find('`', 3);
    auto bar = l.find(" | ", tick);
    auto bar2 = l.find(" | ", bar + 3);
    ASSERT_TRUE(tick != std::string::npos && bar == tick + 1 && bar2 != std::string::npos) << l;
    std::string name = l.substr(3, tick - 3), st = l.substr(bar + 3, bar2 - bar - 3);
    EXPECT_TRUE(status.emplace(name, st).second) << "row twice: " << name;
    if (st != "supported") {
      EXPECT_GT(l.size(), bar2 + 4) << "a note is expected: " << l;
    }
  }
  EXPECT_GE(status.size(), 317u);  // 2.6.14's options.c and `openvpn --help`, plus 6 removed ones
  for (const auto& [name, st] : status) {
    const openvpn_option* o = find_openvpn_option(name);
    std::string err = error_of(k_base + name + "\n");
    bool refused = err.find(": not supported by dpvpn") != std::string::npos ||
                   err.find(": is a client option") != std::string::npos ||
                   err.find(": only valid in a client-config-dir") != std::string::npos ||
                   err.find(": unknown directive") != std::string::npos;
    SCOPED_TRACE(name + " (" + st + "): " + err);
    if (st == "supported" || st == "supported differently" || st == "ignored (harmless)") {
      EXPECT_TRUE(!refused || (o != nullptr && o->kind == option_class::ccd_only && st == "supported"));
      if (st == "ignored (harmless)" && o != nullptr) {
        EXPECT_EQ(o->kind, option_class::ignored);
      }
    } else if (st == "not yet") {
      ASSERT_NE(o, nullptr);
      EXPECT_EQ(o->kind, option_class::not_yet);
    } else if (st == "not planned") {
      ASSERT_NE(o, nullptr);
      EXPECT_EQ(o->kind, option_class::not_planned);
    } else if (st == "client only") {
      ASSERT_NE(o, nullptr);
      EXPECT_EQ(o->kind, option_class::client_only);
    } else {
      ADD_FAILURE() << "unknown status";
    }
  }
  for (const auto& o : openvpn_options()) EXPECT_TRUE(status.count(std::string(o.name))) << "no row: " << o.name;
}

TEST(config, shipped_ccd_example) {
  std::string root = DPVPN_SOURCE_ROOT, path = root + "/conf/server-ccd.conf";
  server_config c = parse_server_config(path);
  EXPECT_EQ(format_ipv4(c.server->network), "10.9.0.0");
  ASSERT_TRUE(c.server_ipv6);
  EXPECT_EQ(format_ipv6_net(*c.server_ipv6), "fd00:9::/64");
  // Relative names resolve against the working directory: run with --cd conf (see its header).
  EXPECT_EQ(c.client_config_dir, "ccd");
  EXPECT_TRUE(std::filesystem::is_regular_file(root + "/conf/" + c.client_config_dir + "/branch1"));
  EXPECT_FALSE(c.ccd_exclusive);
  EXPECT_FALSE(c.duplicate_cn);
  EXPECT_TRUE(c.client_to_client);
  EXPECT_EQ(c.routes, (std::vector<route4>{{0xC0A81400u, 0xFFFFFF00u}}));
  EXPECT_EQ(c.push, (std::vector<std::string>{"route 192.168.10.0 255.255.255.0", "route 192.168.20.0 255.255.255.0",
                                              "dhcp-option DNS 10.9.0.1"}));
  EXPECT_EQ(c.push_ping, 10u);
  EXPECT_EQ(c.push_ping_restart, 60u);
  EXPECT_EQ(c.script_security, 2u);
  EXPECT_EQ(c.auth_user_pass_verify, (std::vector<std::string>{"scripts/auth-users.sh"}));
  EXPECT_FALSE(c.auth_user_pass_via_env);
  EXPECT_EQ(access((root + "/conf/" + c.auth_user_pass_verify[0]).c_str(), X_OK), 0)
      << "the example script must be executable";
  EXPECT_EQ(c.max_clients, 100u);
  EXPECT_EQ(c.ifconfig_pool_persist_path, "ipp.txt");
  EXPECT_EQ(c.ifconfig_pool_persist_interval, 600u);
}

}  // namespace

// TLS option parity: each value reaches server_config as openvpn keeps it; OpenSSL's refusal of a
// value is an error at its line.
TEST(config, tls_options) {
  server_config c = parse(k_base +
                          "tls-version-min 1.2\n"
                          "tls-version-max 1.2\n"
                          "tls-cipher TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\n"
                          "tls-ciphersuites TLS_AES_256_GCM_SHA384\n"
                          "tls-groups secp256r1\n"
                          "ecdh-curve secp384r1\n"
                          "tls-cert-profile preferred\n"
                          "remote-cert-tls client\n"
                          "remote-cert-eku \"TLS Web Client Authentication\"\n"
                          "remote-cert-ku 80 0xa0\n"
                          "verify-x509-name client name-prefix\n"
                          "x509-username-field cn emailAddress ext:subjectAltName\n"
                          "extra-certs chain.pem\n"
                          "capath /etc/cas\n");
  EXPECT_EQ(c.tls_version_max, tls_version::v1_2);
  EXPECT_EQ(c.tls_cipher, "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(c.tls_ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(c.tls_groups, "secp256r1");
  EXPECT_EQ(c.ecdh_curve, "secp384r1");
  EXPECT_EQ(c.tls_cert_profile, "preferred");
  EXPECT_EQ(c.remote_cert_eku, "TLS Web Client Authentication");
  EXPECT_EQ(c.remote_cert_ku, (std::vector<unsigned>{0x80, 0xa0}));
  EXPECT_EQ(c.verify_x509_type, x509_name_type::name_prefix);
  EXPECT_EQ(c.verify_x509_name, "client");
  EXPECT_EQ(c.x509_username_fields, (std::vector<std::string>{"CN", "emailAddress", "ext:subjectAltName"}));
  EXPECT_TRUE(c.extra_certs.present());
  EXPECT_TRUE(c.extra_certs.path.ends_with("chain.pem")) << c.extra_certs.path;
  EXPECT_EQ(c.capath, "/etc/cas");

  // remote-cert-tls client = keyUsage present + the clientAuth EKU; no-argument ku = present.
  c = parse(k_base + "remote-cert-ku 80\nremote-cert-tls client\n");
  EXPECT_EQ(c.remote_cert_ku, (std::vector<unsigned>{0xFFFFu}));
  EXPECT_EQ(c.remote_cert_eku, "TLS Web Client Authentication");
  c = parse(k_base + "remote-cert-ku\nverify-x509-name \"O=x, CN=y\"\n");
  EXPECT_EQ(c.remote_cert_ku, (std::vector<unsigned>{0xFFFFu}));
  EXPECT_EQ(c.verify_x509_type, x509_name_type::subject);
  // capath stands in for ca; extra-certs inline.
  c = parse("dev tun\nserver 10.8.0.0 255.255.255.0\ncert s.crt\nkey s.key\ncapath /etc/cas\n"
            "<extra-certs>\nPEM\n</extra-certs>\n");
  EXPECT_TRUE(c.extra_certs.is_inline);
  EXPECT_EQ(c.extra_certs.inline_text, "PEM\n");
}

TEST(config, tls_option_errors) {
  struct row {
    const char* line;
    const char* want;  // a part of the error, which also names line 7
  } rows[] = {
      {"tls-cipher NO-SUCH-CIPHER", "server.conf:7: tls-cipher: OpenSSL refuses"},
      {"tls-ciphersuites TLS_NO_SUCH", "server.conf:7: tls-ciphersuites: OpenSSL refuses"},
      {"tls-groups nosuchcurve", "server.conf:7: tls-groups: OpenSSL refuses"},
      {"tls-cert-profile strict", "server.conf:7: tls-cert-profile: expected legacy, preferred, suiteb or insecure"},
      {"tls-version-max 1.4", "server.conf:7: tls-version-max: expected 1.0, 1.1, 1.2 or 1.3"},
      {"remote-cert-eku clientAuth", "server.conf:7: remote-cert-eku: expected a numeric OID or OpenSSL's long name"},
      {"remote-cert-ku 80 zz", "server.conf:7: remote-cert-ku: expected key usage bits in hex"},
      {"verify-x509-name client cn", "server.conf:7: verify-x509-name: expected subject, name or name-prefix"},
      {"x509-username-field ext:keyUsage", "server.conf:7: x509-username-field: expected ext:subjectAltName"},
      {"x509-username-field NOSUCHFIELD", "server.conf:7: x509-username-field: expected a subject attribute"},
      {"tls-cipher", "server.conf:7: tls-cipher: expected \"tls-cipher CIPHER[:CIPHER...]\" (missing arguments)"},
  };
  for (const auto& r : rows) {
    std::string err = error_of(k_base + r.line + "\n");
    EXPECT_NE(err.find(r.want), std::string::npos) << r.line << ": " << err;
  }
  // openvpn: "--tls-version-min bigger than --tls-version-max".
  EXPECT_EQ(error_of(k_base + "tls-version-max 1.2\ntls-version-min 1.3\n"),
            "server.conf:7: tls-version-max: expected a version >= tls-version-min");
  EXPECT_EQ(error_of(k_base + "tls-version-max 1.3\ntls-version-min 1.2 or-highest\n"), "(parsed)");
}

// dp-metrics (control/metrics.h): address, port, the per-client option and their errors.
TEST(config, dp_metrics) {
  EXPECT_FALSE(parse(k_base).dp_metrics);
  server_config c = parse(k_base + "dp-metrics 127.0.0.1 9545\n");
  ASSERT_TRUE(c.dp_metrics);
  EXPECT_EQ(c.dp_metrics->ip, "127.0.0.1");
  EXPECT_EQ(c.dp_metrics->port, 9545);
  EXPECT_FALSE(c.dp_metrics->per_client);
  c = parse(k_base + "dp-metrics ::1 80 per-client\n");
  EXPECT_EQ(c.dp_metrics->ip, "::1");
  EXPECT_TRUE(c.dp_metrics->per_client);
  EXPECT_EQ(error_of(k_base + "dp-metrics localhost 9545\n"),
            "server.conf:7: dp-metrics: expected an IPv4 or IPv6 address such as 127.0.0.1, got \"localhost\"");
  EXPECT_EQ(error_of(k_base + "dp-metrics 127.0.0.1 0\n"),
            "server.conf:7: dp-metrics: expected a number 1..65535, got \"0\"");
  EXPECT_EQ(error_of(k_base + "dp-metrics 127.0.0.1 9545 clients\n"),
            "server.conf:7: dp-metrics: expected per-client (or nothing) after the port, got \"clients\"");
}

// Issue 12: `management` and the options that change it.
TEST(config, management) {
  auto c = parse(k_base + "management 127.0.0.1 7505 mgmt.pw\nmanagement-client-auth\nmanagement-log-cache 50\n");
  ASSERT_TRUE(c.management);
  EXPECT_EQ(c.management->addr, "127.0.0.1");
  EXPECT_EQ(c.management->port, 7505);
  EXPECT_EQ(c.management->pw_file, "mgmt.pw");
  EXPECT_FALSE(c.management->unix_socket);
  EXPECT_TRUE(c.management_client_auth);
  EXPECT_EQ(c.management_log_cache, 50u);
  c = parse(k_base + "management /run/dpvpn.sock unix\nmanagement-hold\nmanagement-client-user root\n");
  EXPECT_TRUE(c.management->unix_socket);
  EXPECT_EQ(c.management->addr, "/run/dpvpn.sock");
  EXPECT_TRUE(c.management_hold);
  EXPECT_NE(error_of(k_base + "management-client-auth\n").find("expected a management line as well"), std::string::npos);
  EXPECT_NE(error_of(k_base + "management 127.0.0.1 7505\nmanagement-client-user root\n").find("only a unix socket"),
            std::string::npos);
  EXPECT_NE(error_of(k_base + "management localhost 7505\n").find("expected an IP address"), std::string::npos);
  EXPECT_NE(error_of(k_base + "management 127.0.0.1 0\n").find("expected a number 1..65535"), std::string::npos);
  EXPECT_NE(error_of(k_base + "management 127.0.0.1 7505 stdin\n").find("does not prompt"), std::string::npos);
}
