// SPDX-License-Identifier: MIT
// TLS over OpenSSL memory BIOs (§5.1, §5.2): context setup, peer checks, and the per-key_id session.
#include "dpvpn/tls_engine.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

namespace dpvpn::proto {
namespace {

// §5.2: the 2.6 client's default TLS <= 1.2 list (ECDHE or DHE key exchange only).
constexpr const char* k_default_cipher_list = "DEFAULT:!EXP:!LOW:!MEDIUM:!kDH:!kECDH:!DSS:!PSK:!SRP:!kRSA";

// Drains the thread's OpenSSL error queue into one line: the most specific reason, plus the
// certificate verification result when that is why the handshake failed.
std::string drain_errors(const SSL* ssl) {
  std::string reason;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    const char* r = ERR_reason_error_string(e);
    if (r) {
      reason = r;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      reason = buf;
    }
  }
  if (ssl) {
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) {
      if (reason.empty()) reason = "certificate verify failed";
      reason += ": ";
      reason += X509_verify_cert_error_string(vr);
    }
  }
  return reason;
}

// A PEM input: the text when given inline (a read-only memory BIO over it), else the file.
BIO* open_pem(const std::string& file, const std::string& pem) {
  if (!pem.empty()) return BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  return BIO_new_file(file.c_str(), "r");
}
// How errors name a PEM input: the file, or the inline block.
std::string pem_name(const std::string& file, const std::string& pem, const char* tag) {
  return pem.empty() ? file : std::string("<") + tag + "> (inline)";
}

// An inline <ca>: every certificate (and CRL) of the text goes into the store, as
// X509_STORE_load_file does for a file. Returns the number of certificates.
size_t load_ca_pem(X509_STORE* store, const std::string& pem) {
  BIO* in = open_pem({}, pem);
  if (!in) return 0;
  size_t n = 0;
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!infos) return 0;
  for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
    X509_INFO* xi = sk_X509_INFO_value(infos, i);
    if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1) ++n;
    if (xi->crl) X509_STORE_add_crl(store, xi->crl);
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  return n;
}

// An inline <cert>: the first certificate is ours, the rest its chain (what
// SSL_CTX_use_certificate_chain_file does with a file).
bool use_cert_chain_pem(SSL_CTX* ctx, const std::string& pem) {
  BIO* in = open_pem({}, pem);
  if (!in) return false;
  X509* x = PEM_read_bio_X509_AUX(in, nullptr, nullptr, nullptr);
  bool ok = x && SSL_CTX_use_certificate(ctx, x) == 1;
  X509_free(x);
  if (ok) {
    SSL_CTX_clear_chain_certs(ctx);
    while (X509* ca = PEM_read_bio_X509(in, nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {  // takes ownership on success
        X509_free(ca);
        ok = false;
        break;
      }
    }
    if (ok) ERR_clear_error();  // the read loop ends with a "no start line" error
  }
  BIO_free(in);
  return ok;
}

bool use_private_key_pem(SSL_CTX* ctx, const std::string& pem) {
  BIO* in = open_pem({}, pem);
  if (!in) return false;
  EVP_PKEY* k = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  const bool ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
  EVP_PKEY_free(k);
  return ok;
}

bool parse_version(const std::string& s, int& out) {
  if (s.empty()) { out = 0; return true; }
  if (s == "1.0") { out = TLS1_VERSION; return true; }
  if (s == "1.1") { out = TLS1_1_VERSION; return true; }
  if (s == "1.2") { out = TLS1_2_VERSION; return true; }
  if (s == "1.3") { out = TLS1_3_VERSION; return true; }
  return false;
}

// Builds a verify store from the CA bundle and, if configured, the CRL file (leaf CRL check,
// as OpenVPN's crl-verify does). Rebuilding the whole store is how reload_crl replaces a CRL.
X509_STORE* build_store(const tls_config& cfg, std::string& err) {
  X509_STORE* store = X509_STORE_new();
  if (!store) { err = "out of memory"; return nullptr; }
  if (!cfg.ca_pem.empty()) {
    if (load_ca_pem(store, cfg.ca_pem) == 0) {
      err = "<ca> (inline): cannot load CA certificates: " + drain_errors(nullptr);
      X509_STORE_free(store);
      return nullptr;
    }
    ERR_clear_error();
  } else if (!cfg.ca_file.empty() && X509_STORE_load_file(store, cfg.ca_file.c_str()) != 1) {
    err = cfg.ca_file + ": cannot load CA certificates: " + drain_errors(nullptr);
    X509_STORE_free(store);
    return nullptr;
  }
  // capath: CAs looked up by subject hash when a chain is built. As in openvpn, every
  // certificate of the chain then needs a CRL from that directory (CRL_CHECK_ALL).
  if (!cfg.ca_path.empty()) {
    if (X509_STORE_load_path(store, cfg.ca_path.c_str()) != 1) {
      err = "capath: " + cfg.ca_path + ": cannot add the directory: " + drain_errors(nullptr);
      X509_STORE_free(store);
      return nullptr;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (!cfg.crl_file.empty() || !cfg.crl_pem.empty()) {
    BIO* in = open_pem(cfg.crl_file, cfg.crl_pem);
    size_t n = 0;
    if (in) {
      while (X509_CRL* crl = PEM_read_bio_X509_CRL(in, nullptr, nullptr, nullptr)) {
        X509_STORE_add_crl(store, crl);
        X509_CRL_free(crl);
        ++n;
      }
      BIO_free(in);
    }
    ERR_clear_error();  // the read loop ends with a "no start line" error
    if (n == 0) {
      err = pem_name(cfg.crl_file, cfg.crl_pem, "crl-verify") + ": no PEM CRL could be read";
      X509_STORE_free(store);
      return nullptr;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  return store;
}

// extra-certs: every certificate of the file goes out after ours (SSL_CTX_add_extra_chain_cert);
// the file must hold at least one.
bool load_extra_certs(SSL_CTX* ctx, const tls_config& cfg, std::string& err) {
  BIO* in = open_pem(cfg.extra_certs_file, cfg.extra_certs_pem);
  size_t n = 0;
  if (in) {
    while (X509* x = PEM_read_bio_X509(in, nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {  // takes ownership on success
        X509_free(x);
        break;
      }
      ++n;
    }
    BIO_free(in);
  }
  ERR_clear_error();
  if (n == 0)
    err = "extra-certs: " + pem_name(cfg.extra_certs_file, cfg.extra_certs_pem, "extra-certs") +
          ": no PEM certificate could be read";
  return n != 0;
}

// A key or signature too weak for the security level reads as a file error; say which directive set it.
std::string profile_hint(const tls_config& cfg) {
  return cfg.cert_profile.empty() ? std::string() : " (with tls-cert-profile " + cfg.cert_profile + ")";
}

}  // namespace

std::unique_ptr<tls_context> tls_context::create(const tls_config& cfg, std::string& err) {
  ERR_clear_error();
  std::unique_ptr<tls_context> t(new tls_context());
  t->cfg_ = cfg;
  t->cfg_.key_pem.clear();  // the key lives in the SSL_CTX only
  int vmin = 0, vmax = 0;
  if (!parse_version(cfg.version_min.empty() ? "1.2" : cfg.version_min, vmin)) {
    err = "tls-version-min: expected 1.0, 1.1, 1.2 or 1.3, got '" + cfg.version_min + "'";
    return nullptr;
  }
  if (!parse_version(cfg.version_max, vmax)) {
    err = "tls-version-max: expected 1.0, 1.1, 1.2 or 1.3, got '" + cfg.version_max + "'";
    return nullptr;
  }
  if (vmax != 0 && vmax < vmin) {
    err = "tls-version-max: " + cfg.version_max + " is below tls-version-min " + cfg.version_min;
    return nullptr;
  }
  const bool has_cert = !cfg.cert_file.empty() || !cfg.cert_pem.empty();
  const bool has_key = !cfg.key_file.empty() || !cfg.key_pem.empty();
  if (cfg.ca_file.empty() && cfg.ca_pem.empty() && cfg.ca_path.empty()) {
    err = "ca: a CA file (or capath) is required";
    return nullptr;
  }
  if (cfg.server && (!has_cert || !has_key)) {
    err = "cert/key: a server needs a certificate and a key";
    return nullptr;
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) { err = "SSL_CTX_new: " + drain_errors(nullptr); return nullptr; }
  t->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, t.get());

  // §5.1: no renegotiation inside a session, no tickets, no session cache.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (cfg.server) SSL_CTX_set_num_tickets(ctx, 0);
  if (!SSL_CTX_set_min_proto_version(ctx, vmin) || !SSL_CTX_set_max_proto_version(ctx, vmax)) {
    err = "cannot set TLS version range: " + drain_errors(nullptr);
    return nullptr;
  }

  // openvpn's order: the profile's security level (suiteb also sets SUITEB128), then tls-cipher or
  // the default list, which replaces SUITEB128 again, then the TLS 1.3 suites and the groups.
  // The level applies to the key files loaded below, so it comes first.
  const std::string& profile = cfg.cert_profile;
  if (!profile.empty() && !tls_check_setting("tls-cert-profile", profile).empty()) {
    err = "tls-cert-profile: expected legacy, preferred, suiteb or insecure, got '" + profile + "'";
    return nullptr;
  }
  SSL_CTX_set_security_level(ctx, profile == "insecure" ? 0 : profile == "preferred" ? 2 : profile == "suiteb" ? 3 : 1);
  if (profile == "suiteb") SSL_CTX_set_cipher_list(ctx, "SUITEB128");
  const std::string list = cfg.cipher_list.empty() ? std::string(k_default_cipher_list)
                                                   : tls_cipher_list_to_openssl(cfg.cipher_list);
  if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
    err = "tls-cipher: OpenSSL refuses '" + list + "': " + drain_errors(nullptr);
    return nullptr;
  }
  if (!cfg.ciphersuites.empty()) {
    std::string suites = cfg.ciphersuites;  // openvpn takes '-' for '_'
    std::replace(suites.begin(), suites.end(), '-', '_');
    if (SSL_CTX_set_ciphersuites(ctx, suites.c_str()) != 1) {
      err = "tls-ciphersuites: OpenSSL refuses '" + suites + "': " + drain_errors(nullptr);
      return nullptr;
    }
  }
  if (!cfg.groups.empty() && SSL_CTX_set1_groups_list(ctx, cfg.groups.c_str()) != 1) {
    err = "tls-groups: OpenSSL refuses '" + cfg.groups + "': " + drain_errors(nullptr);
    return nullptr;
  }

  X509_STORE* store = build_store(cfg, err);
  if (!store) return nullptr;
  SSL_CTX_set_cert_store(ctx, store);

  if (has_cert) {
    const std::string cert_name = pem_name(cfg.cert_file, cfg.cert_pem, "cert");
    const std::string key_name = pem_name(cfg.key_file, cfg.key_pem, "key");
    if (!cfg.cert_pem.empty() ? !use_cert_chain_pem(ctx, cfg.cert_pem)
                              : SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_file.c_str()) != 1) {
      err = cert_name + ": cannot load certificate: " + drain_errors(nullptr) + profile_hint(cfg);
      return nullptr;
    }
    if (!cfg.key_pem.empty() ? !use_private_key_pem(ctx, cfg.key_pem)
                             : SSL_CTX_use_PrivateKey_file(ctx, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      err = key_name + ": cannot load private key: " + drain_errors(nullptr);
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      err = key_name + ": private key does not match " + cert_name;
      ERR_clear_error();
      return nullptr;
    }
  }
  if ((!cfg.extra_certs_file.empty() || !cfg.extra_certs_pem.empty()) && !load_extra_certs(ctx, cfg, err))
    return nullptr;

  // §5.2: the server asks for a client certificate; the client always verifies the server.
  int mode = SSL_VERIFY_PEER;
  if (cfg.server) {
    switch (cfg.verify_client) {
      case verify_client_cert::require: mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT; break;
      case verify_client_cert::optional: mode = SSL_VERIFY_PEER; break;
      case verify_client_cert::none: mode = SSL_VERIFY_NONE; break;
    }
    if (mode != SSL_VERIFY_NONE) {
      // The CertificateRequest names the CAs we accept, as OpenVPN does.
      if (!cfg.ca_pem.empty()) {
        if (BIO* in = open_pem({}, cfg.ca_pem)) {
          while (X509* x = PEM_read_bio_X509(in, nullptr, nullptr, nullptr)) {
            SSL_CTX_add_client_CA(ctx, x);  // copies the subject name
            X509_free(x);
          }
          BIO_free(in);
        }
      } else if (!cfg.ca_file.empty()) {
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.ca_file.c_str()))
          SSL_CTX_set_client_CA_list(ctx, names);
      }
    }
  }
  SSL_CTX_set_verify(ctx, mode, tls_session::verify_callback);
  ERR_clear_error();
  return t;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

bool tls_context::reload_crl(std::string& err) {
  ERR_clear_error();
  if (cfg_.crl_file.empty() && cfg_.crl_pem.empty()) { err = "no crl-verify file configured"; return false; }
  X509_STORE* store = build_store(cfg_, err);
  if (!store) return false;
  // Frees the old store. Sessions only consult the store while verifying, on this thread.
  SSL_CTX_set_cert_store(ctx_, store);
  return true;
}

namespace {
std::string hex_colon(const unsigned char* p, size_t n);
}

bool tls_context::revoked(const std::string& serial_hex) const {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  if (!store) return false;
  STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objs); ++i) {
    X509_CRL* crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
    if (!crl) continue;
    STACK_OF(X509_REVOKED)* rev = X509_CRL_get_REVOKED(crl);
    for (int j = 0; j < sk_X509_REVOKED_num(rev); ++j) {
      const ASN1_INTEGER* s = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, j));
      if (hex_colon(s->data, static_cast<size_t>(s->length)) == serial_hex) return true;
    }
  }
  return false;
}

tls_session::tls_session(tls_context& ctx) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx.ctx());
  ct_in_ = BIO_new(BIO_s_mem());
  ct_out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !ct_in_ || !ct_out_) {
    BIO_free(ct_in_);
    BIO_free(ct_out_);
    ct_in_ = ct_out_ = nullptr;
    failed_ = true;
    error_ = "cannot create TLS session: " + drain_errors(nullptr);
    return;
  }
  // An empty input BIO means "want more", never EOF.
  BIO_set_mem_eof_return(ct_in_, -1);
  BIO_set_mem_eof_return(ct_out_, -1);
  SSL_set_bio(ssl_, ct_in_, ct_out_);  // ssl_ owns both BIOs now
  SSL_set_app_data(ssl_, this);        // verify_callback records why it refused the peer
  if (ctx.config().server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

tls_session::~tls_session() { SSL_free(ssl_); }

void tls_session::feed_ciphertext(std::span<const uint8_t> bytes) {
  if (failed_) return;
  while (!bytes.empty()) {
    int n = static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX));
    int w = BIO_write(ct_in_, bytes.data(), n);
    if (w <= 0) {
      failed_ = true;
      error_ = "cannot buffer TLS input";
      return;
    }
    bytes = bytes.subspan(static_cast<size_t>(w));
  }
}

bool tls_session::advance() {
  if (failed_) return false;
  if (done_) return true;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    return true;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  failed_ = true;
  error_ = drain_errors(ssl_);
  if (error_.empty()) error_ = "TLS handshake failed";
  if (!verify_note_.empty()) error_ += " (" + verify_note_ + ")";
  return false;
}

size_t tls_session::pending_ciphertext() const {
  return ct_out_ ? BIO_ctrl_pending(ct_out_) : 0;
}

std::vector<uint8_t> tls_session::take_ciphertext(size_t max) {
  size_t n = std::min(max, pending_ciphertext());
  n = std::min<size_t>(n, INT_MAX);
  std::vector<uint8_t> out(n);
  if (n == 0) return out;
  int r = BIO_read(ct_out_, out.data(), static_cast<int>(n));
  out.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return out;
}

int tls_session::read_plaintext(uint8_t* out, size_t cap) {
  if (failed_) return -1;
  if (!done_ || cap == 0) return 0;
  ERR_clear_error();
  int r = SSL_read(ssl_, out, static_cast<int>(std::min<size_t>(cap, INT_MAX)));
  if (r > 0) return r;
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  failed_ = true;
  if (e == SSL_ERROR_ZERO_RETURN) {
    error_ = "peer closed the TLS session";
  } else {
    error_ = drain_errors(ssl_);
    if (error_.empty()) error_ = "TLS read failed";
  }
  return -1;
}

bool tls_session::write_plaintext(std::span<const uint8_t> msg) {
  // Only after the handshake: the 2.6 client reads each record as one unit (§5.1), so a
  // message must go out as exactly one SSL_write.
  if (failed_ || !done_ || msg.size() > INT_MAX) return false;
  if (msg.empty()) return true;
  ERR_clear_error();
  int r = SSL_write(ssl_, msg.data(), static_cast<int>(msg.size()));
  if (r == static_cast<int>(msg.size())) return true;
  failed_ = true;
  error_ = drain_errors(ssl_);
  if (error_.empty()) error_ = "TLS write failed";
  return false;
}

bool tls_session::export_keying_material(std::string_view label, uint8_t* out, size_t len) {
  if (failed_ || !done_) return false;
  ERR_clear_error();
  // §5.3: use_context = 0; with TLS 1.2, "no context" differs from "empty context".
  int r = SSL_export_keying_material(ssl_, out, len, label.data(), label.size(), nullptr, 0, 0);
  ERR_clear_error();
  return r == 1;
}

namespace {
std::string hex_colon(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ':';
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

peer_cert describe(X509* x, int depth) {
  peer_cert c;
  c.depth = depth;
  X509_NAME* name = X509_get_subject_name(x);
  if (BIO* b = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(b, name, 0, XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    if (n > 0) c.subject.assign(data, static_cast<size_t>(n));
    BIO_free(b);
  }
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
    unsigned char* utf8 = nullptr;
    const int n = sn ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
    if (n < 0) continue;
    c.fields.emplace_back(sn, std::string(reinterpret_cast<char*>(utf8), static_cast<size_t>(n)));
    OPENSSL_free(utf8);
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr)) {
    if (char* dec = BN_bn2dec(bn)) {
      c.serial = dec;
      OPENSSL_free(dec);
    }
    BN_free(bn);
  }
  c.serial_hex = hex_colon(serial->data, static_cast<size_t>(serial->length));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (X509_digest(x, EVP_sha1(), md, &len) == 1) c.sha1 = hex_colon(md, len);
  if (X509_digest(x, EVP_sha256(), md, &len) == 1) c.sha256 = hex_colon(md, len);
  return c;
}
}  // namespace

std::vector<peer_cert> tls_session::peer_chain() const {
  std::vector<peer_cert> out;
  STACK_OF(X509)* chain = ssl_ ? SSL_get0_verified_chain(ssl_) : nullptr;
  if (!chain || !SSL_get0_peer_certificate(ssl_)) return out;
  for (int i = 0; i < sk_X509_num(chain); ++i) out.push_back(describe(sk_X509_value(chain, i), i));
  return out;
}

std::string tls_session::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string tls_session::cipher() const {
  const SSL_CIPHER* c = ssl_ ? SSL_get_current_cipher(ssl_) : nullptr;
  return c ? SSL_CIPHER_get_name(c) : "";
}

}  // namespace dpvpn::proto
