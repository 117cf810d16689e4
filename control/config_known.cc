// SPDX-License-Identifier: MIT
// The OpenVPN 2.6 options server.conf's parser has no row for: a table of name, class and reason.
// It mirrors docs/directives.md (test_config checks the two agree); keep them in step.
#include "dpvpn/config_known.h"

#include <algorithm>
#include <array>

namespace dpvpn::cp {

namespace {

using k = option_class;

// Names from OpenVPN 2.6.14's options.c and `openvpn --help`, plus options removed in 2.4 to 2.6
// that old server configs still carry. Grouped as in docs/directives.md.
constexpr openvpn_option k_options[] = {
    // transport (the WAN side)
    {"lport", k::not_yet, "use 'port': dpvpn listens on one port"},
    {"bind", k::ignored, "a server always listens on its port"},
    {"multihome", k::not_yet, "dpvpn sends from its one WAN address ('local')"},
    {"bind-dev", k::not_planned, "the WAN is a DPDK port chosen with EAL options; there is no socket to bind"},
    {"mark", k::not_planned, "no kernel socket on the WAN side to mark (SO_MARK)"},
    {"socket-flags", k::not_yet, "TCP socket flags; TCP transport is not supported yet"},
    {"tcp-nodelay", k::not_yet, "TCP transport is not supported yet"},
    {"tcp-queue-limit", k::not_yet, "TCP transport is not supported yet"},
    {"port-share", k::not_yet, "TCP transport is not supported yet"},
    {"mtu-disc", k::not_yet, "outer DF/PMTU handling is not implemented"},
    {"mtu-test", k::not_planned, "an interactive MTU probe between two peers (p2p tool)"},
    {"fragment", k::not_yet, "outer fragmentation and reassembly are not implemented"},
    {"link-mtu", k::not_yet, "use 'tun-mtu' (2.6 deprecates link-mtu)"},
    {"udp-mtu", k::not_yet, "an alias of 'link-mtu'; use 'tun-mtu'"},
    {"tun-mtu-extra", k::not_yet, "tap buffer slack; tap is not in the worker yet"},
    {"max-packet-size", k::not_yet, "control-channel packet size (2.6); dpvpn uses the default"},
    {"mtu-dynamic", k::not_planned, "removed from OpenVPN (use 'fragment')"},
    {"shaper", k::not_yet, "needs a token bucket in the dataplane"},
    {"passtos", k::not_yet, "copying the inner TOS to the outer header is not implemented"},
    // device and addressing
    {"dev-node", k::not_planned, "the exception port is a DPDK net_tun/net_tap; there is no device node to choose"},
    {"ifconfig", k::not_yet, "use 'server NET MASK', which sets the server's address"},
    {"ifconfig-ipv6", k::not_yet, "use 'server-ipv6', which sets the server's address"},
    {"ifconfig-noexec", k::not_yet, "dpvpn always configures the exception port itself"},
    {"max-routes", k::ignored, "OpenVPN 2.6 ignores it as well"},
    {"ifconfig-nowarn", k::ignored, "a warning switch"},
    {"ifconfig-pool-linear", k::not_planned, "removed in OpenVPN 2.6: use 'topology subnet'"},
    {"ifconfig-push", k::ccd_only, ""},
    {"ifconfig-ipv6-push", k::ccd_only, ""},
    {"ifconfig-push-constraint", k::not_yet, "limits on CCD addresses (2.6)"},
    {"iroute", k::ccd_only, ""},
    {"iroute-ipv6", k::ccd_only, ""},
    {"tun-mtu-max", k::client_only, "pushed MTU"},
    {"lladdr", k::not_yet, "tap only; tap is not in the worker yet"},
    {"tun-ipv6", k::ignored, "OpenVPN 2.6 ignores it as well"},
    {"persist-local-ip", k::ignored, "no restart-in-place to persist across"},
    {"persist-remote-ip", k::ignored, "no restart-in-place to persist across"},
    {"block-ipv6", k::not_yet, "answering inner IPv6 with ICMPv6 unreachable is not implemented"},
    // TLS and keys
    {"pkcs12", k::not_yet, "give PEM 'ca', 'cert' and 'key'"},
    {"ns-cert-type", k::not_planned, "deprecated: use 'remote-cert-tls client'"},
    {"verify-hash", k::not_yet, "CA fingerprint pinning"},
    {"peer-fingerprint", k::not_yet, "certificate pinning without a CA (2.6)"},
    {"providers", k::not_yet, "OpenSSL provider loading"},
    {"engine", k::not_yet, "OpenSSL engines"},
    {"x509-track", k::not_yet, "only 'X509_0_CN' is exported to scripts"},
    {"keying-material-exporter", k::not_yet, "EKM for plugins and scripts"},
    {"tls-export-cert", k::not_yet, "peer certificate file for scripts"},
    {"force-tls-key-material-export", k::not_yet, "clients without EKM are still accepted"},
    {"askpass", k::not_yet, "encrypted private keys: give an unencrypted key"},
    {"auth-nocache", k::ignored, "there is no cached password"},
    {"pkcs11-providers", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-protected-authentication", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-private-mode", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-cert-private", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-pin-cache", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-id", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"pkcs11-id-management", k::not_yet, "PKCS#11 keys: give a PEM key"},
    {"management-external-key", k::not_yet, "needs the management interface"},
    {"management-external-cert", k::not_yet, "needs the management interface"},
    {"single-session", k::not_planned, "a single-peer mode; dpvpn is a multi-client server"},
    {"tls-exit", k::client_only, "failure"},
    {"tls-client", k::client_only, "role"},
    {"secret", k::not_planned, "static-key mode: deprecated in 2.6, no multi-client server"},
    {"compat-names", k::not_planned, "removed in OpenVPN 2.5"},
    {"no-name-remapping", k::not_planned, "removed in OpenVPN 2.5"},
    {"tls-remote", k::not_planned, "removed in OpenVPN 2.4: use 'verify-x509-name'"},
    {"client-cert-not-required", k::not_planned, "removed in OpenVPN 2.5: use 'verify-client-cert none'"},
    {"key-method", k::not_planned, "removed in OpenVPN 2.5 (key-method 2 is the only one)"},
    // data channel
    {"ncp-disable", k::not_planned, "removed in OpenVPN 2.6"},
    {"keysize", k::not_planned, "removed in OpenVPN 2.6"},
    {"no-iv", k::not_planned, "removed in OpenVPN 2.5"},
    {"no-replay", k::not_planned, "deprecated and unsafe"},
    {"replay-persist", k::not_planned, "static-key (p2p) replay state"},
    {"comp-noadapt", k::ignored, "nothing is compressed"},
    {"prng", k::ignored, "OpenVPN 2.6 ignores it as well"},
    {"use-prediction-resistance", k::not_planned, "an mbed TLS option"},
    {"compat-mode", k::not_yet, "dpvpn speaks 2.6"},
    {"disable-dco", k::ignored, "dpvpn's dataplane is DPDK, not DCO"},
    {"key-derivation", k::client_only, "pushed"},
    {"protocol-flags", k::client_only, "pushed"},
    {"peer-id", k::client_only, "pushed"},
    {"push-continuation", k::client_only, "pushed"},
    // authentication and scripts
    {"auth-user-pass-optional", k::not_yet, "clients without a username are refused"},
    {"client-crresponse", k::not_yet, "crtext script"},
    {"plugin", k::not_yet, "needs the OpenVPN plugin API in the control thread"},
    {"disable", k::ccd_only, ""},
    {"stale-routes-check", k::not_yet, "iroutes live as long as their client"},
    {"hash-size", k::ignored, "dpvpn sizes its own tables"},
    {"bcast-buffers", k::ignored, "dpvpn sizes its own buffers"},
    {"opt-verify", k::not_planned, "deprecated"},
    {"down-pre", k::not_yet, "device scripts"},
    {"up-delay", k::not_yet, "device scripts"},
    {"up-restart", k::not_yet, "device scripts"},
    {"route-up", k::not_yet, "route scripts"},
    {"route-pre-down", k::not_yet, "route scripts"},
    {"ipchange", k::client_only, "script"},
    // timers and liveness
    {"ping-exit", k::not_yet, "the server drops silent clients with 'ping-restart'"},
    {"ping-timer-rem", k::ignored, "every server session has a remote address"},
    // routing and push
    {"push-reset", k::ccd_only, ""},
    {"push-remove", k::ccd_only, ""},
    {"route-gateway", k::not_yet, "dpvpn pushes 'route-gateway' itself with topology subnet"},
    {"route-ipv6-gateway", k::not_yet, "the routes point into the tunnel"},
    {"route-metric", k::not_yet, "kernel route metrics"},
    {"route-delay", k::not_yet, "routes are installed at start"},
    {"route-noexec", k::not_yet, "dpvpn installs its routes itself"},
    {"iproute", k::not_yet, "dpvpn configures the kernel without the 'ip' command"},
    {"redirect-gateway", k::client_only, "push it"},
    {"redirect-private", k::client_only, "push it"},
    {"dhcp-option", k::client_only, "push it"},
    {"dns", k::client_only, "push it"},
    {"block-outside-dns", k::client_only, "Windows"},
    {"route-nopull", k::client_only, "pull"},
    {"allow-pull-fqdn", k::client_only, "pull"},
    {"pull", k::client_only, "pull"},
    {"pull-filter", k::client_only, "pull"},
    {"push-peer-info", k::client_only, "peer-info"},
    {"allow-recursive-routing", k::client_only, "routing"},
    {"client-nat", k::client_only, "NAT"},
    // management and logging
    {"management-client", k::not_yet, "the management interface"},
    {"management-forget-disconnect", k::not_yet, "the management interface"},
    {"management-query-passwords", k::not_yet, "the management interface"},
    {"management-query-proxy", k::not_yet, "the management interface"},
    {"management-query-remote", k::not_yet, "the management interface"},
    {"management-signal", k::not_yet, "the management interface"},
    {"management-up-down", k::not_yet, "the management interface"},
    {"machine-readable-output", k::not_yet, "log format"},
    {"errors-to-stderr", k::not_yet, "dpvpn logs to stderr"},
    {"echo", k::ignored, "messages for GUIs"},
    {"parameter", k::ignored, "an alias of 'echo'"},
    {"memstats", k::not_yet, "a stats file"},
    {"disable-occ", k::ignored, "deprecated"},
    {"gremlin", k::not_planned, "a debug option"},
    // process
    {"config", k::not_yet, "including another config file"},
    {"chroot", k::not_planned, "DPDK needs /dev and /sys after start-up; use the service manager's sandbox"},
    {"setcon", k::not_yet, "SELinux context change"},
    {"mlock", k::not_yet, "DPDK memory is locked; the control thread's heap is not"},
    {"nice", k::ignored, "the dataplane polls on dedicated lcores"},
    {"remap-usr1", k::not_yet, "dpvpn handles SIGTERM/SIGINT only"},
    {"ignore-unknown-option", k::not_yet, "every unknown or unsupported directive is reported"},
    // standalone commands (run once, not a server setting)
    {"help", k::not_planned, "use stock openvpn"},
    {"version", k::not_planned, "use stock openvpn"},
    {"genkey", k::not_planned, "use stock openvpn ('openvpn --genkey')"},
    {"test-crypto", k::not_planned, "use stock openvpn"},
    {"show-ciphers", k::not_planned, "use stock openvpn"},
    {"show-digests", k::not_planned, "use stock openvpn"},
    {"show-engines", k::not_planned, "use stock openvpn"},
    {"show-tls", k::not_planned, "use stock openvpn"},
    {"show-curves", k::not_planned, "use stock openvpn"},
    {"show-groups", k::not_planned, "use stock openvpn"},
    {"show-gateway", k::not_planned, "use stock openvpn"},
    {"show-pkcs11-ids", k::not_planned, "use stock openvpn"},
    {"mktun", k::not_planned, "use stock openvpn or 'ip tuntap'"},
    {"rmtun", k::not_planned, "use stock openvpn or 'ip tuntap'"},
    // client only
    {"client", k::client_only, "mode"},
    {"remote", k::client_only, "connection"},
    {"remote-random", k::client_only, "connection"},
    {"remote-random-hostname", k::client_only, "connection"},
    {"rport", k::client_only, "connection"},
    {"proto-force", k::client_only, "connection"},
    {"connection", k::client_only, "connection"},
    {"resolv-retry", k::client_only, "connection"},
    {"connect-retry", k::client_only, "connection"},
    {"connect-retry-max", k::client_only, "connection"},
    {"connect-timeout", k::client_only, "connection"},
    {"server-poll-timeout", k::client_only, "connection"},
    {"preresolve", k::client_only, "connection"},
    {"ip-remote-hint", k::client_only, "connection"},
    {"http-proxy", k::client_only, "proxy"},
    {"http-proxy-option", k::client_only, "proxy"},
    {"http-proxy-override", k::client_only, "proxy"},
    {"http-proxy-retry", k::client_only, "proxy"},
    {"http-proxy-timeout", k::client_only, "proxy"},
    {"http-proxy-user-pass", k::client_only, "proxy"},
    {"socks-proxy", k::client_only, "proxy"},
    {"socks-proxy-retry", k::client_only, "proxy"},
    {"auth-user-pass", k::client_only, "credentials"},
    {"auth-retry", k::client_only, "credentials"},
    {"auth-token", k::client_only, "pushed"},
    {"auth-token-user", k::client_only, "pushed"},
    {"static-challenge", k::client_only, "credentials"},
    // Windows only
    {"ip-win32", k::not_planned, "Windows only"},
    {"dhcp-renew", k::not_planned, "Windows only"},
    {"dhcp-release", k::not_planned, "Windows only"},
    {"dhcp-pre-release", k::not_planned, "Windows only"},
    {"dhcp-internal", k::not_planned, "Windows only"},
    {"register-dns", k::not_planned, "Windows only"},
    {"rdns-internal", k::not_planned, "Windows only"},
    {"route-method", k::not_planned, "Windows only"},
    {"windows-driver", k::not_planned, "Windows only"},
    {"allow-nonadmin", k::not_planned, "Windows only"},
    {"show-adapters", k::not_planned, "Windows only"},
    {"show-valid-subnets", k::not_planned, "Windows only"},
    {"show-net", k::not_planned, "Windows only"},
    {"show-net-up", k::not_planned, "Windows only"},
    {"msg-channel", k::not_planned, "Windows only"},
    {"service", k::not_planned, "Windows only"},
    {"win-sys", k::not_planned, "Windows only"},
    {"pause-exit", k::not_planned, "Windows only"},
    {"cryptoapicert", k::not_planned, "Windows only"},
};

}  // namespace

std::span<const openvpn_option> openvpn_options() noexcept { return k_options; }

const openvpn_option* find_openvpn_option(std::string_view name) noexcept {
  for (const auto& o : k_options)
    if (o.name == name) return &o;
  return nullptr;
}

std::string refused_option_detail(const openvpn_option& o) {
  const std::string why(o.why);
  switch (o.kind) {
    case k::not_yet:
      return "not supported by dpvpn yet: " + why + " (docs/directives.md)";
    case k::not_planned:
      return "not supported by dpvpn: " + why + " (docs/directives.md)";
    case k::client_only:
      return why == "push it" ? "is a client option; not valid in a server config (push it: push \"" +
                                    std::string(o.name) + " ...\")"
                              : "is a client option; not valid in a server config";
    case k::ccd_only:
      return "only valid in a client-config-dir file or client-connect output, not in the server config";
    case k::ignored:
      break;
  }
  return "accepted and ignored";
}

config_error combined_config_error(const std::string& file, std::span<const config_error> errs) {
  if (errs.size() == 1) return errs[0];
  constexpr size_t k_max_listed = 30;  // a wrong file (a PEM, a binary) must not flood the log
  std::string detail = std::to_string(errs.size()) + " lines are not accepted (docs/directives.md):";
  for (size_t i = 0; i < errs.size() && i < k_max_listed; ++i)
    detail += "\n  " + std::to_string(errs[i].line()) + ": " + errs[i].directive() + ": " + errs[i].detail();
  if (errs.size() > k_max_listed) detail += "\n  ... and " + std::to_string(errs.size() - k_max_listed) + " more";
  return config_error(file, 0, "config", detail);
}

unsigned edit_distance(std::string_view a, std::string_view b, unsigned limit) noexcept {
  // Two rows of the classic table; option names are short (< 40), longer input is simply far.
  constexpr size_t k_max = 40;
  if (a.size() >= k_max || b.size() >= k_max) return limit;
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= limit) return limit;
  std::array<unsigned, k_max + 1> prev{}, cur{};
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<unsigned>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<unsigned>(i);
    unsigned row_min = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min >= limit) return limit;
    prev = cur;
  }
  return std::min(prev[b.size()], limit);
}

}  // namespace dpvpn::cp
