// SPDX-License-Identifier: MIT
// server.conf: the OpenVPN 2.6 server directives dpvpn understands, plus its own dp- settings.
// Every directive, its default and its status is listed in docs/config.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpvpn/crypto.h"
#include "dpvpn/ipaddr.h"
#include "dpvpn/wire.h"

namespace dpvpn::cp {

// "FILE:LINE: DIRECTIVE: expected ..." (docs/architecture.md, "Conventions"). line is 0 for a required directive that is
// missing; what() then reads "FILE: DIRECTIVE: ...".
class config_error : public std::runtime_error {
 public:
  config_error(std::string file, unsigned line, std::string directive, std::string detail);
  const std::string& file() const noexcept { return file_; }
  unsigned line() const noexcept { return line_; }
  const std::string& directive() const noexcept { return directive_; }
  const std::string& detail() const noexcept { return detail_; }  // the text after "DIRECTIVE: "

 private:
  std::string file_;
  unsigned line_;
  std::string directive_;
  std::string detail_;
};

// A file the config names, either by path or as an inline <tag>...</tag> block. Paths are kept as
// written: a relative one resolves against the working directory, which main() sets to `cd` (as
// openvpn does). Nothing is read at parse time.
struct file_ref {
  std::string path;         // as written; empty when inline
  std::string inline_text;  // the block's lines, each ending in '\n'; empty when given by path
  bool is_inline = false;
  unsigned line = 0;        // where it was set, for errors; 0 = never set
  std::string directive;    // "ca", "tls-crypt", ...

  bool present() const noexcept { return line != 0; }
  // The text: inline_text, or the file's contents. Throws config_error naming the directive's line
  // when the file cannot be read. Control thread only (blocks on file I/O).
  std::string load(const std::string& config_file) const;
};

enum class dev_kind : uint8_t { tun, tap };
enum class ip_family : uint8_t { any, v4, v6 };  // proto udp / udp4 / udp6
enum class topology_kind : uint8_t { net30, p2p, subnet };
enum class verify_client_cert_mode : uint8_t { none, optional, require };
enum class tcv2_cookie_mode : uint8_t { allow_noncookie, force_cookie };  // tls-crypt-v2's 2nd arg
enum class tls_version : uint8_t { v1_0, v1_1, v1_2, v1_3 };
enum class x509_name_type : uint8_t { none, subject, name, name_prefix };  // verify-x509-name's 2nd arg
enum class exception_port_kind : uint8_t { tun, tap, virtio_user };  // dp-exception

// `server NETWORK NETMASK [nopool]`. Addresses are IPv4 in host byte order.
struct server_subnet {
  uint32_t network = 0;
  uint32_t netmask = 0;
  bool nopool = false;
  unsigned prefix_len() const noexcept;
};

// `route NETWORK [NETMASK]` (host order).
struct route4 {
  uint32_t network = 0;
  uint32_t netmask = 0xFFFFFFFFu;
  bool operator==(const route4&) const = default;
};

// `comp-lzo` / `compress` as written (framing only: dpvpn never compresses, §9.1).
enum class comp_mode : uint8_t { none, lzo_no, lzo, stub, stub_v2, lz4, lz4_v2 };
// `allow-compression` (2.6 default: no = framing only, nothing compressed either way).
enum class allow_compression_mode : uint8_t { no, asym, yes };

// server.conf, parsed. The directives fall into groups, each a struct of its own; server_config
// is all of them (a field is read as cfg.NAME whatever its group). Written by the parser only
// (control/config*.cc); everything else reads it.

// Transport and the tunnel device.
struct config_net {
  // transport
  std::optional<uint32_t> local;  // `local`: the WAN address to answer on (host order)
  std::optional<ipv6_addr> local6;  // `local` with an IPv6 address (proto udp6)
  uint16_t port = 1194;
  ip_family proto_family = ip_family::any;

  // tunnel device
  std::string dev = "tun";   // as written (tun, tun0, tap3, ...)
  dev_kind dev_type = dev_kind::tun;  // from dev-type, else from the dev name's prefix
  topology_kind topology = topology_kind::net30;  // OpenVPN 2.6's default; say `topology subnet`
  std::optional<server_subnet> server;  // required
  std::optional<std::pair<uint32_t, uint32_t>> ifconfig_pool;  // `ifconfig-pool START END`, host order
  std::optional<ipv6_net> server_ipv6;         // `server-ipv6 NET/BITS`: server NET+1, pool from NET+0x1000
  std::optional<ipv6_net> ifconfig_ipv6_pool;  // `ifconfig-ipv6-pool START/BITS` (overrides server-ipv6's)
  std::vector<route4> routes;                  // `route`: kernel routes into the tunnel
  std::vector<ipv6_net> routes_v6;             // `route-ipv6`
  unsigned tun_mtu = 1500;
  unsigned mssfix = 1492;  // 0 = off
  std::string mssfix_mode;  // "", "mtu" or "fixed"
  unsigned txqueuelen = 0;  // 0 = the kernel default
};

// Key and certificate files, and the control channel's wrapping.
struct config_keys {
  file_ref ca, cert, key, dh;  // dh is recorded only: 2.6 servers use ECDHE (`dh none`)
  bool dh_none = false;
  file_ref crl_verify;
  file_ref tls_auth, tls_crypt, tls_crypt_v2;  // at most one of the three
  std::optional<uint8_t> tls_auth_direction;  // tls-auth's 2nd arg, else key-direction; none = both
  std::optional<uint8_t> key_direction;       // as written
  tcv2_cookie_mode tcv2_cookie = tcv2_cookie_mode::allow_noncookie;
  std::vector<std::string> tls_crypt_v2_verify;  // tls-crypt-v2-verify COMMAND (empty = none)
  unsigned tls_crypt_v2_max_age = 0;             // tls-crypt-v2-max-age DAYS (0 = no limit)
  file_ref extra_certs;
  std::string capath;  // resolved directory; empty = none
};

// What the TLS handshake accepts: versions, ciphers, and the checks on the client's certificate.
struct config_tls {
  verify_client_cert_mode verify_client_cert = verify_client_cert_mode::require;
  bool remote_cert_tls_client = false;
  std::optional<tls_version> tls_version_min;
  bool tls_version_min_or_highest = false;
  std::optional<tls_version> tls_version_max;
  // As written (IANA names are translated later); OpenSSL has accepted each at parse time.
  std::string tls_cipher, tls_ciphersuites, tls_groups, tls_cert_profile;
  std::string ecdh_curve;  // recorded only: openvpn 2.6 built with OpenSSL 3 ignores it too
  // remote-cert-ku / remote-cert-eku (remote-cert-tls client sets both); 0xFFFF = "present"
  std::vector<unsigned> remote_cert_ku;
  std::string remote_cert_eku;
  x509_name_type verify_x509_type = x509_name_type::none;
  std::string verify_x509_name;
  std::vector<std::string> x509_username_fields;  // normalized as openvpn does; empty = CN
};

// The data channel and the timers.
struct config_data {
  // data channel
  std::vector<crypto::cipher_alg> data_ciphers = {crypto::cipher_alg::aes_256_gcm, crypto::cipher_alg::aes_128_gcm,
                                                  crypto::cipher_alg::chacha20_poly1305};
  // data-ciphers-fallback, else the legacy `cipher` (data-ciphers-fallback wins when both are set).
  std::optional<crypto::cipher_alg> data_ciphers_fallback;
  std::optional<crypto::cipher_alg> cipher;  // `cipher` as written
  crypto::digest_alg auth = crypto::digest_alg::sha1;
  uint32_t replay_window = wire::k_replay_window_default;
  uint32_t replay_time = wire::k_replay_time_default;

  // timers (§12, §13), seconds; 0 = off
  std::optional<std::pair<unsigned, unsigned>> keepalive;  // as written
  unsigned ping = 0;          // the server's own: keepalive A -> A, else `ping`
  unsigned ping_restart = 0;  // the server's own: keepalive A B -> 2*B, else `ping-restart`
  unsigned push_ping = 0;          // pushed as `ping A` (keepalive only; 0 = not pushed)
  unsigned push_ping_restart = 0;  // pushed as `ping-restart B` (keepalive only)
  unsigned reneg_sec_max = wire::k_reneg_sec_default;
  unsigned reneg_sec_min = wire::k_reneg_sec_default - wire::k_reneg_sec_default / 10;  // 90% of max unless given
  uint64_t reneg_bytes = 0;
  uint64_t reneg_pkts = 0;
  unsigned hand_window = wire::k_hand_window_s;
  unsigned tran_window = wire::k_tran_window_s;
  unsigned tls_timeout = wire::k_tls_timeout_s;
  // compression framing (§9.1); dpvpn never compresses
  comp_mode comp = comp_mode::none;
  allow_compression_mode allow_compression = allow_compression_mode::no;
};

// Serving clients: capacity, push, CCD, admission limits.
struct config_clients {
  bool mode_server = false;  // `mode server` / `server` (which implies it)
  bool tls_server = false;
  unsigned max_clients = 1024;
  bool client_to_client = false;
  bool duplicate_cn = false;
  bool float_ok = false;  // `float`: recorded; dpvpn keys sessions by peer-id anyway
  unsigned explicit_exit_notify = 0;
  std::vector<std::string> push;  // `push "..."` in file order
  std::string client_config_dir;  // resolved path; empty = none
  bool ccd_exclusive = false;     // refuse a client without a CCD file (or DEFAULT)
  std::optional<std::pair<unsigned, unsigned>> connect_freq;  // `connect-freq N SECONDS`
  // `connect-freq-initial N SECONDS`: first replies per window; none = no limit (openvpn: 100 10)
  std::optional<std::pair<uint64_t, unsigned>> connect_freq_initial;
  unsigned max_routes_per_client = 256;  // iroutes a client may add
  unsigned session_timeout = 0;  // seconds from a client's first packet; 0 = none
  // `inactive SECONDS [BYTES]`: a client whose tunnel traffic (both ways, pings not counted) adds
  // up to fewer than BYTES (0: no packet at all) within SECONDS is ended; 0 = off
  unsigned inactive_s = 0;
  uint64_t inactive_bytes = 0;
};

// Scripts and authentication (run asynchronously by the control thread: control/auth_pipeline.h,
// script_queue.h).
struct config_scripts {
  unsigned script_security = 1;  // OpenVPN's default: built-in programs only, no user scripts
  // A command is its words (program first), as written. The program is run as execve runs it:
  // relative to the working directory (after `cd`), never searched in PATH, as openvpn does.
  // Empty = not configured.
  std::vector<std::string> auth_user_pass_verify;
  bool auth_user_pass_via_env = false;  // via-env; else via-file
  bool username_as_common_name = false;
  std::vector<std::string> client_connect, client_disconnect;
  std::string tmp_dir;  // tmp-dir; empty = $TMPDIR, else /tmp
  std::vector<std::string> tls_verify;  // `tls-verify COMMAND`: per certificate depth, before auth
  // auth-gen-token [LIFETIME [RENEWAL]] [external-auth]: push a session token; a client that
  // presents it (reconnect, renegotiation) skips auth-user-pass-verify.
  bool auth_gen_token = false;
  unsigned auth_gen_token_lifetime = 0;  // seconds; 0 = the session's lifetime only
  unsigned auth_gen_token_renewal = 0;   // seconds; 0 = reneg-sec
  bool auth_gen_token_external = false;
  file_ref auth_gen_token_secret;  // `auth-gen-token-secret FILE`; absent = a random key per run
  // learn-address / up / down (control/gateway_scripts.cc). learn-address runs asynchronously, one
  // call at a time in order; up and down run synchronously at start-up and at exit.
  std::vector<std::string> learn_address, up, down;
  // `setenv NAME VALUE` and `setenv-safe NAME VALUE` (stored as OPENVPN_NAME), in file order: added
  // to every script's environment.
  std::vector<std::pair<std::string, std::string>> setenv;
  std::string writepid;          // resolved path; empty = none
};

// Logging, status, the management interface and other housekeeping.
struct config_ops {
  unsigned verb = 1;
  // `syslog [NAME]`: log records to syslog tagged NAME (default "dpvpn") instead of stdout; a
  // `log`/`log-append` file wins, as in openvpn. `suppress-timestamps`: no time on stdout lines.
  bool syslog = false;
  std::string syslog_ident = "dpvpn";
  bool suppress_timestamps = false;
  std::string status_path;
  unsigned status_interval = 60;
  unsigned status_version = 1;  // `status-version 1|2|3`
  std::string log_path;
  bool log_append = false;
  // The management interface (docs/operations.md): `management IP PORT [PW-FILE]` or
  // `management PATH unix [PW-FILE]`, and the management-* options that change it.
  struct management_conf {
    std::string addr;     // IP address, or the socket's path with `unix`
    uint16_t port = 0;
    bool unix_socket = false;
    std::string pw_file;  // the password is its first line; empty: no password
  };
  std::optional<management_conf> management;
  bool management_client_auth = false;  // clients wait for client-auth / client-deny
  bool management_hold = false;         // no new client until `hold release`
  unsigned management_log_cache = 1000;  // log lines kept for `log N`
  std::string management_client_user, management_client_group;  // unix socket: who may connect
  std::string ifconfig_pool_persist_path;
  unsigned ifconfig_pool_persist_interval = 600;
  bool fast_io = false;
  unsigned sndbuf = 0;  // 0 = the default
  unsigned rcvbuf = 0;
  std::vector<std::string> warnings;  // printed at start-up (e.g. a `setenv opt` line skipped)
};

// dpvpn's own directives (dp-*): the dataplane.
struct config_dp {
  exception_port_kind dp_exception = exception_port_kind::tun;  // default follows dev_type
  unsigned dp_rx_burst = 32;
  unsigned dp_mbufs = 0;  // 0 = sized from cores, queues and ring sizes
  unsigned dp_stats_interval = 10;  // counters printed at verb >= 4; 0 = never
  std::string dp_mirror;            // parsed, not implemented yet (a warning says so): unhandled WAN traffic is dropped
  crypto::backend dp_crypto = crypto::backend::ipsec_mb;
  unsigned dp_ring_size = 1024;  // power of two
  bool dp_udp_checksum = true;   // outer IPv4 UDP checksum on TX (off: 0, which RFC 768 allows)
  bool dp_idle_sleep = true;     // workers sleep 20-200 us after a run of empty polls (off: busy-poll)
  // `dp-contact-rate PPS [BURST]`: control frames per second (and burst) each worker passes to the
  // control thread from one source address with no established client; 0 = no limit.
  unsigned dp_contact_pps = 1000, dp_contact_burst = 2000;
  // `dp-tunnel-spread N`: one client's packets may be sealed and opened on up to N lcores
  // (docs/dataplane.md, "One tunnel on several lcores"); 1 = on its owner lcore alone.
  unsigned dp_tunnel_spread = 1;
  // The LAN port (docs/dataplane.md, "The LAN port"): `dp-lan PORT ADDR/PREFIX [ADDR6/PREFIX6]`,
  // `dp-route NET/PREFIX NEXTHOP` (each family's next hop inside that family's LAN prefix),
  // `dp-wan PORT`. Ports are ethdev names as EAL created them (net_af_packet1, a PCI address).
  struct lan_port {
    std::string port;
    uint32_t addr = 0;  // host order
    uint8_t prefix = 24;
    std::optional<ipv6_net> addr6;  // the gateway's own IPv6 address on the LAN and its prefix
  };
  std::optional<lan_port> dp_lan;
  struct lan_route {
    bool v6 = false;
    uint32_t net = 0, via = 0;  // IPv4, host order
    ipv6_addr net6{}, via6{};   // IPv6
    uint8_t len = 0;
  };
  std::vector<lan_route> dp_routes;
  std::string dp_wan;  // empty: the first ethdev that is neither the exception nor the LAN port
  // `dp-metrics IP PORT [per-client]` (docs/operations.md, "Metrics"): Prometheus text over HTTP at
  // /metrics on IP (an IPv4 or IPv6 literal) and PORT; per-client adds each client's bytes.
  struct metrics_conf {
    std::string ip;
    uint16_t port = 0;
    bool per_client = false;
  };
  std::optional<metrics_conf> dp_metrics;
};

// TAP mode (docs/tap.md): `dev tap` with `server` or `server-bridge`, and 802.1Q tagging, parsed
// and checked as OpenVPN 2.6 does (its helper.c expands `server` and `server-bridge` the same way).
// The gateway serves `dev tap` with `server NET MASK` and every form of server-bridge; it refuses
// vlan-tagging at start-up (docs/tap.md says what is left).
enum class bridge_mode : uint8_t {
  none,  // no server-bridge line
  pool,  // `server-bridge GW MASK POOL-START POOL-END`: a pool, `route-gateway GW` pushed
  nogw,  // `server-bridge nogw`: no pool (DHCP through the bridge), no route-gateway pushed
  dhcp,  // `server-bridge`: no pool, `route-gateway dhcp` pushed
};
// `vlan-accept`: which frames the exception port's side may send (openvpn's VLAN_ALL,
// VLAN_ONLY_TAGGED, VLAN_ONLY_UNTAGGED_OR_PRIORITY).
enum class vlan_accept_mode : uint8_t { all, tagged, untagged };
struct config_tap {
  // as written
  bridge_mode server_bridge = bridge_mode::none;
  uint32_t bridge_gateway = 0, bridge_netmask = 0;      // server-bridge GW MASK (host order)
  uint32_t bridge_pool_first = 0, bridge_pool_last = 0;  // POOL-START POOL-END (host order)
  unsigned tap_sleep = 0;   // `tap-sleep S` (0..255): recorded, a no-op (a Windows TAP driver wait)
  bool vlan_tagging = false;                              // `vlan-tagging`: needs dev tap
  vlan_accept_mode vlan_accept = vlan_accept_mode::all;  // `vlan-accept` (needs vlan-tagging)
  uint16_t vlan_pvid = 1;                                 // `vlan-pvid 1..4094` (needs vlan-tagging)

  // Derived after the last line, dev tap only (what helper.c's expansion gives):
  // the clients' pool (none: server-bridge nogw / bare, `server ... nopool`); the pushed netmask;
  // the gateway address on the segment (server: NET+1, the exception port's kernel address;
  // server-bridge: GW, an address of the bridge; none without one); the route-gateway push
  // ("route-gateway A.B.C.D", "route-gateway dhcp" or ""); the largest inner frame a client may
  // send: tun-mtu + the Ethernet header (+ 4 with vlan-tagging, for the exception port's side).
  std::optional<std::pair<uint32_t, uint32_t>> tap_pool;
  uint32_t tap_netmask = 0;
  std::optional<uint32_t> tap_gateway;
  std::string tap_push_route_gateway;
  unsigned tap_max_frame = 0;
};

// The client role (docs/client.md): with `client` or `tls-client` anywhere in the config, dpvpn
// connects to an OpenVPN server instead of serving clients. These directives are parsed only
// then (a pre-scan of the sources decides the role); a server config refuses them by name
// ("is a client option"), and a client config refuses the server-only ones.
struct config_client_role {
  bool client = false;  // `client` or `tls-client`: the role
  bool pull = false;    // `pull` (`client` implies it): take the server's PUSH_REPLY
  // `remote HOST [PORT] [PROTO]`, in order. HOST: an IPv4/IPv6 literal or a name (resolved by the
  // control thread at each connection attempt); PORT default `rport`, else `port`, else 1194;
  // PROTO udp/udp4/udp6 (tcp is refused). After parsing, port and family are filled in: the
  // defaults (rport / port, proto) are applied, a literal's family is its own.
  struct remote_entry {
    std::string host;
    uint16_t port = 0;  // parsed: never 0
    ip_family family = ip_family::any;  // any: a name, resolved to either family
    unsigned line = 0;
  };
  std::vector<remote_entry> remotes;
  std::optional<uint16_t> rport;
  bool remote_random = false;
  // `connect-retry N [MAX]`: the wait before the next attempt starts at N seconds and doubles up
  // to MAX (the parser keeps MAX >= N).
  unsigned connect_retry_s = 1, connect_retry_max_s = 300;
  unsigned connect_retry_max_tries = 0;  // `connect-retry-max N`: tries of each remote; 0 = unlimited
  unsigned server_poll_timeout_s = 120;  // `server-poll-timeout N` (alias `connect-timeout`)
  bool nobind = false;              // `nobind`: an ephemeral local port
  std::optional<uint16_t> lport;    // `lport N` (else `port`)
  file_ref auth_user_pass;          // `auth-user-pass FILE` or <auth-user-pass>: user, password lines
  bool auth_retry_nointeract = false;  // `auth-retry nointeract`: reconnect after AUTH_FAILED (none: exit)
  // `pull-filter accept|ignore|reject TEXT`: the first whose TEXT starts a pushed option decides.
  enum class pull_action : uint8_t { accept, ignore, reject };
  struct pull_filter {
    pull_action action = pull_action::accept;
    std::string text;
  };
  std::vector<pull_filter> pull_filters;
  bool route_nopull = false;  // `route-nopull`: pushed routes are ignored (the rest is applied)
  // `redirect-gateway [FLAGS]` (also when pushed): the default route into the tunnel.
  struct redirect_flags {
    bool on = false;
    bool def1 = false, ipv6 = false, no_ipv4 = false, local = false, bypass_dhcp = false, block_local = false;
    bool autolocal = false, bypass_dns = false;
  };
  redirect_flags redirect_gateway;
  bool remote_cert_tls_server = false;  // `remote-cert-tls server`
  // `dp-wan-gateway IP`: the WAN next hop towards the remotes when they are not on the link
  // (the dataplane resolves its MAC with ARP / ND).
  std::optional<uint32_t> dp_wan_gateway;
  std::optional<ipv6_addr> dp_wan_gateway6;
};

struct server_config : config_net, config_keys, config_tls, config_data, config_clients, config_scripts, config_ops,
                       config_dp, config_tap, config_client_role {
  std::string source;  // the file name errors print
  // Every accepted line as "NAME\x1fWORD\x1f..." (an inline block: "TAG\x1fTEXT"), in order: a
  // reload (control/reload.h) compares them by name to find what changed.
  std::vector<std::string> directives;
  // `cd DIR` (command line and file, in order; a relative DIR is taken from the previous one):
  // the working directory to change to after parsing, against which every relative path of the
  // config resolves, scripts included. Empty = stay where started.
  std::string cd;
};

// Reads and parses a server config. Throws config_error (also when the file cannot be read).
server_config parse_server_config(const std::string& path);
// Parses config text. `name` is used in errors.
server_config parse_server_config_text(std::string_view text, const std::string& name);

// One piece of a configuration: a file's text, or command-line directives (one line each, their
// `line` the option's position). Later pieces override earlier ones, as later lines do.
struct config_source {
  std::string name;  // a file name, or "command line"
  std::string text;
  bool command_line = false;
  unsigned first_line = 1;
};
// Parses the pieces in order as one config. Errors of the whole config (a required directive that
// is missing, cross-checks) name the first file. Throws config_error.
server_config parse_server_config_sources(std::span<const config_source> sources);

// openvpn's command line (config_cli.cc): `--name ARGS...`, each option's arguments running to the
// next word that starts with "--"; `--config FILE` is read where it stands (a relative FILE after
// the `--cd` before it); a single argument without "--" is the config file. Directives after
// --config override the file's. Throws config_error.
server_config parse_command_line(std::span<const std::string> args);

// The directory `cd DIR` leaves when the previous one was `cd` ("" = none): DIR if absolute.
std::string join_cd(const std::string& cd, const std::string& dir);

// OpenVPN's word splitting of one config line (quotes, backslash escapes, # and ; comments); also
// used for the lines a client-connect script writes. Returns an error text, or empty.
std::string split_config_words(std::string_view line, std::vector<std::string>& out);


}  // namespace dpvpn::cp
