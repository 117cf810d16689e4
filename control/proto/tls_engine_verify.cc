// SPDX-License-Identifier: MIT
// TLS option checks and the peer certificate checks of §5.2 (remote-cert-ku/eku, x509-username-field,
// verify-x509-name), with the semantics of openvpn 2.6's verify_cert / verify_peer_cert.
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <memory>

#include "dpvpn/key_method2.h"  // remap_name
#include "dpvpn/tls_engine.h"

namespace dpvpn::proto {
namespace {

struct ctx_free {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct obj_free {
  void operator()(ASN1_OBJECT* o) const noexcept { ASN1_OBJECT_free(o); }
};

std::string utf8_of(const ASN1_STRING* a, bool& ok) {
  unsigned char* p = nullptr;
  const int n = a ? ASN1_STRING_to_UTF8(&p, a) : -1;
  ok = n >= 0;
  if (!ok) return {};
  std::string s(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return s;
}

// The subject as openvpn prints it for tls_id_N and verify-x509-name ("C=US, O=x, CN=client1").
std::string subject_string(X509* x) {
  std::string out;
  BIO* b = BIO_new(BIO_s_mem());
  if (!b) return out;
  X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                     XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  if (n > 0) out.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  remap_name(out);
  if (!out.empty() && out[0] == '-') out[0] = '_';  // openvpn: string_replace_leading '-'
  return out;
}

bool is_alt_name_ext(const std::string& name) {
  const int nid = OBJ_txt2nid(name.c_str());
  return nid == NID_subject_alt_name || nid == NID_issuer_alt_name;
}

// One x509-username-field value, or false. A value containing NUL is refused (openvpn would
// silently cut it there, so "client1\0x" would pass as "client1").
bool username_field(X509* x, const std::string& field, std::string& out) {
  bool ok = false;
  if (field.starts_with("ext:")) {
    // The last e-mail entry of subjectAltName / issuerAltName; other entry types are skipped.
    const std::string ext = field.substr(4);
    if (!is_alt_name_ext(ext)) return false;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, OBJ_txt2nid(ext.c_str()), nullptr, nullptr));
    if (!names) return false;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      if (g->type != GEN_EMAIL) continue;
      bool conv = false;
      std::string v = utf8_of(g->d.ia5, conv);
      if (conv && v.find('\0') == std::string::npos) {
        out = std::move(v);
        ok = true;
      }
    }
    GENERAL_NAMES_free(names);
  } else if (field == LN_serialNumber) {
    // "0x" and the serial's bytes in upper-case hex.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    static const char digits[] = "0123456789ABCDEF";
    out = "0x";
    for (int i = 0; i < serial->length; ++i) {
      out += digits[serial->data[i] >> 4];
      out += digits[serial->data[i] & 15];
    }
    ok = true;
  } else {
    // The last entry of that attribute in the subject.
    std::unique_ptr<ASN1_OBJECT, obj_free> obj(OBJ_txt2obj(field.c_str(), 0));
    if (!obj) return false;
    X509_NAME* name = X509_get_subject_name(x);
    int last = -1;
    for (int i = X509_NAME_get_index_by_OBJ(name, obj.get(), -1); i >= 0;
         i = X509_NAME_get_index_by_OBJ(name, obj.get(), i))
      last = i;
    if (last < 0) return false;
    out = utf8_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)), ok);
    ok = ok && out.find('\0') == std::string::npos;
  }
  return ok && out.size() <= k_username_field_max;
}

// The common name from the configured fields, joined with '_'; false if a field is missing.
bool x509_username(X509* x, const std::vector<std::string>& fields, std::string& out, std::string& why) {
  static const std::vector<std::string> k_default = {"CN"};
  out.clear();
  for (const std::string& f : fields.empty() ? k_default : fields) {
    std::string v;
    if (!username_field(x, f, v)) {
      why = "x509-username-field: the certificate has no usable " + f + " (at most " +
            std::to_string(k_username_field_max) + " characters)";
      return false;
    }
    if (!out.empty()) out += '_';
    out += v;
  }
  remap_name(out);
  return true;
}

// remote-cert-ku: keyUsage must be present; with values, the certificate's first 8 usage bits
// (digitalSignature = 0x80 ... encipherOnly = 0x01) must include all bits of one of them.
bool ku_ok(X509* x, const std::vector<unsigned>& want, std::string& why) {
  auto* ku = static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(x, NID_key_usage, nullptr, nullptr));
  if (!ku) {
    why = "remote-cert-ku: the certificate has no key usage extension";
    return false;
  }
  unsigned have = 0;
  for (int i = 0; i < 8; ++i)
    if (ASN1_BIT_STRING_get_bit(ku, i)) have |= 1u << (7 - i);
  ASN1_BIT_STRING_free(ku);
  if (want[0] == k_ku_required) return true;
  for (unsigned w : want)
    if (w != 0 && (have & w) == w) return true;
  char hex[8];
  std::snprintf(hex, sizeof hex, "%02x", have);
  why = std::string("remote-cert-ku: the certificate's key usage is ") + hex + ", none of the expected ones";
  return false;
}

// remote-cert-eku: one extendedKeyUsage entry equals the name, as OpenSSL's long name or as the
// numeric OID.
bool eku_ok(X509* x, const std::string& want, std::string& why) {
  auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr));
  bool found = false;
  for (int i = 0; eku && !found && i < sk_ASN1_OBJECT_num(eku); ++i) {
    char txt[256];
    for (int numeric : {0, 1})
      if (OBJ_obj2txt(txt, sizeof txt, sk_ASN1_OBJECT_value(eku, i), numeric) > 0 && want == txt) found = true;
  }
  if (eku) sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  if (!found) why = "remote-cert-eku: the certificate has no extended key usage '" + want + "'";
  return found;
}

}  // namespace

std::string tls_cipher_list_to_openssl(const std::string& list) {
  std::string out;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(':', begin);
    if (end == std::string::npos) end = list.size();
    std::string tok = list.substr(begin, end - begin);
    if (tok.starts_with("TLS-")) {
      // openvpn writes the IANA names with '-'; OpenSSL knows them with '_' (RFC spelling).
      std::string std_name = tok;
      for (char& ch : std_name)
        if (ch == '-') ch = '_';
      const char* name = OPENSSL_cipher_name(std_name.c_str());
      if (name && std::string_view(name) != "(NONE)") tok = name;
    }
    if (!out.empty()) out += ':';
    out += tok;
    begin = end + 1;
  }
  return out;
}

std::string normalize_username_field(const std::string& field) {
  if (field.starts_with("ext:")) return field;
  for (char ch : field)
    if (std::isupper(static_cast<unsigned char>(ch))) return field;
  std::string up = field;
  for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return up;
}

std::string tls_check_setting(std::string_view directive, const std::string& value) {
  if (directive == "tls-cert-profile") {
    if (value == "legacy" || value == "preferred" || value == "suiteb" || value == "insecure") return {};
    return "expected legacy, preferred, suiteb or insecure";
  }
  if (directive == "remote-cert-eku") {
    std::unique_ptr<ASN1_OBJECT, obj_free> numeric(OBJ_txt2obj(value.c_str(), 1));
    if (numeric || OBJ_ln2nid(value.c_str()) != NID_undef) return {};
    const int nid = OBJ_sn2nid(value.c_str());
    if (nid != NID_undef)
      return std::string("expected a numeric OID or OpenSSL's long name (openvpn compares those): use \"") +
             OBJ_nid2ln(nid) + "\"";
    return "expected a numeric OID such as 1.3.6.1.5.5.7.3.2 or a name such as \"TLS Web Client Authentication\"";
  }
  if (directive == "x509-username-field") {
    if (value.starts_with("ext:"))
      return is_alt_name_ext(value.substr(4)) ? std::string() : "expected ext:subjectAltName or ext:issuerAltName";
    std::unique_ptr<ASN1_OBJECT, obj_free> obj(OBJ_txt2obj(value.c_str(), 0));
    if (obj) return {};
    return "expected a subject attribute such as CN, emailAddress or an OID, or ext:subjectAltName";
  }
  std::unique_ptr<SSL_CTX, ctx_free> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return "cannot create an OpenSSL context";
  ERR_clear_error();
  bool ok = true;
  if (directive == "tls-cipher") {
    ok = SSL_CTX_set_cipher_list(ctx.get(), tls_cipher_list_to_openssl(value).c_str()) == 1;
  } else if (directive == "tls-ciphersuites") {
    std::string v = value;
    for (char& ch : v)
      if (ch == '-') ch = '_';
    ok = SSL_CTX_set_ciphersuites(ctx.get(), v.c_str()) == 1;
  } else if (directive == "tls-groups") {
    ok = SSL_CTX_set1_groups_list(ctx.get(), value.c_str()) == 1;
  }
  if (ok) return {};
  const unsigned long e = ERR_peek_last_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return "OpenSSL refuses \"" + value + "\"" + (r ? std::string(": ") + r : std::string());
}

int tls_session::verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* owner = ssl ? static_cast<tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))) : nullptr;
  auto* self = ssl ? static_cast<tls_session*>(SSL_get_app_data(ssl)) : nullptr;
  if (!owner) return preverify_ok;
  const tls_config& cfg = owner->config();
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  std::string why, cn;
  bool ok = true;
  // §5.2 remote-cert-tls: keyUsage present and serverAuth / clientAuth in extendedKeyUsage.
  if (cfg.remote_cert != remote_cert_tls::none) {
    const uint32_t flags = X509_get_extension_flags(leaf), xku = X509_get_extended_key_usage(leaf);
    const uint32_t want = cfg.remote_cert == remote_cert_tls::server ? XKU_SSL_SERVER : XKU_SSL_CLIENT;
    ok = (flags & EXFLAG_KUSAGE) && (flags & EXFLAG_XKUSAGE) && (xku & want);
    if (!ok) why = "remote-cert-tls: the certificate lacks key usage or the TLS extended key usage";
  }
  if (ok && !cfg.remote_cert_ku.empty()) ok = ku_ok(leaf, cfg.remote_cert_ku, why);
  if (ok && !cfg.remote_cert_eku.empty()) ok = eku_ok(leaf, cfg.remote_cert_eku, why);
  // openvpn refuses a peer whose username fields (CN by default) cannot be read.
  if (ok) ok = x509_username(leaf, cfg.username_fields, cn, why);
  if (ok && cfg.verify_name_type != x509_name_check::none) {
    const std::string& n = cfg.verify_name;
    switch (cfg.verify_name_type) {
      case x509_name_check::subject: ok = subject_string(leaf) == n; break;
      case x509_name_check::name: ok = cn == n; break;
      case x509_name_check::name_prefix: ok = cn.compare(0, n.size(), n) == 0; break;
      case x509_name_check::none: break;
    }
    if (!ok) why = "verify-x509-name: '" + subject_string(leaf) + "' does not match '" + n + "'";
  }
  if (ok) return 1;
  if (self) self->verify_note_ = why;
  X509_STORE_CTX_set_error(store, cfg.remote_cert != remote_cert_tls::none && why.starts_with("remote-cert-tls")
                                      ? X509_V_ERR_INVALID_PURPOSE
                                      : X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

std::string tls_session::peer_common_name() const {
  X509* peer = ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (!peer) return {};
  const auto* owner = static_cast<const tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl_)));
  static const std::vector<std::string> k_default = {"CN"};
  std::string cn, why;
  return x509_username(peer, owner ? owner->config().username_fields : k_default, cn, why) ? cn : std::string();
}

}  // namespace dpvpn::proto
