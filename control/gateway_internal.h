// SPDX-License-Identifier: MIT
// Private to control/gateway*.cc: one connected client as the control thread sees it.
#pragma once

#include <memory>
#include <string>

#include "dpvpn/gateway.h"

namespace dpvpn::cp {

struct gateway_control::client {
  uint32_t ip = 0;      // outer address, host order
  uint16_t port = 0;
  net::mac mac{};       // where its frames came from: replies go there
  uint16_t owner = 0;   // worker index that received its first packet
  uint32_t peer_id = 0;
  uint32_t vpn_ip = 0;  // 0 until assigned
  std::string name;     // "ip:port" until the CN is known
  std::unique_ptr<proto::session> s;
  bool dp_installed = false;  // new_peer sent and published
  uint64_t created_ms = 0;
  uint64_t last_ctl_rx_ms = 0;
  bool dead = false;             // torn down; erased by housekeeping
  uint64_t linger_until_ms = 0;  // EXIT / AUTH_FAILED: drop the session then
  dp::dp_peer* peer = nullptr;   // owned by the lcore once new_peer is applied; read-only here

  // Authentication (gateway_auth.cc): auth_request -> [auth-user-pass-verify] -> [client-connect]
  // -> authorize(). Each script runs on its own; the client waits, nobody else does.
  enum class auth_stage : uint8_t { none, verify, connect, accepted, rejected };
  auth_stage auth = auth_stage::none;
  uint64_t script_id = 0;     // the script running for this client; 0 = none
  std::string cn;             // common name as scripts see it (username with username-as-common-name)
  uint64_t accepted_ms = 0;
};

}  // namespace dpvpn::cp
