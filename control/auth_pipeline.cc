// SPDX-License-Identifier: MIT
// auth_pipeline: client authentication — tls-crypt-v2-verify, tls-verify, auth-user-pass-verify
// and client-connect scripts run asynchronously (OpenVPN semantics), then authorize() or
// AUTH_FAILED (§10.4); client-disconnect. Addresses, CCD files and routes are addressing's.
#include <algorithm>
#include <ctime>

#include <openssl/crypto.h>

#include "auth_pipeline.h"
#include "dpvpn/script_args.h"
#include "setup.h"  // control_setup

namespace dpvpn::cp {

// OpenVPN's environment for user scripts, the part dpvpn can fill: who the client is, where it
// comes from, its VPN address, and the IV_/UV_ peer-info it sent (§6.3).
script_env auth_pipeline::client_env(const client& c, const char* script_type, uint64_t now_ms) const {
  script_env e;
  auto add = [&](std::string k, std::string v) { e.emplace_back(std::move(k), env_safe(v)); };
  add("script_type", script_type);
  add("script_context", "init");
  add("daemon", "0");
  add("verb", std::to_string(cfg_.verb));
  add("dev", cfg_.dev);
  add("proto_1", "udp");
  add("local_port_1", std::to_string(cfg_.port));
  if (!c.cn.empty()) add("common_name", c.cn);
  if (!c.s->common_name().empty()) add("X509_0_CN", c.s->common_name());
  if (!c.s->username().empty()) add("username", c.s->username());
  // Before authentication OpenVPN calls the address untrusted_*, afterwards trusted_*.
  const bool verified = c.auth.stage != client::auth_stage::verify && c.auth.stage != client::auth_stage::none &&
                        c.auth.stage != client::auth_stage::mgmt &&
                        c.auth.stage != client::auth_stage::tls_verify && c.auth.stage != client::auth_stage::tcv2_verify;
  // openvpn names an IPv6 peer's address trusted_ip6 / untrusted_ip6 (the port keeps its name).
  if (net::is_v4_mapped(c.addr.ip)) add(verified ? "trusted_ip" : "untrusted_ip", format_ipv4(net::v4_of(c.addr.ip)));
  else add(verified ? "trusted_ip6" : "untrusted_ip6", format_ipv6(c.addr.ip));
  add(verified ? "trusted_port" : "untrusted_port", std::to_string(c.addr.port));
  if (c.vpn_ip) {
    add("ifconfig_pool_remote_ip", format_ipv4(c.vpn_ip));
    if (cfg_.topology == topology_kind::subnet) add("ifconfig_pool_netmask", format_ipv4(setup_.netmask));
    else if (c.lease.v4_local) add("ifconfig_pool_local_ip", format_ipv4(c.lease.v4_local));
  }
  if (c.lease.v6) {  // openvpn's names for the client's IPv6 address and the server's end
    add("ifconfig_pool_remote_ip6", format_ipv6(*c.lease.v6));
    const ipv6_net& p6 = c.opts.ifconfig_ipv6_push ? *c.opts.ifconfig_ipv6_push : *cfg_.server_ipv6;
    add("ifconfig_pool_ip6_netbits", std::to_string(p6.len));
    if (cfg_.server_ipv6) add("ifconfig_pool_local_ip6", format_ipv6(ipv6_add(cfg_.server_ipv6->addr, 1)));
  }
  if (cfg_.server_ipv6) {
    add("ifconfig_ipv6_local", format_ipv6(ipv6_add(cfg_.server_ipv6->addr, 1)));
    add("ifconfig_ipv6_netbits", std::to_string(cfg_.server_ipv6->len));
  }
  if (cfg_.server_bridge == bridge_mode::none) {  // openvpn: the server's own ifconfig, which server-bridge has not
    add("ifconfig_local", format_ipv4(setup_.server_vpn_ip));
    add("ifconfig_netmask", format_ipv4(setup_.netmask));
  }
  for (const auto& [k, v] : c.s->peer().all)
    if ((k.starts_with("IV_") || k.starts_with("UV_")) && k.size() < 64 &&
        k.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos)
      add(k, v);
  if (c.token.session_state) {  // auth-gen-token: openvpn's session_state and the token's session id
    add("session_state", c.token.session_state);
    add("session_id", proto::auth_token_session_id(c.token.pushed));
  }
  add("time_unix", std::to_string(now_ms / 1000));
  if (c.auth.accepted_ms) add("time_duration", std::to_string(now_ms > c.auth.accepted_ms ? (now_ms - c.auth.accepted_ms) / 1000 : 0));
  add_setenv(e, cfg_);  // setenv / setenv-safe (script_args.h)
  return e;
}

void auth_pipeline::start_auth(client& c, uint64_t now_ms) {
  if (c.s->reauth_pending()) return start_reauth(c, now_ms);
  // tls-crypt-v2-max-age and tls-crypt-v2-verify (openvpn: before TLS, here as the first auth
  // stage: the session has the WKc's metadata, the client gets AUTH_FAILED). The script sees only
  // script_type, metadata_type and metadata_file (the metadata after its type byte).
  if (c.auth.stage == client::auth_stage::none && setup_.session.tcv2) {
    const std::vector<uint8_t>& meta = c.s->tcv2_metadata();
    if (cfg_.tls_crypt_v2_max_age &&
        !proto::tcv2_key_age_ok(meta, static_cast<uint64_t>(std::time(nullptr)), cfg_.tls_crypt_v2_max_age))
      return reject(c, "tls-crypt-v2 client key too old or without a timestamp (tls-crypt-v2-max-age " +
                           std::to_string(cfg_.tls_crypt_v2_max_age) + ")", now_ms);
    if (!cfg_.tls_crypt_v2_verify.empty()) {
      if (meta.empty()) return reject(c, "tls-crypt-v2 client key without metadata", now_ms);
      c.auth.stage = client::auth_stage::tcv2_verify;
      script_request req;
      req.env = {{"script_type", "tls-crypt-v2-verify"}, {"metadata_type", std::to_string(meta[0])}};
      req.pass_file = true;
      req.file_env = "metadata_file";
      req.file_text.assign(meta.begin() + 1, meta.end());
      log_(4, c.name + ": running tls-crypt-v2-verify");
      if (!scripts_.start(c, cfg_.tls_crypt_v2_verify, std::move(req), now_ms))
        reject(c, "tls-crypt-v2-verify could not be started", now_ms);
      return;
    }
  }
  const std::string& user = c.s->username();
  c.cn = cfg_.username_as_common_name && !user.empty() ? user : c.s->common_name();
  if (!c.cn.empty()) c.name = c.cn + "/" + format_outer(c.addr);
  // tls-verify: openvpn runs it inside the TLS handshake, blocking every client; here it is the
  // first auth stage, one run per certificate, the CA's first, as openvpn's verify callback does.
  if (!cfg_.tls_verify.empty() && !c.s->peer_certs().empty()) {
    c.auth.stage = client::auth_stage::tls_verify;
    c.auth.verify_depth = static_cast<int>(c.s->peer_certs().size()) - 1;
    return start_tls_verify(c, now_ms);
  }
  start_user_pass(c, now_ms);
}

// What openvpn shows a tls-verify script for depth d: argv "d SUBJECT"; the X509_<n>_<field>,
// tls_id_<n>, tls_serial[_hex]_<n> and tls_digest[_sha256]_<n> variables of the certificates seen
// so far (depth >= d); the untrusted address; no username (TLS has not sent one yet).
void auth_pipeline::start_tls_verify(client& c, uint64_t now_ms) {
  const std::vector<proto::peer_cert>& certs = c.s->peer_certs();
  const proto::peer_cert& cur = certs.at(static_cast<size_t>(c.auth.verify_depth));
  script_request req;
  for (auto& kv : client_env(c, "tls-verify", now_ms))
    if (kv.first != "username" && kv.first != "common_name" && !kv.first.starts_with("X509_"))
      req.env.push_back(std::move(kv));
  for (size_t d = certs.size(); d-- > static_cast<size_t>(c.auth.verify_depth);) {
    const proto::peer_cert& pc = certs[d];
    const std::string n = std::to_string(d);
    std::vector<std::string> seen;
    for (const auto& [field, value] : pc.fields) {
      // A repeated field (two OU=) gets _1, _2, ... as openvpn's setenv_str_incr names them.
      std::string k = "X509_" + n + "_" + env_safe(field);
      const std::string base = k;
      for (int i = 1; std::find(seen.begin(), seen.end(), k) != seen.end(); ++i) k = base + "_" + std::to_string(i);
      seen.push_back(k);
      req.env.emplace_back(k, env_safe(value));
    }
    req.env.emplace_back("tls_id_" + n, env_safe(pc.subject));
    req.env.emplace_back("tls_serial_" + n, pc.serial);
    req.env.emplace_back("tls_serial_hex_" + n, pc.serial_hex);
    req.env.emplace_back("tls_digest_" + n, pc.sha1);
    req.env.emplace_back("tls_digest_sha256_" + n, pc.sha256);
  }
  std::vector<std::string> argv = cfg_.tls_verify;
  argv.push_back(std::to_string(c.auth.verify_depth));
  argv.push_back(env_safe(cur.subject));
  log_(4, c.name + ": running tls-verify for depth " + std::to_string(c.auth.verify_depth) + ", " + env_safe(cur.subject));
  if (!scripts_.start(c, argv, std::move(req), now_ms)) reject(c, "tls-verify could not be started", now_ms);
}

void auth_pipeline::start_user_pass(client& c, uint64_t now_ms) {
  const std::string& user = c.s->username();
  if (cfg_.auth_user_pass_verify.empty()) return start_connect(c, now_ms);
  if (check_auth_token(c, now_ms)) return;

  c.auth.stage = client::auth_stage::verify;
  script_request req;
  req.env = client_env(c, "user-pass-verify", now_ms);
  if (cfg_.auth_user_pass_via_env) {
    req.env.emplace_back("password", c.s->password());
  } else {
    req.pass_file = true;  // "username\npassword\n", the file's path as the last argument
    req.file_text = user_pass_file_text(user, c.s->password());
  }
  log_(4, c.name + ": running auth-user-pass-verify for user '" + env_safe(user) + "'");
  if (!scripts_.start(c, cfg_.auth_user_pass_verify, std::move(req), now_ms))
    reject(c, "auth-user-pass-verify could not be started", now_ms);
}

// A renegotiation, as openvpn's key_method_2_read runs verify_user_pass for every key_id: the
// certificate (and the CRL) were checked by the session and the TLS handshake; the username is
// locked to the first key's. auth-user-pass-verify runs again, unless the password is this
// session's auth-gen-token (same session id, valid, not expired), which stands in for it.
// client-connect does not run again. The answer goes to the session's waiting key_id.
void auth_pipeline::start_reauth(client& c, uint64_t now_ms) {
  const std::string kid = "key_id " + std::to_string(c.s->reauth_key_id());
  if (c.auth.stage != client::auth_stage::accepted) return c.s->authorize(false, {}, "", now_ms);
  if (cfg_.auth_user_pass_verify.empty()) return finish_reauth(c, true, now_ms);
  const std::string& user = c.s->username();
  const std::string& pass = c.s->password();
  if (cfg_.auth_gen_token && proto::is_auth_token(pass)) {
    const proto::auth_token_check r =
        proto::verify_auth_token(setup_.auth_token_key, pass, user, static_cast<uint64_t>(std::time(nullptr)),
                                 setup_.auth_token_renewal_s, cfg_.auth_gen_token_lifetime);
    const bool same_session = !c.token.initial.empty() &&
                              proto::auth_token_session_id(pass) == proto::auth_token_session_id(c.token.initial);
    if (!cfg_.auth_gen_token_external) {
      if (r.valid() && same_session) {
        log_(4, c.name + ": renegotiation (" + kid + "): auth-token accepted");
        return c.s->authorize(true, {}, "", now_ms);
      }
      log_(1, c.name + ": renegotiation (" + kid + "): auth-token refused" + (r.expired ? " (expired)" : ""));
      return c.s->authorize(false, {}, r.expired ? "SESSION: token expired" : "", now_ms);
    }
    static const char* const states[2][2] = {{"Authenticated", "Expired"}, {"AuthenticatedEmptyUser", "ExpiredEmptyUser"}};
    c.token.session_state = r.hmac_ok && same_session ? states[r.empty_user][r.expired] : "Invalid";
  }
  script_request req;
  req.env = client_env(c, "user-pass-verify", now_ms);
  if (cfg_.auth_user_pass_via_env) {
    req.env.emplace_back("password", pass);
  } else {
    req.pass_file = true;
    req.file_text = user_pass_file_text(user, pass);
  }
  log_(4, c.name + ": renegotiation (" + kid + "): running auth-user-pass-verify for user '" + env_safe(user) + "'");
  if (!scripts_.start(c, cfg_.auth_user_pass_verify, std::move(req), now_ms)) c.s->authorize(false, {}, "", now_ms);
}

void auth_pipeline::finish_reauth(client& c, bool ok, uint64_t now_ms) {
  if (!ok || !cfg_.management_client_auth) return c.s->authorize(ok, {}, "", now_ms);
  c.mgmt.reauth = true;
  ops_.mgmt_auth_request(c, true, now_ms);  // >CLIENT:REAUTH; the key waits for client-auth(-nt)
}

// management-client-auth's answer. The first key: client-auth lets the client go on to its
// addresses and client-connect (its config lines count as client-connect's, applied after them);
// client-deny is AUTH_FAILED with the client reason. A renegotiation: the waiting key or not.
void auth_pipeline::mgmt_decision(client& c, bool ok, const std::string& reason, const std::string& client_reason,
                                  std::vector<std::string> config, uint64_t now_ms) {
  c.mgmt.waiting = false;
  c.mgmt.pending_until_ms = 0;
  if (c.mgmt.reauth) {
    c.mgmt.reauth = false;
    if (!ok) log_(1, c.name + ": renegotiation refused by management: " + env_safe(reason));
    c.s->authorize(ok, {}, ok ? "" : client_reason, now_ms);
    return ops_.drain(c, now_ms);
  }
  if (c.auth.stage != client::auth_stage::mgmt) return;
  if (!ok) {
    reject(c, "refused by management (client-deny): " + env_safe(reason), now_ms, client_reason);
    return ops_.drain(c, now_ms);
  }
  c.mgmt.granted = true;
  c.mgmt.config = std::move(config);
  start_connect(c, now_ms);
  ops_.drain(c, now_ms);
}

// openvpn (multi_delete_dup): without duplicate-cn a new session of a common name ends the
// authenticated ones of that name. openvpn closes them silently, and the old client, still
// configured to connect, comes back after its ping-restart and ends the new one in turn; dpvpn
// sends the old one HALT first, so that it stops instead of fighting over the name.
void auth_pipeline::drop_duplicate_cn(client& c, uint64_t now_ms) {
  if (c.cn.empty()) return;
  if (!cfg_.duplicate_cn) {
    const std::vector<client*> old = addr_.others_with_cn(c);
    for (client* o : old) {
      if (o->auth.stage == client::auth_stage::accepted && o->s->established()) {
        o->s->send_text("HALT", now_ms);
        ops_.drain(*o, now_ms);
      }
      ops_.teardown(*o, "replaced by a new connection with the same common name from " + format_outer(c.addr) +
                       " (no duplicate-cn)");
    }
    if (!old.empty())
      log_(1, "new connection by client '" + env_safe(c.cn) + "' dropped its previous session(s); use duplicate-cn "
             "to let one certificate or username connect several times");
  }
  addr_.index_cn(c);
}

void auth_pipeline::start_connect(client& c, uint64_t now_ms) {
  // openvpn's order: the old session of this name goes, the CCD file is read and the addresses
  // picked (so that client-connect sees them); the script's output then overrides (accept()).
  if (cfg_.management_client_auth && !c.mgmt.granted) {  // management decides first (mgmt_decision)
    c.auth.stage = client::auth_stage::mgmt;
    return ops_.mgmt_auth_request(c, false, now_ms);
  }
  drop_duplicate_cn(c, now_ms);
  if (auto why = addr_.assign(c)) return reject(c, *why, now_ms);  // addressing.h
  if (cfg_.client_connect.empty()) return accept(c, nullptr, now_ms);
  c.auth.stage = client::auth_stage::connect;
  script_request req;
  req.env = client_env(c, "client-connect", now_ms);
  req.pass_file = true;
  req.read_back = true;
  if (!scripts_.start(c, cfg_.client_connect, std::move(req), now_ms))
    reject(c, "client-connect could not be started", now_ms);
}

void auth_pipeline::accept(client& c, const client_connect_options* cc, uint64_t now_ms) {
  if (cc) {
    if (!cc->error.empty()) return reject(c, "client-connect file: " + cc->error, now_ms);
    if (cc->disable) return reject(c, "disabled by client-connect", now_ms);
    for (const std::string& w : cc->ignored) log_(3, c.name + ": client-connect: '" + env_safe(w) + "' ignored");
    if (auto why = addr_.apply_options(c, client_connect_options(*cc))) return reject(c, *why, now_ms);
  }
  if (!c.mgmt.config.empty()) {  // client-auth's config lines, after client-connect's (openvpn's order)
    std::string text;
    for (const std::string& l : c.mgmt.config) text += l + "\n";
    c.mgmt.config.clear();
    const client_connect_options mc = parse_client_connect(text);
    if (!mc.error.empty()) return reject(c, "client-auth config: " + mc.error, now_ms);
    if (mc.disable) return reject(c, "disabled by client-auth", now_ms);
    for (const std::string& w : mc.ignored) log_(3, c.name + ": client-auth: '" + env_safe(w) + "' ignored");
    if (auto why = addr_.apply_options(c, client_connect_options(mc))) return reject(c, *why, now_ms);
  }
  if (!c.vpn_ip && !addr_.v4_by_dhcp()) return reject(c, "no free address in the pool", now_ms);
  std::vector<std::string> push = addr_.client_push(c);
  if (!c.token.pushed.empty()) push.push_back("auth-token " + c.token.pushed);  // auth-gen-token (auth_token_stage.cc)
  if (!cfg_.learn_address.empty()) {  // the push waits for the client's learn-address calls
    c.auth.stage = client::auth_stage::learn;
    c.learn.push = std::move(push);
    if (scripts_.start_learn(c, client_env(c, "learn-address", now_ms), now_ms) > 0) return;  // on_learned()
    push = std::move(c.learn.push);
  }
  c.auth.stage = client::auth_stage::accepted;
  c.auth.accepted_ms = now_ms;
  c.s->authorize(true, push, "", now_ms);
}

// script_queue: c's last learn-address call finished.
void auth_pipeline::on_learned(client& c, uint64_t now_ms) {
  if (c.auth.stage != client::auth_stage::learn || c.dead) return;
  c.auth.stage = client::auth_stage::accepted;
  c.auth.accepted_ms = now_ms;
  c.s->authorize(true, std::move(c.learn.push), "", now_ms);
  ops_.drain(c, now_ms);
}

void auth_pipeline::reject(client& c, const std::string& why, uint64_t now_ms, const std::string& client_reason) {
  log_(1, c.name + ": authentication failed: " + why);
  c.auth.stage = client::auth_stage::rejected;
  addr_.release(c);  // nothing else exists yet: no dataplane peer before authorize(true)
  // Plain AUTH_FAILED unless openvpn too tells the client why (SESSION: token expired): the
  // reason stays in our log.
  c.s->authorize(false, {}, client_reason, now_ms);
}

void auth_pipeline::on_script_result(const net::outer_addr& who, const script_result& r, uint64_t now_ms) {
  client* ci = table_.find(who);
  if (!ci || ci->dead || ci->auth.script_id != r.id) return;
  client& c = *ci;
  c.auth.script_id = 0;
  if (c.auth.stage == client::auth_stage::tcv2_verify) {
    if (!r.ok) reject(c, "tls-crypt-v2-verify script: " + r.status, now_ms);
    else start_auth(c, now_ms);  // the next stages (c.auth.stage is no longer none)
  } else if (c.auth.stage == client::auth_stage::tls_verify) {
    if (!r.ok) {
      reject(c, "tls-verify script (depth " + std::to_string(c.auth.verify_depth) + "): " + r.status, now_ms);
    } else if (c.auth.verify_depth > 0) {
      --c.auth.verify_depth;
      start_tls_verify(c, now_ms);
    } else {
      log_(3, c.name + ": tls-verify accepted the certificate chain");
      start_user_pass(c, now_ms);
    }
  } else if (c.auth.stage == client::auth_stage::verify) {
    if (!r.ok) reject(c, "auth-user-pass-verify script: " + r.status, now_ms);
    else {
      log_(3, c.name + ": auth-user-pass-verify accepted user '" + env_safe(c.s->username()) + "'");
      start_connect(c, now_ms);
    }
  } else if (c.auth.stage == client::auth_stage::accepted) {  // a renegotiation's auth-user-pass-verify
    if (!r.ok) log_(1, c.name + ": renegotiation refused by auth-user-pass-verify: " + r.status);
    else log_(3, c.name + ": renegotiation: auth-user-pass-verify accepted user '" + env_safe(c.s->username()) + "'");
    finish_reauth(c, r.ok, now_ms);
  } else if (c.auth.stage == client::auth_stage::connect) {
    if (!r.ok) {
      reject(c, "client-connect script: " + r.status, now_ms);
    } else {
      const client_connect_options cc = parse_client_connect(r.file_text);
      accept(c, &cc, now_ms);
    }
  }
  ops_.drain(c, now_ms);
}

void auth_pipeline::end_auth(client& c, uint64_t now_ms) {
  scripts_.cancel(c);
  // The auth-gen-token secrets go; client-disconnect still sees the token's session_id.
  script_request req;
  const bool connected = c.auth.stage == client::auth_stage::accepted || c.auth.stage == client::auth_stage::learn;
  const bool disconnect = connected && !cfg_.client_disconnect.empty();
  if (disconnect) req.env = client_env(c, "client-disconnect", now_ms);
  for (std::string* t : {&c.token.pushed, &c.token.initial}) {
    OPENSSL_cleanse(t->data(), t->size());
    t->clear();
  }
  c.token.renew_ms = 0;
  if (!disconnect) return;
  if (c.dp.peer) {
    req.env.emplace_back("bytes_received", std::to_string(c.dp.peer->rx_bytes.load(std::memory_order_relaxed)));
    req.env.emplace_back("bytes_sent", std::to_string(c.dp.peer->tx_bytes.load(std::memory_order_relaxed)));
  }
  req.argv = cfg_.client_disconnect;
  req.deadline_ms = now_ms + uint64_t{cfg_.hand_window} * 1000;
  std::string err;
  if (scripts_.start_detached(std::move(req), err) == 0) log_(1, c.name + ": client-disconnect: " + err);
}

}  // namespace dpvpn::cp
