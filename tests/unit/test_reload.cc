// SPDX-License-Identifier: MIT
// reload: which changed directives a SIGHUP applies and which it refuses.
#include "reload.h"

#include <gtest/gtest.h>

namespace {

using namespace dpvpn::cp;

const std::string k_base =
    "dev tun\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert server.crt\nkey server.key\ndh none\n";

TEST(Reload, NamesWhatChanged) {
  const server_config a = parse_server_config_text(k_base + "push \"route 10.1.0.0 255.255.0.0\"\nmax-clients 10\nport 1194\n", "a");
  EXPECT_TRUE(plan_reload(a, a).applied.empty());
  EXPECT_TRUE(plan_reload(a, a).refused.empty());
  const server_config b = parse_server_config_text(
      k_base + "push \"route 10.2.0.0 255.255.0.0\"\nmax-clients 20\nport 1195\nverb 4\n<tls-crypt>\nx\n</tls-crypt>\n", "b");
  const reload_plan p = plan_reload(a, b);
  EXPECT_EQ(p.applied, (std::vector<std::string>{"max-clients", "push", "verb"}));
  EXPECT_EQ(p.refused, (std::vector<std::string>{"port", "tls-crypt"}));
  // A directive removed counts as changed too.
  const reload_plan back = plan_reload(b, a);
  EXPECT_EQ(back.refused, (std::vector<std::string>{"port", "tls-crypt"}));
  EXPECT_TRUE(reloads_live("client-config-dir"));
  EXPECT_FALSE(reloads_live("server"));
}

}  // namespace
