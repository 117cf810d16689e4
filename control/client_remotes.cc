// SPDX-License-Identifier: MIT
// The client's remote list and retry policy (client_remotes.h).
#include "client_remotes.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "dpvpn/ipaddr.h"

namespace dpvpn::cp {

remote_list::remote_list(const server_config& cfg, uint64_t seed)
    : remotes_(cfg.remotes),
      retry_s_(std::max(1u, cfg.connect_retry_s)),
      retry_max_s_(std::max(cfg.connect_retry_max_s, cfg.connect_retry_s)),
      max_tries_(cfg.connect_retry_max_tries) {
  if (cfg.remote_random && remotes_.size() > 1) {
    std::mt19937_64 rng(seed ? seed : std::random_device{}());
    std::shuffle(remotes_.begin(), remotes_.end(), rng);
  }
}

bool remote_list::take_attempt() noexcept {
  if (max_tries_ && attempts_ >= uint64_t{max_tries_} * remotes_.size()) return false;
  ++attempts_;
  return true;
}

void remote_list::next() noexcept {
  if (!remotes_.empty()) at_ = (at_ + 1) % remotes_.size();
}

uint64_t remote_list::retry_delay_ms() const noexcept {
  uint64_t s = retry_s_;
  if (failures_ > 5) s <<= std::min(failures_ - 5, 16u);
  return 1000 * std::min<uint64_t>(s, retry_max_s_);
}

std::optional<net::ip6> resolve_remote(const std::string& host, ip_family family, bool have4, bool have6,
                                       std::string& err) {
  if (auto a = parse_ipv4(host)) return net::v4_mapped(*a);
  if (auto a = parse_ipv6(host)) return *a;
  addrinfo hints{};
  hints.ai_family = family == ip_family::v4 ? AF_INET : family == ip_family::v6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) {
    err = std::string("cannot resolve ") + host + ": " + gai_strerror(rc);
    return std::nullopt;
  }
  std::optional<net::ip6> out;
  for (const addrinfo* p = res; p && !out; p = p->ai_next) {
    if (p->ai_family == AF_INET && have4) {
      out = net::v4_mapped(ntohl(reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr.s_addr));
    } else if (p->ai_family == AF_INET6 && have6) {
      net::ip6 a;
      std::memcpy(a.data(), &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr, 16);
      out = a;
    }
  }
  ::freeaddrinfo(res);
  if (!out) err = "cannot resolve " + host + ": no address of a family the WAN has a `local` address of";
  return out;
}

}  // namespace dpvpn::cp
