// SPDX-License-Identifier: MIT
// Arguments and environment of the learn-address, up and down scripts, as openvpn 2.6 builds them
// (multi.c learn_address_script, init.c run_up_down, tun.c do_ifconfig_setenv). Sans-IO.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/ipaddr.h"

namespace dpvpn::cp {

// A script's environment: NAME=VALUE pairs in the order they are set (auth_scripts.h runs them).
using script_env = std::vector<std::pair<std::string, std::string>>;

// How openvpn prints a learned address (mroute_addr_print): "10.8.0.6" for a client's own address,
// "192.168.1.0/24" for an iroute (host bits cleared), "fd00::1000" / "fd00:1::/64" for IPv6.
// len < 0: a host address without a length.
std::string learn_addr_v4(uint32_t addr, int len);
std::string learn_addr_v6(const ipv6_addr& addr, int len);

// learn-address COMMAND's argv: the command's words, then OP ("add", "update" or "delete"), the
// address and, for add and update, the client's common name (openvpn's delete has none).
std::vector<std::string> learn_address_argv(const std::vector<std::string>& cmd, std::string_view op,
                                            std::string_view addr, std::string_view cn);

// What up and down are told about the tunnel device.
struct updown_info {
  std::string dev;         // the device name (the exception port's kernel name)
  unsigned tun_mtu = 1500;
  std::string context = "init";  // "init"; openvpn's "restart" needs up-restart (not supported)
  std::string signal;      // down only: what stopped dpvpn ("sigterm", "sigint"); empty for up
};

// up/down argv: COMMAND dev tun_mtu 0 ifconfig_local ifconfig_remote_or_netmask context (the 0
// was link_mtu before 2.6). A tun server's local address is NET+1; the second address is the
// netmask with topology subnet, else NET+2 (the server's own `ifconfig` for net30 and p2p).
std::vector<std::string> updown_argv(const std::vector<std::string>& cmd, const server_config& cfg,
                                     const updown_info& dev);
// Their environment: script_type, script_context, dev, dev_type (up only), tun_mtu, signal (down),
// ifconfig_local with ifconfig_netmask (subnet) or ifconfig_remote (net30/p2p), the IPv6 ones with
// server-ipv6, the connection (proto_1, local_1, local_port_1), config, verb, daemon_pid.
script_env updown_env(const server_config& cfg, const updown_info& dev, std::string_view script_type,
                      uint64_t daemon_pid);

// auth-user-pass-verify via-file: the file's text, "username\npassword\n". Each string passes
// through proto::remap_name first (openvpn's verify_user_pass does it before any script runs), so
// a CR or LF inside a username can never make a second line.
std::string user_pass_file_text(std::string_view username, std::string_view password);

// Adds the setenv / setenv-safe variables to env, except those env already names: a script's own
// variables win, as openvpn's per-client environment overrides its global one.
void add_setenv(script_env& env, const server_config& cfg);

}  // namespace dpvpn::cp
