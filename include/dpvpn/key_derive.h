// SPDX-License-Identifier: MIT
// Data-channel key derivation (§7): TLS 1.0 PRF method and the RFC 5705 exporter (tls-ekm).
#pragma once

#include <cstdint>
#include <span>

#include "dpvpn/key_method2.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

// RFC 2246 PRF: P_MD5(S1, seed) XOR P_SHA1(S2, seed). False on backend failure.
bool tls1_prf(std::span<const uint8_t> secret, std::span<const uint8_t> seed, std::span<uint8_t> out);

// §7.2. client_sid / server_sid are the session ids each side puts in its own packets.
bool derive_prf(const km2_client& c, const km2_server& s, const wire::session_id& client_sid,
                const wire::session_id& server_sid, key2& out);
// §7.1: exporter "EXPORTER-OpenVPN-datakeys", 256 bytes.
bool derive_ekm(tls_session& tls, key2& out);
// §3.6: exporter "EXPORTER-OpenVPN-dynamic-tls-crypt", 256 bytes (not yet XORed).
bool derive_dyn_tls_crypt(tls_session& tls, key2& out);

// §7: a key2 whose cipher part is zero over the key length is a "bad dynamic key".
bool key2_is_weak(const key2& k, size_t cipher_key_len);

}  // namespace dpvpn::proto
