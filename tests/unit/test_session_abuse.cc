// SPDX-License-Identifier: MIT
// Hostile input from an authenticated or authenticating peer (issue 11): names with control
// bytes, PUSH_REQUEST floods, sessions that never ask for their push, failed and changed
// renegotiations. Server and client sessions on a perfect wire with a simulated clock.
#include <gtest/gtest.h>

#include "dpvpn/session.h"
#include "session_fixture.h"

using namespace dpvpn;
using namespace dpvpn::proto;
using namespace dpvpn::proto::test;

namespace {

// F5: openvpn's string_mod_remap_name runs on the username before anything sees it, so
// "alice\n<alice's password>" is the user "alice_<password>", never a second line for a
// via-file script to read as alice's password.
TEST(session_abuse, crlf_in_username_is_mapped_before_anyone_sees_it) {
  if (pki().empty()) GTEST_SKIP() << "no PKI";
  fixture f;
  f.ccfg.username = "alice\nsecret\r";
  f.ccfg.password = "x\ny";
  session server(f.scfg, f.now), client(f.ccfg, f.now);
  client.start(f.now);
  std::vector<session_event> sev;
  pump(client, server, f.now, nullptr, &sev, false);
  ASSERT_TRUE(has(sev, session_event_type::auth_request));
  EXPECT_EQ(server.username(), "alice_secret_");
  EXPECT_EQ(server.password(), "x_y");
  for (const session_event& e : sev)
    if (e.type == session_event_type::auth_request) EXPECT_EQ(e.text, "alice_secret_");
}

}  // namespace
