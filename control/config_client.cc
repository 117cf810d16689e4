// SPDX-License-Identifier: MIT
// The client role's directives (docs/client.md): the rows config.cc looks up first when the config
// says `client` or `tls-client`, what the role refuses, and its checks after the last line.
#include <algorithm>

#include "config_internal.h"

namespace dpvpn::cp {

namespace {

using handler = void (*)(ctx&, args);

struct client_row {
  std::string_view name;
  uint8_t min_args;
  uint8_t max_args;
  std::string_view usage;  // quoted in the "wrong number of arguments" error
  handler fn;
};

constexpr std::string_view k_protos[] = {"udp", "udp4", "udp6"};  // ip_family's order
constexpr size_t k_max_host = 253;  // a DNS name's longest text form

std::string family_name(ip_family f) { return f == ip_family::v6 ? "IPv6" : "IPv4"; }

// The family of an address literal; any for a host name.
ip_family literal_family(const std::string& host) {
  if (host.find(':') != std::string::npos && parse_ipv6(host)) return ip_family::v6;
  if (parse_ipv4(host)) return ip_family::v4;
  return ip_family::any;
}

// `remote HOST`: an IPv4 or IPv6 literal, or a name the control thread resolves.
void check_host(ctx& c, const std::string& h) {
  const std::string example = "expected a host name or an IPv4/IPv6 address such as vpn.example.com or 192.0.2.1, got ";
  if (h.find(':') != std::string::npos) {
    if (!parse_ipv6(h)) c.fail(example + shown(h));
    return;
  }
  if (h.empty() || h.size() > k_max_host || h.front() == '.' || h.front() == '-') c.fail(example + shown(h));
  bool digits_only = true;
  for (char ch : h) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                    ch == '.' || ch == '_';
    if (!ok) c.fail(example + shown(h));
    digits_only = digits_only && ((ch >= '0' && ch <= '9') || ch == '.');
  }
  if (digits_only && !parse_ipv4(h)) c.fail("expected an IPv4 address such as 192.0.2.1, got " + shown(h));
}

ip_family proto_arg(ctx& c, const std::string& p) {
  if (p.starts_with("tcp")) c.fail("expected udp, udp4 or udp6, got " + shown(p) + ": TCP is not supported yet");
  return static_cast<ip_family>(c.word(p, k_protos));
}

void add_remote(ctx& c, args a) {
  check_host(c, a[0]);
  config_client_role::remote_entry r;
  r.host = a[0];
  r.line = c.line;
  if (a.size() >= 2) r.port = static_cast<uint16_t>(c.number(a[1], 1, 65535));
  const ip_family lit = literal_family(a[0]);
  r.family = lit;
  if (a.size() == 3) {
    r.family = proto_arg(c, a[2]);
    if (lit != ip_family::any && r.family != ip_family::any && r.family != lit)
      c.fail("expected udp or " + std::string(k_protos[static_cast<int>(lit)]) + " for an " + family_name(lit) +
             " address, got " + shown(a[2]));
    if (r.family == ip_family::any) r.family = lit;
  }
  c.cfg.remotes.push_back(std::move(r));
  c.remote_has_proto.push_back(a.size() == 3);
}

// `redirect-gateway [FLAGS...]`: the flags of every line add up, as in openvpn.
void redirect_gateway(ctx& c, args a) {
  auto& g = c.cfg.redirect_gateway;
  g.on = true;
  for (const std::string& f : a) {
    if (f == "def1") g.def1 = true;
    else if (f == "ipv6") g.ipv6 = true;
    else if (f == "!ipv4") g.no_ipv4 = true;
    else if (f == "local") g.local = true;
    else if (f == "autolocal") g.autolocal = true;
    else if (f == "bypass-dhcp") g.bypass_dhcp = true;
    else if (f == "bypass-dns") g.bypass_dns = true;
    else if (f == "block-local") g.block_local = true;
    else
      c.fail("expected flags among def1, ipv6, !ipv4, local, autolocal, bypass-dhcp, bypass-dns and block-local, got " +
             shown(f));
  }
}

// `dp-wan-gateway IP`: one per family, like `local`; a unicast host.
void wan_gateway(ctx& c, args a) {
  if (a[0].find(':') != std::string::npos) {
    const auto v6 = parse_ipv6(a[0]);
    if (!v6 || (*v6)[0] == 0xff || *v6 == ipv6_addr{})
      c.fail("expected a unicast IPv6 address such as fe80::1 or 2001:db8::1, got " + shown(a[0]));
    c.cfg.dp_wan_gateway6 = *v6;
    return;
  }
  const auto v4 = parse_ipv4(a[0]);
  if (!v4 || (*v4 >> 24) == 0 || (*v4 >> 24) == 127 || *v4 >= 0xe0000000u)
    c.fail("expected a unicast IPv4 or IPv6 address such as 192.0.2.254, got " + shown(a[0]));
  c.cfg.dp_wan_gateway = *v4;
}

// clang-format off
constexpr client_row k_client_rows[] = {
  {"client", 0, 0, "client", [](ctx& c, args) { c.cfg.client = c.cfg.pull = true; }},
  {"tls-client", 0, 0, "tls-client", [](ctx& c, args) { c.cfg.client = true; }},
  {"pull", 0, 0, "pull", [](ctx& c, args) { c.cfg.pull = true; }},
  {"remote", 1, 3, "remote HOST [PORT] [udp|udp4|udp6]", add_remote},
  {"rport", 1, 1, "rport PORT", [](ctx& c, args a) { c.cfg.rport = static_cast<uint16_t>(c.number(a[0], 1, 65535)); }},
  {"remote-random", 0, 0, "remote-random", [](ctx& c, args) { c.cfg.remote_random = true; }},
  // openvpn caps N at 65535 (it is doubled for the back-off) and raises MAX to at least N.
  {"connect-retry", 1, 2, "connect-retry SECONDS [MAX-SECONDS]", [](ctx& c, args a) {
     c.cfg.connect_retry_s = c.u32(a[0], 1, 65535);
     if (a.size() == 2) c.cfg.connect_retry_max_s = c.u32(a[1], 1, k_max_seconds);
     c.cfg.connect_retry_max_s = std::max(c.cfg.connect_retry_max_s, c.cfg.connect_retry_s);
   }},
  {"connect-retry-max", 1, 1, "connect-retry-max TRIES", [](ctx& c, args a) {
     c.cfg.connect_retry_max_tries = c.u32(a[0], 0, k_max_u32);
   }},
  {"server-poll-timeout", 1, 1, "server-poll-timeout SECONDS", [](ctx& c, args a) {
     c.cfg.server_poll_timeout_s = c.u32(a[0], 1, k_max_seconds);
   }},
  {"connect-timeout", 1, 1, "connect-timeout SECONDS", [](ctx& c, args a) {  // openvpn's other name for it
     c.cfg.server_poll_timeout_s = c.u32(a[0], 1, k_max_seconds);
   }},
  // The control thread resolves names at each attempt and keeps retrying anyway.
  {"resolv-retry", 1, 1, "resolv-retry SECONDS|infinite", [](ctx& c, args a) {
     if (a[0] != "infinite") c.u32(a[0], 0, k_max_seconds);
   }},
  {"nobind", 0, 0, "nobind", [](ctx& c, args) { c.cfg.nobind = true; }},
  {"lport", 1, 1, "lport PORT", [](ctx& c, args a) { c.cfg.lport = static_cast<uint16_t>(c.number(a[0], 1, 65535)); }},
  // Without FILE openvpn asks on the terminal; an <auth-user-pass> block may still come (check_client).
  {"auth-user-pass", 0, 1, "auth-user-pass FILE", [](ctx& c, args a) {
     if (a.empty()) {
       c.auth_user_pass_bare = c.line;
       return;
     }
     if (a[0] == "stdin") c.fail("expected a file: dpvpn runs without a terminal, got \"stdin\"");
     c.cfg.auth_user_pass = c.file_arg(a[0]);
   }},
  {"auth-retry", 1, 1, "auth-retry none|nointeract", [](ctx& c, args a) {
     if (a[0] == "interact") c.fail("expected none or nointeract, got \"interact\": dpvpn runs without a terminal");
     constexpr std::string_view modes[] = {"none", "nointeract"};
     c.cfg.auth_retry_nointeract = c.word(a[0], modes) == 1;
   }},
  {"pull-filter", 2, 2, "pull-filter accept|ignore|reject TEXT", [](ctx& c, args a) {
     constexpr std::string_view actions[] = {"accept", "ignore", "reject"};
     const auto act = static_cast<config_client_role::pull_action>(c.word(a[0], actions));
     c.cfg.pull_filters.push_back({act, a[1]});
   }},
  {"route-nopull", 0, 0, "route-nopull", [](ctx& c, args) { c.cfg.route_nopull = true; }},
  {"redirect-gateway", 0, 8, "redirect-gateway [FLAGS...]", redirect_gateway},
  {"remote-cert-tls", 1, 1, "remote-cert-tls server", [](ctx& c, args a) {
     if (a[0] == "client")
       c.fail("expected server, got \"client\": a client checks the server's certificate (remote-cert-tls client "
              "belongs in the server's config)");
     constexpr std::string_view kinds[] = {"server"};
     c.word(a[0], kinds);
     c.cfg.remote_cert_tls_server = true;
   }},
  // The client's N: openvpn's seconds of exit notifications before it stops; N > 0 is on (the
  // server's row takes 0..2).
  {"explicit-exit-notify", 0, 1, "explicit-exit-notify [N]", [](ctx& c, args a) {
     c.cfg.explicit_exit_notify = a.empty() ? 1 : c.u32(a[0], 0, 255);
   }},
  {"dp-wan-gateway", 1, 1, "dp-wan-gateway IP", wan_gateway},
};
// clang-format on

// Rows of config.cc's table that only a server uses.
constexpr std::string_view k_server_only[] = {
    "server", "server-ipv6", "mode", "tls-server", "ifconfig-pool", "ifconfig-ipv6-pool", "push",
    "client-config-dir", "ccd-exclusive", "max-clients", "duplicate-cn", "client-to-client",
    "max-routes-per-client", "auth-user-pass-verify", "username-as-common-name", "client-connect",
    "client-disconnect", "learn-address", "auth-gen-token", "auth-gen-token-secret", "ifconfig-pool-persist",
    "verify-client-cert", "tls-crypt-v2-verify", "tls-crypt-v2-max-age", "connect-freq", "connect-freq-initial",
    "management-client-auth", "server-bridge", "vlan-tagging", "vlan-accept", "vlan-pvid",
};
// Rows a client could use but the client role does not implement yet (docs/client.md).
constexpr std::string_view k_client_not_yet[] = {
    "tls-verify", "inactive", "session-timeout", "dp-metrics",
};

// openvpn options refused with a server's reason (config_known.cc) that read differently here.
struct client_reason {
  std::string_view name, why;
};
constexpr client_reason k_client_reasons[] = {
    {"ifconfig", "the tunnel's addresses come from the server's push"},
    {"ifconfig-ipv6", "the tunnel's addresses come from the server's push"},
    {"ifconfig-noexec", "dpvpn always configures the exception port itself"},
    {"route-gateway", "the gateway comes from the server's push"},
    {"ping-exit", "use ping-restart: the client reconnects"},
    {"ns-cert-type", "deprecated: use 'remote-cert-tls server'"},
    {"single-session", "a server option"},
};

constexpr std::string_view k_server_option = "is a server option; not valid in a client config";

}  // namespace

bool parse_client_directive(ctx& c, args words) {
  const client_row* row = nullptr;
  for (const auto& r : k_client_rows)
    if (r.name == c.directive) row = &r;
  if (row == nullptr) return false;
  const size_t n = words.size() - 1;
  if (n < row->min_args || n > row->max_args)
    c.fail("expected \"" + std::string(row->usage) + "\" (" + (n < row->min_args ? "missing" : "too many") +
           " arguments)");
  row->fn(c, words.subspan(1));
  return true;
}

std::string client_refusal(std::string_view name) {
  if (std::find(std::begin(k_server_only), std::end(k_server_only), name) != std::end(k_server_only))
    return std::string(k_server_option);
  if (std::find(std::begin(k_client_not_yet), std::end(k_client_not_yet), name) != std::end(k_client_not_yet))
    return "not supported in the client role yet (docs/client.md)";
  return {};
}

std::string client_refused_option_detail(const openvpn_option& o) {
  for (const auto& r : k_client_reasons)
    if (r.name == o.name)
      return r.why.empty() ? std::string(k_server_option)
                           : "not supported in the client role yet: " + std::string(r.why) + " (docs/client.md)";
  switch (o.kind) {
    case option_class::ccd_only: return std::string(k_server_option);
    case option_class::client_only:
      if (o.why == "pushed") return "is set by the server's push, not in a config file";
      return "not supported in the client role yet (docs/client.md)";
    default: return refused_option_detail(o);
  }
}

void check_client(ctx& c) {
  server_config& cfg = c.cfg;
  std::vector<config_error> out;
  auto add = [&](unsigned line, std::string_view dir, const std::string& detail) {
    out.emplace_back(c.file, line, std::string(dir), detail);
  };
  if (cfg.remotes.empty()) add(0, "remote", "expected \"remote HOST [PORT]\", the server to connect to (required)");
  if (c.line_of("dev") == 0) add(0, "dev", "expected \"dev tun\" (required)");
  else if (cfg.dev_type == dev_kind::tap)
    add(c.line_of(c.dev_type_given ? "dev-type" : "dev"), c.dev_type_given ? "dev-type" : "dev",
        "expected a tun device: tap is not supported in the client role yet");
  if (cfg.capath.empty() && c.line_of("ca") == 0)
    add(0, "ca", "expected \"ca FILE\", a <ca> block or \"capath DIRECTORY\" (required: the CA of the server's certificate)");
  if (!cfg.local && !cfg.local6)
    add(0, "local",
        "expected \"local ADDRESS\" (required): the WAN address the dataplane owns, answers ARP/ND for and "
        "connects from; there is no kernel socket to pick one");
  if (!cfg.pull)
    add(c.line_of("tls-client"), "tls-client",
        "expected pull as well (or client, which is tls-client and pull): the tunnel's addresses come from the "
        "server's push");

  // Credentials: a certificate, a username and password, or both.
  const bool aup = cfg.auth_user_pass.present();
  if (c.auth_user_pass_bare && !aup)
    add(c.auth_user_pass_bare, "auth-user-pass",
        "expected a file: dpvpn runs without a terminal (auth-user-pass FILE, or an <auth-user-pass> block)");
  const bool cert = c.line_of("cert") != 0, key = c.line_of("key") != 0;
  if (!aup && !c.auth_user_pass_bare) {
    if (!cert) add(0, "cert", "expected \"cert FILE\" or a <cert> block (required without auth-user-pass)");
    if (!key) add(0, "key", "expected \"key FILE\" or a <key> block (required without auth-user-pass)");
  } else if (cert != key) {
    add(c.line_of(cert ? "cert" : "key"), cert ? "cert" : "key",
        std::string("expected a ") + (cert ? "key" : "cert") + " line as well: give cert and key together, or "
        "neither to log in with auth-user-pass alone");
  }
  if (cfg.lport && cfg.nobind)
    add(std::max(c.line_of("lport"), c.line_of("nobind")), c.line_of("lport") > c.line_of("nobind") ? "lport" : "nobind",
        "expected either lport or nobind, not both (nobind takes an ephemeral port)");

  // Each remote's family needs a WAN address of that family to send from.
  auto needs_local = [&](ip_family f) { return f == ip_family::v6 ? !cfg.local6 : f == ip_family::v4 && !cfg.local; };
  for (size_t i = 0; i < cfg.remotes.size(); ++i) {
    auto& r = cfg.remotes[i];
    if (r.port == 0) r.port = cfg.rport.value_or(cfg.port);
    // A remote's own PROTO wins over `proto` (checked against a literal on its line).
    const ip_family lit = literal_family(r.host);
    if (!c.remote_has_proto[i] && cfg.proto_family != ip_family::any) r.family = cfg.proto_family;
    if (lit != ip_family::any && r.family != lit) {
      add(r.line, "remote",
          "expected an " + family_name(r.family) + " address with proto " +
              std::string(k_protos[static_cast<int>(r.family)]) + ", got " + shown(r.host));
      continue;
    }
    if ((cfg.local || cfg.local6) && needs_local(r.family))
      add(r.line, "remote",
          "expected a `local` line with an " + family_name(r.family) + " address as well: the dataplane sends to " +
              r.host + " from its own WAN address");
  }
  if (cfg.dp_wan_gateway && !cfg.local)
    add(c.line_of("dp-wan-gateway"), "dp-wan-gateway",
        "expected a `local` line with an IPv4 address as well: the next hop is on the IPv4 WAN");
  if (cfg.dp_wan_gateway6 && !cfg.local6)
    add(c.line_of("dp-wan-gateway"), "dp-wan-gateway",
        "expected a `local` line with an IPv6 address as well: the next hop is on the IPv6 WAN");
  if ((cfg.dp_wan_gateway && cfg.local && *cfg.dp_wan_gateway == *cfg.local) ||
      (cfg.dp_wan_gateway6 && cfg.local6 && *cfg.dp_wan_gateway6 == *cfg.local6))
    add(c.line_of("dp-wan-gateway"), "dp-wan-gateway", "expected a next hop other than the `local` address itself");
  if (!out.empty()) throw combined_config_error(c.file, out);
}

}  // namespace dpvpn::cp
