// SPDX-License-Identifier: MIT
// The vocabulary of proto::session and its parts: the session's configuration, the events it
// emits and the reasons it drops a packet. Owns no state; included by session.h and by each part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/data_channel.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "dpvpn/tls_wrap.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

// OpenVPN 2.6's default data-ciphers: AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305.
std::vector<crypto::cipher_alg> default_data_ciphers();

struct session_config {
  bool server = true;
  bool tcp = false;
  tls_context* tls = nullptr;  // shared, outlives the session

  // Control-channel wrapping (§3).
  wrap_mode wrap = wrap_mode::none;
  key2 wrap_key{};                                    // tls-auth / tls-crypt static key
  crypto::digest_alg auth_digest = crypto::digest_alg::sha1;  // tls-auth HMAC
  int key_direction = -1;                             // tls-auth only
  bool tcv2 = false;                                  // tls-crypt-v2
  tcv2_server_key tcv2_server;                        // server role
  // tls-crypt-v2 ... force-cookie: a V3 reset without early negotiation (a client that cannot
  // resend its WKc) is dropped instead of creating state at once (server_front).
  bool tcv2_force_cookie = false;
  tcv2_client_key tcv2_client;                        // client role

  // Timers (§13). Milliseconds unless named _s.
  uint32_t tls_timeout_ms = wire::k_tls_timeout_s * 1000;
  uint32_t hand_window_s = wire::k_hand_window_s;
  uint32_t reneg_sec = wire::k_reneg_sec_default;  // 0 = off
  uint64_t reneg_bytes = 0;                        // 0 = off
  uint64_t reneg_pkts = 0;                         // 0 = off
  uint32_t tran_window_s = wire::k_tran_window_s;
  uint32_t tls_mtu = wire::k_tls_mtu_default;

  // Data channel (§8, §11).
  std::vector<crypto::cipher_alg> data_ciphers = default_data_ciphers();
  std::optional<crypto::cipher_alg> data_ciphers_fallback;
  crypto::digest_alg data_auth = crypto::digest_alg::sha1;  // CBC HMAC digest (`auth`)
  bool allow_ekm = true;  // server: push tls-ekm to clients that support it; client: announce it
  // §9.1 compression framing when nothing about it is pushed: the server's own `comp-lzo` /
  // `compress` (applied to every client, as openvpn does, without a push), or the client's own.
  // A compression option in the push list overrides it for that peer (both roles).
  comp_framing comp = comp_framing::none;

  // Server role.
  uint32_t peer_id = 0;  // pushed as `peer-id`
  // Renegotiations are authenticated again, as openvpn's key_method_2_read does for every key_id:
  // each emits auth_request (with its key_id) and its data key waits for authorize(). Off: a
  // renegotiation is accepted once its certificate and username match key_id 0's.
  bool reauth = true;

  // Client role.
  std::string username, password;    // auth-user-pass (empty = none)
  std::string peer_info_extra;       // extra "KEY=VALUE\n" lines
  bool announce_dyn_tls_crypt = false;
  bool announce_request_push = true;  // IV_PROTO_REQUEST_PUSH (false: as a 2.4 client, which must ask)
};

// The wrapping keys this role's configuration gives (§3.2): tls-auth with its key-direction,
// tls-crypt (a server NORMAL, a client INVERSE); none without a static key and for tls-crypt-v2,
// whose keys come with each client (a server) or from the client key file (session_wrap).
// session_wrap, server_front and the lcores' front_filter all start from it.
wrap_keys static_wrap_keys(const session_config& cfg);

enum class session_event_type : uint8_t {
  key_ready,       // data keys for key_id: install them (key, cipher, digest, ekm used; `confirmed`)
  key_confirmed,   // server: the peer acknowledged our key-method-2 for key_id, so it holds the key
  key_retired,     // key_id is gone: remove it from the dataplane
  auth_request,    // server: client's km2 read (key_id 0, or a renegotiation's with reauth); answer with authorize()
  established,     // server: PUSH_REPLY sent; client: PUSH_REPLY applied (pushed options in text)
  control_message, // a text message the session does not handle itself (text)
  exit_received,   // peer sent EXIT (cc-exit) or OCC exit was reported
  restart_received,  // client: server sent RESTART (text has the message)
  auth_failed,     // client: server sent AUTH_FAILED (text)
  failed,          // the session is dead (text = reason); drop it
};
const char* to_string(session_event_type t) noexcept;

struct session_event {
  session_event_type type{};
  uint8_t key_id = 0;
  key2 key{};  // key_ready only
  crypto::cipher_alg cipher = crypto::cipher_alg::none;
  crypto::digest_alg digest = crypto::digest_alg::none;
  comp_framing framing = comp_framing::none;  // key_ready: the peer's compression framing (§9.1)
  // key_ready: false when the peer may not hold this key yet (a server's renegotiated key, ready
  // as soon as both key-method-2 messages are through, before the peer has ACKed ours): install it
  // to receive at once, but send on it only once the peer uses it or key_confirmed arrives.
  bool confirmed = true;
  std::string text;
};

// Why a packet was not accepted (counted by the caller).
enum class session_drop : uint8_t {
  none = 0,
  not_control,     // a data packet: not the session's business
  malformed,       // parse error
  unwrap_failed,   // HMAC / tag / WKc check failed
  replay,          // wrapper replay check failed
  wrong_session,   // peer sid or remote sid mismatch
  bad_key_id,      // key_id does not match any key state and is not a valid soft reset
  bad_state,       // opcode not valid now (e.g. a second hard reset)
  dead,            // session already failed
};
const char* to_string(session_drop d) noexcept;

}  // namespace dpvpn::proto
