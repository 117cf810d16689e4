// SPDX-License-Identifier: MIT
// reload: the live directives and the plan (which names changed, which need a restart).
#include "reload.h"

#include <algorithm>
#include <map>
#include <string_view>

namespace dpvpn::cp {

namespace {

// What is read per client at connect (CCD), per auth (scripts), per push (push lists), or is a
// limit the control thread checks as it goes. The CRL file's content is re-read on every reload;
// a new crl-verify path, keys, ports, lcores and networks need a restart.
constexpr std::string_view k_live[] = {
    "client-config-dir", "ccd-exclusive", "push", "push-remove", "max-clients", "verb", "mute",
    "connect-freq", "connect-freq-initial", "script-security", "auth-user-pass-verify", "client-connect",
    "client-disconnect", "learn-address", "tls-verify", "tls-crypt-v2-verify", "setenv", "setenv-safe",
    "duplicate-cn", "username-as-common-name", "status-version", "dp-route"};

std::map<std::string, std::vector<std::string>> by_name(const server_config& c) {
  std::map<std::string, std::vector<std::string>> m;
  for (const std::string& l : c.directives) m[l.substr(0, l.find('\x1f'))].push_back(l);
  return m;
}

}  // namespace

bool reloads_live(const std::string& name) {
  return std::find(std::begin(k_live), std::end(k_live), name) != std::end(k_live);
}

reload_plan plan_reload(const server_config& running, const server_config& reread) {
  reload_plan p;
  auto a = by_name(running), b = by_name(reread);
  for (const auto& [name, lines] : b) a.try_emplace(name);  // every name of either side
  for (const auto& [name, lines] : a) {
    auto it = b.find(name);
    const std::vector<std::string> none;
    if (lines == (it == b.end() ? none : it->second)) continue;
    (reloads_live(name) ? p.applied : p.refused).push_back(name);
  }
  return p;
}

}  // namespace dpvpn::cp
