// SPDX-License-Identifier: MIT
// The client role's config (control/config_client.cc, docs/client.md): the role from `client` or
// `tls-client` anywhere (command line too, not inside inline blocks), every client directive's
// field, each refusal's text, the checks across lines reported together, and the shipped
// conf/client.conf. A server config still refuses the client directives.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dpvpn/config.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

// The smallest client config that passes the checks: extra lines start at 8.
const std::string k_base =
    "client\n"
    "dev tun\n"
    "local 192.0.2.2\n"
    "remote 192.0.2.1\n"
    "ca ca.crt\n"
    "cert client1.crt\n"
    "key client1.key\n";

server_config parse(const std::string& text) { return parse_server_config_text(text, "client.conf"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(config_client, minimal) {
  const server_config c = parse(k_base);
  EXPECT_TRUE(c.client);
  EXPECT_TRUE(c.pull);
  ASSERT_EQ(c.remotes.size(), 1u);
  EXPECT_EQ(c.remotes[0].host, "192.0.2.1");
  EXPECT_EQ(c.remotes[0].port, 1194);  // neither PORT, rport nor port: 1194
  EXPECT_EQ(c.remotes[0].family, ip_family::v4);
  EXPECT_EQ(c.remotes[0].line, 4u);
  EXPECT_EQ(format_ipv4(*c.local), "192.0.2.2");
  // openvpn's defaults.
  EXPECT_FALSE(c.remote_random);
  EXPECT_EQ(c.connect_retry_s, 1u);
  EXPECT_EQ(c.connect_retry_max_s, 300u);
  EXPECT_EQ(c.connect_retry_max_tries, 0u);
  EXPECT_EQ(c.server_poll_timeout_s, 120u);
  EXPECT_FALSE(c.nobind);
  EXPECT_FALSE(c.lport);
  EXPECT_FALSE(c.auth_user_pass.present());
  EXPECT_FALSE(c.auth_retry_nointeract);
  EXPECT_TRUE(c.pull_filters.empty());
  EXPECT_FALSE(c.route_nopull);
  EXPECT_FALSE(c.redirect_gateway.on);
  EXPECT_FALSE(c.remote_cert_tls_server);
  EXPECT_FALSE(c.dp_wan_gateway);
  EXPECT_EQ(c.ping, 0u);
  EXPECT_EQ(c.explicit_exit_notify, 0u);
  EXPECT_FALSE(c.server);
  EXPECT_TRUE(c.push.empty());
}

TEST(config_client, every_field) {
  const server_config c = parse(k_base +
                                "remote vpn.example.com 1195 udp\n"
                                "remote 192.0.2.9 1196 udp4\n"
                                "remote backup.example.com\n"
                                "rport 1197\n"
                                "remote-random\n"
                                "connect-retry 5 120\n"
                                "connect-retry-max 3\n"
                                "server-poll-timeout 20\n"
                                "resolv-retry infinite\n"
                                "lport 40000\n"
                                "auth-user-pass creds.txt\n"
                                "auth-retry nointeract\n"
                                "pull-filter ignore \"route 10.\"\n"
                                "pull-filter accept route\n"
                                "pull-filter reject dhcp-option\n"
                                "route-nopull\n"
                                "redirect-gateway def1 ipv6 bypass-dhcp\n"
                                "redirect-gateway !ipv4 local autolocal bypass-dns block-local\n"
                                "remote-cert-tls server\n"
                                "dp-wan-gateway 192.0.2.254\n"
                                "keepalive 10 60\n"
                                "explicit-exit-notify 3\n"
                                "persist-tun\n"
                                "persist-key\n"
                                "tls-auth ta.key 1\n");
  ASSERT_EQ(c.remotes.size(), 4u);
  EXPECT_EQ(c.remotes[0].port, 1197);  // rport
  EXPECT_EQ(c.remotes[1].host, "vpn.example.com");
  EXPECT_EQ(c.remotes[1].port, 1195);
  EXPECT_EQ(c.remotes[1].family, ip_family::any);
  EXPECT_EQ(c.remotes[1].line, 8u);
  EXPECT_EQ(c.remotes[2].family, ip_family::v4);
  EXPECT_EQ(c.remotes[2].port, 1196);
  EXPECT_EQ(c.remotes[3].port, 1197);
  EXPECT_EQ(c.remotes[3].family, ip_family::any);
  EXPECT_EQ(c.rport, 1197);
  EXPECT_TRUE(c.remote_random);
  EXPECT_EQ(c.connect_retry_s, 5u);
  EXPECT_EQ(c.connect_retry_max_s, 120u);
  EXPECT_EQ(c.connect_retry_max_tries, 3u);
  EXPECT_EQ(c.server_poll_timeout_s, 20u);
  EXPECT_EQ(c.lport, 40000);
  EXPECT_EQ(c.auth_user_pass.path, "creds.txt");
  EXPECT_EQ(c.auth_user_pass.line, 18u);
  EXPECT_TRUE(c.auth_retry_nointeract);
  ASSERT_EQ(c.pull_filters.size(), 3u);
  EXPECT_EQ(c.pull_filters[0].action, config_client_role::pull_action::ignore);
  EXPECT_EQ(c.pull_filters[0].text, "route 10.");
  EXPECT_EQ(c.pull_filters[1].action, config_client_role::pull_action::accept);
  EXPECT_EQ(c.pull_filters[2].action, config_client_role::pull_action::reject);
  EXPECT_TRUE(c.route_nopull);
  const auto& g = c.redirect_gateway;  // the flags of both lines add up
  EXPECT_TRUE(g.on && g.def1 && g.ipv6 && g.bypass_dhcp && g.no_ipv4 && g.local && g.autolocal && g.bypass_dns &&
              g.block_local);
  EXPECT_TRUE(c.remote_cert_tls_server);
  EXPECT_FALSE(c.remote_cert_tls_client);
  EXPECT_EQ(format_ipv4(*c.dp_wan_gateway), "192.0.2.254");
  EXPECT_FALSE(c.dp_wan_gateway6);
  // keepalive A B in the client role: ping A, ping-restart B, nothing pushed.
  EXPECT_EQ(c.ping, 10u);
  EXPECT_EQ(c.ping_restart, 60u);
  EXPECT_EQ(c.push_ping, 0u);
  EXPECT_EQ(c.push_ping_restart, 0u);
  EXPECT_EQ(c.explicit_exit_notify, 3u);
  EXPECT_EQ(c.tls_auth_direction, 1);
}

TEST(config_client, ports_families_and_defaults) {
  // `port` is the remote port when neither PORT nor rport is given.
  server_config c = parse(k_base + "port 1200\nremote 192.0.2.9 1300\n");
  EXPECT_EQ(c.remotes[0].port, 1200);
  EXPECT_EQ(c.remotes[1].port, 1300);
  // `proto udp4` applies to remotes without their own PROTO.
  c = parse(k_base + "proto udp4\nremote vpn.example.com 1194 udp\n");
  EXPECT_EQ(c.remotes[0].family, ip_family::v4);
  EXPECT_EQ(c.remotes[1].family, ip_family::any);
  // `tls-client` + `pull` is `client`.
  c = parse("tls-client\npull\n" + k_base.substr(7));
  EXPECT_TRUE(c.client && c.pull);
  // explicit-exit-notify without N: 1 (as the server's); connect-retry's MAX is at least N.
  c = parse(k_base + "explicit-exit-notify\nconnect-retry 600\nnobind\n");
  EXPECT_EQ(c.explicit_exit_notify, 1u);
  EXPECT_EQ(c.connect_retry_s, 600u);
  EXPECT_EQ(c.connect_retry_max_s, 600u);
  EXPECT_TRUE(c.nobind);
  c = parse(k_base + "connect-timeout 15\nping 5\nping-restart 30\n");
  EXPECT_EQ(c.server_poll_timeout_s, 15u);
  EXPECT_EQ(c.ping, 5u);
  EXPECT_EQ(c.ping_restart, 30u);
  // tls-crypt-v2 FILE is the client's key (the same field as the server's).
  c = parse(k_base + "tls-crypt-v2 tc2-client.key\n");
  EXPECT_EQ(c.tls_crypt_v2.path, "tc2-client.key");
  // The harmless options and the shared ones stay accepted.
  c = parse(k_base + "verb 4\nuser nobody\ngroup nogroup\nmute-replay-warnings\nverify-x509-name server name\n"
                     "float\ntopology subnet\nroute 10.50.0.0 255.255.0.0\nscript-security 2\nup ./up.sh\n"
                     "dp-lan net_af_packet1 192.168.1.1/24\n");
  EXPECT_EQ(c.verify_x509_name, "server");
  EXPECT_EQ(c.routes.size(), 1u);
}

TEST(config_client, line_errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"remote vpn.example.com 1194 tcp\n",
       "client.conf:8: remote: expected udp, udp4 or udp6, got \"tcp\": TCP is not supported yet"},
      {"remote vpn.example.com 1194 tcp-client\n",
       "client.conf:8: remote: expected udp, udp4 or udp6, got \"tcp-client\": TCP is not supported yet"},
      {"remote vpn.example.com 1194 udp5\n", "client.conf:8: remote: expected udp, udp4 or udp6, got \"udp5\""},
      {"remote vpn.example.com 0\n", "client.conf:8: remote: expected a number 1..65535, got \"0\""},
      {"remote\n", "client.conf:8: remote: expected \"remote HOST [PORT] [udp|udp4|udp6]\" (missing arguments)"},
      {"remote vpn/x\n",
       "client.conf:8: remote: expected a host name or an IPv4/IPv6 address such as vpn.example.com or 192.0.2.1, "
       "got \"vpn/x\""},
      {"remote 192.0.2\n", "client.conf:8: remote: expected an IPv4 address such as 192.0.2.1, got \"192.0.2\""},
      {"remote 2001:db8::1 1194 udp4\n",
       "client.conf:8: remote: expected udp or udp6 for an IPv6 address, got \"udp4\""},
      {"rport 70000\n", "client.conf:8: rport: expected a number 1..65535, got \"70000\""},
      {"connect-retry 0\n", "client.conf:8: connect-retry: expected a number 1..65535, got \"0\""},
      {"connect-retry-max x\n", "client.conf:8: connect-retry-max: expected a number 0..4294967295, got \"x\""},
      {"resolv-retry forever\n", "client.conf:8: resolv-retry: expected a number 0..31536000, got \"forever\""},
      {"auth-user-pass stdin\n", "client.conf:8: auth-user-pass: expected a file: dpvpn runs without a terminal, got \"stdin\""},
      {"auth-retry interact\n",
       "client.conf:8: auth-retry: expected none or nointeract, got \"interact\": dpvpn runs without a terminal"},
      {"pull-filter drop route\n", "client.conf:8: pull-filter: expected accept, ignore or reject, got \"drop\""},
      {"redirect-gateway def1 frob\n",
       "client.conf:8: redirect-gateway: expected flags among def1, ipv6, !ipv4, local, autolocal, bypass-dhcp, "
       "bypass-dns and block-local, got \"frob\""},
      {"remote-cert-tls client\n",
       "client.conf:8: remote-cert-tls: expected server, got \"client\": a client checks the server's certificate "
       "(remote-cert-tls client belongs in the server's config)"},
      {"explicit-exit-notify 300\n", "client.conf:8: explicit-exit-notify: expected a number 0..255, got \"300\""},
      {"dp-wan-gateway 224.0.0.1\n",
       "client.conf:8: dp-wan-gateway: expected a unicast IPv4 or IPv6 address such as 192.0.2.254, got \"224.0.0.1\""},
      {"dp-wan-gateway ff02::1\n",
       "client.conf:8: dp-wan-gateway: expected a unicast IPv6 address such as fe80::1 or 2001:db8::1, got \"ff02::1\""},
      // Server options.
      {"server 10.8.0.0 255.255.255.0\n", "client.conf:8: server: is a server option; not valid in a client config"},
      {"mode server\n", "client.conf:8: mode: is a server option; not valid in a client config"},
      {"tls-server\n", "client.conf:8: tls-server: is a server option; not valid in a client config"},
      {"push \"route 10.0.0.0 255.0.0.0\"\n", "client.conf:8: push: is a server option; not valid in a client config"},
      {"push-reset\n", "client.conf:8: push-reset: is a server option; not valid in a client config"},
      {"server-bridge\n", "client.conf:8: server-bridge: is a server option; not valid in a client config"},
      {"iroute 10.0.0.0 255.0.0.0\n", "client.conf:8: iroute: is a server option; not valid in a client config"},
      {"verify-client-cert none\n",
       "client.conf:8: verify-client-cert: is a server option; not valid in a client config"},
      {"auth-user-pass-verify a.sh via-file\n",
       "client.conf:8: auth-user-pass-verify: is a server option; not valid in a client config"},
      // Client options the role does not implement yet.
      {"dp-metrics 127.0.0.1 9100\n",
       "client.conf:8: dp-metrics: not supported in the client role yet (docs/client.md)"},
      {"redirect-private def1\n",
       "client.conf:8: redirect-private: not supported in the client role yet (docs/client.md)"},
      {"http-proxy proxy 8080\n", "client.conf:8: http-proxy: not supported in the client role yet (docs/client.md)"},
      {"ifconfig 10.8.0.2 10.8.0.1\n",
       "client.conf:8: ifconfig: not supported in the client role yet: the tunnel's addresses come from the server's "
       "push (docs/client.md)"},
      {"peer-id 3\n", "client.conf:8: peer-id: is set by the server's push, not in a config file"},
      {"proto tcp-client\n",
       "client.conf:8: proto: expected udp, udp4 or udp6, got \"tcp-client\": TCP is not supported yet (dp-mirror can "
       "hand TCP to a kernel openvpn)"},
  };
  for (const auto& [extra, want] : cases) EXPECT_EQ(error_of(k_base + extra), want) << extra;
}

TEST(config_client, server_options_reported_together) {
  EXPECT_EQ(error_of(k_base + "server 10.8.0.0 255.255.255.0\nmax-clients 10\nclient-to-client\n"),
            "client.conf: config: 3 lines are not accepted (docs/directives.md):\n"
            "  8: server: is a server option; not valid in a client config\n"
            "  9: max-clients: is a server option; not valid in a client config\n"
            "  10: client-to-client: is a server option; not valid in a client config");
  // `setenv opt` skips them with a warning instead.
  const server_config c = parse(k_base + "setenv opt duplicate-cn\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0],
            "client.conf:8: setenv opt duplicate-cn: skipped (is a server option; not valid in a client config)");
}

TEST(config_client, requirements_reported_together) {
  EXPECT_EQ(error_of("client\n"),
            "client.conf: config: 6 lines are not accepted (docs/directives.md):\n"
            "  0: remote: expected \"remote HOST [PORT]\", the server to connect to (required)\n"
            "  0: dev: expected \"dev tun\" (required)\n"
            "  0: ca: expected \"ca FILE\", a <ca> block or \"capath DIRECTORY\" (required: the CA of the server's "
            "certificate)\n"
            "  0: local: expected \"local ADDRESS\" (required): the WAN address the dataplane owns, answers ARP/ND for "
            "and connects from; there is no kernel socket to pick one\n"
            "  0: cert: expected \"cert FILE\" or a <cert> block (required without auth-user-pass)\n"
            "  0: key: expected \"key FILE\" or a <key> block (required without auth-user-pass)");
  // One finding alone is that error itself.
  EXPECT_EQ(error_of("client\ndev tun\nremote 192.0.2.1\nca ca.crt\ncert c.crt\nkey c.key\n"),
            "client.conf: local: expected \"local ADDRESS\" (required): the WAN address the dataplane owns, answers "
            "ARP/ND for and connects from; there is no kernel socket to pick one");
}

TEST(config_client, checks_across_lines) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dev tap\n", "client.conf:8: dev: expected a tun device: tap is not supported in the client role yet"},
      {"dev-type tap\n",
       "client.conf:8: dev-type: expected a tun device: tap is not supported in the client role yet"},
      {"auth-user-pass\n",
       "client.conf:8: auth-user-pass: expected a file: dpvpn runs without a terminal (auth-user-pass FILE, or an "
       "<auth-user-pass> block)"},
      {"lport 5000\nnobind\n",
       "client.conf:9: nobind: expected either lport or nobind, not both (nobind takes an ephemeral port)"},
      {"remote 2001:db8::1\n",
       "client.conf:8: remote: expected a `local` line with an IPv6 address as well: the dataplane sends to "
       "2001:db8::1 from its own WAN address"},
      {"dp-wan-gateway fe80::1\n",
       "client.conf:8: dp-wan-gateway: expected a `local` line with an IPv6 address as well: the next hop is on the "
       "IPv6 WAN"},
      {"dp-wan-gateway 192.0.2.2\n",
       "client.conf:8: dp-wan-gateway: expected a next hop other than the `local` address itself"},
  };
  for (const auto& [extra, want] : cases) EXPECT_EQ(error_of(k_base + extra), want) << extra;
  // tls-client alone does not ask for the push.
  EXPECT_EQ(error_of("tls-client\n" + k_base.substr(7)),
            "client.conf:1: tls-client: expected pull as well (or client, which is tls-client and pull): the tunnel's "
            "addresses come from the server's push");
}

TEST(config_client, ipv6_wan) {
  // An IPv6 server from an IPv6 `local`, with its next hop; both families side by side.
  const std::string v6 = "client\ndev tun\nlocal 2001:db8::2\nremote 2001:db8::1 1194 udp6\nca ca.crt\ncert c.crt\nkey c.key\n";
  server_config c = parse(v6 + "dp-wan-gateway fe80::1\n");
  ASSERT_EQ(c.remotes.size(), 1u);
  EXPECT_EQ(c.remotes[0].family, ip_family::v6);
  ASSERT_TRUE(c.local6.has_value());
  EXPECT_EQ(*c.local6, *parse_ipv6("2001:db8::2"));
  EXPECT_EQ(*c.dp_wan_gateway6, *parse_ipv6("fe80::1"));
  EXPECT_FALSE(c.local.has_value());
  c = parse(v6 + "local 192.0.2.2\nremote 192.0.2.1\n");
  EXPECT_EQ(c.remotes.size(), 2u);
  EXPECT_TRUE(c.local.has_value() && c.local6.has_value());
  // An IPv4 server needs an IPv4 `local` too.
  EXPECT_EQ(error_of(v6 + "remote 192.0.2.1\n"),
            "client.conf:8: remote: expected a `local` line with an IPv4 address as well: the dataplane sends to "
            "192.0.2.1 from its own WAN address");
}

TEST(config_client, auth_user_pass_file_or_inline_block) {
  const std::string nocert = "client\ndev tun\nlocal 192.0.2.2\nremote 192.0.2.1\nca ca.crt\n";
  // With auth-user-pass, cert and key are optional: both or neither.
  server_config c = parse(nocert + "auth-user-pass up.txt\n");
  EXPECT_EQ(c.auth_user_pass.path, "up.txt");
  EXPECT_FALSE(c.cert.present());
  EXPECT_EQ(error_of(nocert + "auth-user-pass up.txt\ncert c.crt\n"),
            "client.conf:7: cert: expected a key line as well: give cert and key together, or neither to log in with "
            "auth-user-pass alone");
  // An inline block, alone or after a bare auth-user-pass line (openvpn's inline form).
  c = parse(nocert + "<auth-user-pass>\nalice\ns3cret\n</auth-user-pass>\n");
  EXPECT_TRUE(c.auth_user_pass.is_inline);
  EXPECT_EQ(c.auth_user_pass.inline_text, "alice\ns3cret\n");
  EXPECT_EQ(c.auth_user_pass.line, 6u);
  c = parse(nocert + "auth-user-pass\n<auth-user-pass>\nalice\ns3cret\n</auth-user-pass>\n");
  EXPECT_EQ(c.auth_user_pass.inline_text, "alice\ns3cret\n");
  // A `client` line inside a block is its text, not the role.
  const std::string server = "dev tun\nserver 10.8.0.0 255.255.255.0\ncert s.crt\nkey s.key\n";
  c = parse(server + "<ca>\nclient\n</ca>\n");
  EXPECT_FALSE(c.client);
  EXPECT_EQ(error_of(server + "ca ca.crt\n<auth-user-pass>\na\nb\n</auth-user-pass>\n"),
            "client.conf:6: <auth-user-pass>: is a client option; not valid in a server config");
}

TEST(config_client, server_configs_still_refuse_them) {
  const std::string server = "dev tun\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert s.crt\nkey s.key\n";
  EXPECT_EQ(error_of(server + "remote vpn.example.com 1194\n"),
            "client.conf:6: remote: is a client option; not valid in a server config");
  EXPECT_EQ(error_of(server + "pull-filter ignore route\n"),
            "client.conf:6: pull-filter: is a client option; not valid in a server config");
  EXPECT_EQ(error_of(server + "lport 1194\n"),
            "client.conf:6: lport: not supported by dpvpn yet: use 'port': dpvpn listens on one port "
            "(docs/directives.md)");
  EXPECT_EQ(error_of(server + "dp-wan-gateway 192.0.2.254\n"),
            "client.conf:6: dp-wan-gateway: only valid in a client config (a server answers each client on the link "
            "its packets came from)");
  EXPECT_EQ(error_of(server + "remote-cert-tls server\n"),
            "client.conf:6: remote-cert-tls: expected client, got \"server\"");
  EXPECT_EQ(error_of(server + "explicit-exit-notify 3\n"),
            "client.conf:6: explicit-exit-notify: expected a number 0..2, got \"3\"");
  // The server's own keepalive doubles the restart time and pushes both.
  const server_config c = parse(server + "keepalive 10 60\nnobind\n");
  EXPECT_FALSE(c.client);
  EXPECT_FALSE(c.nobind);
  EXPECT_EQ(c.ping_restart, 120u);
  EXPECT_EQ(c.push_ping_restart, 60u);
}

TEST(config_client, the_command_line_decides_the_role_too) {
  const std::vector<std::string> args = {"--client", "--dev", "tun", "--local", "192.0.2.2", "--remote",
                                         "192.0.2.1", "1194", "udp", "--ca", "ca.crt", "--cert", "c.crt",
                                         "--key", "c.key", "--nobind"};
  const server_config c = parse_command_line(args);
  EXPECT_TRUE(c.client);
  ASSERT_EQ(c.remotes.size(), 1u);
  EXPECT_EQ(c.remotes[0].port, 1194);
  EXPECT_TRUE(c.nobind);
  // `--client` after a server's directives makes them errors of the client role.
  const config_source sources[] = {{"server.conf", "dev tun\nserver 10.8.0.0 255.255.255.0\n"},
                                   {"command line", "client\n", true, 1}};
  try {
    parse_server_config_sources(sources);
    ADD_FAILURE() << "parsed";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "server.conf:2: server: is a server option; not valid in a client config");
  }
}

TEST(config_client, shipped_example) {
  const std::string root = DPVPN_SOURCE_ROOT;
  const server_config c = parse_server_config(root + "/conf/client.conf");
  EXPECT_TRUE(c.client);
  EXPECT_TRUE(c.pull);
  ASSERT_GE(c.remotes.size(), 1u);
  EXPECT_EQ(c.remotes[0].host, "192.0.2.1");  // conf/server.conf's `local`
  EXPECT_EQ(c.remotes[0].port, 1194);
  EXPECT_EQ(format_ipv4(*c.local), "192.0.2.2");
  EXPECT_EQ(c.ca.path, "ca.crt");  // tools/gen-test-pki.sh's names
  EXPECT_EQ(c.cert.path, "client1.crt");
  EXPECT_EQ(c.key.path, "client1.key");
  EXPECT_EQ(c.tls_crypt.path, "tls-crypt.key");
  EXPECT_TRUE(c.remote_cert_tls_server);
  EXPECT_TRUE(c.nobind);
  EXPECT_EQ(c.dev_type, dev_kind::tun);
}

}  // namespace
