// SPDX-License-Identifier: MIT
// One connected client as the control thread sees it, and the control thread's log line.
// Private to control/. The fields are grouped by the part that owns them (docs/control.md, "The
// control parts"): identity and lifecycle (client_table, gateway_clients.cc), the dataplane link
// (dp_installer), authentication and auth-gen-token (auth_pipeline), addressing (addressing) and
// learn-address (script_queue). A part writes only its own group; the others read it.
// Control thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dpvpn/client_options.h"
#include "dpvpn/dp_state.h"
#include "dpvpn/inactivity.h"
#include "dpvpn/ipaddr.h"
#include "dpvpn/log_sink.h"
#include "dpvpn/pools.h"
#include "dpvpn/session.h"
#include "log_tap.h"

namespace dpvpn::cp {

// "a.b.c.d:port" for an IPv4 outer address, "[v6]:port" for IPv6: log lines and client names.
inline std::string format_outer(const net::outer_addr& a) {
  return net::is_v4_mapped(a.ip) ? format_ipv4(net::v4_of(a.ip)) + ":" + std::to_string(a.port)
                                 : "[" + format_ipv6(a.ip) + "]:" + std::to_string(a.port);
}

// The control thread's log when level <= verb: "YYYY-mm-dd HH:MM:SS message" on stdout, or syslog
// (include/dpvpn/log_sink.h).
struct control_log {
  unsigned verb = 0;
  void operator()(int level, const std::string& msg) const {
    if (static_cast<unsigned>(level) > effective_verb(verb)) return;
    log_event(msg);
    if (log_tap().tap) log_tap().tap(msg);  // the management interface's log history
  }
};

struct client {
  // Identity and lifecycle (client_table; gateway_clients.cc).
  net::outer_addr addr;  // outer address and port (IPv4 as v4-mapped)
  net::mac mac{};       // where its frames came from: replies go there
  uint16_t owner = 0;   // worker index that received its first packet
  uint32_t peer_id = 0;
  std::string name;     // "ip:port" until the CN is known
  std::string real_address() const { return format_outer(addr); }  // "ip:port" or "[ip6]:port"
  std::unique_ptr<proto::session> s;
  uint64_t created_ms = 0;
  uint64_t sched_ms = ~uint64_t{0};  // client_table's timer entry that is current; ~0 = none
  // Counted in client_table's half-open map under this source IP until established.
  std::optional<net::ip6> half_open;
  uint64_t last_ctl_rx_ms = 0;
  inactivity_timer inactive;  // `inactive` (housekeeping): started at creation
  bool dead = false;             // torn down; erased by housekeeping
  uint64_t linger_until_ms = 0;  // EXIT / AUTH_FAILED: drop the session then

  // The dataplane's side (dp_installer, gateway_clients.cc).
  struct dp_link {
    dp::dp_peer* peer = nullptr;  // owned by the lcore once new_peer is applied; read-only here
    bool installed = false;       // new_peer sent and published
    uint64_t noted_bytes = 0, noted_pkts = 0;  // dataplane counters already given to s->note_data()
    uint32_t wrap_seq_seen = 0;   // dp_peer::wrap_seq already answered with a renegotiation
  } dp;

  // Authentication (auth_pipeline): auth_request -> [tls-verify per certificate depth] ->
  // [auth-gen-token check | auth-user-pass-verify] -> [client-connect] -> authorize(). Each script
  // runs on its own; the client waits, nobody else does.
  // learn: client-connect accepted it; learn-address runs for its addresses before the push.
  // tcv2_verify: tls-crypt-v2-verify runs before everything else.
  // mgmt: management-client-auth, waiting for client-auth / client-deny (gateway_mgmt.cc).
  enum class auth_stage : uint8_t { none, tcv2_verify, tls_verify, verify, mgmt, connect, learn, accepted, rejected };
  struct auth_state {
    auth_stage stage = auth_stage::none;
    uint64_t script_id = 0;  // the script running for this client; 0 = none
    int verify_depth = -1;   // tls-verify: the certificate depth whose script runs now
    uint64_t accepted_ms = 0;
  } auth;
  std::string cn;  // common name as scripts see it (username with username-as-common-name)
  // auth-gen-token (auth_pipeline, auth_token_stage.cc): the token pushed to this client and the
  // session's first token (its session id and initial timestamp are kept in renewals); wiped at
  // teardown.
  struct token_state {
    std::string pushed, initial;
    bool empty_user = false;
    const char* session_state = nullptr;  // openvpn's session_state for scripts; null = no token logic
    uint64_t renew_ms = 0;                // next renewal push; 0 = none scheduled
  } token;

  // The management interface (gateway_mgmt.cc): the client-id (CID) tools name the client by, the
  // key-id (KID) of each auth it announces (>CLIENT:CONNECT / REAUTH), and what client-auth said.
  uint64_t cid = 0;
  struct mgmt_state {
    unsigned next_kid = 1;     // openvpn's numbering (gateway_mgmt.cc: mgmt_auth_request)
    unsigned wait_kid = 0;     // the auth that waits for client-auth / client-deny
    bool waiting = false;
    bool reauth = false;       // the wait is a renegotiation's (>CLIENT:REAUTH)
    bool announced = false;    // >CLIENT:CONNECT went out: DISCONNECT and ADDRESS follow it
    bool granted = false;      // client-auth accepted the first key
    std::vector<std::string> config;  // client-auth's lines, applied as client-connect's
    uint64_t pending_until_ms = 0;    // client-pending-auth's timeout
  } mgmt;

  // Addressing (addressing).
  uint32_t vpn_ip = 0;          // 0 until assigned; == lease.v4
  address_lease lease;          // pool / pushed addresses
  client_connect_options opts;  // the CCD file, then the client-connect output merged in
  struct route_state {
    std::vector<iroute4> iroutes_on;  // installed in the dataplane under peer_id
    std::vector<ipv6_net> iroutes6_on;
    bool v6_on = false;               // lease.v6's /128 installed
  } routes;
  bool cn_indexed = false;  // in addressing's common-name index

  // learn-address (script_queue): the push waits for the client's learn calls; an address whose
  // add/update failed is not routed (openvpn's "Learn FAILED"; a failed iroute is dropped from
  // opts.iroutes / opts.iroutes_v6).
  struct learn_state {
    std::vector<std::string> push;
    size_t pending = 0;
    bool v4_unlearned = false, v6_unlearned = false;
  } learn;
};

}  // namespace dpvpn::cp
