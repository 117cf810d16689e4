// SPDX-License-Identifier: MIT
// TLS over OpenSSL memory BIOs (§5): one SSL_CTX per configuration, one tls_session (SSL object
// with ct_in/ct_out BIOs) per key_id. Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace dpvpn::proto {

enum class verify_client_cert : uint8_t { none, optional, require };
enum class remote_cert_tls : uint8_t { none, server, client };
// verify-x509-name's type: the whole subject, the common name, or a prefix of the common name.
enum class x509_name_check : uint8_t { none, subject, name, name_prefix };

// remote-cert-ku without values: the keyUsage extension must be present, any value (openvpn's rule).
constexpr unsigned k_ku_required = 0xFFFFu;
// x509-username-field: one field's value at most this long (openvpn's TLS_USERNAME_LEN).
constexpr size_t k_username_field_max = 64;

struct tls_config {
  bool server = true;
  std::string ca_file;    // PEM CA bundle; required
  std::string cert_file;  // PEM; required for a server, optional for a client
  std::string key_file;
  std::string crl_file;   // optional; re-read by reload_crl()
  std::string version_min = "1.2";  // "1.0", "1.1", "1.2", "1.3" (tls-version-min)
  std::string version_max;          // empty = library maximum
  verify_client_cert verify_client = verify_client_cert::require;  // server only
  remote_cert_tls remote_cert = remote_cert_tls::none;  // check peer EKU + keyUsage presence
  std::string cipher_list;      // TLS <= 1.2, OpenSSL or openvpn's IANA names (default: OpenVPN's list)
  std::string ciphersuites;     // TLS 1.3, '-' or '_' (default: OpenSSL's)
  std::string groups;           // tls-groups "X25519:secp256r1" (default: OpenSSL's)
  std::string cert_profile;     // tls-cert-profile legacy (the default), preferred, suiteb or insecure
  std::string extra_certs_file; // extra-certs: PEM chain sent after the certificate
  std::string ca_path;          // capath: OpenSSL hashed directory of CAs and their CRLs
  // The same PEM inputs given as text (inline <ca>, <cert>, <key>, <crl-verify>, <extra-certs>
  // blocks): a non-empty one is read from memory instead of its *_file, so nothing is written to
  // disk. The context keeps no copy of key_pem.
  std::string ca_pem, cert_pem, key_pem, crl_pem, extra_certs_pem;
  // Peer certificate checks at depth 0 (§5.2), as openvpn's verify_peer_cert does them.
  std::vector<unsigned> remote_cert_ku;  // empty = no check; {k_ku_required} = present; else one of these bit sets
  std::string remote_cert_eku;           // "" = no check; a numeric OID or OpenSSL's long name
  x509_name_check verify_name_type = x509_name_check::none;
  std::string verify_name;               // verify-x509-name NAME
  // x509-username-field: the peer's common name is these fields joined with '_' (empty = {"CN"}).
  // A field is a subject attribute name (CN, emailAddress, an OID), "serialNumber" (hex serial),
  // or ext:subjectAltName / ext:issuerAltName (the e-mail entry). As written: see normalize below.
  std::vector<std::string> username_fields;
};

// Checks a value OpenSSL parses at start-up without the key files: tls-cipher, tls-ciphersuites,
// tls-groups, tls-cert-profile, remote-cert-eku, x509-username-field. Returns "" or why not.
std::string tls_check_setting(std::string_view directive, const std::string& value);
// tls-cipher as OpenSSL takes it: openvpn's IANA spellings ("TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256")
// become OpenSSL names, other entries pass unchanged.
std::string tls_cipher_list_to_openssl(const std::string& list);
// x509-username-field's argument as openvpn 2.6 keeps it: an all-lower-case attribute name is
// upper-cased ("cn" -> "CN"); mixed case ("emailAddress") and ext: names stay as written.
std::string normalize_username_field(const std::string& field);

// One certificate of the peer's verified chain, as OpenVPN shows it to a tls-verify script
// (tls_id_N, X509_N_*, tls_serial_N, tls_serial_hex_N, tls_digest_N, tls_digest_sha256_N).
struct peer_cert {
  int depth = 0;        // 0 = the peer's own certificate, the highest = the CA
  std::string subject;  // "C=US, O=x, CN=client1" (X509_NAME_print_ex with OpenVPN's flags)
  std::vector<std::pair<std::string, std::string>> fields;  // subject entries: ("CN", "client1"), in order
  std::string serial;       // decimal
  std::string serial_hex;   // "0a:1b", lower case
  std::string sha1, sha256; // fingerprints "ab:cd:..."
};

class tls_context {
 public:
  // Loads CA, certificate, key and CRL. On failure returns nullptr and sets err.
  static std::unique_ptr<tls_context> create(const tls_config& cfg, std::string& err);
  ~tls_context();
  // Re-reads the CRL file (crl-verify picked up without restart); an inline CRL is re-read from
  // memory. False + err on failure.
  bool reload_crl(std::string& err);
  // True when a loaded CRL lists serial_hex (peer_cert::serial_hex): a connected client whose
  // certificate a reloaded CRL revokes is disconnected (openvpn checks only new handshakes).
  bool revoked(const std::string& serial_hex) const;
  SSL_CTX* ctx() noexcept { return ctx_; }
  const tls_config& config() const noexcept { return cfg_; }

 private:
  tls_context() = default;
  SSL_CTX* ctx_ = nullptr;
  tls_config cfg_;
};

class tls_session {
 public:
  explicit tls_session(tls_context& ctx);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // Ciphertext from the network (in-order control payloads).
  void feed_ciphertext(std::span<const uint8_t> bytes);
  // Runs the handshake as far as it can; call after feeding (and once at start for a client).
  // Returns false on a fatal TLS error (see error()).
  bool advance();
  // Ciphertext waiting to go to the network.
  size_t pending_ciphertext() const;
  // Takes up to max bytes of pending ciphertext.
  std::vector<uint8_t> take_ciphertext(size_t max);

  // One SSL_read: one TLS record's plaintext at most (the 2.6 client treats each read as a
  // unit). Returns bytes read, 0 if none available, -1 on fatal error.
  int read_plaintext(uint8_t* out, size_t cap);
  // One SSL_write of the whole message. False on error.
  bool write_plaintext(std::span<const uint8_t> msg);

  bool handshake_done() const noexcept { return done_; }
  bool failed() const noexcept { return failed_; }
  const std::string& error() const noexcept { return error_; }
  // RFC 5705 exporter with no context (§5.3).
  bool export_keying_material(std::string_view label, uint8_t* out, size_t len);
  // The peer's common name: its certificate's x509-username-field fields (the last CN by default),
  // with control characters replaced by '_' as openvpn does; "" without a peer certificate.
  std::string peer_common_name() const;
  // The peer's verified chain, depth 0 first; empty without a verified peer certificate.
  std::vector<peer_cert> peer_chain() const;
  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;   // "TLS_AES_256_GCM_SHA384"

 private:
  friend class tls_context;  // installs verify_callback
  // SSL_CTX verify callback: remote-cert-tls/ku/eku, the username fields and verify-x509-name.
  static int verify_callback(int preverify_ok, X509_STORE_CTX* store);

  SSL* ssl_ = nullptr;
  BIO* ct_in_ = nullptr;
  BIO* ct_out_ = nullptr;
  bool done_ = false;
  bool failed_ = false;
  std::string error_;
  std::string verify_note_;  // why verify_callback refused the peer, appended to error_
};

}  // namespace dpvpn::proto
