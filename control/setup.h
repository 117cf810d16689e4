// SPDX-License-Identifier: MIT
// The config -> what the running gateway uses, as pure functions of the parsed config (no DPDK,
// no sockets; unit-tested in tests/unit/test_setup.cc): the session template and pools the control
// thread works from, the TLS settings, the MSS clamp and TAP settings the workers apply, the
// exception port's name.
// app/main.cc calls them once at start-up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpvpn/auth_token.h"
#include "dpvpn/config.h"
#include "dpvpn/data_keys.h"
#include "dpvpn/dp_l2.h"
#include "dpvpn/l2frame.h"
#include "dpvpn/front_filter.h"
#include "dpvpn/session.h"
#include "dpvpn/tls_engine.h"

namespace dpvpn::cp {

// Everything derived from the config that sessions need; built once at start-up. The client role
// (cfg.client): session.server is false, username/password come from auth-user-pass, the
// tls-crypt-v2 key is the client's; pools, push and the auth-token key stay empty.
struct control_setup {
  proto::session_config session;  // template: per-client fields (peer_id) are filled in
  proto::data_key_params data;    // backend, replay window
  uint32_t pool_first = 0, pool_last = 0;  // client VPN addresses, host order (inclusive)
  uint32_t server_vpn_ip = 0;
  uint32_t netmask = 0;
  std::vector<std::string> push;   // global push options, in order
  proto::auth_token_key auth_token_key;  // auth-gen-token: from auth-gen-token-secret, else random
  uint32_t auth_token_renewal_s = 0;     // auth-gen-token's RENEWAL, else reneg-sec
};
// Throws config_error for a key file that does not parse, or an auth-user-pass file without its
// two lines (or one that cannot be read).
control_setup make_control_setup(const server_config& cfg, proto::tls_context* tls);

// The TLS settings of the config: certificates by path, or inline PEM passed on in memory (never
// written to a file). missing: the first required one absent ("ca", "cert", "key"), else empty.
// The client role: tc.server false, remote-cert-tls server checked by the engine, cert and key
// optional with auth-user-pass.
proto::tls_config tls_config_of(const server_config& cfg, std::string& missing);

// `mssfix`: the TCP MSS ceiling the workers clamp SYNs to (0 = off), for inner headers of
// inner_hdr bytes (IPv4 + TCP: 40, IPv6 + TCP: 60).
uint16_t mss_clamp_for(const server_config& cfg, long inner_hdr);

// `dev tap` (docs/tap.md): the workers' side of the segment. Client-to-client, vlan-tagging, the
// largest frame a client may send (tap_max_frame), and, with `server NET MASK`, the gateway's
// address NET+1 (the exception port's kernel interface, whose MAC exc_mac is) for ARP answered in
// the dataplane; with server-bridge the bridge owns its address and answers itself (none here).
net::l2_policy l2_policy_for(const server_config& cfg, const net::mac& exc_mac);
// The MAC table's size (max(4096, 4 x max-clients) entries; max-routes-per-client per client, half
// the table for the segment's side), the learn ring's size (dp-ring-size) and the age (300 s). The
// hash seed is the caller's (a random value).
dp::l2_params l2_params_for(const server_config& cfg);

// The lcores' first-contact filters (front_filter.h), one per engine, in order; empty when the
// server has no wrapping key (nothing an lcore could check), and always in the client role
// (s.server false: the server's frames are not filtered). Before the workers start.
std::vector<std::unique_ptr<proto::front_filter>> make_front_filters(const proto::session_config& s,
                                                                     const std::vector<crypto::engine*>& engines);

// The exception port's kernel interface name for `dev`: `tun` -> tun0, `tun3` -> tun3.
std::string exception_ifname(const std::string& dev);

}  // namespace dpvpn::cp
