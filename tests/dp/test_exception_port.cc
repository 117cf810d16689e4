// SPDX-License-Identifier: MIT
// dp tier: exception port creation errors, and a net_tun round trip with the kernel (root only).
//
//   kernel socket            dpvtest0 (tun, 10.250.7.1/24, 2 queues)        DPDK port
//   udp -> 10.250.7.2:9  ->  routed into the tun                      ->  rx queue 0 or 1
//   udp bound 10.250.7.1 <-  delivered locally                        <-  tx queue 0 (IPv4/UDP)
#include "dpvpn/exception_port.h"

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "dpvpn/ports.h"
#include "eal_env.h"

namespace dpvpn::test {
namespace {

[[maybe_unused]] auto* const env =
    ::testing::AddGlobalTestEnvironment(new eal_env("dpvpn-test-exc"));

constexpr const char* k_ifname = "dpvtest0";
constexpr uint32_t k_if_addr = 0x0afa0701;     // 10.250.7.1, the kernel side
constexpr uint32_t k_peer_addr = 0x0afa0702;   // 10.250.7.2, "a client" behind the port
constexpr uint32_t k_routed_net = 0x0afa0800;  // 10.250.8.0/24, added with add_kernel_route

bool can_make_tun() { return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0; }

// Closes a socket on scope exit.
struct sock {
  int fd;
  explicit sock(int f) : fd(f) {}
  ~sock() { if (fd >= 0) close(fd); }
};

sockaddr_in v4(uint32_t host_addr, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host_addr);
  a.sin_port = htons(port);
  return a;
}

// Polls every rx queue for up to 2 s for an IPv4/UDP packet to dst:dport; returns it (caller frees)
// and the queue it came on. Other traffic (IPv6 router solicitations, MLD) is dropped.
rte_mbuf* wait_for_udp(uint16_t port, uint16_t queues, uint32_t dst, uint16_t dport, uint16_t& queue) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    for (uint16_t q = 0; q < queues; ++q) {
      rte_mbuf* pkts[16];
      uint16_t n = rte_eth_rx_burst(port, q, pkts, 16);
      rte_mbuf* found = nullptr;
      for (uint16_t i = 0; i < n; ++i) {
        auto* ip = rte_pktmbuf_mtod(pkts[i], const rte_ipv4_hdr*);
        bool match = !found && rte_pktmbuf_data_len(pkts[i]) >= 28 && (ip->version_ihl >> 4) == 4 &&
                     ip->next_proto_id == IPPROTO_UDP && rte_be_to_cpu_32(ip->dst_addr) == dst &&
                     rte_be_to_cpu_16(reinterpret_cast<const rte_udp_hdr*>(ip + 1)->dst_port) == dport;
        if (match) {
          found = pkts[i];
          queue = q;
        } else {
          rte_pktmbuf_free(pkts[i]);
        }
      }
      if (found) return found;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return nullptr;
}

// IPv4/UDP from src:sport to dst:dport with software checksums (no offload on tun).
rte_mbuf* make_udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const char* payload) {
  size_t plen = std::strlen(payload);
  rte_mbuf* m = rte_pktmbuf_alloc(test_pool);
  if (!m) return nullptr;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(rte_pktmbuf_append(m, uint16_t(28 + plen)));
  if (!ip) return nullptr;
  std::memset(ip, 0, 28);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(uint16_t(28 + plen));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(sport);
  udp->dst_port = rte_cpu_to_be_16(dport);
  udp->dgram_len = rte_cpu_to_be_16(uint16_t(8 + plen));
  std::memcpy(udp + 1, payload, plen);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return m;
}

TEST(exception_port, creation_errors_are_clear) {
  ASSERT_TRUE(eal_ok);
  uint16_t port = 0;
  std::string err;
  kni::exception_conf c;

  c.kind = "bogus";
  c.ifname = "dpvtest9";
  EXPECT_EQ(kni::create_exception_port(c, port, err), -EINVAL);
  EXPECT_NE(err.find("unknown kind 'bogus'"), std::string::npos) << err;

  c.kind = "tun";
  c.ifname = "lo";  // exists on every machine; must not be touched
  EXPECT_EQ(kni::create_exception_port(c, port, err), -EEXIST);
  EXPECT_NE(err.find("lo already exists"), std::string::npos) << err;

  c.ifname = "a,b";
  EXPECT_EQ(kni::create_exception_port(c, port, err), -EINVAL);
  c.ifname = "this-name-is-too-long";
  EXPECT_EQ(kni::create_exception_port(c, port, err), -EINVAL);

  c.ifname = "dpvtest9";
  c.queues = 17;
  EXPECT_EQ(kni::create_exception_port(c, port, err), -EINVAL);
  c.queues = 1;

  if (access("/dev/vhost-net", R_OK | W_OK) != 0) {
    c.kind = "virtio-user";
    EXPECT_EQ(kni::create_exception_port(c, port, err), -ENODEV);
    EXPECT_NE(err.find("virtio-user needs /dev/vhost-net"), std::string::npos) << err;
  }
  EXPECT_EQ(if_nametoindex("dpvtest9"), 0u) << "nothing was created";

  EXPECT_EQ(kni::configure_kernel_iface("dpvtest9", k_if_addr, 24, 1500, err), -ENODEV);
  EXPECT_NE(err.find("dpvtest9"), std::string::npos) << err;
  EXPECT_EQ(kni::add_kernel_route("dpvtest9", k_routed_net, 24, err), -ENODEV);
}

TEST(exception_port, tun_round_trip_with_the_kernel) {
  ASSERT_TRUE(eal_ok);
  if (!can_make_tun()) GTEST_SKIP() << "needs root and /dev/net/tun";
  ASSERT_EQ(if_nametoindex(k_ifname), 0u) << k_ifname << " left over from an earlier run";

  kni::exception_conf c{.kind = "tun", .ifname = k_ifname, .queues = 2, .mtu = 1400,
                        .addr = k_if_addr, .prefix = 24};
  uint16_t port = 0;
  std::string err;
  ASSERT_EQ(kni::create_exception_port(c, port, err), 0) << err;
  // Whatever fails below, the port and its interface go away.
  struct cleanup {
    uint16_t port;
    ~cleanup() {
      std::string e;
      EXPECT_EQ(kni::destroy_exception_port(port, e), 0) << e;
      EXPECT_EQ(if_nametoindex(k_ifname), 0u) << k_ifname << " still exists";
    }
  } guard{port};

  // Same name twice: refused before DPDK is asked.
  uint16_t dup = 0;
  EXPECT_EQ(kni::create_exception_port(c, dup, err), -EEXIST);

  dp::port_conf pc{.port_id = port, .queues = c.queues, .pool = test_pool, .want_rss = false};
  dp::port_info info;
  ASSERT_EQ(dp::setup_port(pc, info, err), 0) << err;
  EXPECT_EQ(info.queues, 2);
  EXPECT_FALSE(info.rss_on);
  EXPECT_EQ(dp::find_wan_port(port), -1) << "the exception port is never the WAN port";
  ASSERT_EQ(kni::configure_kernel_iface(k_ifname, c.addr, c.prefix, c.mtu, err), 0) << err;
  ASSERT_EQ(kni::add_kernel_route(k_ifname, k_routed_net, 24, err), 0) << err;
  EXPECT_EQ(kni::add_kernel_route(k_ifname, k_routed_net | 5, 24, err), -EINVAL) << "host bits";

  // Kernel -> DPDK: the connected /24 and the added route both lead into the tun.
  sock tx(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(tx.fd, 0);
  const struct { uint32_t dst; const char* payload; } to_dp[] = {
      {k_peer_addr, "dpvpn kernel->dp connected"}, {k_routed_net | 5, "dpvpn kernel->dp routed"}};
  for (const auto& t : to_dp) {
    sockaddr_in dst = v4(t.dst, 9);
    size_t plen = std::strlen(t.payload);
    ASSERT_EQ(sendto(tx.fd, t.payload, plen, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst),
              ssize_t(plen)) << strerror(errno);
    uint16_t q = 0;
    rte_mbuf* m = wait_for_udp(port, info.queues, t.dst, 9, q);
    ASSERT_NE(m, nullptr) << "nothing arrived on any rx queue";
    EXPECT_LT(q, info.queues);
    // net_tun frames start at the IP header.
    auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    EXPECT_EQ(ip->version_ihl, RTE_IPV4_VHL_DEF);
    EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 28 + plen);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 28 + plen);
    EXPECT_EQ(rte_be_to_cpu_32(ip->src_addr), k_if_addr);
    EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "header checksum verifies (sums to 0xffff)";
    EXPECT_EQ(std::memcmp(reinterpret_cast<const char*>(ip) + 28, t.payload, plen), 0);
    rte_pktmbuf_free(m);
  }

  // DPDK -> kernel: a datagram to the kernel side's address reaches a bound socket.
  sock rx(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(rx.fd, 0);
  sockaddr_in local = v4(k_if_addr, 0);
  ASSERT_EQ(bind(rx.fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0) << strerror(errno);
  socklen_t alen = sizeof local;
  ASSERT_EQ(getsockname(rx.fd, reinterpret_cast<sockaddr*>(&local), &alen), 0);
  timeval tv{.tv_sec = 2, .tv_usec = 0};
  setsockopt(rx.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  const char* payload = "dpvpn dp->kernel";
  for (uint16_t q = 0; q < info.queues; ++q) {
    rte_mbuf* m = make_udp(k_peer_addr, 4000 + q, k_if_addr, ntohs(local.sin_port), payload);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port, q, &m, 1), 1) << "queue " << q;
    char buf[128];
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(rx.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    ASSERT_EQ(n, ssize_t(std::strlen(payload))) << "queue " << q << ": " << strerror(errno);
    EXPECT_EQ(std::memcmp(buf, payload, size_t(n)), 0);
    EXPECT_EQ(ntohl(from.sin_addr.s_addr), k_peer_addr);
    EXPECT_EQ(ntohs(from.sin_port), 4000 + q);
  }
}

}  // namespace
}  // namespace dpvpn::test
