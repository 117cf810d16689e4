// SPDX-License-Identifier: MIT
// The client role (docs/client.md): what a server's PUSH_REPLY asks of the client's side of the
// tunnel, after the config's pull-filter and route-nopull, as one value the control thread
// applies to the exception port and to the kernel (and gives the up/down scripts). Pure: no
// sockets, no DPDK; unit-tested in tests/unit/test_client_push.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/control_msg.h"
#include "dpvpn/ipaddr.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/script_args.h"

namespace dpvpn::cp {

struct tunnel_settings {
  uint32_t local = 0;           // ifconfig's local address (host order); 0 = none pushed
  uint8_t prefix = 32;          // topology subnet: from the netmask; net30/p2p: 32 (remote below)
  uint32_t netmask = 0;         // as pushed with topology subnet (for the scripts), else 0
  uint32_t remote = 0;          // net30/p2p: the server's end of the link, else 0
  std::optional<uint32_t> route_gateway;  // `route-gateway` (else the remote, else none)
  struct route {
    uint32_t net = 0;  // host order, host bits cleared
    uint8_t len = 32;
    uint32_t netmask = 0xFFFFFFFFu;
    std::optional<uint32_t> gateway;
  };
  std::vector<route> routes;  // pushed routes, then redirect-gateway's
  std::optional<ipv6_net> local6;   // `ifconfig-ipv6 ADDR/BITS [REMOTE]`
  std::vector<ipv6_net> routes6;    // route-ipv6, then redirect-gateway ipv6's
  config_client_role::redirect_flags redirect;  // the config's, or'ed with the pushed one
  unsigned tun_mtu = 0;                         // pushed `tun-mtu` (0: the config's)
  std::vector<std::string> foreign;             // dhcp-option / dns lines: foreign_option_N
  std::vector<std::string> ignored;             // options pull-filter ignored or dpvpn cannot apply
};

// Builds the settings from the options a session applied (pushed_options: the ones the session
// parsed itself, and `unknown`, the rest in order). reject: a pull-filter reject matched (the
// option's text); the caller drops the connection, as openvpn does. Malformed options are
// skipped into `ignored` with the reason.
tunnel_settings settings_from_push(const proto::pushed_options& p, const config_client_role& cfg, std::string& reject);

// The pull-filter verdict for one option line: the first filter whose text starts the line.
config_client_role::pull_action pull_verdict(const std::vector<config_client_role::pull_filter>& filters,
                                             const std::string& option);

// openvpn's up/down for a client (client_control runs them): argv `CMD dev tun_mtu 0 ifconfig_local
// ifconfig_netmask|ifconfig_remote init` and the environment a 2.6 client gives them (script_type,
// dev, tun_mtu, ifconfig_*, route_*_N, route_vpn_gateway, foreign_option_N, trusted_ip/port, ...).
std::vector<std::string> client_updown_argv(const std::vector<std::string>& cmd, const std::string& dev,
                                            unsigned tun_mtu, const tunnel_settings& t);
script_env client_updown_env(const server_config& cfg, const std::string& dev, unsigned tun_mtu,
                             const tunnel_settings& t, const net::outer_addr& server, const char* script_type,
                             const std::string& signal);

}  // namespace dpvpn::cp
