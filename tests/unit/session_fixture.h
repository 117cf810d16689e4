// SPDX-License-Identifier: MIT
// Shared by the session tests: a test PKI, a server/client config pair and a perfect-wire pump.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dpvpn/session.h"
#include "dpvpn/static_key.h"

namespace dpvpn::proto::test {

inline const std::string& pki() {
  static std::string dir = [] {
    const char* src = std::getenv("DPVPN_SRC");
    std::string root = src ? src : DPVPN_SOURCE_ROOT;
    std::string d = (std::filesystem::temp_directory_path() / ("dpvpn-session-pki-" + std::to_string(::getpid()))).string();
    if (std::system((root + "/tools/gen-test-pki.sh " + d + " >/dev/null 2>&1").c_str()) != 0) d.clear();
    // Throwaway keys: gone when the test process exits.
    if (!d.empty()) std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                      ("dpvpn-session-pki-" + std::to_string(::getpid())), ec);
    });
    return d;
  }();
  return dir;
}

inline std::string slurp(const std::string& p) {
  std::string s, err;
  EXPECT_TRUE(read_file(p, s, err)) << err;
  return s;
}

struct fixture {
  std::unique_ptr<tls_context> stls, ctls;
  session_config scfg, ccfg;
  uint64_t now = 1'800'000'000'000ull;

  explicit fixture(wrap_mode w = wrap_mode::tls_crypt) {
    const std::string& d = pki();
    std::string err;
    tls_config sc;
    sc.ca_file = d + "/ca.crt";
    sc.cert_file = d + "/server.crt";
    sc.key_file = d + "/server.key";
    stls = tls_context::create(sc, err);
    EXPECT_TRUE(stls) << err;
    tls_config cc = sc;
    cc.server = false;
    cc.cert_file = d + "/client1.crt";
    cc.key_file = d + "/client1.key";
    ctls = tls_context::create(cc, err);
    EXPECT_TRUE(ctls) << err;
    scfg.wrap = ccfg.wrap = w;
    if (w != wrap_mode::none) {
      key2 k{};
      EXPECT_TRUE(parse_static_key(slurp(d + "/tls-crypt.key"), k, err)) << err;
      scfg.wrap_key = ccfg.wrap_key = k;
      scfg.key_direction = 0;
      ccfg.key_direction = 1;
    }
    scfg.server = true;
    scfg.tls = stls.get();
    ccfg.server = false;
    ccfg.tls = ctls.get();
  }
};

// Moves packets between two sessions until both are quiet; returns server events seen.
inline void pump(session& a, session& b, uint64_t now, std::vector<session_event>* a_ev = nullptr,
          std::vector<session_event>* b_ev = nullptr, bool auto_auth = true) {
  for (int round = 0; round < 200; ++round) {
    bool moved = false;
    std::vector<uint8_t> p;
    while (a.pop_packet(p)) {
      b.on_packet(p, now);
      moved = true;
    }
    while (b.pop_packet(p)) {
      a.on_packet(p, now);
      moved = true;
    }
    session_event ev;
    while (a.pop_event(ev)) {
      if (auto_auth && ev.type == session_event_type::auth_request) a.authorize(true, {"ping 10"}, "", now);
      if (a_ev) a_ev->push_back(ev);
      moved = true;
    }
    while (b.pop_event(ev)) {
      if (auto_auth && ev.type == session_event_type::auth_request) b.authorize(true, {"ping 10"}, "", now);
      if (b_ev) b_ev->push_back(ev);
      moved = true;
    }
    if (!moved) return;
  }
}

inline bool has(const std::vector<session_event>& v, session_event_type t) {
  for (auto& e : v)
    if (e.type == t) return true;
  return false;
}

}  // namespace dpvpn::proto::test
