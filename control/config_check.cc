// SPDX-License-Identifier: MIT
// The checks that need the whole config (config_internal.h: cross_check); the client role's own are
// check_client (config_client.cc).
#include <algorithm>

#include "config_internal.h"
#include "dpvpn/config_known.h"

namespace dpvpn::cp {

void cross_check(ctx& c) {
  auto& cfg = c.cfg;
  auto missing = [&](std::string_view name, const std::string& expected) {
    if (c.line_of(name) == 0) c.fail_at(0, name, "expected " + expected + " (required)");
  };
  const bool client = c.client_role;  // the client role's requirements: check_client (config_client.cc)
  if (!client) {
    // dev tap may give `server-bridge` instead (check_tap refuses it with dev tun).
    const bool tap_named = c.dev_type_given ? *c.dev_type_given == dev_kind::tap : cfg.dev.starts_with("tap");
    if (c.line_of("server-bridge") == 0)
      missing("server", tap_named ? "\"server NETWORK NETMASK\" or \"server-bridge ...\" (the clients' subnet)"
                                  : "\"server NETWORK NETMASK\" (the VPN subnet)");
    missing("dev", "\"dev tun\"");
    if (cfg.capath.empty()) missing("ca", "\"ca FILE\", a <ca> block or \"capath DIRECTORY\"");
    missing("cert", "\"cert FILE\" or a <cert> block");
    missing("key", "\"key FILE\" or a <key> block");
  }

  // The management-* options change `management` (openvpn refuses them alone, too).
  if (!cfg.management)
    for (std::string_view m : {"management-client-auth", "management-hold", "management-log-cache",
                               "management-client-user", "management-client-group"})
      if (unsigned at = c.line_of(m)) c.fail_at(at, m, "expected a management line as well: this option changes it");
  if (cfg.management && !cfg.management->unix_socket &&
      (!cfg.management_client_user.empty() || !cfg.management_client_group.empty()))
    c.fail_at(c.line_of(cfg.management_client_user.empty() ? "management-client-group" : "management-client-user"),
              cfg.management_client_user.empty() ? "management-client-group" : "management-client-user",
              "expected \"management PATH unix\": only a unix socket knows who connects");

  // dev-type wins; otherwise the name says it (OpenVPN's rule).
  if (c.dev_type_given) cfg.dev_type = *c.dev_type_given;
  else if (cfg.dev.starts_with("tun")) cfg.dev_type = dev_kind::tun;
  else if (cfg.dev.starts_with("tap")) cfg.dev_type = dev_kind::tap;
  else c.fail_at(c.line_of("dev"), "dev", "expected a name starting with tun or tap (or a dev-type line), got " + shown(cfg.dev));
  if (client) check_client(c);

  // The exception port carries what the device would: IP packets for tun, frames for tap.
  cfg.dp_exception = cfg.dev_type == dev_kind::tun ? exception_port_kind::tun : exception_port_kind::tap;
  if (c.dp_exception_given) {
    auto want = cfg.dev_type == dev_kind::tun ? exception_port_kind::tap : exception_port_kind::tun;
    if (*c.dp_exception_given == want)
      c.fail_at(c.line_of("dp-exception"), "dp-exception",
                std::string("expected ") + (cfg.dev_type == dev_kind::tun ? "tun" : "tap") +
                    " or virtio-user to match \"dev " + cfg.dev + "\"");
    cfg.dp_exception = *c.dp_exception_given;
  }

  // OpenVPN 2.6 asks for a /29 with dev tun (whatever the topology) and a /30 with dev tap.
  unsigned max_prefix = cfg.dev_type == dev_kind::tun ? 29 : 30;
  if (!client && cfg.server && cfg.server->prefix_len() > max_prefix)
    c.fail_at(c.line_of("server"), "server",
              "expected a subnet of /" + std::to_string(max_prefix) + " or larger, got /" +
                  std::to_string(cfg.server->prefix_len()));

  // TAP mode: server-bridge and 802.1Q need dev tap; the derived tap_* values (config_tap.cc).
  if (!client) {
    const tap_lines tl{c.line_of(c.dev_type_given ? "dev-type" : "dev"), c.line_of("server"), c.line_of("server-bridge"),
                       c.line_of("ifconfig-pool"), c.line_of("vlan-tagging"), c.line_of("vlan-accept"),
                       c.line_of("vlan-pvid")};
    if (auto errs = check_tap(c.file, cfg, tl); !errs.empty()) throw combined_config_error(c.file, errs);
  }

  // One control-channel wrapping at a time (§3): report it at the later line.
  const file_ref* wraps[] = {&cfg.tls_auth, &cfg.tls_crypt, &cfg.tls_crypt_v2};
  const file_ref* first = nullptr;
  for (const file_ref* w : wraps) {
    if (!w->present()) continue;
    if (first == nullptr) {
      first = w;
      continue;
    }
    const file_ref* later = w->line > first->line ? w : first;
    const file_ref* earlier = later == w ? first : w;
    c.fail_at(later->line, later->directive,
              "expected only one of tls-auth, tls-crypt and tls-crypt-v2, but " + earlier->directive +
                  " is set at line " + std::to_string(earlier->line));
  }
  if (cfg.tls_auth.present()) cfg.tls_auth_direction = c.tls_auth_arg ? c.tls_auth_arg : cfg.key_direction;

  // keepalive A B: the server pushes `ping A`, `ping-restart B` and uses 2*B itself (§13); a
  // client uses A and B as they are and pushes nothing.
  if (cfg.keepalive) {
    for (std::string_view other : {"ping", "ping-restart"})
      if (c.line_of(other) != 0)
        c.fail_at(std::max(c.line_of(other), c.line_of("keepalive")),
                  c.line_of(other) > c.line_of("keepalive") ? other : "keepalive",
                  "expected either keepalive or ping/ping-restart, not both (keepalive sets them)");
    cfg.ping = cfg.keepalive->first;
    cfg.ping_restart = client ? cfg.keepalive->second : 2 * cfg.keepalive->second;
    if (!client) {
      cfg.push_ping = cfg.keepalive->first;
      cfg.push_ping_restart = cfg.keepalive->second;
    }
  }

  if (!cfg.data_ciphers_fallback) cfg.data_ciphers_fallback = cfg.cipher;

  // auth-gen-token renews its token every RENEWAL seconds (else reneg-sec): openvpn asks for a
  // finite interval of at least two hand-windows.
  if (cfg.auth_gen_token) {
    const unsigned renewal = cfg.auth_gen_token_renewal ? cfg.auth_gen_token_renewal : cfg.reneg_sec_max;
    if (renewal == 0)
      c.fail_at(c.line_of("auth-gen-token"), "auth-gen-token", "expected a finite reneg-sec (or a RENEWAL time)");
    if (renewal < 2 * cfg.hand_window)
      c.fail_at(c.line_of("auth-gen-token"), "auth-gen-token",
                "expected a renewal time of at least two hand-windows (" + std::to_string(2 * cfg.hand_window) + " s)");
  }

  // Addressing: the IPv4 pool must lie in the VPN subnet; IPv6 pools need server-ipv6.
  if (cfg.ifconfig_pool && cfg.server) {
    const uint32_t net = cfg.server->network, mask = cfg.server->netmask;
    if ((cfg.ifconfig_pool->first & mask) != net || (cfg.ifconfig_pool->second & mask) != net)
      c.fail_at(c.line_of("ifconfig-pool"), "ifconfig-pool",
                "expected a range inside " + format_ipv4(net) + "/" + std::to_string(cfg.server->prefix_len()));
  }
  if (cfg.ifconfig_ipv6_pool && !cfg.server_ipv6)
    c.fail_at(c.line_of("ifconfig-ipv6-pool"), "ifconfig-ipv6-pool", "expected a server-ipv6 line as well");
  if (cfg.ccd_exclusive && cfg.client_config_dir.empty())
    c.fail_at(c.line_of("ccd-exclusive"), "ccd-exclusive", "expected a client-config-dir line as well");

  // The WAN families. The dataplane owns its addresses rather than binding a wildcard socket, so
  // it answers on the `local` addresses only (the gateway refuses to start without one): plain
  // `udp` on whichever are given; `udp4` takes no IPv6 `local`; `udp6` needs an IPv6 one, and
  // an IPv4 `local` beside it answers too (openvpn's udp6 socket is dual-stack by default).
  if (cfg.proto_family == ip_family::v4 && cfg.local6)
    c.fail_at(c.line_of("local"), "local", "expected an IPv4 address with proto udp4 (proto udp or udp6 for an IPv6 WAN)");
  if (cfg.proto_family == ip_family::v6 && !cfg.local6)
    c.fail_at(c.line_of("proto"), "proto",
              "expected a `local` line with an IPv6 address as well: with proto udp6 the gateway answers on "
              "the IPv6 address it is given (it binds no wildcard socket)");

  // OpenVPN refuses to run user scripts below script-security 2, and to put passwords into the
  // environment below 3; it finds out when a client connects, dpvpn at start-up.
  for (std::string_view name : {"auth-user-pass-verify", "client-connect", "client-disconnect", "tls-verify",
                                 "learn-address", "up", "down", "tls-crypt-v2-verify"})
    if (c.line_of(name) != 0 && cfg.script_security < 2)
      c.fail_at(c.line_of(name), name, "expected script-security 2 or higher to run a script (it is " +
                                           std::to_string(cfg.script_security) + ")");
  if (c.line_of("auth-user-pass-verify") != 0 && cfg.auth_user_pass_via_env && cfg.script_security < 3)
    c.fail_at(c.line_of("auth-user-pass-verify"), "auth-user-pass-verify",
              "expected script-security 3 for via-env (the password goes into the environment), or via-file");

  // The LAN port: every finding at once.
  const lan_lines at{c.line_of("dp-lan"), c.line_of("dp-wan"), c.line_of("server"), c.line_of("server-ipv6"),
                     c.dp_route_lines};
  if (auto errs = check_lan(c.file, cfg, at); !errs.empty()) throw combined_config_error(c.file, errs);
}

}  // namespace dpvpn::cp
