// SPDX-License-Identifier: MIT
// server.conf syntax pieces shared with CCD files and script output: OpenVPN's word splitting,
// the error type, file references. The directive table itself is config.cc.
#include <cstdio>
#include <utility>

#include "config_internal.h"
#include "dpvpn/config.h"
#include "dpvpn/static_key.h"

namespace dpvpn::cp {

config_error::config_error(std::string file, unsigned line, std::string directive, std::string detail)
    : std::runtime_error(file + (line != 0 ? ":" + std::to_string(line) : std::string()) + ": " + directive + ": " +
                         detail),
      file_(std::move(file)),
      line_(line),
      directive_(std::move(directive)),
      detail_(std::move(detail)) {}

std::string file_ref::load(const std::string& config_file) const {
  if (is_inline) return inline_text;
  std::string out, err;
  if (!proto::read_file(path, out, err))
    throw config_error(config_file, line, directive, "expected a readable file, got " + err);
  return out;
}

// Shown in errors as `got "..."` (config_internal.h).
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 60) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

unsigned server_subnet::prefix_len() const noexcept {
  unsigned n = 0;
  for (uint32_t m = netmask; (m & 0x80000000u) != 0; m <<= 1) ++n;
  return n;
}

// OpenVPN's line syntax: words split on blanks. A word that starts with " runs to the next
// unescaped " and one that starts with ' to the next ' (no escapes inside), and either ends there;
// a quote inside a word is an ordinary character. Outside single quotes a backslash takes the next
// character literally. # or ; where a word would start begins a comment. Returns an error text,
// or empty.
std::string split_config_words(std::string_view line, std::vector<std::string>& out) {
  std::string cur;
  bool in_word = false, escape = false;
  char quote = 0;
  auto end_word = [&] {
    out.push_back(std::move(cur));
    cur.clear();
    in_word = false;
    quote = 0;
  };
  for (char ch : line) {
    if (escape) {
      cur += ch;
      escape = false;
    } else if (quote == '\'') {
      if (ch == '\'') end_word();
      else cur += ch;
    } else if (ch == '\\') {
      escape = in_word = true;
    } else if (quote == '"') {
      if (ch == '"') end_word();
      else cur += ch;
    } else if (ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f') {
      if (in_word) end_word();
    } else if (!in_word && (ch == '#' || ch == ';')) {
      break;
    } else if (!in_word && (ch == '"' || ch == '\'')) {
      quote = ch;
      in_word = true;
    } else {
      cur += ch;
      in_word = true;
    }
  }
  if (quote != 0) return std::string("expected a closing ") + quote + " on this line";
  if (escape) return "expected a character after the backslash at the end of the line";
  if (in_word) out.push_back(std::move(cur));
  return {};
}

}  // namespace dpvpn::cp
