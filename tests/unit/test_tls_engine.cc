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

// --- TLS option parity (tls-version-max, tls-cipher, tls-ciphersuites, tls-groups, tls-cert-profile,
// remote-cert-ku/eku, verify-x509-name, x509-username-field, extra-certs, capath) ---

namespace {
// A handshake between the two contexts; returns the server's error ("" when both finished).
std::string try_handshake(tls_context& cctx, tls_context& sctx, std::string* cipher = nullptr,
                          std::string* version = nullptr, std::string* cn = nullptr) {
  tls_session cl(cctx), sv(sctx);
  pump(cl, sv);
  uint8_t buf[16];
  cl.read_plaintext(buf, sizeof buf);  // TLS 1.3: the client learns of a refusal here
  if (cipher) *cipher = sv.cipher();
  if (version) *version = sv.version();
  if (cn) *cn = sv.peer_common_name();
  if (sv.handshake_done() && cl.handshake_done() && !cl.failed() && !sv.failed()) return {};
  return sv.error().empty() ? "client: " + cl.error() : sv.error();
}
}  // namespace

TEST_F(tls_engine, cipher_list_limits_tls12) {
  auto sc = server_cfg();
  sc.version_max = "1.2";
  sc.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
  auto s = must_create(sc);
  auto cc = client_cfg();
  cc.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
  auto c_other = must_create(cc);
  EXPECT_NE(try_handshake(*c_other, *s), "");  // no shared cipher
  auto c = must_create(client_cfg());
  std::string cipher, version;
  EXPECT_EQ(try_handshake(*c, *s, &cipher, &version), "");
  EXPECT_EQ(version, "TLSv1.2");
  EXPECT_EQ(cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  // openvpn's IANA spelling is translated; an unknown entry passes to OpenSSL as written.
  EXPECT_EQ(tls_cipher_list_to_openssl("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256:!aNULL:TLS-NO-SUCH"),
            "ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL:TLS-NO-SUCH");
  sc.cipher_list = "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384";
  auto s_iana = must_create(sc);
  EXPECT_EQ(try_handshake(*c, *s_iana, &cipher), "");
  EXPECT_EQ(cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(tls_engine, ciphersuites_and_groups_limit_tls13) {
  auto sc = server_cfg();
  sc.ciphersuites = "TLS-CHACHA20-POLY1305-SHA256";  // openvpn accepts '-' for '_'
  auto s = must_create(sc);
  auto cc = client_cfg();
  cc.ciphersuites = "TLS_AES_256_GCM_SHA384";
  auto c_other = must_create(cc);
  EXPECT_NE(try_handshake(*c_other, *s), "");
  auto c = must_create(client_cfg());
  std::string cipher;
  EXPECT_EQ(try_handshake(*c, *s, &cipher), "");
  EXPECT_EQ(cipher, "TLS_CHACHA20_POLY1305_SHA256");

  // TLS 1.2 takes the ECDSA certificate's curve (P-256 here) from the same list as ECDHE's.
  struct row {
    const char* version;
    const char* server_groups;
    const char* client_groups;
    bool ok;
  } rows[] = {
      {"1.3", "secp384r1", "X25519:secp256r1", false},
      {"1.3", "secp384r1", "X25519:secp384r1", true},
      {"1.2", "secp256r1", "X25519:secp384r1", false},
      {"1.2", "secp256r1", "X25519:secp256r1", true},
      {"1.2", "X25519", "X25519:secp256r1", false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.version) + " " + r.server_groups + " / " + r.client_groups);
    sc = server_cfg();
    sc.groups = r.server_groups;
    auto sg = must_create(sc);
    cc = client_cfg();
    cc.version_max = r.version;
    cc.groups = r.client_groups;
    auto cg = must_create(cc);
    EXPECT_EQ(try_handshake(*cg, *sg).empty(), r.ok);
  }
}

TEST_F(tls_engine, version_max_and_profile) {
  auto sc = server_cfg();
  sc.version_max = "1.2";
  auto s = must_create(sc);
  auto c = must_create(client_cfg());
  std::string version;
  EXPECT_EQ(try_handshake(*c, *s, nullptr, &version), "");
  EXPECT_EQ(version, "TLSv1.2");
  auto cc = client_cfg();
  cc.version_min = "1.3";
  auto c13 = must_create(cc);
  EXPECT_NE(try_handshake(*c13, *s), "");
  std::string err;
  sc.version_min = "1.3";
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_NE(err.find("tls-version-max"), std::string::npos) << err;

  // suiteb is security level 3: a P-256 certificate passes, an RSA-2048 one (112 bits) does not.
  sc = server_cfg();
  sc.cert_profile = "suiteb";
  auto s_b = must_create(sc);
  EXPECT_EQ(try_handshake(*c, *s_b), "");
  sc.cert_profile = "nonsense";
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_NE(err.find("tls-cert-profile"), std::string::npos) << err;
  fs::path rsa = pki_env::make(true);
  ASSERT_FALSE(rsa.empty());
  dir = rsa;
  sc = server_cfg();
  sc.cert_profile = "preferred";
  EXPECT_TRUE(tls_context::create(sc, err)) << err;
  sc.cert_profile = "suiteb";
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_NE(err.find("tls-cert-profile suiteb"), std::string::npos) << err;
}

TEST_F(tls_engine, username_field_sets_common_name) {
  EXPECT_EQ(normalize_username_field("cn"), "CN");
  EXPECT_EQ(normalize_username_field("emailAddress"), "emailAddress");
  EXPECT_EQ(normalize_username_field("ext:subjectAltName"), "ext:subjectAltName");
  struct row {
    std::vector<std::string> fields;
    const char* who;
    const char* cn;  // nullptr = refused
  } rows[] = {
      {{"emailAddress"}, "email1", "email1@example.test"},
      {{"emailAddress"}, "client1", nullptr},
      {{"ext:subjectAltName"}, "email1", "alt1@example.test"},
      {{"ext:subjectAltName"}, "client1", nullptr},
      {{"CN", "emailAddress"}, "email1", "email1_email1@example.test"},
      {{"2.5.4.3"}, "client1", "client1"},
      {{}, "email1", "email1"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.who) + " " + (r.fields.empty() ? "CN" : r.fields[0]));
    auto sc = server_cfg();
    sc.username_fields = r.fields;
    auto s = must_create(sc);
    auto c = must_create(client_cfg(r.who));
    std::string cn;
    std::string err = try_handshake(*c, *s, nullptr, nullptr, &cn);
    if (r.cn) {
      EXPECT_EQ(err, "");
      EXPECT_EQ(cn, r.cn);
    } else {
      EXPECT_NE(err.find("x509-username-field"), std::string::npos) << err;
    }
  }
  auto sc = server_cfg();
  sc.username_fields = {"serialNumber"};
  auto s = must_create(sc);
  auto c = must_create(client_cfg("client1"));
  std::string cn;
  EXPECT_EQ(try_handshake(*c, *s, nullptr, nullptr, &cn), "");
  EXPECT_TRUE(cn.starts_with("0x") && cn.size() > 2) << cn;
  EXPECT_EQ(cn.find_first_not_of("0123456789ABCDEF", 2), std::string::npos) << cn;
}

TEST_F(tls_engine, remote_cert_eku_and_ku) {
  struct row {
    std::vector<unsigned> ku;
    const char* eku;
    const char* who;
    bool ok;
  } rows[] = {
      {{}, "TLS Web Client Authentication", "client1", true},
      {{}, "1.3.6.1.5.5.7.3.2", "email1", true},
      {{}, "TLS Web Client Authentication", "emailnoeku", false},  // the e-mail field, no EKU
      {{}, "TLS Web Client Authentication", "noeku", false},
      {{k_ku_required}, "", "client1", true},
      {{k_ku_required}, "", "noku", false},
      {{0xa0}, "", "client1", false},  // digitalSignature + keyEncipherment; client1 has 0x80
      {{0xa0, 0x80}, "", "client1", true},
      {{0x80}, "", "email1", true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.who) + " eku=" + r.eku + " ku=" + (r.ku.empty() ? "" : std::to_string(r.ku[0])));
    auto sc = server_cfg();
    sc.remote_cert_ku = r.ku;
    sc.remote_cert_eku = r.eku;
    auto s = must_create(sc);
    auto cc = client_cfg(r.who);
    cc.remote_cert = remote_cert_tls::none;
    auto c = must_create(cc);
    std::string err = try_handshake(*c, *s);
    if (r.ok) {
      EXPECT_EQ(err, "");
    } else {
      EXPECT_NE(err.find(r.ku.empty() ? "remote-cert-eku" : "remote-cert-ku"), std::string::npos) << err;
    }
  }
}

TEST_F(tls_engine, verify_x509_name) {
  struct row {
    x509_name_check type;
    const char* name;
    const char* who;
    bool ok;
  } rows[] = {
      {x509_name_check::name, "client1", "client1", true},
      {x509_name_check::name, "client1", "client2", false},
      {x509_name_check::name_prefix, "client", "client3", true},
      {x509_name_check::name_prefix, "client", "email1", false},
      {x509_name_check::subject, "O=dpvpn THROWAWAY TEST, CN=client1", "client1", true},
      {x509_name_check::subject, "O=dpvpn THROWAWAY TEST, CN=client1", "client4", false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.who) + " " + r.name);
    auto sc = server_cfg();
    sc.verify_name_type = r.type;
    sc.verify_name = r.name;
    auto s = must_create(sc);
    auto c = must_create(client_cfg(r.who));
    std::string err = try_handshake(*c, *s);
    if (r.ok) {
      EXPECT_EQ(err, "");
    } else {
      EXPECT_NE(err.find("verify-x509-name"), std::string::npos) << err;
    }
  }
  // name checks the x509-username-field result, not the CN.
  auto sc = server_cfg();
  sc.username_fields = {"emailAddress"};
  sc.verify_name_type = x509_name_check::name;
  sc.verify_name = "email1@example.test";
  auto s = must_create(sc);
  auto c = must_create(client_cfg("email1"));
  EXPECT_EQ(try_handshake(*c, *s), "");
}

TEST_F(tls_engine, extra_certs_and_capath) {
  auto sc = server_cfg();
  sc.extra_certs_file = f("ca.crt");
  auto s = must_create(sc);
  auto c = must_create(client_cfg());
  EXPECT_EQ(try_handshake(*c, *s), "");
  std::string err;
  sc.extra_certs_file = f("crl.pem");
  EXPECT_FALSE(tls_context::create(sc, err));
  EXPECT_NE(err.find("extra-certs"), std::string::npos) << err;

  // capath: a hashed directory with the CA and its CRL (openvpn checks CRLs for the whole chain).
  fs::path hashed = dir / "capath";
  fs::create_directories(hashed);
  fs::copy_file(dir / "ca.crt", hashed / "ca.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(dir / "crl.pem", hashed / "crl.pem", fs::copy_options::overwrite_existing);
  ASSERT_EQ(std::system(("openssl rehash '" + hashed.string() + "' 2>/dev/null").c_str()), 0);
  sc = server_cfg();
  sc.ca_file.clear();
  sc.ca_path = hashed.string();
  auto sp = must_create(sc);
  EXPECT_EQ(try_handshake(*c, *sp), "");
  auto rc = must_create(client_cfg("revoked"));
  EXPECT_NE(try_handshake(*rc, *sp).find("revoked"), std::string::npos);
}

TEST_F(tls_engine, settings_are_checked) {
  EXPECT_EQ(tls_check_setting("tls-cipher", "ECDHE-RSA-AES128-GCM-SHA256:TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"), "");
  EXPECT_NE(tls_check_setting("tls-cipher", "NO-SUCH-CIPHER"), "");
  EXPECT_EQ(tls_check_setting("tls-ciphersuites", "TLS_AES_256_GCM_SHA384:TLS-CHACHA20-POLY1305-SHA256"), "");
  EXPECT_NE(tls_check_setting("tls-ciphersuites", "TLS_NO_SUCH"), "");
  EXPECT_EQ(tls_check_setting("tls-groups", "X25519:secp256r1"), "");
  EXPECT_EQ(tls_check_setting("tls-groups", "prime256v1"), "");
  EXPECT_NE(tls_check_setting("tls-groups", "nosuchcurve"), "");
  EXPECT_EQ(tls_check_setting("tls-cert-profile", "preferred"), "");
  EXPECT_NE(tls_check_setting("tls-cert-profile", "Preferred"), "");
  EXPECT_EQ(tls_check_setting("remote-cert-eku", "TLS Web Server Authentication"), "");
  EXPECT_EQ(tls_check_setting("remote-cert-eku", "1.3.6.1.5.5.7.3.1"), "");
  // A short name never matches in openvpn's comparison: say which name to use instead.
  EXPECT_NE(tls_check_setting("remote-cert-eku", "clientAuth").find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_EQ(tls_check_setting("x509-username-field", "ext:subjectAltName"), "");
  EXPECT_NE(tls_check_setting("x509-username-field", "ext:keyUsage"), "");
  EXPECT_NE(tls_check_setting("x509-username-field", "NOSUCHFIELD"), "");
}
