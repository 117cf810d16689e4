// SPDX-License-Identifier: MIT
// One OpenVPN 2.6 connection, server or client role, sans-IO: packets and time in, packets,
// events and "call me next at" out. Runs the reliability layer, wrapping, TLS, key method 2,
// push, renegotiation and the control-channel timers. Control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dpvpn/control_msg.h"
#include "dpvpn/crypto.h"
#include "dpvpn/data_channel.h"
#include "dpvpn/key_method2.h"
#include "dpvpn/reliable.h"
#include "dpvpn/replay.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"
#include "dpvpn/tls_wrap.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

// OpenVPN 2.6's default data-ciphers: AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305.
std::vector<crypto::cipher_alg> default_data_ciphers();

// §9.1: the framing a pushed option list makes the client use (the last compression option
// wins), or nullopt if it has none. dpvpn never compresses, so a real algorithm maps to the
// framing of its uncompressed packets: comp-lzo [yes|no|adaptive] and compress lzo -> lzo_no
// (0xFA), compress [stub] and compress lz4 -> stub (0xFB swap), compress stub-v2 and
// compress lz4-v2 -> stub_v2.
std::optional<comp_framing> pushed_framing(const std::vector<std::string>& options);

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

class session {
 public:
  // Per-session queue limits (issue 11 F2): a peer that stops ACKing, or asks for more than it
  // takes, ends its own session ("failed") instead of growing the server's memory.
  static constexpr size_t k_max_tls_out = 64 * 1024;  // TLS ciphertext waiting for the send window
  static constexpr size_t k_max_send_queue = 2 * wire::k_reliable_send_window;  // un-ACKed messages, one key_id
  static constexpr size_t k_max_out_packets = 256;    // packets not yet taken by pop_packet
  static constexpr size_t k_max_events = 256;         // events not yet taken by pop_event
  // openvpn's push.c: a PUSH_REQUEST within 30 s of the last PUSH_REPLY gets no answer.
  static constexpr uint64_t k_push_reply_interval_ms = 30'000;

  explicit session(const session_config& cfg, uint64_t now_ms);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Client role: send the hard reset.
  void start(uint64_t now_ms);
  // Server role, stateless-cookie path (§4.2): the client echoed our cookie sid `ours`; create
  // the session as if our reset (message 0) was sent and ACKed and theirs received.
  // kc is the tls-crypt-v2 client key when the session uses tls-crypt-v2 (else nullptr).
  void accept_cookie(const wire::session_id& ours, const wire::session_id& theirs, const key2* kc,
                     uint64_t now_ms);

  // One datagram (UDP) or deframed packet (TCP) from the peer.
  session_drop on_packet(std::span<const uint8_t> pkt, uint64_t now_ms);
  // Timers; call at or after next_wakeup_ms().
  void tick(uint64_t now_ms);
  uint64_t next_wakeup_ms() const noexcept;

  // Outputs.
  bool pop_packet(std::vector<uint8_t>& out);
  bool pop_event(session_event& ev);

  // Server: answer an auth_request. ok=false sends AUTH_FAILED[,reason] and fails the session
  // a few seconds later. push: the options to push (global and per-client); the session adds
  // peer-id, cipher and protocol-flags itself. While a renegotiation waits (reauth_pending()),
  // the answer is that key_id's: ok=true lets its data key be made, push is ignored.
  void authorize(bool ok, std::vector<std::string> push, const std::string& reason, uint64_t now_ms);
  // Send a text control message (EXIT, RESTART, ...) on the primary key_id.
  void send_text(std::string_view msg, uint64_t now_ms);
  // Start a renegotiation now (SOFT_RESET with the next key_id).
  void renegotiate(uint64_t now_ms);
  // Data-channel activity for reneg-bytes / reneg-pkts on the primary key.
  void note_data(uint64_t bytes, uint64_t pkts) noexcept;

  // State.
  bool failed() const noexcept { return failed_; }
  bool established() const noexcept { return established_; }
  uint8_t primary_key_id() const noexcept;
  crypto::cipher_alg cipher() const noexcept { return cipher_; }
  bool ekm() const noexcept { return ekm_; }
  comp_framing framing() const noexcept { return framing_; }  // valid once keys are ready
  uint32_t peer_id() const noexcept { return peer_id_; }
  const peer_info& peer() const noexcept { return peer_info_; }
  const std::string& common_name() const noexcept { return common_name_; }
  // Server: the client's verified certificate chain (depth 0 first) as of key_id 0's handshake;
  // empty for a client without a certificate (verify-client-cert none|optional).
  const std::vector<peer_cert>& peer_certs() const noexcept { return peer_certs_; }
  const std::string& username() const noexcept { return username_; }
  // Server: the client's auth-user-pass password from the key method 2 message (§6) of the key_id
  // waiting for authorize(), for an auth-user-pass-verify script. Wiped by authorize().
  const std::string& password() const noexcept { return password_; }
  // Server: a renegotiation (this key_id, never 0) waits for authorize().
  bool reauth_pending() const noexcept { return reauth_pending_; }
  uint8_t reauth_key_id() const noexcept { return reauth_kid_; }
  const wire::session_id& own_sid() const noexcept { return own_sid_; }
  const wire::session_id& peer_sid() const noexcept { return peer_sid_; }
  const pushed_options& pushed() const noexcept { return pushed_; }  // client role
  const std::vector<uint8_t>& tcv2_metadata() const noexcept { return tcv2_meta_; }
  uint32_t renegotiations() const noexcept { return renegs_; }
  // Bytes this session holds for the peer: TLS output, un-ACKed messages, packets and events.
  size_t queued_bytes() const noexcept;

 private:
  struct key_state;
  // session.cc: packet plumbing
  key_state* find_ks(uint8_t kid);
  key_state& new_ks(uint8_t kid, uint64_t now_ms);
  void emit(session_event ev);
  void fail(const std::string& why);
  void flush(uint64_t now_ms);
  void flush_ks(key_state& ks, uint64_t now_ms);
  void send_packet(key_state& ks, uint8_t op, bool has_msg_id, uint32_t msg_id, std::span<const uint8_t> payload,
                   size_t max_acks, uint64_t now_ms);
  size_t max_tls_chunk() const noexcept;
  // session_ks.cc: the per-key_id state machine
  void process_ks(key_state& ks, uint64_t now_ms);
  void deliver(key_state& ks, std::vector<uint8_t>& payload, uint64_t now_ms);
  void handle_km2(key_state& ks, std::span<const uint8_t> unit, uint64_t now_ms);
  void handle_text(key_state& ks, const std::string& msg, uint64_t now_ms);
  void on_active(key_state& ks, uint64_t now_ms);
  bool derive_keys(key_state& ks, bool confirmed = true);
  void send_push_reply(uint64_t now_ms);
  void start_soft_reset(uint64_t now_ms);
  void write_text(key_state& ks, std::string_view msg, uint64_t now_ms);
  void timers(uint64_t now_ms);
  void check_limits();
  void fail_renegotiation(uint64_t now_ms);
  // client_reason: sent as AUTH_FAILED,REASON (openvpn's client reason); empty = plain AUTH_FAILED.
  void deauthenticate(const std::string& why, uint64_t now_ms, const std::string& client_reason = "");
  bool same_peer(key_state& ks) const;

  session_config cfg_;
  wrap_keys wrap_;
  replay_window wrap_replay_{wire::k_replay_window_default, wire::k_replay_time_default};
  uint32_t wrap_counter_ = 0;
  uint32_t wrap_time_ = 0;
  wire::session_id own_sid_{};
  wire::session_id peer_sid_{};
  bool peer_sid_known_ = false;
  key2 kc_{};                      // tls-crypt-v2 Kc (server: from WKc)
  std::vector<uint8_t> tcv2_meta_;
  bool resend_wkc_ = false;        // client: server asked for WKC_V1 (§4.3)

  std::unique_ptr<key_state> primary_;
  std::unique_ptr<key_state> lame_duck_;

  std::deque<std::vector<uint8_t>> out_;
  std::deque<session_event> events_;

  bool failed_ = false;
  bool established_ = false;
  bool authorized_ = false;       // server: authorize(true) was called
  bool auth_rejected_ = false;
  bool push_requested_ = false;   // server: PUSH_REQUEST seen, or client may receive unasked
  bool push_sent_ = false;
  uint64_t push_reply_expiry_ms_ = 0;  // server: no PUSH_REPLY for a PUSH_REQUEST before this
  uint64_t authorized_ms_ = 0;         // server: when authorize(true) was called
  std::vector<std::string> push_options_;
  uint64_t fail_at_ms_ = 0;       // deferred failure (after AUTH_FAILED / EXIT)
  std::string fail_reason_;
  uint64_t next_push_request_ms_ = 0;
  crypto::cipher_alg cipher_ = crypto::cipher_alg::none;
  bool ekm_ = false;
  comp_framing framing_ = comp_framing::none;
  uint32_t peer_id_ = wire::k_peer_id_none;
  peer_info peer_info_;
  std::string common_name_;
  std::vector<peer_cert> peer_certs_;
  std::vector<std::string> locked_cert_hashes_;  // key_id 0's chain (SHA-256), every renegotiation must match
  bool reauth_pending_ = false;
  uint8_t reauth_kid_ = 0;
  std::string username_;
  std::string password_;  // server: until authorize()
  pushed_options pushed_;
  push_accumulator push_acc_;
  uint64_t reneg_jitter_ms_ = 0;
  uint32_t renegs_ = 0;
};

}  // namespace dpvpn::proto
