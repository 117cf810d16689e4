// SPDX-License-Identifier: MIT
// The config -> runtime settings (setup.h), for either role.
#include "setup.h"

#include <algorithm>
#include <string_view>

#include "dpvpn/ipaddr.h"
#include "dpvpn/netpkt.h"
#include "dpvpn/netpkt6.h"
#include "dpvpn/static_key.h"

namespace dpvpn::cp {

namespace {

// `auth-user-pass`: the username on the first line, the password on the second (openvpn reads no
// more); a missing line is an error, as there is no terminal to ask on. Never logged.
void read_credentials(const server_config& cfg, proto::session_config& s) {
  const std::string text = cfg.auth_user_pass.load(cfg.source);
  std::string_view rest = text;
  auto next_line = [&rest](std::string& out) {
    if (rest.empty()) return false;
    const size_t nl = rest.find('\n');
    out = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return true;
  };
  const std::string where = cfg.auth_user_pass.is_inline ? "the <auth-user-pass> block" : cfg.auth_user_pass.path;
  std::string user, pass;
  if (!next_line(user) || user.empty())
    throw config_error(cfg.source, cfg.auth_user_pass.line, "auth-user-pass",
                       "expected a username on the first line of " + where);
  if (!next_line(pass))
    throw config_error(cfg.source, cfg.auth_user_pass.line, "auth-user-pass",
                       "expected a password on the second line of " + where + " (dpvpn runs without a terminal)");
  s.username = std::move(user);
  s.password = std::move(pass);
}

}  // namespace

control_setup make_control_setup(const server_config& cfg, proto::tls_context* tls) {
  control_setup st;
  proto::session_config& s = st.session;
  s.server = !cfg.client;
  s.tls = tls;
  s.tls_timeout_ms = cfg.tls_timeout * 1000;
  s.hand_window_s = cfg.hand_window;
  s.reneg_sec = cfg.reneg_sec_max;
  s.reneg_bytes = cfg.reneg_bytes;
  s.reneg_pkts = cfg.reneg_pkts;
  s.tran_window_s = cfg.tran_window;
  s.data_ciphers = cfg.data_ciphers;
  s.data_ciphers_fallback = cfg.data_ciphers_fallback;
  s.data_auth = cfg.auth;
  std::string err;
  if (cfg.tls_crypt.present()) {
    s.wrap = proto::wrap_mode::tls_crypt;
    if (!proto::parse_static_key(cfg.tls_crypt.load(cfg.source), s.wrap_key, err))
      throw config_error(cfg.source, cfg.tls_crypt.line, "tls-crypt", "expected an OpenVPN static key: " + err);
  } else if (cfg.tls_auth.present()) {
    s.wrap = proto::wrap_mode::tls_auth;
    s.auth_digest = cfg.auth;
    s.key_direction = cfg.tls_auth_direction ? *cfg.tls_auth_direction : -1;
    if (!proto::parse_static_key(cfg.tls_auth.load(cfg.source), s.wrap_key, err))
      throw config_error(cfg.source, cfg.tls_auth.line, "tls-auth", "expected an OpenVPN static key: " + err);
  } else if (cfg.tls_crypt_v2.present() && cfg.client) {
    s.tcv2 = true;  // the client's own key file: its key and the wrapped key it sends (WKc)
    if (!proto::parse_tcv2_client_key(cfg.tls_crypt_v2.load(cfg.source), s.tcv2_client, err))
      throw config_error(cfg.source, cfg.tls_crypt_v2.line, "tls-crypt-v2", "expected a tls-crypt-v2 client key: " + err);
  } else if (cfg.tls_crypt_v2.present()) {
    s.tcv2 = true;
    s.tcv2_force_cookie = cfg.tcv2_cookie == tcv2_cookie_mode::force_cookie;
    if (!proto::parse_tcv2_server_key(cfg.tls_crypt_v2.load(cfg.source), s.tcv2_server, err))
      throw config_error(cfg.source, cfg.tls_crypt_v2.line, "tls-crypt-v2", "expected a tls-crypt-v2 server key: " + err);
  }
  if (cfg.client && cfg.auth_user_pass.present()) read_credentials(cfg, s);
  // auth-gen-token (openvpn's checks: a finite renewal interval of at least two hand-windows).
  if (cfg.auth_gen_token && !cfg.client) {
    if (cfg.auth_gen_token_secret.present()) {
      auto k = proto::parse_auth_token_key(cfg.auth_gen_token_secret.load(cfg.source), err);
      if (!k) throw config_error(cfg.source, cfg.auth_gen_token_secret.line, "auth-gen-token-secret", err);
      st.auth_token_key = *k;
    } else {
      st.auth_token_key = proto::random_auth_token_key();  // tokens die with this process
    }
    st.auth_token_renewal_s = cfg.auth_gen_token_renewal ? cfg.auth_gen_token_renewal : cfg.reneg_sec_max;  // checked by the parser
  }
  st.data.backend = cfg.dp_crypto;
  st.data.replay_window = cfg.replay_window;
  st.data.replay_time = cfg.replay_time;
  // dp-tunnel-spread (docs/dataplane.md, "One tunnel on several lcores"): a spread peer's receive
  // window also covers the reordering of the lcores' hand-off rings.
  if (cfg.dp_tunnel_spread > 1)
    st.data.spread_window = proto::spread_replay_window(cfg.replay_window, cfg.dp_tunnel_spread, cfg.dp_ring_size);
  st.data.digest = cfg.auth;
  // §9.1: the server's comp-lzo / compress framing applies to every client and, as in openvpn
  // 2.6, is not pushed. dpvpn never compresses nor decompresses (allow-compression changes
  // nothing): a real algorithm is served as its uncompressed framing, and its stub is pushed so
  // that a client whose own config compresses (2.4-era comp-lzo yes) stops doing so.
  switch (cfg.comp) {
    case comp_mode::none: break;
    case comp_mode::lzo_no: s.comp = proto::comp_framing::lzo_no; break;
    case comp_mode::stub: s.comp = proto::comp_framing::stub; break;
    case comp_mode::stub_v2: s.comp = proto::comp_framing::stub_v2; break;
    case comp_mode::lzo: s.comp = proto::comp_framing::lzo_no; break;
    case comp_mode::lz4: s.comp = proto::comp_framing::stub; break;
    case comp_mode::lz4_v2: s.comp = proto::comp_framing::stub_v2; break;
  }
  // The client role: its own framing until the server pushes one; no pools, no push.
  if (cfg.client) return st;
  const bool real = cfg.comp == comp_mode::lzo || cfg.comp == comp_mode::lz4 || cfg.comp == comp_mode::lz4_v2;
  if (real && !proto::pushed_framing(cfg.push)) {
    st.push.push_back(s.comp == proto::comp_framing::lzo_no ? "comp-lzo no"
                      : s.comp == proto::comp_framing::stub ? "compress stub"
                                                            : "compress stub-v2");
  }

  if (cfg.dev_type == dev_kind::tap) {
    // dev tap (docs/tap.md): helper.c's expansion as config_tap.cc derived it: single addresses
    // from the pool, the segment's netmask, `route-gateway` pushed (none with server-bridge nogw),
    // and no topology (a tap client ignores it).
    st.netmask = cfg.tap_netmask;
    st.server_vpn_ip = cfg.tap_gateway.value_or(0);
    if (cfg.tap_pool) {
      st.pool_first = cfg.tap_pool->first;
      st.pool_last = cfg.tap_pool->second;
    }
    if (!cfg.tap_push_route_gateway.empty()) st.push.push_back(cfg.tap_push_route_gateway);
  } else {
    const server_subnet& sn = *cfg.server;
    st.netmask = sn.netmask;
    st.server_vpn_ip = sn.network + 1;
    const uint32_t bcast = sn.network | ~sn.netmask;
    if (cfg.topology == topology_kind::subnet) {
      st.pool_first = sn.network + 2;
      st.pool_last = bcast - 1;
      st.push.push_back("topology subnet");
      st.push.push_back("route-gateway " + format_ipv4(st.server_vpn_ip));
    } else {
      // net30: one /30 per client from base+4; the client is .2 of its /30, its peer .1 (§10.3).
      st.pool_first = sn.network + 4;
      st.pool_last = bcast >= 4 ? bcast - 3 : 0;
      st.push.push_back("route " + format_ipv4(st.server_vpn_ip));
    }
  }
  if (cfg.push_ping) st.push.push_back("ping " + std::to_string(cfg.push_ping));
  if (cfg.push_ping_restart) st.push.push_back("ping-restart " + std::to_string(cfg.push_ping_restart));
  if (cfg.server_ipv6) st.push.push_back("tun-ipv6");  // what server-ipv6 adds (openvpn helper.c)
  for (const std::string& p : cfg.push) st.push.push_back(p);
  return st;
}

proto::tls_config tls_config_of(const server_config& cfg, std::string& missing) {
  missing.clear();
  proto::tls_config tc;
  tc.server = !cfg.client;
  // A client may log in with auth-user-pass alone: then cert and key are optional (both or neither,
  // which the parser checks).
  const bool cert_optional = cfg.client && cfg.auth_user_pass.present();
  // A file by its path, an inline block as PEM text read from memory: never written to disk.
  auto pem_input = [&](const file_ref& f, const char* what, std::string& file, std::string& pem) {
    if (!f.present()) {
      if (missing.empty()) missing = what;
      return;
    }
    if (f.is_inline) pem = f.inline_text;
    else file = f.path;
  };
  if (cfg.ca.present() || cfg.capath.empty()) pem_input(cfg.ca, "ca", tc.ca_file, tc.ca_pem);
  tc.ca_path = cfg.capath;
  if (cfg.extra_certs.present()) pem_input(cfg.extra_certs, "extra-certs", tc.extra_certs_file, tc.extra_certs_pem);
  if (cfg.cert.present() || !cert_optional) pem_input(cfg.cert, "cert", tc.cert_file, tc.cert_pem);
  if (cfg.key.present() || !cert_optional) pem_input(cfg.key, "key", tc.key_file, tc.key_pem);
  if (cfg.crl_verify.present()) pem_input(cfg.crl_verify, "crl-verify", tc.crl_file, tc.crl_pem);
  if (cfg.tls_version_min) {
    static const char* v[] = {"1.0", "1.1", "1.2", "1.3"};
    tc.version_min = v[static_cast<int>(*cfg.tls_version_min)];
  }
  tc.verify_client = cfg.verify_client_cert == verify_client_cert_mode::none       ? proto::verify_client_cert::none
                     : cfg.verify_client_cert == verify_client_cert_mode::optional ? proto::verify_client_cert::optional
                                                                                        : proto::verify_client_cert::require;
  // remote-cert-tls client is remote-cert-ku (present) + remote-cert-eku clientAuth (config.cc);
  // remote-cert-tls server (the client role) is the engine's own check of the same two.
  tc.remote_cert = cfg.remote_cert_tls_server ? proto::remote_cert_tls::server : proto::remote_cert_tls::none;
  tc.remote_cert_ku = cfg.remote_cert_ku;
  tc.remote_cert_eku = cfg.remote_cert_eku;
  if (cfg.tls_version_max) {
    static const char* v[] = {"1.0", "1.1", "1.2", "1.3"};
    tc.version_max = v[static_cast<int>(*cfg.tls_version_max)];
  }
  tc.cipher_list = cfg.tls_cipher;
  tc.ciphersuites = cfg.tls_ciphersuites;
  tc.groups = cfg.tls_groups;
  tc.cert_profile = cfg.tls_cert_profile;
  tc.verify_name_type = static_cast<proto::x509_name_check>(cfg.verify_x509_type);  // same order
  tc.verify_name = cfg.verify_x509_name;
  tc.username_fields = cfg.x509_username_fields;
  return tc;
}

// `mssfix N [mtu|fixed]` -> the MSS ceiling the workers clamp TCP SYNs to (0 = off). Our formula:
// N bounds the whole outer packet (OpenVPN 2.6's default `mssfix 1492 mtu`; we read a bare N the
// same way), so MSS = N - 28 (outer IPv4 + UDP) - data overhead - 40 (inner IPv4 + TCP), with the
// data overhead the largest over the ciphers this server may negotiate (§1.5, §8): AEAD 4 (op +
// peer-id) + 4 (packet id) + 16 (tag) = 24; CBC 4 + HMAC + 16 (IV) + 4 (packet id) + 16 (worst
// padding); no cipher 4 + HMAC + 4. `fixed`: N is the inner packet ceiling, MSS = N - 40.
// Defaults (1492, AES-GCM/ChaCha20 only): 1492 - 28 - 24 - 40 = 1400. Inner IPv6 (inner_hdr 60:
// a 40-byte IPv6 header instead of 20) gets 20 bytes less for the same packet size: 1380.
uint16_t mss_clamp_for(const server_config& cfg, long inner_hdr) {
  if (cfg.mssfix == 0) return 0;
  long mss = static_cast<long>(cfg.mssfix) - inner_hdr;
  if (cfg.mssfix_mode != "fixed") {
    size_t overhead = 0;
    auto consider = [&](crypto::cipher_alg a) {
      const size_t hmac = crypto::digest_len(cfg.auth);
      const size_t o = crypto::is_aead(a) ? 4 + 4 + 16
                       : a == crypto::cipher_alg::none ? 4 + hmac + 4
                                                       : 4 + hmac + 16 + 4 + 16;
      overhead = std::max(overhead, o);
    };
    for (auto a : cfg.data_ciphers) consider(a);
    if (cfg.data_ciphers_fallback) consider(*cfg.data_ciphers_fallback);
    if (cfg.cipher) consider(*cfg.cipher);
    // With an IPv6 WAN the outer header may be IPv6 (20 bytes more); the clamp is one value for
    // every peer, so it is the smaller one then (IPv4 peers get 20 bytes of slack).
    const size_t outer_ip = cfg.local6 ? net::k_ipv6_hdr : net::k_ipv4_hdr;
    mss -= static_cast<long>(outer_ip + net::k_udp_hdr + overhead);
  }
  return static_cast<uint16_t>(std::clamp(mss, 64L, 65535L));
}

net::l2_policy l2_policy_for(const server_config& cfg, const net::mac& exc_mac) {
  net::l2_policy p;
  p.client_to_client = cfg.client_to_client;
  p.vlan_tagging = cfg.vlan_tagging;
  p.max_frame = cfg.tap_max_frame;
  if (cfg.server_bridge == bridge_mode::none && cfg.tap_gateway) {
    p.gateway_ip = *cfg.tap_gateway;
    p.gateway_mac = exc_mac;
  }
  return p;
}

dp::l2_params l2_params_for(const server_config& cfg) {
  dp::l2_params p;
  p.capacity = std::max<uint32_t>(4096, static_cast<uint32_t>(std::min<uint64_t>(uint64_t{cfg.max_clients} * 4, 1u << 24)));
  p.max_per_peer = std::max(1u, cfg.max_routes_per_client);
  p.max_segment = p.capacity / 2;
  p.ring_size = cfg.dp_ring_size;
  return p;
}

std::string exception_ifname(const std::string& dev) {
  // `dev tun` -> tun0 (openvpn picks the first free tunN; we take tun0), `dev tun3` -> tun3.
  if (dev == "tun" || dev == "tap") return dev + "0";
  return dev;
}

std::vector<std::unique_ptr<proto::front_filter>> make_front_filters(const proto::session_config& s,
                                                                     const std::vector<crypto::engine*>& engines) {
  std::vector<std::unique_ptr<proto::front_filter>> out;
  if (!s.server) return out;  // the client role: the lcores pass the server's frames unfiltered
  const proto::wrap_keys k = proto::static_wrap_keys(s);
  if (!s.tcv2 && k.mode == proto::wrap_mode::none) return out;
  for (crypto::engine* e : engines) {
    auto f = proto::front_filter::create(*e, k, s.tcv2 ? &s.tcv2_server : nullptr);
    if (!f) return {};  // all or none: a worker without its filter would let forgeries through
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace dpvpn::cp
