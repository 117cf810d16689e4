// SPDX-License-Identifier: MIT
// The dataplane's inner route tables as the control parts see them: addressing decides which
// prefixes a client holds (its /128, its iroutes) and writes them through this interface;
// dp_installer implements it on the real tables (rte_lpm under QSBR), the unit tests with a
// fake. Returns 0 or a negative errno. Control thread only.
#pragma once

#include <cstdint>

namespace dpvpn::cp {

struct route_writer {
  virtual ~route_writer() = default;
  virtual int route_add_v4(uint32_t net, uint8_t len, uint32_t peer_id) = 0;
  virtual int route_del_v4(uint32_t net, uint8_t len) = 0;
  virtual int route_add_v6(const uint8_t net[16], uint8_t len, uint32_t peer_id) = 0;
  virtual int route_del_v6(const uint8_t net[16], uint8_t len) = 0;
};

}  // namespace dpvpn::cp
