// SPDX-License-Identifier: MIT
// Key files (§3.1, §3.5): "OpenVPN Static key V1" hex blocks and tls-crypt-v2 base64 PEM keys.
#include "dpvpn/static_key.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>

namespace dpvpn::proto {
namespace {

constexpr std::string_view k_static_begin = "-----BEGIN OpenVPN Static key V1-----";
constexpr std::string_view k_static_end = "-----END OpenVPN Static key V1-----";
constexpr std::string_view k_tcv2_server_name = "OpenVPN tls-crypt-v2 server key";
constexpr std::string_view k_tcv2_client_name = "OpenVPN tls-crypt-v2 client key";
constexpr size_t k_pem_line = 64;  // OpenVPN writes 64 base64 characters per line
constexpr size_t k_hex_line = 16;  // and 16 bytes (32 hex digits) per static key line

constexpr char k_hex[] = "0123456789abcdef";
constexpr char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

size_t line_of(std::string_view text, size_t pos) {
  size_t line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i)
    if (text[i] == '\n') ++line;
  return line;
}

// Strict standard base64 (RFC 4648 §4) with whitespace ignored: padding only at the end, and
// the unused low bits of the last symbol must be zero so every byte string has one encoding.
std::optional<std::vector<uint8_t>> b64_decode(std::string_view in) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in)
    if (!is_space(c)) clean.push_back(c);
  if (clean.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < clean.size() && clean[clean.size() - 1 - pad] == '=') ++pad;
  std::vector<uint8_t> out;
  out.reserve(clean.size() / 4 * 3);
  uint32_t acc = 0;
  size_t bits = 0;
  for (size_t i = 0; i < clean.size() - pad; ++i) {
    int v = b64_value(clean[i]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;
  return out;
}

std::string b64_encode_lines(std::span<const uint8_t> in) {
  std::string flat;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint32_t{in[i]} << 16;
    size_t left = in.size() - i;
    if (left > 1) n |= uint32_t{in[i + 1]} << 8;
    if (left > 2) n |= in[i + 2];
    flat.push_back(k_b64[(n >> 18) & 63]);
    flat.push_back(k_b64[(n >> 12) & 63]);
    flat.push_back(left > 1 ? k_b64[(n >> 6) & 63] : '=');
    flat.push_back(left > 2 ? k_b64[n & 63] : '=');
  }
  std::string out;
  for (size_t i = 0; i < flat.size(); i += k_pem_line) {
    out.append(flat, i, k_pem_line);
    out.push_back('\n');
  }
  return out;
}

// Finds "-----BEGIN name-----" ... "-----END name-----" and decodes the base64 between them.
bool pem_decode(std::string_view pem, std::string_view name, std::vector<uint8_t>& out, std::string& err) {
  std::string begin = "-----BEGIN " + std::string(name) + "-----";
  std::string end = "-----END " + std::string(name) + "-----";
  size_t b = pem.find(begin);
  if (b == std::string_view::npos) {
    err = "missing '" + begin + "'";
    return false;
  }
  size_t body = b + begin.size();
  size_t e = pem.find(end, body);
  if (e == std::string_view::npos) {
    err = "missing '" + end + "'";
    return false;
  }
  auto bytes = b64_decode(pem.substr(body, e - body));
  if (!bytes) {
    err = "line " + std::to_string(line_of(pem, body)) + ": invalid base64 in " + std::string(name);
    return false;
  }
  out = std::move(*bytes);
  return true;
}

std::string pem_encode(std::string_view name, std::span<const uint8_t> bytes) {
  return "-----BEGIN " + std::string(name) + "-----\n" + b64_encode_lines(bytes) + "-----END " + std::string(name) +
         "-----\n";
}

}  // namespace

// §3.1: skip to the header, then hex digits (whitespace ignored) until the footer.
bool parse_static_key(std::string_view text, key2& out, std::string& err) {
  size_t b = text.find(k_static_begin);
  if (b == std::string_view::npos) {
    err = "missing '" + std::string(k_static_begin) + "'";
    return false;
  }
  size_t line = line_of(text, b);
  size_t n = 0;
  int high = -1;  // pending first nibble of a pair
  for (size_t i = b + k_static_begin.size(); i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') ++line;
    if (is_space(c)) continue;
    if (c == '-') {
      if (text.substr(i, k_static_end.size()) != k_static_end) {
        err = "line " + std::to_string(line) + ": non-hex character in static key";
        return false;
      }
      if (high >= 0) {
        err = "line " + std::to_string(line) + ": odd number of hex digits in static key";
        return false;
      }
      if (n != out.size()) {
        err = "line " + std::to_string(line) + ": static key has " + std::to_string(n) + " bytes, expected " +
              std::to_string(out.size());
        return false;
      }
      return true;
    }
    int v = hex_value(c);
    if (v < 0) {
      err = "line " + std::to_string(line) + ": non-hex character in static key";
      return false;
    }
    if (high < 0) {
      high = v;
      continue;
    }
    if (n == out.size()) {
      err = "line " + std::to_string(line) + ": static key longer than " + std::to_string(out.size()) + " bytes";
      return false;
    }
    out[n++] = static_cast<uint8_t>((high << 4) | v);
    high = -1;
  }
  err = "missing '" + std::string(k_static_end) + "'";
  return false;
}

std::string format_static_key(const key2& k) {
  std::string s = "#\n# 2048 bit OpenVPN static key\n#\n";
  s += k_static_begin;
  s += '\n';
  for (size_t i = 0; i < k.size(); ++i) {
    s.push_back(k_hex[k[i] >> 4]);
    s.push_back(k_hex[k[i] & 15]);
    if (i % k_hex_line == k_hex_line - 1) s.push_back('\n');
  }
  s += k_static_end;
  s += '\n';
  return s;
}

bool parse_tcv2_server_key(std::string_view pem, tcv2_server_key& out, std::string& err) {
  std::vector<uint8_t> bytes;
  if (!pem_decode(pem, k_tcv2_server_name, bytes, err)) return false;
  if (bytes.size() != out.bytes.size()) {
    err = "tls-crypt-v2 server key has " + std::to_string(bytes.size()) + " bytes, expected " +
          std::to_string(out.bytes.size());
    return false;
  }
  std::memcpy(out.bytes.data(), bytes.data(), bytes.size());
  return true;
}

// §3.5: content = Kc (256) || WKc, and WKc ends in its own total length (u16 BE).
bool parse_tcv2_client_key(std::string_view pem, tcv2_client_key& out, std::string& err) {
  std::vector<uint8_t> bytes;
  if (!pem_decode(pem, k_tcv2_client_name, bytes, err)) return false;
  constexpr size_t k_min_wkc = wire::k_tls_crypt_tag + wire::k_tcv2_client_key + 2;
  if (bytes.size() < wire::k_tcv2_client_key + k_min_wkc) {
    err = "tls-crypt-v2 client key too short (" + std::to_string(bytes.size()) + " bytes)";
    return false;
  }
  size_t wkc_len = bytes.size() - wire::k_tcv2_client_key;
  size_t declared = wire::get_u16(bytes.data() + bytes.size() - 2);
  if (wkc_len > wire::k_tcv2_max_wkc || declared != wkc_len) {
    err = "tls-crypt-v2 client key: wrapped key length " + std::to_string(declared) + " does not match its " +
          std::to_string(wkc_len) + " bytes (at most " + std::to_string(wire::k_tcv2_max_wkc) + ")";
    return false;
  }
  std::memcpy(out.kc.data(), bytes.data(), out.kc.size());
  out.wkc.assign(bytes.begin() + wire::k_tcv2_client_key, bytes.end());
  return true;
}

std::string format_tcv2_server_key(const tcv2_server_key& k) { return pem_encode(k_tcv2_server_name, k.bytes); }

std::string format_tcv2_client_key(const tcv2_client_key& k) {
  std::vector<uint8_t> bytes(k.kc.begin(), k.kc.end());
  bytes.insert(bytes.end(), k.wkc.begin(), k.wkc.end());
  return pem_encode(k_tcv2_client_name, bytes);
}

bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": " + std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    err = path + ": read error";
    return false;
  }
  return true;
}

}  // namespace dpvpn::proto
