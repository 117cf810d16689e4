// SPDX-License-Identifier: MIT
// TLS inputs given as PEM text (inline <ca>, <cert>, <key>, <crl-verify>, <extra-certs> blocks)
// are read from memory: a handshake works as with the files, the CRL applies, errors name the
// block. Throwaway certificates from tools/gen-test-pki.sh in a temporary directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dpvpn/tls_engine.h"

using namespace dpvpn::proto;
namespace fs = std::filesystem;

namespace {

fs::path source_root() {
  if (const char* s = std::getenv("DPVPN_SRC")) return s;
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

class tls_inline : public ::testing::Test {
 protected:
  static fs::path dir;
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "dpvpn-pki-inline-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return;
    const std::string cmd = "sh '" + (source_root() / "tools" / "gen-test-pki.sh").string() + "' '" + tmpl + "' --force";
    if (std::system(cmd.c_str()) == 0) dir = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  void SetUp() override { ASSERT_FALSE(dir.empty()) << "gen-test-pki.sh failed"; }
  static std::string f(const char* name) { return (dir / name).string(); }
  static std::string text(const char* name) {
    std::ifstream in(dir / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // The server from PEM text only: no *_file is set.
  static tls_config server_inline() {
    tls_config c;
    c.server = true;
    c.ca_pem = text("ca.crt");
    c.cert_pem = text("server.crt");
    c.key_pem = text("server.key");
    return c;
  }
  static tls_config client_files(const std::string& who) {
    tls_config c;
    c.server = false;
    c.ca_file = f("ca.crt");
    c.cert_file = f((who + ".crt").c_str());
    c.key_file = f((who + ".key").c_str());
    c.remote_cert = remote_cert_tls::server;
    return c;
  }
};
fs::path tls_inline::dir;

void pump(tls_session& cl, tls_session& sv) {
  for (int round = 0; round < 100; ++round) {
    cl.advance();
    sv.advance();
    size_t moved = 0;
    while (cl.pending_ciphertext()) {
      auto b = cl.take_ciphertext(1250);
      moved += b.size();
      sv.feed_ciphertext(b);
      sv.advance();
    }
    while (sv.pending_ciphertext()) {
      auto b = sv.take_ciphertext(1250);
      moved += b.size();
      cl.feed_ciphertext(b);
      cl.advance();
    }
    if (moved == 0) return;
  }
}

TEST_F(tls_inline, handshake_from_memory) {
  tls_config sc = server_inline();
  sc.extra_certs_pem = text("ca.crt");
  std::string err;
  auto s = tls_context::create(sc, err);
  ASSERT_TRUE(s) << err;
  EXPECT_TRUE(s->config().key_pem.empty());  // no copy of the private key beside the SSL_CTX
  auto c = tls_context::create(client_files("client1"), err);
  ASSERT_TRUE(c) << err;
  tls_session cl(*c), sv(*s);
  pump(cl, sv);
  ASSERT_TRUE(sv.handshake_done()) << sv.error();
  ASSERT_TRUE(cl.handshake_done()) << cl.error();
  EXPECT_EQ(sv.peer_common_name(), "client1");
  EXPECT_EQ(cl.peer_common_name(), "server");

  // The client from memory too (a client may have no certificate: CA only).
  tls_config cc;
  cc.server = false;
  cc.ca_pem = text("ca.crt");
  cc.cert_pem = text("client1.crt");
  cc.key_pem = text("client1.key");
  auto c2 = tls_context::create(cc, err);
  ASSERT_TRUE(c2) << err;
  tls_session cl2(*c2), sv2(*s);
  pump(cl2, sv2);
  EXPECT_TRUE(sv2.handshake_done()) << sv2.error();
}

TEST_F(tls_inline, crl_from_memory_refuses_the_revoked) {
  tls_config sc = server_inline();
  sc.crl_pem = text("crl.pem");
  std::string err;
  auto s = tls_context::create(sc, err);
  ASSERT_TRUE(s) << err;
  for (const char* who : {"client1", "revoked"}) {
    auto c = tls_context::create(client_files(who), err);
    ASSERT_TRUE(c) << err;
    tls_session cl(*c), sv(*s);
    pump(cl, sv);
    EXPECT_EQ(sv.handshake_done(), std::string(who) == "client1") << who << ": " << sv.error();
  }
  EXPECT_TRUE(s->reload_crl(err)) << err;  // re-read from memory
}

TEST_F(tls_inline, errors_name_the_inline_block) {
  std::string err;
  tls_config sc = server_inline();
  sc.key_pem = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_EQ(err.rfind("<key> (inline): cannot load private key", 0), 0u) << err;
  sc = server_inline();
  sc.key_pem = text("client1.key");
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_EQ(err, "<key> (inline): cannot load private key: key values mismatch");
  sc = server_inline();
  sc.ca_pem = "junk\n";
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_EQ(err.rfind("<ca> (inline): cannot load CA certificates", 0), 0u) << err;
  sc = server_inline();
  sc.crl_pem = text("ca.crt");
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_EQ(err, "<crl-verify> (inline): no PEM CRL could be read");
}

}  // namespace
