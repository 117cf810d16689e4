// SPDX-License-Identifier: MIT
// The client role's server as the dataplane's one peer (docs/client.md): its local index (free
// again only once the lcore hands the old peer back), its entry in the outer-address table from
// the first handshake frame, its owner (the worker its flow lands on), the data keys (held until
// the PUSH_REPLY brings the peer-id, then installed with the peer), the catch-all routes that send
// everything the kernel routes into the exception port to it, `float`, and the teardown.
// client_control drives it through a connection's life. Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "dp_installer.h"
#include "dpvpn/config.h"
#include "dpvpn/session.h"

namespace dpvpn::cp {

class client_peer {
 public:
  client_peer(dp_installer& dp, const server_config& cfg, const proto::data_key_params& data);

  // A new attempt: conn gets a free local index. False when every index is still in flight on
  // the lcores (try again shortly).
  bool begin(client& conn);
  // The server's address into the table (its control frames take the established ring, its data
  // is found by address): 0 or a negative errno.
  int publish(client& conn);
  // A control frame from the server came in on worker `from`: the first one names the owner.
  void saw_frame(client& conn, uint16_t from);
  // A data-key event of the session. Empty, or why the connection must end.
  std::string on_key_event(client& conn, const proto::session_event& ev);
  // The PUSH_REPLY is in: the peer (peer-id, ping, framing) and the keys held so far go to the
  // owner lcore, and the catch-all routes to it. False + why when the lcore could not take it.
  bool install(client& conn, std::string& why);
  // The owner lcore moved the peer to a new outer address (`float`): conn and the table follow.
  // The old address when it did.
  std::optional<net::outer_addr> follow_float(client& conn);
  // The connection ends: routes, table entry and peer removed (the index is free again once the
  // lcore hands the peer back: done()); handshaking: the index back now.
  void teardown(client& conn, bool handshaking);
  bool holds_keys() const { return !pending_.empty(); }  // keys waiting for the PUSH_REPLY
  void done(uint32_t id) {
    if (id < busy_.size()) busy_[id] = false;
  }

 private:
  struct pending_key {
    proto::session_event ev;
    bool armed;
  };
  std::string install_key(client& conn, const proto::session_event& ev, bool armed);

  dp_installer& dp_;
  const server_config& cfg_;
  proto::data_key_params data_;
  bool owner_known_ = false;
  std::vector<pending_key> pending_;  // key_ready before the PUSH_REPLY: installed with the peer
  std::vector<bool> busy_;            // local peer indexes in flight (freed when the lcore hands back)
};

}  // namespace dpvpn::cp
