// SPDX-License-Identifier: MIT
// Private to control/gateway*.cc: one connected client as the control thread sees it.
#pragma once

#include <memory>
#include <string>

#include "dpvpn/gateway.h"
#include "dpvpn/inactivity.h"
#include "dpvpn/ipaddr.h"

namespace dpvpn::cp {

// "a.b.c.d:port" for an IPv4 outer address, "[v6]:port" for IPv6: log lines and client names.
inline std::string format_outer(const net::outer_addr& a) {
  return net::is_v4_mapped(a.ip) ? format_ipv4(net::v4_of(a.ip)) + ":" + std::to_string(a.port)
                                 : "[" + format_ipv6(a.ip) + "]:" + std::to_string(a.port);
}

struct gateway_control::client {
  net::outer_addr addr;  // outer address and port (IPv4 as v4-mapped)
  net::mac mac{};       // where its frames came from: replies go there
  uint16_t owner = 0;   // worker index that received its first packet
  uint32_t peer_id = 0;
  uint32_t vpn_ip = 0;  // 0 until assigned
  std::string name;     // "ip:port" until the CN is known
  std::string real_address() const { return format_outer(addr); }  // "ip:port" or "[ip6]:port"
  std::unique_ptr<proto::session> s;
  bool dp_installed = false;  // new_peer sent and published
  uint64_t created_ms = 0;
  uint64_t sched_ms = ~uint64_t{0};  // the wakeups_ entry that is current; ~0 = none
  uint64_t noted_bytes = 0, noted_pkts = 0;  // dataplane counters already given to s->note_data()
  uint32_t wrap_seq_seen = 0;  // dp_peer::wrap_seq already answered with a renegotiation
  bool half_open = false;      // counted in half_open_by_ip_ under half_open_ip until established
  net::ip6 half_open_ip{};
  uint64_t last_ctl_rx_ms = 0;
  inactivity_timer inactive;  // `inactive` (housekeeping): started at creation
  bool dead = false;             // torn down; erased by housekeeping
  uint64_t linger_until_ms = 0;  // EXIT / AUTH_FAILED: drop the session then
  dp::dp_peer* peer = nullptr;   // owned by the lcore once new_peer is applied; read-only here

  // Authentication (gateway_auth.cc): auth_request -> [tls-verify per certificate depth] ->
  // [auth-gen-token check | auth-user-pass-verify] -> [client-connect] -> authorize(). Each script
  // runs on its own; the client waits, nobody else does.
  // learn: client-connect accepted it; learn-address runs for its addresses before the push.
  // tcv2_verify: tls-crypt-v2-verify runs before everything else.
  enum class auth_stage : uint8_t { none, tcv2_verify, tls_verify, verify, connect, learn, accepted, rejected };
  auth_stage auth = auth_stage::none;
  uint64_t script_id = 0;     // the script running for this client; 0 = none
  std::string cn;             // common name as scripts see it (username with username-as-common-name)
  uint64_t accepted_ms = 0;

  // Addressing (gateway_addr.cc)
  address_lease lease;          // pool / pushed addresses; vpn_ip == lease.v4
  client_connect_options opts;  // the CCD file, then the client-connect output merged in
  std::vector<iroute4> iroutes_on;     // installed in the dataplane under peer_id
  std::vector<ipv6_net> iroutes6_on;
  bool v6_route_on = false;            // lease.v6's /128 installed
  bool cn_indexed = false;             // in gateway_control::by_cn_
  int verify_depth = -1;      // tls-verify: the certificate depth whose script runs now
  // auth-gen-token: the token pushed to this client and the session's first token (its session id
  // and initial timestamp are kept in renewals); wiped at teardown.
  std::string auth_token, auth_token_initial;
  bool auth_token_empty_user = false;
  const char* session_state = nullptr;  // openvpn's session_state for scripts; null = no token logic
  uint64_t token_renew_ms = 0;          // next renewal push; 0 = none scheduled
  // learn-address (gateway_scripts.cc): the push waits for the client's learn calls; an address
  // whose add/update failed is not routed (openvpn's "Learn FAILED"; a failed iroute is dropped
  // from opts.iroutes / opts.iroutes_v6).
  std::vector<std::string> learn_push;
  size_t learn_pending = 0;
  bool v4_unlearned = false, v6_unlearned = false;
};

}  // namespace dpvpn::cp
