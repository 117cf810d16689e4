// SPDX-License-Identifier: MIT
// Private to session*.cc: the per-key_id state (§2.6, §12).
#pragma once

#include <memory>

#include "dpvpn/session.h"

namespace dpvpn::proto {

struct session::key_state {
  key_state(uint8_t k, uint32_t timeout_ms, uint64_t now_ms) : kid(k), rel(timeout_ms), t_start_ms(now_ms) {}

  uint8_t kid;
  reliable rel;                      // message ids restart at 0 per key_id
  std::unique_ptr<tls_session> tls;  // a fresh TLS session per key_id
  bool reset_received = false;       // peer's message 0 (hard or soft reset) delivered
  bool km2_sent = false;
  bool km2_received = false;
  bool active = false;               // S_ACTIVE: km2 both ways and everything ACKed
  bool generated = false;            // data keys derived
  bool authorized = false;           // server: this key_id may have data keys (reauth answered)
  bool peer_checked = false;         // server, key_id > 0: certificate compared with key_id 0's
  bool reneg_failed = false;         // the old key put back after a failed renegotiation
  km2_client ckm;
  km2_server skm;
  uint64_t t_start_ms;
  uint64_t t_active_ms = 0;
  uint64_t must_die_ms = 0;          // lame duck, or a key put back after a failed renegotiation
  uint64_t data_bytes = 0;
  uint64_t data_pkts = 0;
};

}  // namespace dpvpn::proto
