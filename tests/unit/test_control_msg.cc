// SPDX-License-Identifier: MIT
// Control-channel text messages (§10), PUSH_REPLY parts and accumulation, NCP (§11).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dpvpn/control_msg.h"
#include "dpvpn/wire.h"

using namespace dpvpn;
using namespace dpvpn::proto;
using crypto::cipher_alg;

namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The lab PUSH_REPLY of §10.3 / §14.1 step 13.
const char* const k_lab_reply =
    "PUSH_REPLY,route-gateway 10.99.0.1,topology subnet,ping 10,ping-restart 60,"
    "ifconfig 10.99.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,"
    "protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500";

}  // namespace

// §15.13 (upstream test_extract_control_message).
TEST(control_msg, split_vector_15_13) {
  using namespace std::string_literals;
  auto in = bytes("valid control message\r\n\0\0Invalid\r\none\0valid one again\0"s);
  auto m = split_control_messages(in);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], "valid control message");
  EXPECT_EQ(m[1], "");
  EXPECT_EQ(m[2], "");
  EXPECT_EQ(m[3], "valid one again");
  EXPECT_TRUE(split_control_messages(bytes("no NUL")).empty());
}

TEST(control_msg, split_drops_tail_and_binary) {
  using namespace std::string_literals;
  auto m = split_control_messages(bytes("PUSH_REQUEST\0EXIT\0partial"s));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], "PUSH_REQUEST");
  EXPECT_EQ(m[1], "EXIT");
  m = split_control_messages(bytes("bad\x01text\0ok\n\r\n\0"s));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], "");
  EXPECT_EQ(m[1], "ok");
  m = split_control_messages(bytes("caf\xc3\xa9\0"s));  // non-ASCII is not CC_PRINT
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], "");
  EXPECT_TRUE(split_control_messages({}).empty());
}

TEST(control_msg, push_reply_empty_and_single) {
  auto p = build_push_reply({});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "PUSH_REPLY");

  p = build_push_reply({"route-gateway 10.99.0.1", "topology subnet", "ping 10", "ping-restart 60",
                        "ifconfig 10.99.0.2 255.255.255.0", "peer-id 0", "cipher AES-256-GCM",
                        "protocol-flags cc-exit tls-ekm dyn-tls-crypt", "tun-mtu 1500"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], k_lab_reply);
  EXPECT_EQ(p[0].size() + 1, 195u);  // §14.1 step 13: 195 bytes plaintext incl. NUL

  push_accumulator acc;
  EXPECT_TRUE(acc.feed(p[0]));
  ASSERT_EQ(acc.options().size(), 9u);
  EXPECT_EQ(acc.options()[6], "cipher AES-256-GCM");
}

TEST(control_msg, push_reply_exactly_at_limit_stays_single) {
  // "PUSH_REPLY" + ",<opt>" fills 1023 bytes (+ NUL = 1024): one part, no continuation.
  std::string opt(1023 - 10 - 1, 'x');
  auto p = build_push_reply({opt});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].size() + 1, wire::k_push_bundle_size);
  p = build_push_reply({opt + "y"});  // one byte over: still one option, now marked final
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(p[0].ends_with(",push-continuation 1"));
}

TEST(control_msg, push_reply_many_routes_round_trip) {
  std::vector<std::string> opts{"route-gateway 10.8.0.1", "topology subnet"};
  for (int i = 0; i < 200; ++i)
    opts.push_back("route 10." + std::to_string(i) + ".0.0 255.255.0.0");
  opts.push_back("ifconfig 10.8.0.2 255.255.255.0");
  opts.push_back("peer-id 3");
  opts.push_back("cipher AES-256-GCM");
  opts.push_back("protocol-flags cc-exit tls-ekm");

  auto parts = build_push_reply(opts);
  ASSERT_GT(parts.size(), 3u);
  push_accumulator acc;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& s = parts[i];
    EXPECT_LE(s.size() + 1, wire::k_push_bundle_size) << "part " << i;
    EXPECT_TRUE(s.starts_with("PUSH_REPLY,")) << "part " << i;
    bool last = i + 1 == parts.size();
    EXPECT_TRUE(s.ends_with(last ? ",push-continuation 1" : ",push-continuation 2")) << "part " << i;
    // Packing is greedy: the next part's first option would not have fitted here.
    if (!last) {
      auto next_first = parts[i + 1].substr(11, parts[i + 1].find(',', 11) - 11);
      EXPECT_GT(s.size() + 1 + next_first.size() + 1, wire::k_push_bundle_size) << "part " << i;
    }
    EXPECT_EQ(acc.feed(s), last) << "part " << i;
  }
  EXPECT_EQ(acc.options(), opts);
}

TEST(control_msg, push_reply_never_splits_long_option) {
  std::vector<std::string> opts{std::string(300, 'a'), std::string(900, 'b'), "ping 10"};
  auto parts = build_push_reply(opts);
  push_accumulator acc;
  for (auto& s : parts) acc.feed(s);
  EXPECT_EQ(acc.options(), opts);
}

TEST(control_msg, accumulator_continuation) {
  push_accumulator acc;
  EXPECT_FALSE(acc.feed("PUSH_REPLY,route 10.1.0.0 255.255.0.0,push-continuation 2"));
  EXPECT_FALSE(acc.feed("PUSH_REPLY,route 10.2.0.0 255.255.0.0,push-continuation 2"));
  // Once 2 was seen, a part without push-continuation is not final (§10.3).
  EXPECT_FALSE(acc.feed("PUSH_REPLY,route 10.3.0.0 255.255.0.0"));
  EXPECT_TRUE(acc.feed("PUSH_REPLY,peer-id 1,push-continuation 1"));
  std::vector<std::string> want{"route 10.1.0.0 255.255.0.0", "route 10.2.0.0 255.255.0.0",
                                "route 10.3.0.0 255.255.0.0", "peer-id 1"};
  EXPECT_EQ(acc.options(), want);

  acc.reset();
  EXPECT_TRUE(acc.feed("PUSH_REPLY"));  // empty reply is valid and complete
  EXPECT_TRUE(acc.options().empty());
  EXPECT_TRUE(acc.feed("PUSH_REPLY,,ping 5,"));  // empty items are skipped
  EXPECT_EQ(acc.options(), std::vector<std::string>{"ping 5"});

  acc.reset();
  EXPECT_FALSE(acc.feed("PUSH_REQUEST"));
  EXPECT_FALSE(acc.feed("PUSH_REPLYX,ping 1"));
  EXPECT_FALSE(acc.feed("AUTH_FAILED"));
  EXPECT_TRUE(acc.options().empty());
}

TEST(control_msg, split_words_quoting) {
  using v = std::vector<std::string>;
  EXPECT_EQ(split_words("route 10.0.0.0 255.0.0.0"), (v{"route", "10.0.0.0", "255.0.0.0"}));
  EXPECT_EQ(split_words("  \t ping\t 10  "), (v{"ping", "10"}));
  EXPECT_EQ(split_words("echo \"hello world\" x"), (v{"echo", "hello world", "x"}));
  EXPECT_EQ(split_words("echo 'a \"b\" \\c'"), (v{"echo", "a \"b\" \\c"}));  // no escapes in '…'
  EXPECT_EQ(split_words(R"(echo "say \"hi\" \\ now")"), (v{"echo", "say \"hi\" \\ now"}));
  EXPECT_EQ(split_words(R"(setenv-safe A b\ c)"), (v{"setenv-safe", "A", "b c"}));
  EXPECT_EQ(split_words("auth-token \"\""), (v{"auth-token", ""}));
  EXPECT_EQ(split_words("\"ab\"cd"), (v{"ab", "cd"}));  // a closing quote ends the word
  EXPECT_EQ(split_words("ping 10 # comment"), (v{"ping", "10"}));
  EXPECT_EQ(split_words("ping 10 ;x"), (v{"ping", "10"}));
  EXPECT_EQ(split_words("a#b"), (v{"a#b"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words("   ").empty());

  v out;
  EXPECT_EQ(split_words("echo \"open", out), words_err::unterminated_quote);
  EXPECT_EQ(out, v{"echo"});
  out.clear();
  EXPECT_EQ(split_words("echo 'open", out), words_err::unterminated_quote);
  out.clear();
  EXPECT_EQ(split_words("echo x\\", out), words_err::trailing_backslash);
  EXPECT_TRUE(split_words("echo \"open").empty());
  EXPECT_STREQ(to_string(words_err::unterminated_quote), "no closing quotation");
}

TEST(control_msg, parse_lab_reply) {
  push_accumulator acc;
  ASSERT_TRUE(acc.feed(k_lab_reply));
  auto po = parse_pushed_options(acc.options());
  EXPECT_EQ(po.cipher, "AES-256-GCM");
  EXPECT_EQ(po.peer_id, 0u);
  EXPECT_TRUE(po.tls_ekm);
  EXPECT_TRUE(po.cc_exit);
  EXPECT_TRUE(po.dyn_tls_crypt);
  EXPECT_EQ(po.ifconfig_local, "10.99.0.2");
  EXPECT_EQ(po.ifconfig_remote_or_mask, "255.255.255.0");
  EXPECT_EQ(po.topology, "subnet");
  EXPECT_EQ(po.ping, 10);
  EXPECT_EQ(po.ping_restart, 60);
  EXPECT_EQ(po.comp, "");
  EXPECT_EQ(po.unknown, (std::vector<std::string>{"route-gateway 10.99.0.1", "tun-mtu 1500"}));
}

TEST(control_msg, parse_options_edge_cases) {
  auto po = parse_pushed_options({"key-derivation tls-ekm", "comp-lzo no", "peer-id 16777214"});
  EXPECT_TRUE(po.tls_ekm);
  EXPECT_FALSE(po.cc_exit);
  EXPECT_EQ(po.comp, "lzo-no");
  EXPECT_EQ(po.peer_id, 0xFFFFFEu);
  EXPECT_TRUE(po.unknown.empty());

  EXPECT_EQ(parse_pushed_options({"compress"}).comp, "stub");
  EXPECT_EQ(parse_pushed_options({"compress stub"}).comp, "stub");
  EXPECT_EQ(parse_pushed_options({"compress stub-v2"}).comp, "stub-v2");

  // Malformed or unsupported known keywords go to `unknown` and change nothing.
  po = parse_pushed_options({"peer-id 16777215", "peer-id -1", "peer-id x", "ping abc", "ping-restart",
                             "compress lz4", "comp-lzo yes", "ifconfig 10.0.0.1", "cipher", "\"unterminated",
                             "", "protocol-flags cc-exit aead-epoch"});
  EXPECT_FALSE(po.peer_id);
  EXPECT_EQ(po.ping, 0);
  EXPECT_EQ(po.comp, "");
  EXPECT_FALSE(po.cipher);
  EXPECT_TRUE(po.cc_exit);  // the known flag still applies
  EXPECT_EQ(po.unknown.size(), 12u);
}

namespace {

peer_info client_with(std::string ciphers, bool has, int ncp) {
  peer_info pi;
  pi.ciphers = std::move(ciphers);
  pi.has_ciphers = has;
  pi.iv_ncp = ncp;
  return pi;
}

}  // namespace

TEST(control_msg, ncp_table) {
  const std::vector<cipher_alg> srv{cipher_alg::aes_256_gcm, cipher_alg::aes_128_gcm, cipher_alg::chacha20_poly1305};
  const std::vector<cipher_alg> srv_chacha{cipher_alg::chacha20_poly1305, cipher_alg::aes_128_gcm};
  struct row {
    int n;
    std::vector<cipher_alg> server;
    peer_info client;
    std::optional<cipher_alg> fallback, want;
  };
  const row rows[] = {
      // 1: the 2.6.14 default client; the server's first entry wins.
      {1, srv, client_with("AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305", true, 2), {}, cipher_alg::aes_256_gcm},
      // 2: server order wins over client order.
      {2, srv_chacha, client_with("AES-128-GCM:CHACHA20-POLY1305", true, 2), {}, cipher_alg::chacha20_poly1305},
      // 3: IV_CIPHERS is authoritative even with IV_NCP=2.
      {3, srv, client_with("CHACHA20-POLY1305", true, 2), {}, cipher_alg::chacha20_poly1305},
      // 4: case-insensitive, OpenSSL alias, unknown names skipped.
      {4, srv, client_with("BF-CBC:id-aes128-GCM", true, 0), {}, cipher_alg::aes_128_gcm},
      // 5: IV_NCP=2 without IV_CIPHERS means AES-256-GCM:AES-128-GCM.
      {5, srv_chacha, client_with("", false, 2), {}, cipher_alg::aes_128_gcm},
      {6, {cipher_alg::chacha20_poly1305}, client_with("", false, 2), {}, std::nullopt},
      // 7: a list without overlap gets nothing, fallback or not.
      {7, srv, client_with("AES-256-CBC", true, 2), cipher_alg::aes_256_cbc, std::nullopt},
      // 8/9: no list at all: the fallback, or nothing.
      {8, srv, client_with("", false, 0), cipher_alg::aes_256_cbc, cipher_alg::aes_256_cbc},
      {9, srv, client_with("", false, 0), {}, std::nullopt},
      // 10: empty IV_CIPHERS is still a list (an empty one).
      {10, srv, client_with("", true, 2), cipher_alg::aes_256_gcm, std::nullopt},
  };
  for (const auto& r : rows) EXPECT_EQ(ncp_select(r.server, r.client, r.fallback), r.want) << "row " << r.n;
}

TEST(control_msg, parse_cipher_list) {
  std::string err;
  auto l = parse_cipher_list("AES-256-GCM:aes-128-gcm:CHACHA20-POLY1305", &err);
  EXPECT_EQ(l, (std::vector<cipher_alg>{cipher_alg::aes_256_gcm, cipher_alg::aes_128_gcm,
                                        cipher_alg::chacha20_poly1305}));
  EXPECT_TRUE(err.empty());
  l = parse_cipher_list("AES-256-GCM::?BF-CBC:AES-256-GCM:AES-256-CBC", &err);  // dup and optional dropped
  EXPECT_EQ(l, (std::vector<cipher_alg>{cipher_alg::aes_256_gcm, cipher_alg::aes_256_cbc}));
  EXPECT_TRUE(err.empty());
  EXPECT_TRUE(parse_cipher_list("AES-256-GCM:BF-CBC", &err).empty());
  EXPECT_NE(err.find("BF-CBC"), std::string::npos);
  err.clear();
  EXPECT_TRUE(parse_cipher_list("", &err).empty());
  EXPECT_FALSE(err.empty());
  EXPECT_TRUE(parse_cipher_list("nonsense", nullptr).empty());
}
