// SPDX-License-Identifier: MIT
// TLS over memory BIOs (§5): a client and a server tls_session pump bytes to each other in memory,
// with throwaway certificates made by tools/gen-test-pki.sh in a temporary directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "dpvpn/key_derive.h"
#include "dpvpn/tls_engine.h"

using namespace dpvpn;
using namespace dpvpn::proto;
namespace fs = std::filesystem;

namespace {

fs::path source_root() {
  if (const char* s = std::getenv("DPVPN_SRC")) return s;
  // Without meson test: __FILE__ is relative to the build directory (or absolute).
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

// Runs the generator once per flavour and removes the directories at exit.
class pki_env : public ::testing::Environment {
 public:
  static fs::path ec_dir, rsa_dir;
  static fs::path make(bool rsa) {
    fs::path& d = rsa ? rsa_dir : ec_dir;
    if (!d.empty()) return d;
    std::string tmpl = (fs::temp_directory_path() / "dpvpn-pki-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return {};
    std::string cmd = "sh '" + (source_root() / "tools" / "gen-test-pki.sh").string() + "' '" + tmpl + "'" +
                      (rsa ? " --rsa" : "") + " --force";
    if (std::system(cmd.c_str()) != 0) return {};
    d = tmpl;
    return d;
  }
  void TearDown() override {
    std::error_code ec;
    if (!ec_dir.empty()) fs::remove_all(ec_dir, ec);
    if (!rsa_dir.empty()) fs::remove_all(rsa_dir, ec);
  }
};
fs::path pki_env::ec_dir, pki_env::rsa_dir;
[[maybe_unused]] auto* const g_env = ::testing::AddGlobalTestEnvironment(new pki_env);

class tls_engine : public ::testing::Test {
 protected:
  fs::path dir;
  void SetUp() override {
    dir = pki_env::make(false);
    ASSERT_FALSE(dir.empty()) << "gen-test-pki.sh failed (DPVPN_SRC=" << source_root() << ")";
  }
  std::string f(const char* name) const { return (dir / name).string(); }

  tls_config server_cfg() const {
    tls_config c;
    c.server = true;
    c.ca_file = f("ca.crt");
    c.cert_file = f("server.crt");
    c.key_file = f("server.key");
    return c;
  }
  tls_config client_cfg(const std::string& who = "client1") const {
    tls_config c;
    c.server = false;
    c.ca_file = f("ca.crt");
    c.cert_file = f((who + ".crt").c_str());
    c.key_file = f((who + ".key").c_str());
    c.remote_cert = remote_cert_tls::server;
    return c;
  }
};

std::unique_ptr<tls_context> must_create(const tls_config& c) {
  std::string err;
  auto t = tls_context::create(c, err);
  EXPECT_TRUE(t) << err;
  return t;
}

// Moves ciphertext both ways in small pieces until neither side produces any more.
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

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

void handshake_and_check(tls_context& cctx, tls_context& sctx, const char* want_version) {
  tls_session cl(cctx), sv(sctx);
  pump(cl, sv);
  ASSERT_TRUE(cl.handshake_done()) << cl.error();
  ASSERT_TRUE(sv.handshake_done()) << sv.error();
  EXPECT_EQ(cl.version(), want_version);
  EXPECT_EQ(sv.version(), want_version);
  EXPECT_EQ(cl.cipher(), sv.cipher());
  EXPECT_EQ(sv.peer_common_name(), "client1");
  EXPECT_EQ(cl.peer_common_name(), "server");
  // tls-verify's view of the chain: the client's certificate, then the CA (gen-test-pki.sh).
  const std::vector<peer_cert> chain = sv.peer_chain();
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].depth, 0);
  EXPECT_EQ(chain[1].depth, 1);
  EXPECT_TRUE(chain[0].subject.ends_with(", CN=client1")) << chain[0].subject;
  EXPECT_TRUE(chain[1].subject.starts_with("O=")) << chain[1].subject;
  EXPECT_EQ(chain[0].fields.back(), (std::pair<std::string, std::string>{"CN", "client1"}));
  EXPECT_FALSE(chain[0].serial.empty());
  EXPECT_EQ(chain[0].serial.find_first_not_of("0123456789"), std::string::npos) << chain[0].serial;
  EXPECT_EQ(chain[0].sha256.size(), 32u * 3 - 1);
  EXPECT_EQ(chain[0].sha1.size(), 20u * 3 - 1);
  EXPECT_NE(chain[0].sha256, chain[1].sha256);

  // §5.3 / §7.1: both ends export the same 256 bytes; the two labels differ.
  key2 a{}, b{}, da{}, db{};
  ASSERT_TRUE(derive_ekm(cl, a));
  ASSERT_TRUE(derive_ekm(sv, b));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(key2_is_weak(a, 32));
  ASSERT_TRUE(derive_dyn_tls_crypt(cl, da));
  ASSERT_TRUE(derive_dyn_tls_crypt(sv, db));
  EXPECT_EQ(da, db);
  EXPECT_NE(a, da);

  // §5.1: each SSL_write arrives as one read unit on the other side.
  ASSERT_TRUE(cl.write_plaintext(bytes("key-method-2 message")));
  ASSERT_TRUE(cl.write_plaintext(bytes("PUSH_REQUEST")));
  pump(cl, sv);
  uint8_t buf[2048];
  int n = sv.read_plaintext(buf, sizeof buf);
  ASSERT_EQ(n, 20);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 20), "key-method-2 message");
  n = sv.read_plaintext(buf, sizeof buf);
  ASSERT_EQ(n, 12);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 12), "PUSH_REQUEST");
  EXPECT_EQ(sv.read_plaintext(buf, sizeof buf), 0);

  std::string reply(2000, 'r');
  ASSERT_TRUE(sv.write_plaintext(bytes(reply)));
  pump(cl, sv);
  EXPECT_EQ(cl.read_plaintext(buf, sizeof buf), 2000);
  EXPECT_EQ(cl.read_plaintext(buf, sizeof buf), 0);
  EXPECT_FALSE(cl.failed());
  EXPECT_FALSE(sv.failed());
}

// Runs a handshake that must fail on the side `fails`; returns that side's error. In TLS 1.3 the
// client finishes before the server has judged its certificate, so it learns of the refusal from
// the alert on its next read.
std::string expect_refused(tls_session& cl, tls_session& sv, bool server_refuses) {
  pump(cl, sv);
  uint8_t buf[64];
  cl.read_plaintext(buf, sizeof buf);
  tls_session& bad = server_refuses ? sv : cl;
  EXPECT_TRUE(bad.failed());
  EXPECT_FALSE(bad.handshake_done());
  EXPECT_FALSE(bad.error().empty());
  EXPECT_TRUE(cl.failed() || !cl.handshake_done()) << "the client must not end up usable";
  key2 k{};
  EXPECT_FALSE(derive_ekm(bad, k));
  return bad.error();
}

}  // namespace

TEST_F(tls_engine, handshake_tls13) {
  auto s = must_create(server_cfg());
  auto c = must_create(client_cfg());
  ASSERT_TRUE(s && c);
  handshake_and_check(*c, *s, "TLSv1.3");
}

TEST_F(tls_engine, handshake_tls12_default_cipher_list) {
  auto s = must_create(server_cfg());
  auto cc = client_cfg();
  cc.version_max = "1.2";
  auto c = must_create(cc);
  ASSERT_TRUE(s && c);
  handshake_and_check(*c, *s, "TLSv1.2");
  tls_session cl(*c), sv(*s);
  pump(cl, sv);
  EXPECT_EQ(cl.cipher().rfind("ECDHE-", 0), 0u) << cl.cipher();  // §5.2: no static RSA/DH
}

TEST_F(tls_engine, handshake_rsa_pki_tls12_and_13) {
  fs::path rsa = pki_env::make(true);
  ASSERT_FALSE(rsa.empty());
  dir = rsa;
  auto s = must_create(server_cfg());
  auto c = must_create(client_cfg());
  ASSERT_TRUE(s && c);
  handshake_and_check(*c, *s, "TLSv1.3");
  auto cc = client_cfg();
  cc.version_max = "1.2";
  auto c12 = must_create(cc);
  ASSERT_TRUE(c12);
  handshake_and_check(*c12, *s, "TLSv1.2");
}

TEST_F(tls_engine, remote_cert_tls_client_and_crl) {
  auto sc = server_cfg();
  sc.remote_cert = remote_cert_tls::client;
  sc.crl_file = f("crl.pem");
  auto s = must_create(sc);
  ASSERT_TRUE(s);
  for (const char* who : {"client1", "client8"}) {
    auto c = must_create(client_cfg(who));
    tls_session cl(*c), sv(*s);
    pump(cl, sv);
    EXPECT_TRUE(sv.handshake_done()) << who << ": " << sv.error();
    EXPECT_EQ(sv.peer_common_name(), who);
  }
  for (const char* v : {"1.2", "1.3"}) {
    auto cc = client_cfg("revoked");
    cc.version_max = v;
    auto c = must_create(cc);
    tls_session cl(*c), sv(*s);
    std::string err = expect_refused(cl, sv, true);
    EXPECT_NE(err.find("revoked"), std::string::npos) << err;

    cc = client_cfg("noeku");
    cc.version_max = v;
    c = must_create(cc);
    tls_session cl2(*c), sv2(*s);
    err = expect_refused(cl2, sv2, true);
    EXPECT_NE(err.find("certificate verify failed"), std::string::npos) << err;
  }
}

TEST_F(tls_engine, no_eku_client_accepted_without_remote_cert_tls) {
  auto s = must_create(server_cfg());
  auto c = must_create(client_cfg("noeku"));
  tls_session cl(*c), sv(*s);
  pump(cl, sv);
  EXPECT_TRUE(sv.handshake_done()) << sv.error();
}

TEST_F(tls_engine, client_checks_server_eku) {
  // The client insists on serverAuth: a client certificate posing as a server is refused.
  auto sc = server_cfg();
  sc.cert_file = f("client2.crt");
  sc.key_file = f("client2.key");
  auto s = must_create(sc);
  auto c = must_create(client_cfg());
  tls_session cl(*c), sv(*s);
  std::string err = expect_refused(cl, sv, false);
  EXPECT_NE(err.find("certificate verify failed"), std::string::npos) << err;
}

TEST_F(tls_engine, reload_crl_picks_up_revocation) {
  fs::path crl = dir / "crl-live.pem";
  fs::copy_file(dir / "crl-empty.pem", crl, fs::copy_options::overwrite_existing);
  auto sc = server_cfg();
  sc.crl_file = crl.string();
  auto s = must_create(sc);
  auto c = must_create(client_cfg("revoked"));
  {
    tls_session cl(*c), sv(*s);
    pump(cl, sv);
    EXPECT_TRUE(sv.handshake_done()) << sv.error();
  }
  fs::copy_file(dir / "crl.pem", crl, fs::copy_options::overwrite_existing);
  std::string err;
  ASSERT_TRUE(s->reload_crl(err)) << err;
  {
    tls_session cl(*c), sv(*s);
    EXPECT_NE(expect_refused(cl, sv, true).find("revoked"), std::string::npos);
  }
  auto good = must_create(client_cfg("client3"));
  tls_session cl(*good), sv(*s);
  pump(cl, sv);
  EXPECT_TRUE(sv.handshake_done()) << sv.error();

  std::ofstream(crl) << "not a CRL\n";
  EXPECT_FALSE(s->reload_crl(err));
  EXPECT_FALSE(err.empty());
}

TEST_F(tls_engine, version_min_13_refuses_12_client) {
  auto sc = server_cfg();
  sc.version_min = "1.3";
  auto s = must_create(sc);
  auto cc = client_cfg();
  cc.version_max = "1.2";
  auto c = must_create(cc);
  tls_session cl(*c), sv(*s);
  expect_refused(cl, sv, true);
  EXPECT_TRUE(cl.failed());
}

TEST_F(tls_engine, untrusted_ca_fails) {
  auto s = must_create(server_cfg());
  auto cc = client_cfg();
  cc.ca_file = f("other-ca.crt");
  auto c = must_create(cc);
  tls_session cl(*c), sv(*s);
  std::string err = expect_refused(cl, sv, false);
  EXPECT_NE(err.find("certificate verify failed"), std::string::npos) << err;

  // And the other way round: the server does not trust the client's CA.
  auto sc = server_cfg();
  sc.ca_file = f("other-ca.crt");
  auto s2 = must_create(sc);
  auto c2 = must_create(client_cfg());
  tls_session cl2(*c2), sv2(*s2);
  expect_refused(cl2, sv2, true);
}

TEST_F(tls_engine, client_without_certificate) {
  auto cc = client_cfg();
  cc.cert_file.clear();
  cc.key_file.clear();
  auto c = must_create(cc);
  auto s = must_create(server_cfg());
  {
    tls_session cl(*c), sv(*s);
    expect_refused(cl, sv, true);  // verify-client-cert require (the default)
  }
  auto sc = server_cfg();
  sc.verify_client = verify_client_cert::optional;
  auto so = must_create(sc);
  tls_session cl(*c), sv(*so);
  pump(cl, sv);
  EXPECT_TRUE(sv.handshake_done()) << sv.error();
  EXPECT_EQ(sv.peer_common_name(), "");
  EXPECT_TRUE(sv.peer_chain().empty());
}

TEST_F(tls_engine, verify_client_none_does_not_ask) {
  auto sc = server_cfg();
  sc.verify_client = verify_client_cert::none;
  auto s = must_create(sc);
  auto c = must_create(client_cfg("revoked"));
  tls_session cl(*c), sv(*s);
  pump(cl, sv);
  EXPECT_TRUE(sv.handshake_done()) << sv.error();
  EXPECT_EQ(sv.peer_common_name(), "");
  EXPECT_TRUE(sv.peer_chain().empty());
}

TEST_F(tls_engine, garbage_ciphertext_fails_cleanly) {
  auto s = must_create(server_cfg());
  tls_session sv(*s);
  std::vector<uint8_t> junk(300);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = uint8_t(i * 37 + 11);
  sv.feed_ciphertext(junk);
  EXPECT_FALSE(sv.advance());
  EXPECT_TRUE(sv.failed());
  EXPECT_FALSE(sv.error().empty());
  EXPECT_FALSE(sv.advance());
  uint8_t buf[16];
  EXPECT_EQ(sv.read_plaintext(buf, sizeof buf), -1);
  EXPECT_FALSE(sv.write_plaintext(bytes("x")));

  // Garbage after a good handshake breaks the session too, without crashing.
  auto c = must_create(client_cfg());
  tls_session cl(*c), sv2(*s);
  pump(cl, sv2);
  ASSERT_TRUE(sv2.handshake_done());
  sv2.feed_ciphertext(junk);
  EXPECT_EQ(sv2.read_plaintext(buf, sizeof buf), -1);
  EXPECT_TRUE(sv2.failed());
}

TEST_F(tls_engine, not_usable_before_handshake) {
  auto c = must_create(client_cfg());
  tls_session cl(*c);
  EXPECT_TRUE(cl.advance());
  EXPECT_GT(cl.pending_ciphertext(), 0u);  // the ClientHello
  EXPECT_FALSE(cl.write_plaintext(bytes("early")));
  uint8_t buf[8];
  EXPECT_EQ(cl.read_plaintext(buf, sizeof buf), 0);
  key2 k{};
  EXPECT_FALSE(derive_ekm(cl, k));
  EXPECT_EQ(cl.peer_common_name(), "");
}

TEST_F(tls_engine, bad_config_is_reported) {
  std::string err;
  auto c = server_cfg();
  c.version_min = "1.4";
  EXPECT_FALSE(tls_context::create(c, err));
  EXPECT_NE(err.find("tls-version-min"), std::string::npos) << err;
  c = server_cfg();
  c.ca_file = f("missing.crt");
  EXPECT_FALSE(tls_context::create(c, err));
  EXPECT_NE(err.find("missing.crt"), std::string::npos) << err;
  c = server_cfg();
  c.key_file = f("client1.key");
  EXPECT_FALSE(tls_context::create(c, err));
  EXPECT_NE(err.find("client1.key"), std::string::npos) << err;
  c = server_cfg();
  c.cert_file.clear();
  EXPECT_FALSE(tls_context::create(c, err));
  c = server_cfg();
  c.crl_file = f("ca.crt");
  EXPECT_FALSE(tls_context::create(c, err));
  c = server_cfg();
  c.cipher_list = "NO-SUCH-CIPHER";
  EXPECT_FALSE(tls_context::create(c, err));
}
