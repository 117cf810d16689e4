// SPDX-License-Identifier: MIT
// server.conf parser: OpenVPN 2.6 line syntax, one table row per directive, then cross-checks.
// The directive list with defaults and status is docs/config.md; keep the two in step.
#include "dpvpn/config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>

#include "config_internal.h"
#include "dpvpn/config_known.h"
#include "dpvpn/static_key.h"
#include "dpvpn/tls_engine.h"

namespace dpvpn::cp {

namespace {

using handler = void (*)(ctx&, args);

struct directive_row {
  std::string_view name;
  uint8_t min_args;
  uint8_t max_args;
  std::string_view usage;  // quoted in the "wrong number of arguments" error
  handler fn;
};

void no_op(ctx&, args) {}

// data-ciphers / ncp-ciphers: a ':'-separated list in preference order (§11), duplicates dropped.
void set_data_ciphers(ctx& c, args a) {
  std::vector<crypto::cipher_alg> list;
  std::string_view rest = a[0];
  while (true) {
    auto colon = rest.find(':');
    auto alg = c.cipher(std::string(rest.substr(0, colon)));
    if (std::find(list.begin(), list.end(), alg) == list.end()) list.push_back(alg);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  c.cfg.data_ciphers = std::move(list);
}

// A TLS setting OpenSSL must accept (tls-cipher, tls-groups, ...): refused here with its line,
// rather than when the TLS context is built after parsing.
std::string tls_arg(ctx& c, const std::string& v) {
  std::string err = proto::tls_check_setting(c.directive, v);
  if (!err.empty()) c.fail(err + ", got " + shown(v));
  return v;
}

// remote-cert-ku HEX: keyUsage bits as openvpn numbers them (digitalSignature = 80, ... 01).
unsigned key_usage_arg(ctx& c, const std::string& h) {
  std::string_view d = h;
  if (d.starts_with("0x") || d.starts_with("0X")) d.remove_prefix(2);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), v, 16);
  if (d.empty() || ec != std::errc() || end != d.data() + d.size() || v == 0 || v > 0xFFFF)
    c.fail("expected key usage bits in hex such as 80 or a0, got " + shown(h));
  return v;
}

// setenv / setenv-safe NAME [VALUE]: a variable for every script (setenv-safe names it OPENVPN_NAME,
// as openvpn does). The names openvpn 2.6 treats as client switches set nothing; GENERIC_CONFIG
// marks a template that is not meant to run. openvpn mangles other characters in a name away;
// dpvpn refuses them instead.
void set_env(ctx& c, args a) {
  const std::string& name = a[0];
  const std::string value = a.size() == 2 ? a[1] : std::string();
  if (name.size() < 2 || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                             std::string::npos)
    c.fail("expected a variable name of 2 or more letters, digits and '_', got " + shown(name));
  for (char ch : value)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) c.fail("expected a printable value, got " + shown(value));
  const bool safe = c.directive == "setenv-safe";
  if (!safe) {
    if (name == "GENERIC_CONFIG") c.fail("this is a generic configuration and cannot directly be used (openvpn's message)");
    if ((name == "REMOTE_RANDOM_HOSTNAME" || name == "PUSH_PEER_INFO") && a.size() == 1) return;  // client switches
    if (name == "SERVER_POLL_TIMEOUT" && a.size() == 2) return;
  }
  c.cfg.setenv.emplace_back(safe ? "OPENVPN_" + name : name, value);
}

constexpr std::string_view k_dev_types[] = {"tun", "tap"};
constexpr std::string_view k_topologies[] = {"net30", "p2p", "subnet"};
constexpr std::string_view k_verify_modes[] = {"none", "optional", "require"};
constexpr std::string_view k_tcv2_modes[] = {"allow-noncookie", "force-cookie"};
constexpr std::string_view k_tls_versions[] = {"1.0", "1.1", "1.2", "1.3"};
constexpr std::string_view k_exception_kinds[] = {"tun", "tap", "virtio-user"};
constexpr std::string_view k_backends[] = {"openssl", "ipsec-mb"};  // order of crypto::backend
constexpr std::string_view k_off_on[] = {"off", "on"};
constexpr std::string_view k_directions[] = {"0", "1"};

// clang-format off
// One row per directive. Handlers see the arguments only (a[0] is the first); the shared checks
// (argument count, numbers, addresses, enum words) live in ctx. Repeating a directive overrides it,
// except `push`, which accumulates (OpenVPN does the same).
constexpr directive_row k_directives[] = {
  // transport
  // `local` twice, once per family, makes the gateway answer on both (openvpn 2.7 also takes
  // several `local` lines); a second one of the same family overrides the first.
  {"local", 1, 1, "local ADDRESS", [](ctx& c, args a) {
     if (auto v6 = a[0].find(':') != std::string::npos ? parse_ipv6(a[0]) : std::nullopt) c.cfg.local6 = *v6;
     else if (auto v4 = parse_ipv4(a[0])) c.cfg.local = *v4;
     else c.fail("expected an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1, got " + shown(a[0]));
   }},
  {"port", 1, 1, "port NUMBER", [](ctx& c, args a) { c.cfg.port = static_cast<uint16_t>(c.number(a[0], 1, 65535)); }},
  {"proto", 1, 1, "proto udp", [](ctx& c, args a) {
     if (a[0].starts_with("tcp"))
       c.fail("expected udp, udp4 or udp6, got " + shown(a[0]) + ": TCP is not supported yet "
              "(dp-mirror can hand TCP to a kernel openvpn)");
     constexpr std::string_view protos[] = {"udp", "udp4", "udp6"};
     c.cfg.proto_family = static_cast<ip_family>(c.word(a[0], protos));
   }},
  {"mode", 1, 1, "mode server", [](ctx& c, args a) {
     constexpr std::string_view modes[] = {"server"};
     c.word(a[0], modes);
     c.cfg.mode_server = true;
   }},
  {"tls-server", 0, 0, "tls-server", [](ctx& c, args) { c.cfg.tls_server = true; }},
  {"float", 0, 0, "float", [](ctx& c, args) { c.cfg.float_ok = true; }},
  // openvpn changes directory as it reads `cd`; a relative DIR is taken from the directory of the
  // cd before it. The parser only checks the directory; main() changes to it after parsing.
  {"cd", 1, 1, "cd DIRECTORY", [](ctx& c, args a) {
     const std::string dir = join_cd(c.cfg.cd, c.path_arg(a[0]));
     std::error_code ec;
     if (!std::filesystem::is_directory(dir, ec)) c.fail("expected an existing directory, got " + shown(dir));
     c.cfg.cd = dir;
   }},

  // tunnel device and addressing
  {"dev", 1, 1, "dev tun|tunN|tap|tapN", [](ctx& c, args a) {
     if (a[0].empty()) c.fail("expected a device name such as tun, got \"\"");
     c.cfg.dev = a[0];
   }},
  {"dev-type", 1, 1, "dev-type tun|tap", [](ctx& c, args a) { c.dev_type_given = static_cast<dev_kind>(c.word(a[0], k_dev_types)); }},
  {"topology", 1, 1, "topology subnet|net30|p2p", [](ctx& c, args a) { c.cfg.topology = static_cast<topology_kind>(c.word(a[0], k_topologies)); }},
  {"server", 2, 3, "server NETWORK NETMASK [nopool]", [](ctx& c, args a) {
     server_subnet s;
     s.network = c.ipv4(a[0]);
     s.netmask = c.netmask(a[1]);
     if ((s.network & ~s.netmask) != 0)
       c.fail("expected a network address with the host bits zero for netmask " + a[1] + ", got " + shown(a[0]));
     if (a.size() == 3) {
       constexpr std::string_view opts[] = {"nopool"};
       c.word(a[2], opts);
       s.nopool = true;
     }
     c.cfg.server = s;
     c.cfg.mode_server = true;  // `server` expands to `mode server` + `tls-server` + a pool
     c.cfg.tls_server = true;
   }},
  // OpenVPN takes /64 to /124 (the pool starts at NET+0x1000 and needs room).
  {"server-ipv6", 1, 1, "server-ipv6 NETWORK/BITS", [](ctx& c, args a) { c.cfg.server_ipv6 = c.ipv6_network(a[0], 64, 124); }},
  {"ifconfig-ipv6-pool", 1, 1, "ifconfig-ipv6-pool START/BITS", [](ctx& c, args a) {
     auto n = parse_ipv6_net(a[0]);
     if (!n || n->len < 64 || n->len > 124)
       c.fail("expected START/BITS with BITS 64..124, such as fd00:8::1000/64, got " + shown(a[0]));
     c.cfg.ifconfig_ipv6_pool = *n;
   }},
  {"ifconfig-pool", 2, 3, "ifconfig-pool START END [NETMASK]", [](ctx& c, args a) {
     uint32_t first = c.ipv4(a[0]), last = c.ipv4(a[1]);
     if (first > last) c.fail("expected START <= END, got " + a[0] + " > " + a[1]);
     if (a.size() == 3) c.netmask(a[2]);  // the pushed netmask comes from `server` with topology subnet
     c.cfg.ifconfig_pool = {first, last};
   }},
  {"route", 1, 4, "route NETWORK [NETMASK [GATEWAY [METRIC]]]", [](ctx& c, args a) {
     route4 r;
     r.network = c.ipv4(a[0]);
     if (a.size() >= 2 && a[1] != "default") r.netmask = c.netmask(a[1]);
     if ((r.network & ~r.netmask) != 0) c.fail("expected the host bits of " + a[0] + " to be zero for its netmask");
     // A gateway or metric is accepted and unused: the route points into the tunnel device and
     // the dataplane picks the client by iroute (longest prefix).
     if (a.size() >= 3 && a[2] != "vpn_gateway" && a[2] != "default") c.ipv4(a[2]);
     if (a.size() == 4) c.u32(a[3], 0, 0xFFFF);
     c.cfg.routes.push_back(r);
   }},
  {"route-ipv6", 1, 3, "route-ipv6 NETWORK/BITS [GATEWAY [METRIC]]", [](ctx& c, args a) {
     c.cfg.routes_v6.push_back(c.ipv6_network(a[0], 0, 128));
     if (a.size() >= 2 && a[1] != "default" && !parse_ipv6(a[1])) c.fail("expected an IPv6 gateway, got " + shown(a[1]));
     if (a.size() == 3) c.u32(a[2], 0, 0xFFFF);
   }},
  // TAP mode (control/config_tap.cc, docs/tap.md); the checks across lines are check_tap's.
  {"server-bridge", 0, 4, "server-bridge [GW MASK POOL-START POOL-END | nogw]", [](ctx& c, args a) {
     if (std::string err = parse_server_bridge(a, c.cfg); !err.empty()) c.fail(err);
     c.cfg.mode_server = true;  // as `server`: implies `mode server` and `tls-server`
     c.cfg.tls_server = true;
   }},
  {"vlan-tagging", 0, 0, "vlan-tagging", [](ctx& c, args) { c.cfg.vlan_tagging = true; }},
  {"vlan-accept", 1, 1, "vlan-accept tagged|untagged|all", [](ctx& c, args a) {
     if (std::string err = parse_vlan_accept(a[0], c.cfg); !err.empty()) c.fail(err);
   }},
  {"vlan-pvid", 1, 1, "vlan-pvid 1..4094", [](ctx& c, args a) { c.cfg.vlan_pvid = static_cast<uint16_t>(c.u32(a[0], 1, 4094)); }},
  // A wait for the Windows TAP driver: recorded and ignored (openvpn 2.6 on Linux refuses it;
  // dpvpn accepts it so that a config moved from a Windows server parses).
  {"tap-sleep", 1, 1, "tap-sleep SECONDS", [](ctx& c, args a) { c.cfg.tap_sleep = c.u32(a[0], 0, 255); }},
  {"tun-mtu", 1, 1, "tun-mtu BYTES", [](ctx& c, args a) { c.cfg.tun_mtu = c.u32(a[0], 68, 9000); }},
  {"mssfix", 0, 2, "mssfix [BYTES [mtu|fixed]]", [](ctx& c, args a) {
     if (!a.empty()) c.cfg.mssfix = c.u32(a[0], 0, 65535);
     if (a.size() == 2) {
       constexpr std::string_view modes[] = {"mtu", "fixed"};
       c.cfg.mssfix_mode = modes[c.word(a[1], modes)];
     }
   }},
  {"txqueuelen", 1, 1, "txqueuelen PACKETS", [](ctx& c, args a) { c.cfg.txqueuelen = c.u32(a[0], 0, 1000000); }},
  {"client-to-client", 0, 0, "client-to-client", [](ctx& c, args) { c.cfg.client_to_client = true; }},
  {"duplicate-cn", 0, 0, "duplicate-cn", [](ctx& c, args) { c.cfg.duplicate_cn = true; }},
  {"max-clients", 1, 1, "max-clients NUMBER", [](ctx& c, args a) { c.cfg.max_clients = c.u32(a[0], 1, k_max_clients); }},
  {"push", 1, 1, "push 'OPTION ...'", [](ctx& c, args a) {
     // The whole PUSH_REPLY has to fit in one control message (§10.3).
     if (a[0].empty() || a[0].size() >= wire::k_push_bundle_size)
       c.fail("expected one option of 1.." + std::to_string(wire::k_push_bundle_size - 1) + " characters, got " +
              shown(a[0]));
     c.cfg.push.push_back(a[0]);
   }},
  {"explicit-exit-notify", 0, 1, "explicit-exit-notify [0|1|2]", [](ctx& c, args a) {
     // Server side: 1 = tell clients RESTART on exit, 2 = RESTART,[N] (go to the next server) (§10.5).
     c.cfg.explicit_exit_notify = a.empty() ? 1 : c.u32(a[0], 0, 2);
   }},
  {"client-config-dir", 1, 1, "client-config-dir DIRECTORY", [](ctx& c, args a) { c.cfg.client_config_dir = c.path_arg(a[0]); }},
  {"ccd-exclusive", 0, 0, "ccd-exclusive", [](ctx& c, args) { c.cfg.ccd_exclusive = true; }},
  {"connect-freq", 2, 2, "connect-freq NEW-CLIENTS SECONDS", [](ctx& c, args a) {
     c.cfg.connect_freq = std::pair<unsigned, unsigned>{c.u32(a[0], 1, k_max_u32), c.u32(a[1], 1, k_max_seconds)};
   }},
  {"connect-freq-initial", 2, 2, "connect-freq-initial MAX SECONDS", [](ctx& c, args a) {
     c.cfg.connect_freq_initial = std::pair<uint64_t, unsigned>{c.number(a[0], 1, k_max_i64), c.u32(a[1], 1, k_max_seconds)};
   }},
  {"max-routes-per-client", 1, 1, "max-routes-per-client NUMBER", [](ctx& c, args a) {
     c.cfg.max_routes_per_client = c.u32(a[0], 1, 1u << 20);
   }},
  {"ifconfig-pool-persist", 1, 2, "ifconfig-pool-persist FILE [SECONDS]", [](ctx& c, args a) {
     c.cfg.ifconfig_pool_persist_path = c.path_arg(a[0]);
     if (a.size() == 2) c.cfg.ifconfig_pool_persist_interval = c.u32(a[1], 0, k_max_seconds);
   }},

  // compression framing only (§9.1): nothing is ever compressed
  {"comp-lzo", 0, 1, "comp-lzo [yes|no|adaptive]", [](ctx& c, args a) {
     constexpr std::string_view modes[] = {"yes", "no", "adaptive"};
     c.cfg.comp = !a.empty() && c.word(a[0], modes) == 1 ? comp_mode::lzo_no : comp_mode::lzo;
   }},
  {"compress", 0, 1, "compress [stub|stub-v2|lzo|lz4|lz4-v2]", [](ctx& c, args a) {
     constexpr std::string_view algs[] = {"stub", "stub-v2", "lzo", "lz4", "lz4-v2"};
     constexpr comp_mode modes[] = {comp_mode::stub, comp_mode::stub_v2, comp_mode::lzo, comp_mode::lz4, comp_mode::lz4_v2};
     c.cfg.comp = a.empty() ? comp_mode::stub : modes[c.word(a[0], algs)];
   }},
  {"allow-compression", 1, 1, "allow-compression no|asym|yes", [](ctx& c, args a) {
     constexpr std::string_view modes[] = {"no", "asym", "yes"};
     c.cfg.allow_compression = static_cast<allow_compression_mode>(c.word(a[0], modes));
   }},

  // TLS and keys (files are read later, by the caller)
  {"ca", 1, 1, "ca FILE", [](ctx& c, args a) { c.cfg.ca = c.file_arg(a[0]); }},
  {"cert", 1, 1, "cert FILE", [](ctx& c, args a) { c.cfg.cert = c.file_arg(a[0]); }},
  {"key", 1, 1, "key FILE", [](ctx& c, args a) { c.cfg.key = c.file_arg(a[0]); }},
  {"dh", 1, 1, "dh none|FILE", [](ctx& c, args a) {
     c.cfg.dh_none = a[0] == "none";
     c.cfg.dh = c.cfg.dh_none ? file_ref{} : c.file_arg(a[0]);
   }},
  {"crl-verify", 1, 2, "crl-verify FILE", [](ctx& c, args a) {
     if (a.size() == 2) c.fail("expected \"crl-verify FILE\": the directory form is not supported yet");
     c.cfg.crl_verify = c.file_arg(a[0]);
   }},
  {"tls-auth", 1, 2, "tls-auth FILE [0|1]", [](ctx& c, args a) {
     c.cfg.tls_auth = c.file_arg(a[0]);
     c.tls_auth_arg.reset();
     if (a.size() == 2) c.tls_auth_arg = static_cast<uint8_t>(c.word(a[1], k_directions));
   }},
  {"key-direction", 1, 1, "key-direction 0|1", [](ctx& c, args a) { c.cfg.key_direction = static_cast<uint8_t>(c.word(a[0], k_directions)); }},
  {"tls-crypt", 1, 1, "tls-crypt FILE", [](ctx& c, args a) { c.cfg.tls_crypt = c.file_arg(a[0]); }},
  {"tls-crypt-v2", 1, 2, "tls-crypt-v2 FILE [force-cookie|allow-noncookie]", [](ctx& c, args a) {
     c.cfg.tls_crypt_v2 = c.file_arg(a[0]);
     c.cfg.tcv2_cookie = a.size() == 2 ? static_cast<tcv2_cookie_mode>(c.word(a[1], k_tcv2_modes))
                                       : tcv2_cookie_mode::allow_noncookie;
   }},
  {"tls-crypt-v2-verify", 1, 1, "tls-crypt-v2-verify COMMAND", [](ctx& c, args a) {
     c.cfg.tls_crypt_v2_verify = c.command(a[0]);
   }},
  {"tls-crypt-v2-max-age", 1, 1, "tls-crypt-v2-max-age DAYS", [](ctx& c, args a) {
     c.cfg.tls_crypt_v2_max_age = c.u32(a[0], 1, 0x7FFFFFFF);
   }},
  {"verify-client-cert", 1, 1, "verify-client-cert none|optional|require", [](ctx& c, args a) {
     c.cfg.verify_client_cert = static_cast<verify_client_cert_mode>(c.word(a[0], k_verify_modes));
   }},
  {"remote-cert-tls", 1, 1, "remote-cert-tls client", [](ctx& c, args a) {
     constexpr std::string_view kinds[] = {"client"};  // a server checks its clients' certificates
     c.word(a[0], kinds);
     c.cfg.remote_cert_tls_client = true;
     c.cfg.remote_cert_ku = {proto::k_ku_required};  // openvpn: keyUsage present + this EKU
     c.cfg.remote_cert_eku = "TLS Web Client Authentication";
   }},
  {"remote-cert-ku", 0, 15, "remote-cert-ku [HEX ...]", [](ctx& c, args a) {
     c.cfg.remote_cert_ku = {proto::k_ku_required};  // no values: the extension must be present
     if (!a.empty()) c.cfg.remote_cert_ku.clear();
     for (const auto& h : a) c.cfg.remote_cert_ku.push_back(key_usage_arg(c, h));
   }},
  {"remote-cert-eku", 1, 1, "remote-cert-eku OID|NAME", [](ctx& c, args a) { c.cfg.remote_cert_eku = tls_arg(c, a[0]); }},
  {"verify-x509-name", 1, 2, "verify-x509-name NAME [subject|name|name-prefix]", [](ctx& c, args a) {
     constexpr std::string_view types[] = {"subject", "name", "name-prefix"};
     if (a[0].empty()) c.fail("expected a name, got \"\"");
     c.cfg.verify_x509_type = static_cast<x509_name_type>(1 + (a.size() == 2 ? c.word(a[1], types) : 0));
     c.cfg.verify_x509_name = a[0];
   }},
  {"x509-username-field", 1, 15, "x509-username-field [ext:]FIELD ...", [](ctx& c, args a) {
     c.cfg.x509_username_fields.clear();
     for (const auto& f : a) c.cfg.x509_username_fields.push_back(tls_arg(c, proto::normalize_username_field(f)));
   }},
  {"tls-version-max", 1, 1, "tls-version-max 1.0|1.1|1.2|1.3", [](ctx& c, args a) {
     c.cfg.tls_version_max = static_cast<tls_version>(c.word(a[0], k_tls_versions));
   }},
  {"tls-cipher", 1, 1, "tls-cipher CIPHER[:CIPHER...]", [](ctx& c, args a) { c.cfg.tls_cipher = tls_arg(c, a[0]); }},
  {"tls-ciphersuites", 1, 1, "tls-ciphersuites SUITE[:SUITE...]", [](ctx& c, args a) { c.cfg.tls_ciphersuites = tls_arg(c, a[0]); }},
  {"tls-groups", 1, 1, "tls-groups GROUP[:GROUP...]", [](ctx& c, args a) { c.cfg.tls_groups = tls_arg(c, a[0]); }},
  {"ecdh-curve", 1, 1, "ecdh-curve NAME", [](ctx& c, args a) { c.cfg.ecdh_curve = a[0]; }},
  {"tls-cert-profile", 1, 1, "tls-cert-profile legacy|preferred|suiteb|insecure", [](ctx& c, args a) { c.cfg.tls_cert_profile = tls_arg(c, a[0]); }},
  {"extra-certs", 1, 1, "extra-certs FILE", [](ctx& c, args a) { c.cfg.extra_certs = c.file_arg(a[0]); }},
  {"capath", 1, 1, "capath DIRECTORY", [](ctx& c, args a) { c.cfg.capath = c.path_arg(a[0]); }},
  {"tls-version-min", 1, 2, "tls-version-min 1.2|1.3 [or-highest]", [](ctx& c, args a) {
     c.cfg.tls_version_min = static_cast<tls_version>(c.word(a[0], k_tls_versions));
     c.cfg.tls_version_min_or_highest = false;
     if (a.size() == 2) {
       constexpr std::string_view opts[] = {"or-highest"};
       c.word(a[1], opts);
       c.cfg.tls_version_min_or_highest = true;
     }
   }},

  // data channel (§8, §11)
  {"data-ciphers", 1, 1, "data-ciphers CIPHER[:CIPHER...]", set_data_ciphers},
  {"ncp-ciphers", 1, 1, "ncp-ciphers CIPHER[:CIPHER...]", set_data_ciphers},  // the pre-2.5 name
  {"data-ciphers-fallback", 1, 1, "data-ciphers-fallback CIPHER", [](ctx& c, args a) { c.cfg.data_ciphers_fallback = c.cipher(a[0]); }},
  {"cipher", 1, 1, "cipher CIPHER", [](ctx& c, args a) { c.cfg.cipher = c.cipher(a[0]); }},
  {"auth", 1, 1, "auth SHA1|SHA256|SHA512", [](ctx& c, args a) {
     auto d = crypto::digest_from_name(a[0]);
     if (!d) c.fail("expected a digest: SHA1, SHA256, SHA512 or none, got " + shown(a[0]));
     c.cfg.auth = *d;
   }},
  {"replay-window", 1, 2, "replay-window PACKETS [SECONDS]", [](ctx& c, args a) {
     c.cfg.replay_window = c.u32(a[0], 0, wire::k_replay_window_max);
     if (a.size() == 2) c.cfg.replay_time = c.u32(a[1], 0, k_max_replay_time);
   }},

  // timers (§12, §13)
  {"keepalive", 2, 2, "keepalive PING RESTART", [](ctx& c, args a) {
     unsigned ping = c.u32(a[0], 1, k_max_seconds), restart = c.u32(a[1], 1, k_max_seconds);
     if (restart < 2 * ping)
       c.fail("expected the restart time (" + a[1] + ") to be at least twice the ping time (" + a[0] + ")");
     c.cfg.keepalive = {ping, restart};
   }},
  {"ping", 1, 1, "ping SECONDS", [](ctx& c, args a) { c.cfg.ping = c.u32(a[0], 0, k_max_seconds); }},
  {"ping-restart", 1, 1, "ping-restart SECONDS", [](ctx& c, args a) { c.cfg.ping_restart = c.u32(a[0], 0, k_max_seconds); }},
  {"reneg-sec", 1, 2, "reneg-sec MAX [MIN]", [](ctx& c, args a) {
     c.cfg.reneg_sec_max = c.u32(a[0], 0, k_max_seconds);
     // A server renegotiates at a random time in [MIN, MAX]; MIN defaults to 90 % of MAX (§12.1).
     c.cfg.reneg_sec_min = a.size() == 2 ? c.u32(a[1], 0, c.cfg.reneg_sec_max) : c.cfg.reneg_sec_max - c.cfg.reneg_sec_max / 10;
   }},
  {"reneg-bytes", 1, 1, "reneg-bytes BYTES", [](ctx& c, args a) { c.cfg.reneg_bytes = c.number(a[0], 0, k_max_i64); }},
  {"reneg-pkts", 1, 1, "reneg-pkts PACKETS", [](ctx& c, args a) { c.cfg.reneg_pkts = c.number(a[0], 0, k_max_i64); }},
  {"hand-window", 1, 1, "hand-window SECONDS", [](ctx& c, args a) { c.cfg.hand_window = c.u32(a[0], 1, k_max_seconds); }},
  {"tran-window", 1, 1, "tran-window SECONDS", [](ctx& c, args a) { c.cfg.tran_window = c.u32(a[0], 1, k_max_seconds); }},
  {"tls-timeout", 1, 1, "tls-timeout SECONDS", [](ctx& c, args a) { c.cfg.tls_timeout = c.u32(a[0], 1, k_max_seconds); }},

  // scripts, run without blocking the control thread (§10.4 AUTH_FAILED on rejection)
  {"script-security", 1, 1, "script-security 0..3", [](ctx& c, args a) { c.cfg.script_security = c.u32(a[0], 0, 3); }},
  {"auth-user-pass-verify", 2, 2, "auth-user-pass-verify COMMAND via-file|via-env", [](ctx& c, args a) {
     constexpr std::string_view methods[] = {"via-file", "via-env"};
     c.cfg.auth_user_pass_via_env = c.word(a[1], methods) == 1;
     c.cfg.auth_user_pass_verify = c.command(a[0]);
   }},
  {"username-as-common-name", 0, 0, "username-as-common-name", [](ctx& c, args) { c.cfg.username_as_common_name = true; }},
  {"client-connect", 1, 1, "client-connect COMMAND", [](ctx& c, args a) { c.cfg.client_connect = c.command(a[0]); }},
  {"client-disconnect", 1, 1, "client-disconnect COMMAND", [](ctx& c, args a) { c.cfg.client_disconnect = c.command(a[0]); }},
  {"tls-verify", 1, 1, "tls-verify COMMAND", [](ctx& c, args a) { c.cfg.tls_verify = c.command(a[0]); }},
  {"auth-gen-token", 0, 3, "auth-gen-token [LIFETIME [RENEWAL]] [external-auth]", [](ctx& c, args a) {
     c.cfg.auth_gen_token = true;
     size_t n = a.size();
     if (n > 0 && a[n - 1] == "external-auth") {
       c.cfg.auth_gen_token_external = true;
       --n;
     }
     if (n > 0) c.cfg.auth_gen_token_lifetime = c.u32(a[0], 0, k_max_seconds);
     if (n > 1) c.cfg.auth_gen_token_renewal = c.u32(a[1], 0, k_max_seconds);
     if (n > 2) c.fail("expected at most LIFETIME RENEWAL external-auth, got " + shown(a[2]));
   }},
  {"auth-gen-token-secret", 1, 1, "auth-gen-token-secret FILE", [](ctx& c, args a) { c.cfg.auth_gen_token_secret = c.file_arg(a[0]); }},
  {"tmp-dir", 1, 1, "tmp-dir DIRECTORY", [](ctx& c, args a) { c.cfg.tmp_dir = c.path_arg(a[0]); }},
  {"learn-address", 1, 1, "learn-address COMMAND", [](ctx& c, args a) { c.cfg.learn_address = c.command(a[0]); }},
  {"up", 1, 1, "up COMMAND", [](ctx& c, args a) { c.cfg.up = c.command(a[0]); }},
  {"down", 1, 1, "down COMMAND", [](ctx& c, args a) { c.cfg.down = c.command(a[0]); }},
  {"setenv", 1, 2, "setenv NAME [VALUE]", set_env},
  {"setenv-safe", 1, 2, "setenv-safe NAME [VALUE]", set_env},
  {"writepid", 1, 1, "writepid FILE", [](ctx& c, args a) { c.cfg.writepid = c.path_arg(a[0]); }},
  {"session-timeout", 1, 1, "session-timeout SECONDS", [](ctx& c, args a) { c.cfg.session_timeout = c.u32(a[0], 0, k_max_seconds); }},
  {"inactive", 1, 2, "inactive SECONDS [BYTES]", [](ctx& c, args a) {
     c.cfg.inactive_s = c.u32(a[0], 0, k_max_seconds);
     if (a.size() == 2) c.cfg.inactive_bytes = c.number(a[1], 0, k_max_i64);
   }},

  // housekeeping
  {"verb", 1, 1, "verb 0..11", [](ctx& c, args a) { c.cfg.verb = c.u32(a[0], 0, 11); }},
  {"status", 1, 2, "status FILE [SECONDS]", [](ctx& c, args a) {
     c.cfg.status_path = c.path_arg(a[0]);
     if (a.size() == 2) c.cfg.status_interval = c.u32(a[1], 1, k_max_seconds);
   }},
  {"status-version", 1, 1, "status-version 1|2|3", [](ctx& c, args a) { c.cfg.status_version = c.u32(a[0], 1, 3); }},
  {"syslog", 0, 1, "syslog [NAME]", [](ctx& c, args a) {
     c.cfg.syslog = true;
     if (!a.empty()) c.cfg.syslog_ident = a[0];
   }},
  {"suppress-timestamps", 0, 0, "suppress-timestamps", [](ctx& c, args) { c.cfg.suppress_timestamps = true; }},
  {"log", 1, 1, "log FILE", [](ctx& c, args a) { c.cfg.log_path = c.path_arg(a[0]); c.cfg.log_append = false; }},
  {"log-append", 1, 1, "log-append FILE", [](ctx& c, args a) { c.cfg.log_path = c.path_arg(a[0]); c.cfg.log_append = true; }},
  // The management interface (control/mgmt_server.cc, docs/operations.md).
  {"management", 2, 3, "management IP PORT [PW-FILE] | management PATH unix [PW-FILE]", [](ctx& c, args a) {
     server_config::management_conf m;
     m.addr = a[0];
     if (a[1] == "unix") {
       m.unix_socket = true;
       m.addr = c.path_arg(a[0]);
     } else {
       if (!parse_ipv4(a[0]) && !parse_ipv6(a[0]))
         c.fail("expected an IP address (or a socket path followed by 'unix'), got " + shown(a[0]));
       m.port = static_cast<uint16_t>(c.u32(a[1], 1, 65535));
     }
     if (a.size() == 3) {
       if (a[2] == "stdin") c.fail("expected a password file: dpvpn does not prompt on stdin, got \"stdin\"");
       m.pw_file = c.path_arg(a[2]);
     }
     c.cfg.management = std::move(m);
   }},
  {"management-client-auth", 0, 0, "management-client-auth", [](ctx& c, args) { c.cfg.management_client_auth = true; }},
  {"management-hold", 0, 0, "management-hold", [](ctx& c, args) { c.cfg.management_hold = true; }},
  {"management-log-cache", 1, 1, "management-log-cache N", [](ctx& c, args a) { c.cfg.management_log_cache = c.u32(a[0], 1, 1'000'000); }},
  {"management-client-user", 1, 1, "management-client-user USER", [](ctx& c, args a) { c.cfg.management_client_user = a[0]; }},
  {"management-client-group", 1, 1, "management-client-group GROUP", [](ctx& c, args a) { c.cfg.management_client_group = a[0]; }},
  {"fast-io", 0, 0, "fast-io", [](ctx& c, args) { c.cfg.fast_io = true; }},
  {"sndbuf", 1, 1, "sndbuf BYTES", [](ctx& c, args a) { c.cfg.sndbuf = c.u32(a[0], 0, 1u << 30); }},
  {"rcvbuf", 1, 1, "rcvbuf BYTES", [](ctx& c, args a) { c.cfg.rcvbuf = c.u32(a[0], 0, 1u << 30); }},

  // accepted and ignored: they describe a process model dpvpn does not have (no privileges to drop,
  // (more harmless ones, accepted unchecked, are option_class::ignored in control/config_known.cc)
  // no kernel tun to keep open across restarts) or only tune logging
  {"persist-key", 0, 0, "persist-key", no_op},
  {"persist-tun", 0, 0, "persist-tun", no_op},
  {"user", 1, 1, "user NAME", no_op},
  {"group", 1, 1, "group NAME", no_op},
  {"nobind", 0, 0, "nobind", no_op},
  {"daemon", 0, 1, "daemon [NAME]", no_op},
  {"mute", 1, 1, "mute NUMBER", no_op},
  {"mute-replay-warnings", 0, 0, "mute-replay-warnings", no_op},

  // dpvpn-only. A new one is a field in server_config, a row here and a line in docs/config.md.
  {"dp-exception", 1, 1, "dp-exception tun|tap|virtio-user", [](ctx& c, args a) {
     c.dp_exception_given = static_cast<exception_port_kind>(c.word(a[0], k_exception_kinds));
   }},
  {"dp-rx-burst", 1, 1, "dp-rx-burst 1..256", [](ctx& c, args a) { c.cfg.dp_rx_burst = c.u32(a[0], 1, 256); }},
  {"dp-mbufs", 1, 1, "dp-mbufs NUMBER", [](ctx& c, args a) { c.cfg.dp_mbufs = c.u32(a[0], 0, 1u << 26); }},
  {"dp-stats-interval", 1, 1, "dp-stats-interval SECONDS", [](ctx& c, args a) { c.cfg.dp_stats_interval = c.u32(a[0], 0, 86400); }},
  {"dp-mirror", 1, 1, "dp-mirror IFNAME", [](ctx& c, args a) {
     bool ok = !a[0].empty() && a[0].size() < k_ifnamsiz && a[0] != "." && a[0] != "..";
     for (char ch : a[0]) ok = ok && ch > ' ' && ch != '/' && ch != ':' && ch != 0x7F;
     if (!ok) c.fail("expected an interface name of 1..15 characters without '/', ':' or spaces, got " + shown(a[0]));
     c.cfg.dp_mirror = a[0];
     c.cfg.warnings.push_back(c.file + ":" + std::to_string(c.line) + ": dp-mirror is not implemented yet: WAN traffic "
                              "dpvpn does not handle itself is dropped and counted (not_for_us)");
   }},
  {"dp-idle-sleep", 1, 1, "dp-idle-sleep on|off", [](ctx& c, args a) { c.cfg.dp_idle_sleep = c.word(a[0], k_off_on) == 1; }},
  {"dp-contact-rate", 1, 2, "dp-contact-rate PPS [BURST]", [](ctx& c, args a) {
     c.cfg.dp_contact_pps = c.u32(a[0], 0, 10'000'000);
     c.cfg.dp_contact_burst = a.size() > 1 ? c.u32(a[1], 1, 10'000'000) : std::max(1u, c.cfg.dp_contact_pps * 2);
   }},
  {"dp-tunnel-spread", 1, 1, "dp-tunnel-spread 1..64", [](ctx& c, args a) { c.cfg.dp_tunnel_spread = c.u32(a[0], 1, 64); }},
  {"dp-udp-checksum", 1, 1, "dp-udp-checksum on|off", [](ctx& c, args a) { c.cfg.dp_udp_checksum = c.word(a[0], k_off_on) == 1; }},
  {"dp-crypto", 1, 1, "dp-crypto ipsec-mb|openssl", [](ctx& c, args a) { c.cfg.dp_crypto = static_cast<crypto::backend>(c.word(a[0], k_backends)); }},
  {"dp-ring-size", 1, 1, "dp-ring-size POWER-OF-TWO", [](ctx& c, args a) {
     unsigned n = c.u32(a[0], 64, 65536);
     if ((n & (n - 1)) != 0) c.fail("expected a power of two 64..65536, got " + shown(a[0]));
     c.cfg.dp_ring_size = n;
   }},
  // The LAN port (control/config_lan.cc).
  {"dp-lan", 2, 3, "dp-lan PORT ADDR/PREFIX [ADDR6/PREFIX6]", [](ctx& c, args a) {
     if (unsigned at = c.line_of("dp-lan"))
       c.fail("expected one dp-lan line, but one is given at line " + std::to_string(at));
     if (std::string err = parse_dp_lan(a, c.cfg); !err.empty()) c.fail(err);
   }},
  {"dp-route", 2, 2, "dp-route NET/PREFIX NEXTHOP", [](ctx& c, args a) {
     if (std::string err = parse_dp_route(a, c.dp_route_lines, c.cfg); !err.empty()) c.fail(err);
     c.dp_route_lines.push_back(c.line);
   }},
  {"dp-wan", 1, 1, "dp-wan PORT", [](ctx& c, args a) {
     if (std::string err = parse_dp_wan(a[0], c.cfg); !err.empty()) c.fail(err);
   }},
  // Metrics (control/metrics.h, docs/operations.md).
  {"dp-metrics", 2, 3, "dp-metrics IP PORT [per-client]", [](ctx& c, args a) {
     if (!parse_ipv4(a[0]) && !parse_ipv6(a[0]))
       c.fail("expected an IPv4 or IPv6 address such as 127.0.0.1, got " + shown(a[0]));
     server_config::metrics_conf m{a[0], static_cast<uint16_t>(c.u32(a[1], 1, 65535)), a.size() == 3};
     if (a.size() == 3 && a[2] != "per-client") c.fail("expected per-client (or nothing) after the port, got " + shown(a[2]));
     c.cfg.dp_metrics = std::move(m);
   }},
};
// clang-format on

// Inline blocks <tag>...</tag> and the field each fills (OpenVPN's inline files).
struct inline_row {
  std::string_view tag;
  file_ref server_config::*field;
};
constexpr inline_row k_inline[] = {
    {"ca", &server_config::ca},
    {"cert", &server_config::cert},
    {"key", &server_config::key},
    {"dh", &server_config::dh},
    {"tls-auth", &server_config::tls_auth},
    {"tls-crypt", &server_config::tls_crypt},
    {"tls-crypt-v2", &server_config::tls_crypt_v2},
    {"crl-verify", &server_config::crl_verify},
    {"extra-certs", &server_config::extra_certs},
    {"auth-gen-token-secret", &server_config::auth_gen_token_secret},
    {"auth-user-pass", &server_config::auth_user_pass},  // the client role only (read_inline)
};

}  // namespace

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

class line_reader {
 public:
  explicit line_reader(std::string_view text, unsigned first_line = 1) : rest_(text), number_(first_line - 1) {
    if (rest_.starts_with("\xEF\xBB\xBF")) rest_.remove_prefix(3);  // UTF-8 BOM, as editors on Windows write
  }
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    auto nl = rest_.find('\n');
    line = rest_.substr(0, nl);
    rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number_;
    return true;
  }
  unsigned number() const { return number_; }

 private:
  std::string_view rest_;
  unsigned number_;
};

// Reads <tag> ... </tag>; `c.line` is the opening line.
void read_inline(ctx& c, line_reader& lines, std::string_view tag) {
  const inline_row* row = nullptr;
  for (const auto& r : k_inline)
    if (r.tag == tag) row = &r;
  c.directive = "<" + std::string(tag) + ">";
  file_ref f;
  f.is_inline = true;
  f.line = c.line;
  f.directive = std::string(tag);
  std::string close = "</" + std::string(tag) + ">";
  std::string_view l;
  while (true) {
    if (!lines.next(l)) c.fail("expected " + close + " before the end of the file");
    if (trim(l) == close) break;
    f.inline_text.append(l).push_back('\n');
  }
  if (row == nullptr) c.fail("unknown or unsupported inline block");
  if (tag == "auth-user-pass" && !c.client_role) c.fail("is a client option; not valid in a server config");
  c.cfg.directives.push_back(std::string(tag) + '\x1f' + f.inline_text);  // reload compares the blocks too
  c.cfg.*(row->field) = std::move(f);
  c.seen[std::string(tag)] = c.line;
}

// Why a directive without a row is refused: docs/directives.md's reason, or a spelling hint when
// the name is close to a known one (one edit for short names, two otherwise).
std::string unknown_directive_detail(std::string_view name) {
  std::string_view best;
  unsigned best_d = name.size() <= 4 ? 2 : 3;
  auto consider = [&](std::string_view known) {
    unsigned d = edit_distance(name, known, best_d);
    if (d < best_d) best_d = d, best = known;
  };
  for (const auto& r : k_directives) consider(r.name);
  for (const auto& o : openvpn_options()) consider(o.name);
  std::string out = "unknown directive (not an OpenVPN 2.6 option; check the spelling)";
  return best.empty() ? out : out + ": did you mean \"" + std::string(best) + "\"?";
}

// One line: an inline block, a directive with a row, or an OpenVPN option dpvpn ignores or refuses.
void parse_line(ctx& c, line_reader& lines, std::string_view t, std::vector<std::string>& words) {
  if (t.size() > 2 && t.front() == '<' && t.back() == '>' && t[1] != '/')
    return read_inline(c, lines, t.substr(1, t.size() - 2));
  words.clear();
  std::string err = split_config_words(t, words);
  c.directive = words.empty() ? std::string("?") : words[0];
  if (c.directive.starts_with("--")) c.directive.erase(0, 2);
  if (!err.empty()) c.fail(err);
  if (words.empty()) return;
  // `setenv opt DIRECTIVE ...`: openvpn applies DIRECTIVE when it knows it and only warns when it
  // does not. dpvpn applies what it supports and skips with a warning what it would refuse.
  bool optional = false;
  if (c.directive == "setenv" && words.size() >= 2 && words[1] == "opt") {
    if (words.size() == 2) c.fail("expected \"setenv opt DIRECTIVE [ARGS]\" (missing directive)");
    words.erase(words.begin(), words.begin() + 2);
    c.directive = words[0];
    optional = true;
  }

  auto skip = [&](const std::string& why) {
    c.cfg.warnings.push_back(c.file + ":" + std::to_string(c.line) + ": setenv opt " + c.directive + ": skipped (" +
                             why + ")");
  };
  auto accepted = [&] {
    c.seen[c.directive] = c.line;
    std::string line = c.directive;  // as reload compares it: the name and its words
    for (size_t i = 1; i < words.size(); ++i) line += '\x1f' + words[i];
    c.cfg.directives.push_back(std::move(line));
  };
  // The client role (config_client.cc): its own rows first, then the server's rows it does not refuse.
  if (c.client_role) {
    if (std::string why = client_refusal(c.directive); !why.empty()) {
      if (optional) return skip(why);
      c.fail(why);
    }
    if (parse_client_directive(c, words)) return accepted();
  }

  const directive_row* row = nullptr;
  for (const auto& r : k_directives)
    if (r.name == c.directive) row = &r;
  if (row == nullptr) {
    const openvpn_option* o = find_openvpn_option(c.directive);
    auto detail = [&](const openvpn_option& opt) {
      return c.client_role ? client_refused_option_detail(opt) : refused_option_detail(opt);
    };
    if (optional && (o == nullptr || o->kind != option_class::ignored))
      return skip(o ? detail(*o) : std::string("not an OpenVPN 2.6 option"));
    if (o == nullptr && c.directive == "dp-wan-gateway")
      c.fail("only valid in a client config (a server answers each client on the link its packets came from)");
    if (o == nullptr) c.fail(unknown_directive_detail(c.directive));
    if (o->kind != option_class::ignored) c.fail(detail(*o));
    c.seen[c.directive] = c.line;
    c.cfg.directives.push_back(c.directive);
    return;
  }
  size_t n = words.size() - 1;
  if (n < row->min_args || n > row->max_args)
    c.fail("expected \"" + std::string(row->usage) + "\" (" + (n < row->min_args ? "missing" : "too many") +
           " arguments)");
  row->fn(c, args(words).subspan(1));
  accepted();
}

// The role (docs/client.md): a client when any directive of any source, outside inline blocks, is
// `client` or `tls-client`. Lines that do not split are left to the parse to report.
bool client_role_of(std::span<const config_source> sources) {
  std::vector<std::string> words;
  for (const config_source& s : sources) {
    line_reader lines(s.text, s.first_line);
    std::string_view raw;
    while (lines.next(raw)) {
      const std::string_view t = trim(raw);
      if (t.size() > 2 && t.front() == '<' && t.back() == '>' && t[1] != '/') {
        const std::string close = "</" + std::string(t.substr(1, t.size() - 2)) + ">";
        while (lines.next(raw) && trim(raw) != close) {
        }
        continue;
      }
      words.clear();
      if (!split_config_words(t, words).empty() || words.empty()) continue;
      std::string_view w = words[0];
      if (w.starts_with("--")) w.remove_prefix(2);
      if (w == "client" || w == "tls-client") return true;
    }
  }
  return false;
}

}  // namespace

server_config parse_server_config_sources(std::span<const config_source> sources) {
  if (sources.empty()) throw config_error("command line", 0, "config", "expected --config FILE or directives");
  // Errors that concern the whole config (a missing directive, cross-checks) name the first file.
  std::string main_name = sources.front().name;
  for (const config_source& s : sources)
    if (!s.command_line) {
      main_name = s.name;
      break;
    }
  ctx c;
  c.file = main_name;
  c.cfg.source = main_name;
  c.client_role = client_role_of(sources);
  std::string_view raw;
  std::vector<std::string> words;
  std::vector<config_error> errors;  // every bad line, reported together (config_known.cc)
  for (const config_source& s : sources) {
    c.file = s.name;
    line_reader lines(s.text, s.first_line);
    while (lines.next(raw)) {
      c.line = lines.number();
      try {
        parse_line(c, lines, trim(raw), words);
      } catch (const config_error& e) {
        errors.push_back(e);
      }
    }
  }
  if (!errors.empty()) throw combined_config_error(main_name, errors);
  c.file = main_name;
  cross_check(c);
  // openvpn: "--tls-version-min bigger than --tls-version-max" (or-highest changes nothing here:
  // OpenSSL 3 knows every version up to 1.3).
  if (c.cfg.tls_version_max && c.cfg.tls_version_min && *c.cfg.tls_version_min > *c.cfg.tls_version_max)
    c.fail_at(c.line_of("tls-version-max"), "tls-version-max", "expected a version >= tls-version-min");
  return std::move(c.cfg);
}

server_config parse_server_config_text(std::string_view text, const std::string& name) {
  const config_source s{name, std::string(text)};
  return parse_server_config_sources({&s, 1});
}

std::string join_cd(const std::string& cd, const std::string& dir) {
  if (cd.empty() || dir.empty() || dir.front() == '/') return dir;
  return (std::filesystem::path(cd) / dir).string();
}

server_config parse_server_config(const std::string& path) {
  std::string text, err;
  if (!proto::read_file(path, text, err)) throw config_error(path, 0, "config", "expected a readable file, got " + err);
  return parse_server_config_text(text, path);
}

}  // namespace dpvpn::cp
