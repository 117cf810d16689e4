// SPDX-License-Identifier: MIT
// The client role's `remote` list and openvpn's retry policy over it (docs/client.md): which
// remote the next attempt goes to, how long to wait before it (connect-retry), when to give up
// (connect-retry-max), and the name lookup of a remote's HOST. client_control asks it at each
// attempt and tells it how the attempt ended. Control thread only; no DPDK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/netpkt6.h"

namespace dpvpn::cp {

class remote_list {
 public:
  using entry = server_config::remote_entry;
  // The config's remotes, in its order, or shuffled once with `remote-random` (as openvpn does at
  // start-up); seed: the shuffle's (tests), 0 = random.
  explicit remote_list(const server_config& cfg, uint64_t seed = 0);

  bool empty() const noexcept { return remotes_.empty(); }
  size_t size() const noexcept { return remotes_.size(); }
  const entry& current() const noexcept { return remotes_[at_]; }  // not when empty()
  // Counts an attempt. False when connect-retry-max N is used up: each remote N times in all
  // since the last connection (openvpn then exits).
  bool take_attempt() noexcept;
  void next() noexcept;       // the following remote (wrapping)
  void failed() noexcept { ++failures_; }  // an attempt (or a connection's start) did not connect
  void connected() noexcept { failures_ = 0; attempts_ = 0; }
  // openvpn's connect-retry: the configured wait for the first five failures in a row, then
  // doubled each time, up to connect-retry's MAX.
  uint64_t retry_delay_ms() const noexcept;
  unsigned failures() const noexcept { return failures_; }

 private:
  std::vector<entry> remotes_;
  size_t at_ = 0;
  unsigned failures_ = 0;   // consecutive attempts that did not connect
  uint64_t attempts_ = 0;   // attempts since the last connection
  unsigned retry_s_, retry_max_s_, max_tries_;
};

// HOST as the server's address (IPv4 as v4-mapped): a literal, else the resolver's first answer
// of a family the WAN has an address of (`family`: the remote's proto; any: either). nullopt + err
// when there is none.
std::optional<net::ip6> resolve_remote(const std::string& host, ip_family family, bool have4, bool have6,
                                       std::string& err);

}  // namespace dpvpn::cp
