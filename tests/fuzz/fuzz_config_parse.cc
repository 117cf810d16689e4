// SPDX-License-Identifier: MIT
// Fuzz the server.conf parser: any text either parses or throws config_error, whose message must
// carry the file name; nothing else may escape, crash or leak. No file is read while parsing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dpvpn/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    dpvpn::cp::server_config c = dpvpn::cp::parse_server_config_text(text, "/fuzz/server.conf");
    // A config that parses satisfies the cross-checks.
    if (!c.server || !c.ca.present() || !c.cert.present() || !c.key.present()) std::abort();
    if (c.keepalive && c.ping_restart != 2 * c.keepalive->second) std::abort();
  } catch (const dpvpn::cp::config_error& e) {
    if (std::string_view(e.what()).substr(0, 18) != "/fuzz/server.conf:") std::abort();
  }
  return 0;
}
