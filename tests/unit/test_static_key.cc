// SPDX-License-Identifier: MIT
// Key files (§3.1, §3.5): known vectors from §15, error cases, and keys written by a real openvpn.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "dpvpn/static_key.h"
#include "dpvpn/tls_wrap.h"

using namespace dpvpn;
using namespace dpvpn::proto;

namespace {

std::vector<uint8_t> hx(std::string_view s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

key2 to_key2(const std::vector<uint8_t>& v) {
  key2 k{};
  EXPECT_EQ(v.size(), k.size());
  std::copy_n(v.begin(), std::min(v.size(), k.size()), k.begin());
  return k;
}

// §15.2, as openvpn --genkey secret lays it out.
const char* const k_upstream_key_file =
    "#\n"
    "# 2048 bit OpenVPN static key\n"
    "#\n"
    "-----BEGIN OpenVPN Static key V1-----\n"
    "37268ea8f95d7f71f9fb8fc03770c460\ndaf714a483d815c013ce0a537efc18f2\n"
    "8f4f172669d9e6a413bac6741d8ea054\n00f49b7fd6326470f23798c606bf53d4\n"
    "de63ebc64ec59d57ce5d04d5b62e68b5\n3ca6e5354351097fa370446c4d269f18\n"
    "7bb6ae54af2dc70ff7317fe2f8754b82\n82aad4202f9fa42c8640245d883e2c54\n"
    "a0c1c489a036cf3a8964d8d289c1583b\n9447c262b1da5fd167a5d27bd5ac5143\n"
    "17bc2343a31a2efc38dd920d910375f5\n1c2e27f3afd36c49269da079f7ce466e\n"
    "bb0f9ad13e9bbb4665974e6bc24b513c\n5700393bf4a3e7f967e2f384069ac8a8\n"
    "e78b18b15604993fd16515cce9c0f3e4\n2b4126b999005ade802797b0eeb8b9e6\n"
    "-----END OpenVPN Static key V1-----\n";

// The hex digits between the header and footer lines of the file above.
std::string upstream_digits() {
  std::string_view file = k_upstream_key_file;
  size_t b = file.find('\n', file.find("-----BEGIN")) + 1;
  std::string out;
  for (char c : file.substr(b, file.find("-----END") - b))
    if (c != '\n') out.push_back(c);
  return out;
}

key2 upstream_key() { return to_key2(hx(upstream_digits())); }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST(static_key, parses_upstream_key_and_formats_it_back) {
  key2 k{};
  std::string err;
  ASSERT_TRUE(parse_static_key(k_upstream_key_file, k, err)) << err;
  EXPECT_EQ(k[0], 0x37);
  EXPECT_EQ(k[128], 0xa0);
  EXPECT_EQ(k[255], 0xe6);
  EXPECT_EQ(format_static_key(k), k_upstream_key_file);
}

TEST(static_key, ignores_text_before_header_and_after_footer_and_any_line_length) {
  std::string text = std::string("ca ca.crt\n<tls-auth>\n") + k_upstream_key_file + "</tls-auth>\n";
  key2 k{};
  std::string err;
  ASSERT_TRUE(parse_static_key(text, k, err)) << err;
  EXPECT_EQ(k, upstream_key());
  // One long line, uppercase digits, CRLF and blanks between the nibbles of a pair are accepted.
  std::string digits = upstream_digits();
  for (char& c : digits) c = char(std::toupper(static_cast<unsigned char>(c)));
  std::string flat = "-----BEGIN OpenVPN Static key V1-----\r\n " + digits.substr(0, 1) + " \t" + digits.substr(1) +
                     "\r\n-----END OpenVPN Static key V1-----";
  k = {};
  ASSERT_TRUE(parse_static_key(flat, k, err)) << err;
  EXPECT_EQ(k, upstream_key());
}

TEST(static_key, errors_name_the_line) {
  key2 k{};
  std::string err;
  std::string bad = replace_all(k_upstream_key_file, "0f49b7f", "0f49x7f");  // line 8 of the file
  EXPECT_FALSE(parse_static_key(bad, k, err));
  EXPECT_NE(err.find("line 8"), std::string::npos) << err;

  EXPECT_FALSE(parse_static_key("no key here\n", k, err));
  EXPECT_NE(err.find("BEGIN"), std::string::npos);

  std::string no_footer = k_upstream_key_file;
  no_footer.resize(no_footer.find("-----END"));
  EXPECT_FALSE(parse_static_key(no_footer, k, err));
  EXPECT_NE(err.find("END"), std::string::npos);

  std::string dash = replace_all(k_upstream_key_file, "-----END", "-----ENX");
  EXPECT_FALSE(parse_static_key(dash, k, err));
}

TEST(static_key, rejects_wrong_sizes) {
  key2 k{};
  std::string err;
  const std::string_view last = "2b4126b999005ade802797b0eeb8b9e6";  // the last line of the key
  std::string shorter = replace_all(k_upstream_key_file, last, last.substr(0, 30));
  EXPECT_FALSE(parse_static_key(shorter, k, err));
  EXPECT_NE(err.find("255 bytes"), std::string::npos) << err;
  std::string longer = replace_all(k_upstream_key_file, last, std::string(last) + "00");
  EXPECT_FALSE(parse_static_key(longer, k, err));
  std::string odd = replace_all(k_upstream_key_file, last, std::string(last) + "0");
  EXPECT_FALSE(parse_static_key(odd, k, err));
  EXPECT_FALSE(
      parse_static_key("-----BEGIN OpenVPN Static key V1-----\n-----END OpenVPN Static key V1-----\n", k, err));
}

// §15.8 server key 00..7f; the expected PEM was produced by Python's base64 module.
TEST(tcv2_key, server_key_pem_round_trip) {
  tcv2_server_key sk;
  for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = uint8_t(i);
  const std::string want =
      "-----BEGIN OpenVPN tls-crypt-v2 server key-----\n"
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n"
      "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\n"
      "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8=\n"
      "-----END OpenVPN tls-crypt-v2 server key-----\n";
  EXPECT_EQ(format_tcv2_server_key(sk), want);
  tcv2_server_key back;
  std::string err;
  ASSERT_TRUE(parse_tcv2_server_key("# comment\n" + want, back, err)) << err;
  EXPECT_EQ(back.bytes, sk.bytes);
}

TEST(tcv2_key, server_key_errors) {
  tcv2_server_key sk;
  std::string err;
  const std::string head = "-----BEGIN OpenVPN tls-crypt-v2 server key-----\n";
  const std::string tail = "\n-----END OpenVPN tls-crypt-v2 server key-----\n";
  EXPECT_FALSE(parse_tcv2_server_key(head + "AAEC" + tail, sk, err));  // 3 bytes
  EXPECT_NE(err.find("expected 128"), std::string::npos) << err;
  EXPECT_FALSE(parse_tcv2_server_key(head + "AA*C" + tail, sk, err));
  EXPECT_NE(err.find("line 1"), std::string::npos) << err;
  EXPECT_FALSE(parse_tcv2_server_key(head + "AAE" + tail, sk, err));    // not a multiple of 4
  EXPECT_FALSE(parse_tcv2_server_key(head + "AB==" + tail, sk, err));   // non-zero spare bits
  EXPECT_FALSE(parse_tcv2_server_key(head + "A=A=" + tail, sk, err));   // padding in the middle
  EXPECT_FALSE(parse_tcv2_server_key(head + "AAECAwQF", sk, err));      // no footer
  EXPECT_FALSE(parse_tcv2_server_key("AAECAwQF" + tail, sk, err));      // no header
  // A client key is not a server key.
  EXPECT_FALSE(parse_tcv2_server_key(replace_all(head + "AAEC" + tail, "server", "client"), sk, err));
}

TEST(tcv2_key, client_key_round_trip_and_length_check) {
  tcv2_client_key ck;
  for (size_t i = 0; i < ck.kc.size(); ++i) ck.kc[i] = uint8_t(i);
  tcv2_server_key sk;
  for (size_t i = 0; i < sk.bytes.size(); ++i) sk.bytes[i] = uint8_t(i);
  const uint8_t meta[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 0};
  ck.wkc = tcv2_wrap_wkc(sk, ck.kc, meta);
  ASSERT_EQ(ck.wkc.size(), 299u);
  std::string pem = format_tcv2_client_key(ck);
  tcv2_client_key back;
  std::string err;
  ASSERT_TRUE(parse_tcv2_client_key(pem, back, err)) << err;
  EXPECT_EQ(back.kc, ck.kc);
  EXPECT_EQ(back.wkc, ck.wkc);

  tcv2_client_key bad = ck;
  bad.wkc.back() ^= 1;  // declared length 0x012a for 299 bytes
  EXPECT_FALSE(parse_tcv2_client_key(format_tcv2_client_key(bad), back, err));
  bad.wkc.resize(100);
  EXPECT_FALSE(parse_tcv2_client_key(format_tcv2_client_key(bad), back, err));
  bad.wkc.assign(1100, 0);
  bad.wkc[1098] = 0x04;
  bad.wkc[1099] = 0x4c;  // consistent length 1100, over the 1024 limit
  EXPECT_FALSE(parse_tcv2_client_key(format_tcv2_client_key(bad), back, err));
}

TEST(key_file, read_file) {
  std::string out, err;
  EXPECT_FALSE(read_file("/nonexistent/dpvpn-key", out, err));
  EXPECT_NE(err.find("/nonexistent/dpvpn-key"), std::string::npos);
  auto path = std::filesystem::temp_directory_path() / ("dpvpn-key-" + std::to_string(getpid()));
  { std::ofstream(path) << k_upstream_key_file; }
  ASSERT_TRUE(read_file(path.string(), out, err)) << err;
  EXPECT_EQ(out, k_upstream_key_file);
  std::filesystem::remove(path);
}

// Keys written by the installed openvpn binary must parse, format back byte-identically, and
// the client's WKc must unwrap with the server key to the client's own Kc.
class openvpn_keys : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v openvpn >/dev/null 2>&1") != 0) GTEST_SKIP() << "openvpn not on PATH";
    char tmpl[] = "/tmp/dpvpn-keys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void openvpn(const std::string& args) {
    std::string cmd = "cd '" + dir_.string() + "' && openvpn " + args + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string slurp(const char* name) {
    std::string out, err;
    EXPECT_TRUE(read_file((dir_ / name).string(), out, err)) << err;
    return out;
  }
  std::filesystem::path dir_;
};

TEST_F(openvpn_keys, static_key) {
  openvpn("--genkey secret F");
  std::string text = slurp("F");
  key2 k{};
  std::string err;
  ASSERT_TRUE(parse_static_key(text, k, err)) << err;
  EXPECT_EQ(format_static_key(k), text);
}

TEST_F(openvpn_keys, tls_crypt_v2_timestamp_and_user_metadata) {
  openvpn("--genkey tls-crypt-v2-server S");
  openvpn("--tls-crypt-v2 S --genkey tls-crypt-v2-client C");
  openvpn("--tls-crypt-v2 S --genkey tls-crypt-v2-client C2 AABBCCDD");
  std::string err;
  tcv2_server_key sk;
  std::string s_text = slurp("S");
  ASSERT_TRUE(parse_tcv2_server_key(s_text, sk, err)) << err;
  EXPECT_EQ(format_tcv2_server_key(sk), s_text);

  tcv2_client_key c;
  std::string c_text = slurp("C");
  ASSERT_TRUE(parse_tcv2_client_key(c_text, c, err)) << err;
  EXPECT_EQ(format_tcv2_client_key(c), c_text);
  EXPECT_EQ(c.wkc.size(), 299u);
  key2 kc{};
  std::vector<uint8_t> meta;
  ASSERT_EQ(tcv2_unwrap_wkc(sk, c.wkc, kc, meta), wrap_err::ok);
  EXPECT_EQ(kc, c.kc);
  ASSERT_EQ(meta.size(), 9u);
  EXPECT_EQ(meta[0], wire::k_tcv2_meta_timestamp);
  uint64_t ts = 0;
  for (size_t i = 1; i < 9; ++i) ts = ts << 8 | meta[i];
  EXPECT_LE(std::llabs(static_cast<long long>(ts) - static_cast<long long>(std::time(nullptr))), 600);
  // Re-wrapping is deterministic (the IV is the tag), so it reproduces openvpn's WKc.
  EXPECT_EQ(tcv2_wrap_wkc(sk, kc, meta), c.wkc);

  tcv2_client_key c2;
  ASSERT_TRUE(parse_tcv2_client_key(slurp("C2"), c2, err)) << err;
  ASSERT_EQ(tcv2_unwrap_wkc(sk, c2.wkc, kc, meta), wrap_err::ok);
  EXPECT_EQ(kc, c2.kc);
  EXPECT_EQ(meta, hx("00 000041 0820c3"));  // USER type, then base64-decoded "AABBCCDD"

  tcv2_server_key other;
  other.bytes = sk.bytes;
  other.bytes[70] ^= 1;  // a different Ka
  EXPECT_EQ(tcv2_unwrap_wkc(other, c.wkc, kc, meta), wrap_err::bad_wkc_tag);
}
