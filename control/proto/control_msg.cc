// SPDX-License-Identifier: MIT
// Control-channel text messages (§10): splitting, PUSH_REPLY building/accumulation, option words.
#include "dpvpn/control_msg.h"

#include <algorithm>
#include <charconv>

#include "dpvpn/wire.h"

namespace dpvpn::proto {

namespace {

constexpr std::string_view k_push_reply = "PUSH_REPLY";
constexpr std::string_view k_cont_more = ",push-continuation 2";
constexpr std::string_view k_cont_last = ",push-continuation 1";

bool is_crlf(char c) { return c == '\r' || c == '\n'; }
// OpenVPN's CC_PRINT in the C locale.
bool is_print(char c) { return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e; }
// OpenVPN's option-line separators (isspace in the C locale).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

// §10.1: a message ends at its NUL; a trailing piece without NUL is dropped because the
// sender never lets a message span records.
std::vector<std::string> split_control_messages(std::span<const uint8_t> unit) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < unit.size(); ++i) {
    if (unit[i] != 0) continue;
    std::string msg(reinterpret_cast<const char*>(unit.data() + start), i - start);
    start = i + 1;
    while (!msg.empty() && is_crlf(msg.back())) msg.pop_back();
    if (!std::all_of(msg.begin(), msg.end(), is_print)) msg.clear();  // embedded CR/LF or binary
    out.push_back(std::move(msg));
  }
  return out;
}

// §10.3: parts are packed greedily; an option is never split. Sizes count the NUL the sender
// appends, so each message on the wire is <= k_push_bundle_size bytes. An oversize option
// (> 255 chars is already out of spec) still gets sent, alone in its own part.
std::vector<std::string> build_push_reply(const std::vector<std::string>& options) {
  const size_t limit = wire::k_push_bundle_size - 1;  // room for the NUL
  size_t total = k_push_reply.size();
  for (const auto& o : options) total += 1 + o.size();
  if (total <= limit) {
    std::string one(k_push_reply);
    for (const auto& o : options) one.append(",").append(o);
    return {one};
  }

  std::vector<std::string> parts;
  const size_t budget = limit - k_cont_more.size();  // both suffixes have the same length
  std::string cur(k_push_reply);
  for (const auto& o : options) {
    if (cur.size() > k_push_reply.size() && cur.size() + 1 + o.size() > budget) {
      parts.push_back(std::move(cur));
      cur.assign(k_push_reply);
    }
    cur.append(",").append(o);
  }
  parts.push_back(std::move(cur));
  for (size_t i = 0; i < parts.size(); ++i) parts[i].append(i + 1 < parts.size() ? k_cont_more : k_cont_last);
  return parts;
}

// §10.3: options accumulate across parts; the *current* push-continuation value decides
// completeness (0 or 1: complete, 2: more to come). The value persists until reset().
bool push_accumulator::feed(std::string_view msg) {
  if (!msg.starts_with(k_push_reply)) return false;
  msg.remove_prefix(k_push_reply.size());
  if (!msg.empty() && msg.front() != ',') return false;  // "PUSH_REPLYX…" is not a reply
  while (!msg.empty()) {
    msg.remove_prefix(1);  // the comma
    size_t comma = msg.find(',');
    std::string_view opt = msg.substr(0, comma);
    msg = comma == std::string_view::npos ? std::string_view{} : msg.substr(comma);
    if (opt.empty()) continue;
    auto w = split_words(opt);
    if (w.size() == 2 && w[0] == "push-continuation") {
      int v = 0;
      continuation_ = parse_uint(w[1], v) ? v : 0;  // OpenVPN reads it with atoi
      continue;
    }
    options_.emplace_back(opt);
  }
  return continuation_ != 2;
}

// OpenVPN config-line rules: words split on whitespace; "…" and '…' group; a backslash
// escapes the next character except inside single quotes; a word starting with # or ;
// begins a comment; a closing quote ends the word.
words_err split_words(std::string_view line, std::vector<std::string>& out) {
  enum class st { between, bare, dquote, squote } s = st::between;
  std::string word;
  bool esc = false;
  for (char c : line) {
    if (!esc && c == '\\' && s != st::squote) {
      esc = true;
      continue;
    }
    switch (s) {
      case st::between:
        if (!esc && is_space(c)) break;
        if (!esc && (c == '#' || c == ';')) return words_err::ok;
        if (!esc && c == '"') {
          s = st::dquote;
        } else if (!esc && c == '\'') {
          s = st::squote;
        } else {
          word.push_back(c);
          s = st::bare;
        }
        break;
      case st::bare:
        if (!esc && is_space(c)) {
          out.push_back(std::move(word));
          word.clear();
          s = st::between;
        } else {
          word.push_back(c);
        }
        break;
      case st::dquote:
      case st::squote:
        if (!esc && c == (s == st::dquote ? '"' : '\'')) {
          out.push_back(std::move(word));
          word.clear();
          s = st::between;
        } else {
          word.push_back(c);
        }
        break;
    }
    esc = false;
  }
  if (esc) return words_err::trailing_backslash;
  if (s == st::dquote || s == st::squote) return words_err::unterminated_quote;
  if (s == st::bare) out.push_back(std::move(word));
  return words_err::ok;
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> out;
  if (split_words(line, out) != words_err::ok) out.clear();
  return out;
}

const char* to_string(words_err e) noexcept {
  switch (e) {
    case words_err::ok: return "ok";
    case words_err::unterminated_quote: return "no closing quotation";
    case words_err::trailing_backslash: return "backslash at end of line";
  }
  return "?";
}

namespace {

// Applies one known option; false sends the line to `unknown` (unknown keyword or bad arguments).
bool apply_option(const std::vector<std::string>& w, pushed_options& po) {
  const std::string& k = w[0];
  const size_t n = w.size();
  if (k == "cipher" && n == 2) {
    po.cipher = w[1];
  } else if (k == "peer-id" && n == 2) {
    uint32_t v = 0;
    if (!parse_uint(w[1], v) || v >= wire::k_peer_id_none) return false;  // §10.3: 0 <= n < 0xFFFFFF
    po.peer_id = v;
  } else if (k == "protocol-flags" && n >= 2) {
    bool all_known = true;  // unknown flags only warn on a 2.6 client: keep the known ones
    for (size_t i = 1; i < n; ++i) {
      if (w[i] == "cc-exit") po.cc_exit = true;
      else if (w[i] == "tls-ekm") po.tls_ekm = true;
      else if (w[i] == "dyn-tls-crypt") po.dyn_tls_crypt = true;
      else all_known = false;
    }
    return all_known;
  } else if (k == "key-derivation" && n == 2 && w[1] == "tls-ekm") {
    po.tls_ekm = true;
  } else if (k == "ifconfig" && n == 3) {
    po.ifconfig_local = w[1];
    po.ifconfig_remote_or_mask = w[2];
  } else if (k == "topology" && n == 2) {
    po.topology = w[1];
  } else if ((k == "ping" || k == "ping-restart") && n == 2) {
    int v = 0;
    if (!parse_uint(w[1], v)) return false;
    (k == "ping" ? po.ping : po.ping_restart) = v;
  } else if (k == "comp-lzo" && n == 2 && w[1] == "no") {
    po.comp = "lzo-no";
  } else if (k == "compress" && (n == 1 || (n == 2 && w[1] == "stub"))) {
    po.comp = "stub";
  } else if (k == "compress" && n == 2 && w[1] == "stub-v2") {
    po.comp = "stub-v2";
  } else {
    return false;
  }
  return true;
}

}  // namespace

pushed_options parse_pushed_options(const std::vector<std::string>& options) {
  pushed_options po;
  for (const auto& line : options) {
    auto w = split_words(line);
    if (w.empty() || !apply_option(w, po)) po.unknown.push_back(line);
  }
  return po;
}

namespace {

// A client's list: names we do not implement are simply not candidates.
std::vector<crypto::cipher_alg> client_cipher_list(const peer_info& client) {
  if (!client.has_ciphers) {
    if (client.iv_ncp >= 2) return {crypto::cipher_alg::aes_256_gcm, crypto::cipher_alg::aes_128_gcm};
    return {};
  }
  std::vector<crypto::cipher_alg> out;
  std::string_view rest = client.ciphers;
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    if (auto c = crypto::cipher_from_name(rest.substr(0, colon))) out.push_back(*c);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  }
  return out;
}

}  // namespace

// §11: the server's order wins. The fallback only serves a client that announced no list at
// all (no IV_CIPHERS, IV_NCP < 2); a client with a list and no overlap gets nothing.
std::optional<crypto::cipher_alg> ncp_select(const std::vector<crypto::cipher_alg>& server_list,
                                             const peer_info& client,
                                             std::optional<crypto::cipher_alg> fallback) {
  const auto theirs = client_cipher_list(client);
  for (auto c : server_list)
    if (std::find(theirs.begin(), theirs.end(), c) != theirs.end()) return c;
  if (!client.has_ciphers && client.iv_ncp < 2) return fallback;
  return std::nullopt;
}

// A --data-ciphers value: colon separated, case-insensitive names. A name prefixed with '?'
// is optional (skipped when unsupported, as in 2.6); any other unsupported name is an error.
std::vector<crypto::cipher_alg> parse_cipher_list(std::string_view colon_list, std::string* err) {
  std::vector<crypto::cipher_alg> out;
  std::string_view rest = colon_list;
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view name = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (name.empty()) continue;
    bool optional = name.front() == '?';
    if (optional) name.remove_prefix(1);
    auto c = crypto::cipher_from_name(name);
    if (!c) {
      if (optional) continue;
      if (err) *err = "unsupported cipher '" + std::string(name) + "' in data-ciphers";
      return {};
    }
    if (std::find(out.begin(), out.end(), *c) == out.end()) out.push_back(*c);
  }
  if (out.empty() && err) *err = "empty data-ciphers list";
  return out;
}

}  // namespace dpvpn::proto
