// SPDX-License-Identifier: MIT
// auth_pipeline: a client's way from its key-method-2 credentials to PUSH_REPLY or AUTH_FAILED,
// and back out. The stages (client::auth_stage): tls-crypt-v2-verify, tls-verify once per
// certificate depth, the auth-gen-token check or auth-user-pass-verify, the addresses (CCD file,
// duplicate-cn, pool, ifconfig-push: addressing), client-connect, learn-address (script_queue),
// then session::authorize(). Each script runs on its own and only its client waits: results come
// back later (deferred) through on_script_result, learn-address's end through on_learned. A
// renegotiation runs auth-user-pass-verify again (or takes this session's token). auth-gen-token
// (auth_token_stage.cc): tokens made, checked, renewed. Teardown: the running script cancelled,
// client-disconnect, the token wiped.
// State: per client only (client::auth_state, client::token_state, cn); the rest is the
// configuration and the parts it calls.
// Called by gateway_control (session events auth_request and key_ready, script results, teardown,
// housekeeping's token renewals). It calls back into the lifecycle through client_ops (drain a
// client's session output, tear a client down). Control thread only.
#pragma once

#include <cstdint>
#include <string>

#include "addressing.h"
#include "client.h"
#include "client_table.h"
#include "dpvpn/config.h"
#include "script_queue.h"

namespace dpvpn::cp {

struct control_setup;  // setup.h

// What the parts ask of the client lifecycle (gateway_control implements it).
struct client_ops {
  virtual ~client_ops() = default;
  virtual void drain(client& c, uint64_t now_ms) = 0;               // c's session output goes out
  virtual void teardown(client& c, const std::string& why) = 0;     // c ends (once)
  // management-client-auth: announce c's auth (>CLIENT:CONNECT, or REAUTH for a renegotiation);
  // the answer comes back through auth_pipeline::mgmt_decision.
  virtual void mgmt_auth_request(client& c, bool reauth, uint64_t now_ms) = 0;
};

class auth_pipeline {
 public:
  auth_pipeline(const server_config& cfg, const control_setup& setup, client_table& table, addressing& addr,
                script_queue& scripts, client_ops& ops, control_log log)
      : cfg_(cfg), setup_(setup), table_(table), addr_(addr), scripts_(scripts), ops_(ops), log_(log) {}

  void start_auth(client& c, uint64_t now_ms);  // the session's auth_request (first key or renegotiation)
  // A finished auth script (script_queue::poll) of the client at `who`, if it still waits for it.
  void on_script_result(const net::outer_addr& who, const script_result& r, uint64_t now_ms);
  void on_learned(client& c, uint64_t now_ms);  // its learn-address calls are done: the push goes
  void end_auth(client& c, uint64_t now_ms);    // teardown: cancel the script, client-disconnect
  // client-auth (ok, with its config lines) or client-deny for the auth c waits for.
  void mgmt_decision(client& c, bool ok, const std::string& reason, const std::string& client_reason,
                     std::vector<std::string> config, uint64_t now_ms);
  void renew_auth_token(client& c, uint64_t now_ms);  // push a fresh token (renegotiation); caller drains
  void renew_auth_tokens(uint64_t now_ms);            // housekeeping: renewals that are due
  // OpenVPN's script environment for c (common name, addresses, IV_/UV_ peer-info, setenv).
  script_env client_env(const client& c, const char* script_type, uint64_t now_ms) const;

 private:
  void start_connect(client& c, uint64_t now_ms);
  void accept(client& c, const client_connect_options* cc, uint64_t now_ms);
  // client_reason: sent as AUTH_FAILED,REASON (openvpn's client reason); empty = plain AUTH_FAILED.
  void reject(client& c, const std::string& why, uint64_t now_ms, const std::string& client_reason = "");
  void start_tls_verify(client& c, uint64_t now_ms);  // one tls-verify run, for c.auth.verify_depth
  void start_user_pass(client& c, uint64_t now_ms);   // auth-gen-token check, auth-user-pass-verify
  void start_reauth(client& c, uint64_t now_ms);      // a renegotiation: token or auth-user-pass-verify again
  void finish_reauth(client& c, bool ok, uint64_t now_ms);  // ok: management-client-auth asks next
  // start_connect: without duplicate-cn, the other sessions of c's common name go.
  void drop_duplicate_cn(client& c, uint64_t now_ms);
  // auth_token_stage.cc. True when a token decided (accepted -> client-connect stage, or
  // refused); false: the password goes to auth-user-pass-verify.
  bool check_auth_token(client& c, uint64_t now_ms);

  const server_config& cfg_;
  const control_setup& setup_;
  client_table& table_;
  addressing& addr_;
  script_queue& scripts_;
  client_ops& ops_;
  control_log log_;
};

}  // namespace dpvpn::cp
