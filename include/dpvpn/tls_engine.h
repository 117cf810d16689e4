// SPDX-License-Identifier: MIT
// TLS over OpenSSL memory BIOs (§5): one SSL_CTX per configuration, one tls_session (SSL object
// with ct_in/ct_out BIOs) per key_id. Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace dpvpn::proto {

enum class verify_client_cert : uint8_t { none, optional, require };
enum class remote_cert_tls : uint8_t { none, server, client };

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
  std::string cipher_list;      // TLS <= 1.2 (default: OpenVPN's client default list)
  std::string ciphersuites;     // TLS 1.3 (default: OpenSSL's)
};

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
  // Re-reads the CRL file (crl-verify picked up without restart). False + err on failure.
  bool reload_crl(std::string& err);
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
  // Peer certificate subject common name ("" if none).
  std::string peer_common_name() const;
  // The peer's verified chain, depth 0 first; empty without a verified peer certificate.
  std::vector<peer_cert> peer_chain() const;
  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;   // "TLS_AES_256_GCM_SHA384"

 private:
  SSL* ssl_ = nullptr;
  BIO* ct_in_ = nullptr;
  BIO* ct_out_ = nullptr;
  bool done_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace dpvpn::proto
