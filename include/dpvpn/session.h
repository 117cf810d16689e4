// SPDX-License-Identifier: MIT
// One OpenVPN 2.6 connection, server or client role, sans-IO: packets and time in, packets,
// events and "call me next at" out. Runs the reliability layer, wrapping, TLS, key method 2,
// push, renegotiation and the control-channel timers. Control thread only.
//
// session ties together parts that each own their state (each header says what and who calls it):
//   session_wrap   wrap keys, session ids, the wrapper's replay window, tls-crypt-v2's Kc (§3, §4.3)
//   key_slots      the primary and lame-duck key states, renegotiation bookkeeping (§2.6, §12)
//   peer_auth      the peer's identity, its locks across renegotiations, the authorization
//   push_state     PUSH_REQUEST / PUSH_REPLY and the negotiated data-channel parameters (§10, §11)
//   session_queue  packets and events waiting for the caller, with their limits
// and keeps the failure state itself. session.cc is the packet plumbing and the timers,
// session_ks.cc the per-key_id state machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dpvpn/key_slots.h"
#include "dpvpn/peer_auth.h"
#include "dpvpn/push_state.h"
#include "dpvpn/session_queue.h"
#include "dpvpn/session_types.h"
#include "dpvpn/session_wrap.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

class session {
 public:
  // Per-session queue limits (issue 11 F2): a peer that stops ACKing, or asks for more than it
  // takes, ends its own session ("failed") instead of growing the server's memory.
  static constexpr size_t k_max_tls_out = key_slots::k_max_tls_out;          // TLS ciphertext waiting for the send window
  static constexpr size_t k_max_send_queue = key_slots::k_max_send_queue;    // un-ACKed messages, one key_id
  static constexpr size_t k_max_out_packets = session_queue::k_max_packets;  // packets not yet taken by pop_packet
  static constexpr size_t k_max_events = session_queue::k_max_events;        // events not yet taken by pop_event
  // openvpn's push.c: a PUSH_REQUEST within 30 s of the last PUSH_REPLY gets no answer.
  static constexpr uint64_t k_push_reply_interval_ms = push_state::k_reply_interval_ms;

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
  crypto::cipher_alg cipher() const noexcept { return push_.cipher(); }
  bool ekm() const noexcept { return push_.ekm(); }
  comp_framing framing() const noexcept { return push_.framing(); }  // valid once keys are ready
  uint32_t peer_id() const noexcept { return push_.peer_id(); }
  const peer_info& peer() const noexcept { return auth_.info(); }
  const std::string& common_name() const noexcept { return auth_.common_name(); }
  // Server: the client's verified certificate chain (depth 0 first) as of key_id 0's handshake;
  // empty for a client without a certificate (verify-client-cert none|optional).
  const std::vector<peer_cert>& peer_certs() const noexcept { return auth_.certs(); }
  const std::string& username() const noexcept { return auth_.username(); }
  // Server: the client's auth-user-pass password from the key method 2 message (§6) of the key_id
  // waiting for authorize(), for an auth-user-pass-verify script. Wiped by authorize().
  const std::string& password() const noexcept { return auth_.password(); }
  // Server: a renegotiation (this key_id, never 0) waits for authorize().
  bool reauth_pending() const noexcept { return auth_.reauth_pending(); }
  uint8_t reauth_key_id() const noexcept { return auth_.reauth_kid(); }
  const wire::session_id& own_sid() const noexcept { return wire_.own_sid(); }
  const wire::session_id& peer_sid() const noexcept { return wire_.peer_sid(); }
  const pushed_options& pushed() const noexcept { return push_.pushed(); }  // client role
  const std::vector<uint8_t>& tcv2_metadata() const noexcept { return wire_.tcv2_metadata(); }
  uint32_t renegotiations() const noexcept { return keys_.renegotiations(); }
  // Bytes this session holds for the peer: TLS output, un-ACKed messages, packets and events.
  size_t queued_bytes() const noexcept;

 private:
  // session.cc: packet plumbing and timers
  void emit(session_event ev);
  void retire(uint8_t kid);  // key_retired for kid
  void fail(const std::string& why);
  void fail_later(const std::string& why, uint64_t at_ms);  // deferred failure (after AUTH_FAILED / EXIT)
  void flush(uint64_t now_ms);
  void flush_ks(key_state& ks, uint64_t now_ms);
  void send_packet(key_state& ks, uint8_t op, bool has_msg_id, uint32_t msg_id, std::span<const uint8_t> payload,
                   size_t max_acks);
  size_t max_tls_chunk() const noexcept;
  void timers(uint64_t now_ms);
  void check_limits();
  void start_soft_reset(uint64_t now_ms);
  void fail_renegotiation();
  // client_reason: sent as AUTH_FAILED,REASON (openvpn's client reason); empty = plain AUTH_FAILED.
  void deauthenticate(const std::string& why, uint64_t now_ms, const std::string& client_reason = "");
  // session_ks.cc: the per-key_id state machine
  void process_ks(key_state& ks, uint64_t now_ms);
  void deliver(key_state& ks, std::vector<uint8_t>& payload);
  bool on_handshake(key_state& ks, uint64_t now_ms);  // TLS is up: certificate checks, key method 2, text
  void handle_km2(key_state& ks, std::span<const uint8_t> unit, uint64_t now_ms);
  void handle_text(const std::string& msg, uint64_t now_ms);
  void on_active(key_state& ks, uint64_t now_ms);
  bool derive_keys(key_state& ks, bool confirmed = true);
  void send_push_reply(uint64_t now_ms);
  void write_text(key_state& ks, std::string_view msg);

  session_config cfg_;  // first: the parts below keep a reference to it
  session_wrap wire_;
  key_slots keys_;
  peer_auth auth_;
  push_state push_;
  session_queue queue_;
  bool failed_ = false;
  bool established_ = false;
  uint64_t fail_at_ms_ = 0;  // deferred failure (after AUTH_FAILED / EXIT)
  std::string fail_reason_;
};

}  // namespace dpvpn::proto
