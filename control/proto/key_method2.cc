// SPDX-License-Identifier: MIT
// Key method 2 messages (§6.1, §6.2), the options strings (§6.2) and peer-info (§6.3).
#include "dpvpn/key_method2.h"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace dpvpn::proto {
namespace {

// Longest string a u16 length (which counts the NUL) can carry.
constexpr size_t k_max_wire_string = 0xFFFF - 1;

void put_bytes(std::vector<uint8_t>& out, const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); }

// §6.1 string rule: u16 length = strlen + 1, the bytes, NUL; an empty string is just 00 00.
void put_string(std::vector<uint8_t>& out, std::string_view s) {
  s = s.substr(0, std::min(s.size(), k_max_wire_string));  // only ever our own, short strings
  if (s.empty()) {
    out.push_back(0);
    out.push_back(0);
    return;
  }
  uint8_t len[2];
  wire::put_u16(len, static_cast<uint16_t>(s.size() + 1));
  put_bytes(out, len, 2);
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

void put_header(std::vector<uint8_t>& out) {
  out.insert(out.end(), {0, 0, 0, 0, wire::k_key_method_2});
}

struct reader {
  std::span<const uint8_t> in;
  size_t off = 0;

  size_t left() const { return in.size() - off; }
  bool take(uint8_t* dst, size_t n) {
    if (left() < n) return false;
    std::copy_n(in.data() + off, n, dst);
    off += n;
    return true;
  }
  // One length-prefixed string with at most `limit` bytes including the NUL. The value is the
  // C string, i.e. up to the first NUL, since that is what the peer's C code means by it.
  km2_err string(std::string& out, size_t limit) {
    if (left() < 2) return km2_err::too_short;
    size_t len = wire::get_u16(in.data() + off);
    off += 2;
    out.clear();
    if (len == 0) return km2_err::ok;
    if (len > limit) return km2_err::string_too_long;
    if (left() < len) return km2_err::bad_string;
    const uint8_t* p = in.data() + off;
    if (p[len - 1] != 0) return km2_err::bad_string;
    off += len;
    const uint8_t* nul = std::find(p, p + len, uint8_t{0});
    out.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(nul - p));
    return km2_err::ok;
  }
};

km2_err read_header(reader& r) {
  uint8_t h[5];
  if (!r.take(h, sizeof h)) return km2_err::too_short;
  if (wire::get_u32(h) != 0) return km2_err::bad_prefix;
  // The high nibble carries flags (none defined); only the low nibble is the method.
  if ((h[4] & 0x0F) != wire::k_key_method_2) return km2_err::bad_key_method;
  return km2_err::ok;
}

// sscanf("%d")-like: optional spaces and sign, then leading digits. Anything unparsable, negative
// or beyond INT_MAX gives 0.
int parse_int(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  if (i < v.size() && v[i] == '+') ++i;
  long long n = 0;
  size_t start = i;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    n = n * 10 + (v[i] - '0');
    if (n > 0x7FFFFFFF) return 0;
  }
  return i == start ? 0 : static_cast<int>(n);
}

void random_fill(uint8_t* p, size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

}  // namespace

const char* to_string(km2_err e) noexcept {
  switch (e) {
    case km2_err::ok: return "ok";
    case km2_err::too_short: return "key-method-2 message too short";
    case km2_err::bad_prefix: return "key-method-2 message does not start with u32 0";
    case km2_err::bad_key_method: return "key method is not 2";
    case km2_err::string_too_long: return "key-method-2 string too long";
    case km2_err::bad_string: return "key-method-2 string malformed";
  }
  return "unknown km2 error";
}

std::vector<uint8_t> write_km2(const km2_client& m) {
  std::vector<uint8_t> out;
  out.reserve(5 + wire::k_pre_master + 2 * wire::k_random + 8 + m.options.size() + m.username.size() +
              m.password.size() + m.peer_info.size() + 4);
  put_header(out);
  put_bytes(out, m.pre_master.data(), m.pre_master.size());
  put_bytes(out, m.random1.data(), m.random1.size());
  put_bytes(out, m.random2.data(), m.random2.size());
  put_string(out, m.options);
  put_string(out, m.username);
  put_string(out, m.password);
  put_string(out, m.peer_info);
  return out;
}

// §6.2: a P2MP server sends empty username, password and peer-info.
std::vector<uint8_t> write_km2(const km2_server& m) {
  std::vector<uint8_t> out;
  out.reserve(5 + 2 * wire::k_random + 8 + m.options.size() + 1);
  put_header(out);
  put_bytes(out, m.random1.data(), m.random1.size());
  put_bytes(out, m.random2.data(), m.random2.size());
  put_string(out, m.options);
  put_string(out, {});
  put_string(out, {});
  put_string(out, {});
  return out;
}

km2_err parse_km2(std::span<const uint8_t> in, km2_client& out) {
  reader r{in};
  if (km2_err e = read_header(r); e != km2_err::ok) return e;
  if (!r.take(out.pre_master.data(), out.pre_master.size()) || !r.take(out.random1.data(), out.random1.size()) ||
      !r.take(out.random2.data(), out.random2.size()))
    return km2_err::too_short;
  if (km2_err e = r.string(out.options, wire::k_tls_options_len); e != km2_err::ok) return e;
  if (km2_err e = r.string(out.username, wire::k_user_pass_len); e != km2_err::ok) return e;
  if (km2_err e = r.string(out.password, wire::k_user_pass_len); e != km2_err::ok) return e;
  // Peer-info may be absent entirely (very old clients); it has no limit beyond the u16.
  out.peer_info.clear();
  if (r.left() == 0) return km2_err::ok;
  return r.string(out.peer_info, k_max_wire_string + 1);
}

// The client reads only up to the options string; whatever the server sends after it
// (normally three empty strings) is ignored, as the 2.6 client does.
km2_err parse_km2(std::span<const uint8_t> in, km2_server& out) {
  reader r{in};
  if (km2_err e = read_header(r); e != km2_err::ok) return e;
  if (!r.take(out.random1.data(), out.random1.size()) || !r.take(out.random2.data(), out.random2.size()))
    return km2_err::too_short;
  return r.string(out.options, wire::k_tls_options_len);
}

void remap_name(std::string& s) noexcept {
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '_';
}

void randomize(km2_client& m) {
  random_fill(m.pre_master.data(), m.pre_master.size());
  random_fill(m.random1.data(), m.random1.size());
  random_fill(m.random2.data(), m.random2.size());
}

void randomize(km2_server& m) {
  random_fill(m.random1.data(), m.random1.size());
  random_fill(m.random2.data(), m.random2.size());
}

// §6.3: KEY=VALUE lines separated by '\n'. Typed fields take the first occurrence of a key,
// as OpenVPN's substring search does; `all` keeps every line with an '='.
peer_info parse_peer_info(std::string_view text) {
  peer_info pi;
  bool seen_proto = false, seen_ncp = false, seen_mtu = false, seen_ver = false, seen_plat = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view key = line.substr(0, eq), val = line.substr(eq + 1);
    pi.all.emplace_back(std::string(key), std::string(val));
    if (key == "IV_VER" && !seen_ver) {
      pi.version = val;
      seen_ver = true;
    } else if (key == "IV_PLAT" && !seen_plat) {
      pi.platform = val;
      seen_plat = true;
    } else if (key == "IV_PROTO" && !seen_proto) {
      pi.iv_proto = static_cast<uint32_t>(parse_int(val));
      seen_proto = true;
    } else if (key == "IV_NCP" && !seen_ncp) {
      pi.iv_ncp = parse_int(val);
      seen_ncp = true;
    } else if (key == "IV_CIPHERS" && !pi.has_ciphers) {
      pi.ciphers = val;
      pi.has_ciphers = true;
    } else if (key == "IV_MTU" && !seen_mtu) {
      pi.mtu = parse_int(val);
      seen_mtu = true;
    } else if (key == "IV_LZO_STUB") {
      pi.lzo_stub = pi.lzo_stub || val == "1";
    } else if (key == "IV_COMP_STUB") {
      pi.comp_stub = pi.comp_stub || val == "1";
    } else if (key == "IV_COMP_STUBv2") {
      pi.comp_stubv2 = pi.comp_stubv2 || val == "1";
    }
  }
  return pi;
}

// §6.2: the strings a 2.6 peer expects from the other side; a constant per transport.
namespace {
std::string options_string(bool tcp, bool tls_auth, bool server) {
  std::string s = "V4,dev-type tun,link-mtu ";
  s += tcp ? "1543" : "1541";
  s += ",tun-mtu 1500,proto ";
  s += !tcp ? "UDPv4" : server ? "TCPv4_SERVER" : "TCPv4_CLIENT";
  s += ",auth SHA1,keysize 128";
  if (tls_auth) s += ",tls-auth";
  s += ",key-method 2,";
  s += server ? "tls-server" : "tls-client";
  return s;
}
}  // namespace

std::string server_options_string(bool tcp, bool tls_auth) { return options_string(tcp, tls_auth, true); }
std::string client_options_string(bool tcp, bool tls_auth) { return options_string(tcp, tls_auth, false); }

}  // namespace dpvpn::proto
