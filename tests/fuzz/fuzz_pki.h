// SPDX-License-Identifier: MIT
// THROWAWAY TEST MATERIAL for the fuzz targets that run TLS (session_seq, gateway_lifecycle): an
// Ed25519 key from 32 fixed bytes and a self-signed certificate (its own CA), made in memory, never
// written anywhere. Ed25519 signatures are deterministic, so the certificate is the same every run.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace dpvpn::fuzz {

struct throwaway_pem {
  std::string cert, key;  // PEM; the certificate is also its own CA
};

// seed_base: the key's bytes are seed_base, seed_base + 1, ...; cn: the certificate's common name.
inline throwaway_pem make_throwaway_pem(uint8_t seed_base, const char* cn) {
  auto to_pem = [](auto write, auto* obj) {
    BIO* b = BIO_new(BIO_s_mem());
    if (!b || write(b, obj) != 1) std::abort();
    char* p = nullptr;
    const long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<size_t>(n));
    BIO_free(b);
    return s;
  };
  uint8_t seed[32];
  for (size_t i = 0; i < sizeof seed; ++i) seed[i] = static_cast<uint8_t>(seed_base + i);
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed);
  X509* x = X509_new();
  if (!key || !x) std::abort();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z");
  ASN1_TIME_set_string(X509_getm_notAfter(x), "20991231235959Z");
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  if (X509_sign(x, key, nullptr) <= 0) std::abort();
  throwaway_pem r;
  r.cert = to_pem([](BIO* b, X509* o) { return PEM_write_bio_X509(b, o); }, x);
  r.key = to_pem([](BIO* b, EVP_PKEY* o) { return PEM_write_bio_PrivateKey(b, o, nullptr, nullptr, 0, nullptr, nullptr); },
                 key);
  X509_free(x);
  EVP_PKEY_free(key);
  return r;
}

}  // namespace dpvpn::fuzz
