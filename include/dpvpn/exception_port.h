// SPDX-License-Identifier: MIT
// The exception port: the kernel-facing "TUN" that carries decrypted inner packets to the host stack.
//
// kind     vdev                  kernel side          frames start at
// tun      net_tun<N>            tun IFNAME (L3)      the IP header
// tap      net_tap<N>            tap IFNAME (L2)      the Ethernet header
// virtio   virtio_user<N>        tap via vhost-net    the Ethernet header (needs /dev/vhost-net)
//
// Multiqueue: with N queues net_tun/net_tap open the tun device N times with IFF_MULTI_QUEUE, one fd
// per queue. The kernel's automq then steers the return traffic of a flow to the queue that last
// wrote a packet of that flow, so a worker that writes a client's decrypted packets on its own queue
// gets the replies on that queue as well (docs/architecture.md, "Owner choice"). Flows the kernel starts
// itself land on a hashed queue and need a handoff.
//
// Lifetime: the tun/tap interface is not persistent; it disappears when the port is closed (the
// last queue fd goes away). destroy_exception_port removes the vdev as well.
#pragma once

#include <cstdint>
#include <string>

namespace dpvpn::kni {

struct exception_conf {
  std::string kind = "tun";      // tun | tap | virtio-user
  std::string ifname = "tun0";   // `dev tun` without a number arrives here as "tun0"
  uint16_t queues = 1;           // one per worker lcore
  uint32_t mtu = 1500;
  uint32_t addr = 0;             // host order IPv4; 0 leaves the kernel side unaddressed
  uint8_t prefix = 24;
};

// Creates the vdev for conf.kind (rte_vdev_init) and returns its ethdev id in port_id. The port is
// not configured yet: bring it up with dp::setup_port (want_rss = false). Fails with a clear error if
// the interface name already exists, the kind is unknown, or virtio-user lacks /dev/vhost-net.
// Control thread only, after rte_eal_init. Returns 0 or a negative errno.
int create_exception_port(const exception_conf& conf, uint16_t& port_id, std::string& err);

// Stops the port and removes its vdev; the kernel interface goes away with it.
int destroy_exception_port(uint16_t port_id, std::string& err);

// Gives the kernel side its address (like openvpn's `ifconfig` on its tun), so the connected
// addr/prefix route sends the VPN subnet into the port; sets the MTU and brings the link up.
// rtnetlink for the address (replaces an existing one), ioctl for MTU and flags; no `ip` process.
// addr == 0 skips the address. Needs CAP_NET_ADMIN. Returns 0 or a negative errno.
int configure_kernel_iface(const std::string& ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
                           std::string& err);

// Undoes configure_kernel_iface for the client role's next connection: deletes addr/prefix (0:
// none) and takes the link down, which drops every route through it and its IPv6 addresses.
// Returns 0 or a negative errno (a missing address is not an error).
int unconfigure_kernel_iface(const std::string& ifname, uint32_t addr, uint8_t prefix, std::string& err);

// Adds (or replaces) the kernel route net/prefix via ifname (RTM_NEWROUTE, main table), e.g. for an
// `iroute` or `route` behind a client. net in host order.
int add_kernel_route(const std::string& ifname, uint32_t net, uint8_t prefix, std::string& err);

// IPv6 counterparts (addresses as 16 network-order bytes). The address setter is
// `ip -6 addr replace ADDR/PREFIX dev IFNAME` (the kernel adds the connected prefix route); it
// needs IPv6 enabled on the interface (net.ipv6.conf.IFNAME.disable_ipv6 = 0). The route adder is
// `ip -6 route replace NET/PREFIX dev IFNAME`, host bits must be zero.
int configure_kernel_iface_v6(const std::string& ifname, const uint8_t addr[16], uint8_t prefix, std::string& err);
int add_kernel_route_v6(const std::string& ifname, const uint8_t net[16], uint8_t prefix, std::string& err);

}  // namespace dpvpn::kni
