// SPDX-License-Identifier: MIT
// Exception port: creates the net_tun / net_tap / virtio_user vdev and addresses its kernel side.
#include "dpvpn/exception_port.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dpvpn::kni {

namespace {

constexpr uint16_t k_max_queues = 16;  // RTE_PMD_TAP_MAX_QUEUES in DPDK 22.11
constexpr const char* k_vhost_net = "/dev/vhost-net";

int set_err(std::string& err, const std::string& what, int rc) {
  err = what + ": " + rte_strerror(rc < 0 ? -rc : rc);
  return rc < 0 ? rc : -rc;
}

// An fd that closes itself; only the control thread opens these.
struct scoped_fd {
  int fd;
  explicit scoped_fd(int f) : fd(f) {}
  ~scoped_fd() { if (fd >= 0) close(fd); }
  scoped_fd(const scoped_fd&) = delete;
  scoped_fd& operator=(const scoped_fd&) = delete;
};

// A netlink request with room for a handful of attributes.
struct nl_req {
  nlmsghdr hdr;
  union {
    ifaddrmsg ifa;
    rtmsg rt;
  };
  alignas(NLMSG_ALIGNTO) char attrs[128];
};

void add_attr(nl_req& req, uint16_t type, const void* data, uint16_t len) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.hdr.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH(len);
  std::memcpy(RTA_DATA(rta), data, len);
  req.hdr.nlmsg_len = NLMSG_ALIGN(req.hdr.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

// Sends one request and waits for its ack. Returns 0 or the kernel's negative errno.
int nl_transact(nl_req& req) {
  scoped_fd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (s.fd < 0) return -errno;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  req.hdr.nlmsg_seq = 1;
  if (sendto(s.fd, &req, req.hdr.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return -errno;
  alignas(nlmsghdr) char buf[4096];
  for (;;) {
    ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != req.hdr.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return -EPROTO;
        return static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;  // 0 is the ack
      }
    }
  }
}

int ifindex_of(const std::string& ifname, std::string& err) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) return set_err(err, "interface " + ifname, -ENODEV);
  return static_cast<int>(idx);
}

bool valid_ifname(const std::string& n) {
  // vdev arguments are "key=value,..." so ',' and '=' would split them.
  return !n.empty() && n.size() < IFNAMSIZ && n.find_first_of(",= /") == std::string::npos;
}

std::string ipv4_str(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char s[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, s, sizeof s) ? s : "?";
}

std::string ipv6_str(const uint8_t a[16]) {
  char s[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a, s, sizeof s) ? s : "?";
}

}  // namespace

int create_exception_port(const exception_conf& conf, uint16_t& port_id, std::string& err) {
  std::string prefix, args;
  if (!valid_ifname(conf.ifname))
    return set_err(err, "exception port: bad interface name '" + conf.ifname + "'", -EINVAL);
  if (conf.queues == 0 || conf.queues > k_max_queues)
    return set_err(err, "exception port " + conf.ifname + ": queues must be 1.." +
                            std::to_string(k_max_queues), -EINVAL);
  if (conf.kind == "tun") {
    prefix = "net_tun";
    args = "iface=" + conf.ifname;
  } else if (conf.kind == "tap") {
    prefix = "net_tap";
    args = "iface=" + conf.ifname;
  } else if (conf.kind == "virtio-user") {
    if (access(k_vhost_net, R_OK | W_OK) != 0) {
      err = "exception port " + conf.ifname + ": virtio-user needs /dev/vhost-net";
      return -ENODEV;
    }
    prefix = "virtio_user";
    args = std::string("path=") + k_vhost_net + ",queues=" + std::to_string(conf.queues) +
           ",iface=" + conf.ifname;
  } else {
    return set_err(err, "exception port: unknown kind '" + conf.kind +
                            "' (expected tun, tap or virtio-user)", -EINVAL);
  }
  // A tun/tap name that exists would be attached to (if persistent) or refused; say it plainly.
  if (if_nametoindex(conf.ifname.c_str()) != 0) {
    err = "exception port: interface " + conf.ifname + " already exists";
    return -EEXIST;
  }

  std::string name;
  for (int n = 0;; ++n) {
    if (n == RTE_MAX_ETHPORTS) return set_err(err, "exception port: no free " + prefix + " name", -ENOSPC);
    name = prefix + std::to_string(n);
    uint16_t unused;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &unused) != 0) break;
  }
  int rc = rte_vdev_init(name.c_str(), args.c_str());
  if (rc != 0) return set_err(err, "exception port: rte_vdev_init(" + name + ", " + args + ")", rc);
  rc = rte_eth_dev_get_port_by_name(name.c_str(), &port_id);
  if (rc != 0) {
    rte_vdev_uninit(name.c_str());
    return set_err(err, "exception port: " + name + " created no ethdev", rc);
  }
  return 0;
}

int destroy_exception_port(uint16_t port_id, std::string& err) {
  char name[RTE_ETH_NAME_MAX_LEN];
  int rc = rte_eth_dev_get_name_by_port(port_id, name);
  if (rc != 0) return set_err(err, "exception port " + std::to_string(port_id), rc);
  rc = rte_eth_dev_stop(port_id);  // a port never started reports nothing worth stopping for
  (void)rc;
  rc = rte_vdev_uninit(name);
  if (rc != 0) return set_err(err, std::string("exception port: rte_vdev_uninit(") + name + ")", rc);
  return 0;
}

int configure_kernel_iface(const std::string& ifname, uint32_t addr, uint8_t prefix, uint32_t mtu,
                           std::string& err) {
  int idx = ifindex_of(ifname, err);
  if (idx < 0) return idx;
  if (prefix > 32) return set_err(err, ifname + ": prefix /" + std::to_string(prefix), -EINVAL);

  scoped_fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return set_err(err, ifname + ": socket", -errno);
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  if (mtu) {
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (ioctl(s.fd, SIOCSIFMTU, &ifr) != 0)
      return set_err(err, ifname + ": set mtu " + std::to_string(mtu), -errno);
  }

  if (addr) {
    // Same as `ip addr replace ADDR/PREFIX dev IFNAME`: local and peer address both ADDR, so the
    // kernel installs the connected ADDR/PREFIX route through the interface.
    nl_req req{};
    req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.hdr.nlmsg_type = RTM_NEWADDR;
    req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    req.ifa.ifa_family = AF_INET;
    req.ifa.ifa_prefixlen = prefix;
    req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    req.ifa.ifa_index = static_cast<unsigned>(idx);
    uint32_t be = htonl(addr);
    add_attr(req, IFA_LOCAL, &be, sizeof be);
    add_attr(req, IFA_ADDRESS, &be, sizeof be);
    int rc = nl_transact(req);
    if (rc != 0)
      return set_err(err, ifname + ": add address " + ipv4_str(addr) + "/" + std::to_string(prefix), rc);
  }

  if (ioctl(s.fd, SIOCGIFFLAGS, &ifr) != 0) return set_err(err, ifname + ": get flags", -errno);
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s.fd, SIOCSIFFLAGS, &ifr) != 0) return set_err(err, ifname + ": set up", -errno);
  }
  return 0;
}

int unconfigure_kernel_iface(const std::string& ifname, uint32_t addr, uint8_t prefix, std::string& err) {
  int idx = ifindex_of(ifname, err);
  if (idx < 0) return idx;
  if (addr) {
    nl_req req{};
    req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.hdr.nlmsg_type = RTM_DELADDR;
    req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.ifa.ifa_family = AF_INET;
    req.ifa.ifa_prefixlen = prefix;
    req.ifa.ifa_index = static_cast<unsigned>(idx);
    uint32_t be = htonl(addr);
    add_attr(req, IFA_LOCAL, &be, sizeof be);
    add_attr(req, IFA_ADDRESS, &be, sizeof be);
    const int rc = nl_transact(req);
    if (rc != 0 && rc != -EADDRNOTAVAIL)
      return set_err(err, ifname + ": delete address " + ipv4_str(addr) + "/" + std::to_string(prefix), rc);
  }
  scoped_fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return set_err(err, ifname + ": socket", -errno);
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  if (ioctl(s.fd, SIOCGIFFLAGS, &ifr) != 0) return set_err(err, ifname + ": get flags", -errno);
  if (ifr.ifr_flags & IFF_UP) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
    if (ioctl(s.fd, SIOCSIFFLAGS, &ifr) != 0) return set_err(err, ifname + ": set down", -errno);
  }
  return 0;
}

int add_kernel_route(const std::string& ifname, uint32_t net, uint8_t prefix, std::string& err) {
  int idx = ifindex_of(ifname, err);
  if (idx < 0) return idx;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  if (prefix > 32 || (net & ~mask) != 0)
    return set_err(err, ifname + ": route " + ipv4_str(net) + "/" + std::to_string(prefix) +
                            " (host bits set or prefix > 32)", -EINVAL);
  nl_req req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.hdr.nlmsg_type = RTM_NEWROUTE;
  req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.rt.rtm_family = AF_INET;
  req.rt.rtm_dst_len = prefix;
  req.rt.rtm_table = RT_TABLE_MAIN;
  req.rt.rtm_protocol = RTPROT_STATIC;
  req.rt.rtm_scope = RT_SCOPE_LINK;
  req.rt.rtm_type = RTN_UNICAST;
  uint32_t be = htonl(net);
  uint32_t oif = static_cast<uint32_t>(idx);
  add_attr(req, RTA_DST, &be, sizeof be);
  add_attr(req, RTA_OIF, &oif, sizeof oif);
  int rc = nl_transact(req);
  if (rc != 0)
    return set_err(err, ifname + ": add route " + ipv4_str(net) + "/" + std::to_string(prefix), rc);
  return 0;
}

int configure_kernel_iface_v6(const std::string& ifname, const uint8_t addr[16], uint8_t prefix, std::string& err) {
  int idx = ifindex_of(ifname, err);
  if (idx < 0) return idx;
  if (prefix > 128) return set_err(err, ifname + ": prefix /" + std::to_string(prefix), -EINVAL);
  nl_req req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.hdr.nlmsg_type = RTM_NEWADDR;
  req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.ifa.ifa_family = AF_INET6;
  req.ifa.ifa_prefixlen = prefix;
  req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  req.ifa.ifa_flags = IFA_F_NODAD;  // a point-to-point tun: nobody else can hold the address
  req.ifa.ifa_index = static_cast<unsigned>(idx);
  add_attr(req, IFA_LOCAL, addr, 16);
  add_attr(req, IFA_ADDRESS, addr, 16);
  int rc = nl_transact(req);
  if (rc != 0) {
    std::string why = ifname + ": add address " + ipv6_str(addr) + "/" + std::to_string(prefix);
    if (rc == -EACCES || rc == -EPERM) why += " (is IPv6 disabled? net.ipv6.conf." + ifname + ".disable_ipv6)";
    return set_err(err, why, rc);
  }
  return 0;
}

int add_kernel_route_v6(const std::string& ifname, const uint8_t net[16], uint8_t prefix, std::string& err) {
  int idx = ifindex_of(ifname, err);
  if (idx < 0) return idx;
  bool host_bits = false;
  for (unsigned b = prefix; b < 128 && !host_bits; ++b) host_bits = net[b / 8] & (0x80 >> (b % 8));
  if (prefix > 128 || host_bits)
    return set_err(err, ifname + ": route " + ipv6_str(net) + "/" + std::to_string(prefix) +
                            " (host bits set or prefix > 128)", -EINVAL);
  nl_req req{};
  req.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.hdr.nlmsg_type = RTM_NEWROUTE;
  req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.rt.rtm_family = AF_INET6;
  req.rt.rtm_dst_len = prefix;
  req.rt.rtm_table = RT_TABLE_MAIN;
  req.rt.rtm_protocol = RTPROT_STATIC;
  req.rt.rtm_scope = RT_SCOPE_UNIVERSE;  // IPv6 routes carry universe scope
  req.rt.rtm_type = RTN_UNICAST;
  uint32_t oif = static_cast<uint32_t>(idx);
  add_attr(req, RTA_DST, net, 16);
  add_attr(req, RTA_OIF, &oif, sizeof oif);
  int rc = nl_transact(req);
  if (rc != 0) return set_err(err, ifname + ": add route " + ipv6_str(net) + "/" + std::to_string(prefix), rc);
  return 0;
}

}  // namespace dpvpn::kni
