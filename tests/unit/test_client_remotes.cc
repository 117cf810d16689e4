// SPDX-License-Identifier: MIT
// The client's remote list and retry policy (control/client_remotes.h): openvpn's connect-retry
// backoff, connect-retry-max, the order of the remotes, remote-random, literal and bad HOSTs.
#include "client_remotes.h"

#include <gtest/gtest.h>

#include <set>

namespace dpvpn::cp {
namespace {

server_config with_remotes(std::initializer_list<const char*> hosts) {
  server_config c;
  unsigned line = 1;
  for (const char* h : hosts) c.remotes.push_back({h, 1194, ip_family::any, line++});
  return c;
}

TEST(ClientRemotes, GoesRoundInOrder) {
  remote_list r(with_remotes({"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.current().host, "10.0.0.1");
  r.next();
  EXPECT_EQ(r.current().host, "10.0.0.2");
  r.next();
  r.next();
  EXPECT_EQ(r.current().host, "10.0.0.1");
}

TEST(ClientRemotes, RetryWaitsDoubleAfterFiveFailuresUpToTheMax) {
  server_config c = with_remotes({"10.0.0.1"});
  c.connect_retry_s = 2;
  c.connect_retry_max_s = 40;
  remote_list r(c);
  for (int i = 0; i < 5; ++i) {
    r.failed();
    EXPECT_EQ(r.retry_delay_ms(), 2000u) << i;
  }
  r.failed();
  EXPECT_EQ(r.retry_delay_ms(), 4000u);
  r.failed();
  EXPECT_EQ(r.retry_delay_ms(), 8000u);
  for (int i = 0; i < 30; ++i) r.failed();
  EXPECT_EQ(r.retry_delay_ms(), 40000u);  // connect-retry's MAX caps it, however many failures
  r.connected();
  EXPECT_EQ(r.retry_delay_ms(), 2000u);
}

TEST(ClientRemotes, ConnectRetryMaxCountsEveryRemoteSinceTheLastConnection) {
  server_config c = with_remotes({"10.0.0.1", "10.0.0.2"});
  c.connect_retry_max_tries = 2;
  remote_list r(c);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.take_attempt()) << i;
  EXPECT_FALSE(r.take_attempt());
  r.connected();
  EXPECT_TRUE(r.take_attempt());
}

TEST(ClientRemotes, UnlimitedWithoutConnectRetryMax) {
  remote_list r(with_remotes({"10.0.0.1"}));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(r.take_attempt());
}

TEST(ClientRemotes, RemoteRandomShufflesOnceAndKeepsEveryRemote) {
  server_config c = with_remotes({"a", "b", "c", "d", "e", "f", "g", "h"});
  c.remote_random = true;
  std::set<std::string> firsts;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    remote_list r(c, seed);
    std::multiset<std::string> all;
    for (size_t i = 0; i < r.size(); ++i, r.next()) all.insert(r.current().host);
    EXPECT_EQ(all, (std::multiset<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"}));
    firsts.insert(r.current().host);
  }
  EXPECT_GT(firsts.size(), 1u);  // the order is not the config's every time
}

TEST(ClientRemotes, ResolvesLiteralsWithoutTheResolver) {
  std::string err;
  auto a = resolve_remote("192.0.2.7", ip_family::any, true, false, err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(net::is_v4_mapped(*a));
  EXPECT_EQ(net::v4_of(*a), 0xc0000207u);
  auto b = resolve_remote("2001:db8::9", ip_family::any, false, true, err);
  ASSERT_TRUE(b);
  EXPECT_FALSE(net::is_v4_mapped(*b));
}

TEST(ClientRemotes, AnUnresolvableNameIsAnError) {
  std::string err;
  EXPECT_FALSE(resolve_remote("no-such-host.invalid", ip_family::any, true, true, err));
  EXPECT_NE(err.find("cannot resolve no-such-host.invalid"), std::string::npos) << err;
}

}  // namespace
}  // namespace dpvpn::cp
