// SPDX-License-Identifier: MIT
// addressing (control/addressing.h): pool addresses, client-config-dir files (the client's own,
// DEFAULT, ccd-exclusive, disable, ifconfig-push), the push list's ifconfig lines, iroutes and
// their owner (the later client wins; teardown removes only what it owns), the common-name index.
// Routes go to a fake route_writer; no DPDK.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "addressing.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

struct fake_routes : route_writer {
  std::set<std::tuple<uint32_t, uint8_t, uint32_t>> v4;
  std::set<std::pair<ipv6_addr, uint8_t>> v6;
  int route_add_v4(uint32_t net, uint8_t len, uint32_t peer) override {
    std::erase_if(v4, [&](const auto& t) { return std::get<0>(t) == net && std::get<1>(t) == len; });
    v4.emplace(net, len, peer);
    return 0;
  }
  int route_del_v4(uint32_t net, uint8_t len) override {
    return std::erase_if(v4, [&](const auto& t) { return std::get<0>(t) == net && std::get<1>(t) == len; }) ? 0 : -2;
  }
  int route_add_v6(const uint8_t net[16], uint8_t len, uint32_t) override {
    ipv6_addr a;
    std::copy(net, net + 16, a.begin());
    v6.emplace(a, len);
    return 0;
  }
  int route_del_v6(const uint8_t net[16], uint8_t len) override {
    ipv6_addr a;
    std::copy(net, net + 16, a.begin());
    return v6.erase({a, len}) ? 0 : -2;
  }
};

class Addressing : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dpvpn-ccd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir).c_str()); }
  void file(const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; }
  server_config conf(const std::string& extra) {
    return parse_server_config_text("dev tun\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert server.crt\n"
                                    "key server.key\ntopology subnet\n" + extra, "server.conf");
  }
  std::unique_ptr<client> make(const char* cn, uint32_t peer_id) {
    auto c = std::make_unique<client>();
    c->cn = cn;
    c->name = cn;
    c->peer_id = peer_id;
    return c;
  }
  std::string dir;
  fake_routes routes;
  std::vector<std::string> push{"topology subnet", "route-gateway 10.8.0.1"};
};

// dev tap (openvpn multi.c): the pushed ifconfig carries the netmask, whatever the topology line
// says; an ifconfig-push's second word is the netmask too.
TEST_F(Addressing, TapPushesTheNetmask) {
  file("alice", "ifconfig-push 10.8.0.50 255.255.0.0\n");
  const server_config cfg = parse_server_config_text(
      "dev tap\nserver 10.8.0.0 255.255.255.0\nca ca.crt\ncert server.crt\nkey server.key\ntopology net30\n"
      "client-config-dir " + dir + "\n", "server.conf");
  const std::vector<std::string> tap_push{"route-gateway 10.8.0.1"};
  addressing a(cfg, 0x0a080001, 0xffffff00, tap_push, routes, control_log{0});
  auto alice = make("alice", 1), bob = make("bob", 2);
  EXPECT_EQ(a.assign(*bob), std::nullopt);
  EXPECT_EQ(bob->vpn_ip, 0x0a080002u);  // single addresses from NET+2, not net30's /30s
  EXPECT_EQ(a.client_push(*bob), (std::vector<std::string>{"route-gateway 10.8.0.1", "ifconfig 10.8.0.2 255.255.255.0"}));
  EXPECT_EQ(a.assign(*alice), std::nullopt);
  EXPECT_EQ(a.client_push(*alice).back(), "ifconfig 10.8.0.50 255.255.0.0");
}

// server-bridge GW MASK START END (helper.c): single addresses START .. END, pushed with
// MASK after the route-gateway; nogw and a bare server-bridge: no pool, no ifconfig pushed, and a
// client without an address is served (DHCP through the bridge); an ifconfig-push still applies.
TEST_F(Addressing, ServerBridgePools) {
  const std::string base = "dev tap\nca ca.crt\ncert server.crt\nkey server.key\n";
  server_config cfg = parse_server_config_text(base + "server-bridge 10.8.0.4 255.255.255.0 10.8.0.5 10.8.0.6\n"
                                               "client-config-dir " + dir + "\n", "server.conf");
  const std::vector<std::string> gw_push{"route-gateway 10.8.0.4"};
  {
    addressing a(cfg, 0x0a080004, 0xffffff00, gw_push, routes, control_log{0});
    EXPECT_FALSE(a.v4_by_dhcp());
    auto c1 = make("c1", 1), c2 = make("c2", 2), c3 = make("c3", 3);
    EXPECT_EQ(a.assign(*c1), std::nullopt);
    EXPECT_EQ(c1->vpn_ip, 0x0a080005u);
    EXPECT_EQ(a.client_push(*c1), (std::vector<std::string>{"route-gateway 10.8.0.4", "ifconfig 10.8.0.5 255.255.255.0"}));
    EXPECT_EQ(a.assign(*c2), std::nullopt);
    EXPECT_EQ(c2->vpn_ip, 0x0a080006u);
    EXPECT_EQ(a.assign(*c3), std::nullopt);
    EXPECT_EQ(c3->vpn_ip, 0u);  // the pool is exhausted
  }
  file("static", "ifconfig-push 10.8.0.99 255.255.255.0\n");
  for (const char* form : {"server-bridge nogw\n", "server-bridge\n"}) {
    cfg = parse_server_config_text(base + form + "client-config-dir " + dir + "\n", "server.conf");
    const std::vector<std::string> dhcp_push = cfg.tap_push_route_gateway.empty()
                                                   ? std::vector<std::string>{}
                                                   : std::vector<std::string>{cfg.tap_push_route_gateway};
    addressing a(cfg, 0, 0, dhcp_push, routes, control_log{0});
    EXPECT_TRUE(a.v4_by_dhcp()) << form;
    EXPECT_FALSE(a.pool().has_v4()) << form;
    auto c1 = make("c1", 1), st = make("static", 2);
    EXPECT_EQ(a.assign(*c1), std::nullopt) << form;
    EXPECT_EQ(c1->vpn_ip, 0u) << form;
    EXPECT_EQ(a.client_push(*c1), dhcp_push) << form;
    EXPECT_EQ(a.assign(*st), std::nullopt) << form;
    EXPECT_EQ(st->vpn_ip, 0x0a080063u) << form;
    EXPECT_EQ(a.client_push(*st).back(), "ifconfig 10.8.0.99 255.255.255.0") << form;
  }
}

TEST_F(Addressing, PoolCcdAndPush) {
  file("alice", "ifconfig-push 10.8.0.50 255.255.255.0\niroute 192.168.1.0 255.255.255.0\npush \"route 10.9.0.0 255.255.0.0\"\n");
  file("DEFAULT", "push \"dhcp-option DNS 10.8.0.1\"\n");
  file("mallory", "disable\n");
  const server_config cfg = conf("client-config-dir " + dir + "\n");
  addressing a(cfg, 0x0a080001, 0xffffff00, push, routes, control_log{0});
  auto alice = make("alice", 1), bob = make("bob", 2), mallory = make("mallory", 3);
  EXPECT_EQ(a.assign(*alice), std::nullopt);
  EXPECT_EQ(alice->vpn_ip, 0x0a080032u);  // ifconfig-push
  EXPECT_EQ(a.assign(*bob), std::nullopt);
  EXPECT_EQ(bob->vpn_ip, 0x0a080002u);  // the pool's first
  EXPECT_EQ(a.client_push(*bob), (std::vector<std::string>{"topology subnet", "route-gateway 10.8.0.1",
                                                           "dhcp-option DNS 10.8.0.1", "ifconfig 10.8.0.2 255.255.255.0"}));
  EXPECT_EQ(a.client_push(*alice).at(2), "route 10.9.0.0 255.255.0.0");
  const auto why = a.assign(*mallory);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("'disable' directive"), std::string::npos) << *why;
  // A static address another client holds is refused.
  auto eve = make("eve", 4);
  client_connect_options cc;
  cc.ifconfig_push = std::make_pair(0x0a080032u, 0xffffff00u);
  EXPECT_EQ(a.assign(*eve), std::nullopt);
  EXPECT_TRUE(a.apply_options(*eve, std::move(cc)).has_value());
  EXPECT_EQ(eve->vpn_ip, 0u);
  // Released addresses go back (the slot keeps the name).
  a.release(*bob);
  EXPECT_EQ(bob->vpn_ip, 0u);
  auto bob2 = make("bob", 5);
  EXPECT_EQ(a.assign(*bob2), std::nullopt);
  EXPECT_EQ(bob2->vpn_ip, 0x0a080002u);
}

TEST_F(Addressing, CcdExclusive) {
  file("alice", "push \"route 10.9.0.0 255.255.0.0\"\n");
  file("DEFAULT", "\n");
  const server_config cfg = conf("client-config-dir " + dir + "\nccd-exclusive\n");
  addressing a(cfg, 0x0a080001, 0xffffff00, push, routes, control_log{0});
  auto alice = make("alice", 1), bob = make("bob", 2), deflt = make("DEFAULT", 3);
  EXPECT_EQ(a.assign(*alice), std::nullopt);
  EXPECT_TRUE(a.assign(*bob).has_value());    // DEFAULT does not count
  EXPECT_TRUE(a.assign(*deflt).has_value());  // nor a client named DEFAULT
}

TEST_F(Addressing, IroutesLaterClientWins) {
  file("alice", "iroute 192.168.1.0 255.255.255.0\niroute 192.168.2.0 255.255.255.0\n");
  file("bob", "iroute 192.168.1.0 255.255.255.0\n");
  const server_config cfg = conf("client-config-dir " + dir + "\n");
  addressing a(cfg, 0x0a080001, 0xffffff00, push, routes, control_log{0});
  auto alice = make("alice", 1), bob = make("bob", 2);
  ASSERT_EQ(a.assign(*alice), std::nullopt);
  ASSERT_EQ(a.assign(*bob), std::nullopt);
  a.add_routes(*alice);
  a.add_routes(*bob);
  using r = std::tuple<uint32_t, uint8_t, uint32_t>;
  EXPECT_EQ(routes.v4, (std::set<r>{{0xc0a80100, 24, 2}, {0xc0a80200, 24, 1}}));
  a.del_routes(*alice);  // 192.168.1.0/24 is bob's now
  EXPECT_EQ(routes.v4, (std::set<r>{{0xc0a80100, 24, 2}}));
  a.del_routes(*bob);
  EXPECT_TRUE(routes.v4.empty());
}

TEST_F(Addressing, CommonNameIndex) {
  const server_config cfg = conf("");
  addressing a(cfg, 0x0a080001, 0xffffff00, push, routes, control_log{0});
  auto a1 = make("alice", 1), a2 = make("alice", 2), b = make("bob", 3);
  a.index_cn(*a1);
  a.index_cn(*a1);  // once
  a.index_cn(*b);
  EXPECT_EQ(a.others_with_cn(*a2), std::vector<client*>{a1.get()});
  a1->dead = true;
  EXPECT_TRUE(a.others_with_cn(*a2).empty());
  a1->dead = false;
  a.release(*a1);
  EXPECT_FALSE(a1->cn_indexed);
  EXPECT_TRUE(a.others_with_cn(*a2).empty());
}

}  // namespace
