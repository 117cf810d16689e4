// SPDX-License-Identifier: MIT
// status_report (control/status_report.h): the status file in openvpn's three versions and the
// counters print, from entries and counters built here (no sessions, no DPDK).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "status_report.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

class StatusReport : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  static std::vector<status_entry> two() {
    status_entry a;
    a.cn = "alice";
    a.real = "192.0.2.1:40000";
    a.username = "UNDEF";
    a.cipher = "AES-256-GCM";
    a.vpn_ip = 0x0a080002;
    a.peer_id = 0;
    a.rx = 100;
    a.tx = 200;
    a.since_s = 1700000000;
    a.last_s = 1700000060;
    status_entry b = a;
    b.cn = "UNDEF";
    b.real = "[2001:db8::1]:40001";
    b.username = "bob";
    b.vpn_ip = 0;
    b.vpn_ip6 = *parse_ipv6("fd00:8::1000");
    b.peer_id = 7;
    b.cid = 3;  // the management client-id: its own column
    return {a, b};
  }
};

TEST_F(StatusReport, Version1) {
  EXPECT_EQ(format_status(1, 1700000100, two()),
            "OpenVPN CLIENT LIST\n"
            "Updated,2023-11-14 22:15:00\n"
            "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since\n"
            "alice,192.0.2.1:40000,100,200,2023-11-14 22:13:20\n"
            "UNDEF,[2001:db8::1]:40001,100,200,2023-11-14 22:13:20\n"
            "ROUTING TABLE\n"
            "Virtual Address,Common Name,Real Address,Last Ref\n"
            "10.8.0.2,alice,192.0.2.1:40000,2023-11-14 22:14:20\n"
            "fd00:8::1000,UNDEF,[2001:db8::1]:40001,2023-11-14 22:14:20\n"
            "GLOBAL STATS\n"
            "Max bcast/mcast queue length,0\n"
            "END\n");
}

TEST_F(StatusReport, Version2And3) {
  const std::string v2 = format_status(2, 1700000100, two());
  EXPECT_EQ(v2,
            "TITLE,dpvpn (OpenVPN 2.6 protocol)\n"
            "TIME,2023-11-14 22:15:00,1700000100\n"
            "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,"
            "Bytes Sent,Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher\n"
            "CLIENT_LIST,alice,192.0.2.1:40000,10.8.0.2,,100,200,2023-11-14 22:13:20,1700000000,UNDEF,0,0,AES-256-GCM\n"
            "CLIENT_LIST,UNDEF,[2001:db8::1]:40001,,fd00:8::1000,100,200,2023-11-14 22:13:20,1700000000,bob,3,7,"
            "AES-256-GCM\n"
            "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)\n"
            "ROUTING_TABLE,10.8.0.2,alice,192.0.2.1:40000,2023-11-14 22:14:20,1700000060\n"
            "ROUTING_TABLE,fd00:8::1000,UNDEF,[2001:db8::1]:40001,2023-11-14 22:14:20,1700000060\n"
            "GLOBAL_STATS,Max bcast/mcast queue length,0\n"
            "GLOBAL_STATS,dco_enabled,0\n"
            "END\n");
  std::string v3 = format_status(3, 1700000100, two());
  std::string v2tabs = v2;
  // Version 3 is version 2 with tabs (no field here has a comma of its own).
  for (char& ch : v2tabs)
    if (ch == ',') ch = '\t';
  EXPECT_EQ(v3, v2tabs);
  EXPECT_EQ(format_status(1, 0, {}).find("ROUTING TABLE\nVirtual Address,Common Name,Real Address,Last Ref\nGLOBAL"),
            format_status(1, 0, {}).find("ROUTING TABLE"));
}

TEST_F(StatusReport, Counters) {
  auto sh = std::make_unique<dp::dp_shared>();
  auto l0 = std::make_unique<dp::dp_lcore>();
  auto l1 = std::make_unique<dp::dp_lcore>();
  l0->lcore_id = 3;
  l1->lcore_id = 5;
  l0->ctr.wan_rx_pkts = 10;
  l0->ctr.decrypted = 9;
  l0->ctr.dropped(dp::drop::malformed_frame, 2);
  l1->ctr.dropped(dp::drop::malformed_frame, 1);
  sh->cfg.n_workers = 2;
  sh->lcores[0] = l0.get();
  sh->lcores[1] = l1.get();
  control_counters cc;
  cc.clients = 4;
  cc.refused = 1;
  cc.half_open_refused = 2;
  cc.services = {"lan: resolver ok"};
  const std::string s = format_counters("test", *sh, cc);
  EXPECT_EQ(s.rfind("counters (test):\n  lcore 3: wan rx 10/0 B", 0), 0u) << s;
  EXPECT_NE(s.find("\n  lcore 5: wan rx 0/0 B"), std::string::npos) << s;
  EXPECT_NE(s.find("dec 9 enc 0"), std::string::npos) << s;
  EXPECT_NE(s.find("\n  drops: malformed_frame=3\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("lan rx"), std::string::npos);  // no dp-lan
  EXPECT_NE(s.find("\n  control: clients 4, cookie/front drops 0, refused 1, connect-freq refused 0, "
                   "connect-freq-initial dropped 0, ctl_tx drops 0, log lines held back 0, half-open refused 2\n"
                   "  lan: resolver ok"),
            std::string::npos)
      << s;
  sh->cfg.lan.on = true;
  l0->ctr.dropped(dp::drop::malformed_frame, 0);
  EXPECT_NE(format_counters("x", *sh, cc).find("\n    lan rx 0/0 B"), std::string::npos);
  dp::dp_shared quiet;
  quiet.cfg.n_workers = 0;
  EXPECT_NE(format_counters("x", quiet, {}).find("drops: none"), std::string::npos);
}

}  // namespace

namespace dpvpn::cp {
namespace {

// The client role's status (client_mgmt.h): openvpn's "OpenVPN STATISTICS" rows in its order.
TEST(ClientStatus, OpenvpnStatisticsRows) {
  client_bytes b;
  b.tun_read = 1, b.tun_write = 2, b.link_read = 3, b.link_write = 4;
  EXPECT_EQ(format_client_status(1700000100, b),
            "OpenVPN STATISTICS\nUpdated," + status_time_text(1700000100) +
                "\nTUN/TAP read bytes,1\nTUN/TAP write bytes,2\nTCP/UDP read bytes,3\nTCP/UDP write bytes,4\n"
                "Auth read bytes,3\nEND\n");
}

}  // namespace
}  // namespace dpvpn::cp
