// SPDX-License-Identifier: MIT
// Per-client options: what a client-config-dir file or a client-connect script's output may set
// (OpenVPN's per-instance directives, one syntax for both), the CCD file-name rule, and the edits
// they make to the pushed option list. Sans-IO.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dpvpn/ipaddr.h"

namespace dpvpn::cp {

// `iroute NETWORK [NETMASK]`: a network behind the client (host order, host bits cleared).
struct iroute4 {
  uint32_t network = 0;
  uint8_t len = 32;
  bool operator==(const iroute4&) const = default;
};

// One edit of the push list, kept in file order: push-remove and push-reset act on what the list
// holds when they are read (OpenVPN imports each line into the same option set in turn).
struct push_op {
  enum class kind : uint8_t { add, remove, reset };
  kind k = kind::add;
  std::string text;  // add: the option; remove: the prefix to match
};

// The per-client options dpvpn applies. Unknown directives are listed in `ignored`.
struct client_connect_options {
  bool disable = false;  // `disable`: refuse the client
  std::optional<std::pair<uint32_t, uint32_t>> ifconfig_push;  // `ifconfig-push ADDR MASK|REMOTE [ALIAS]`
  std::optional<ipv6_net> ifconfig_ipv6_push;     // `ifconfig-ipv6-push ADDR/BITS [REMOTE]`
  std::optional<ipv6_addr> ifconfig_ipv6_remote;  // its REMOTE; none = the server's tunnel address
  std::vector<iroute4> iroutes;                   // `iroute`
  std::vector<ipv6_net> iroutes_v6;               // `iroute-ipv6 NET/BITS` (host bits cleared)
  std::vector<push_op> push_ops;                  // `push`, `push-remove`, `push-reset` in order
  bool remove_ifconfig = false;       // `push-remove ifconfig`: the IPv4 ifconfig is not pushed
  bool remove_ifconfig_ipv6 = false;  // `push-remove ifconfig-ipv6`
  // `session-timeout SECONDS`: replaces server.conf's for this client (0 = none for it)
  std::optional<unsigned> session_timeout;
  std::vector<std::string> ignored;
  std::string error;  // a line that could not be read ("line 2: ..."); the client is refused
};
client_connect_options parse_client_connect(std::string_view text);

// OpenVPN reads the CCD file, then the client-connect output, into one option set: a later
// ifconfig-push / ifconfig-ipv6-push replaces an earlier one, the rest accumulates.
void merge_client_options(client_connect_options& into, client_connect_options&& later);

// Applies ops to a push list. The first `fixed` entries (topology, route-gateway, ping: a client
// cannot work without them) survive push-reset, which drops the rest; push-remove drops every
// entry that starts with its text (OpenVPN's prefix match, so `push-remove route` also takes
// route-gateway); add appends.
void apply_push_ops(std::vector<std::string>& list, size_t fixed, const std::vector<push_op>& ops);

// The CCD file name for a common name, as OpenVPN's platform_gen_path builds it: every byte that
// is not printable ASCII, and '/', becomes '_', so a name can never leave the directory; "", "."
// and ".." have no file.
std::optional<std::string> ccd_file_name(std::string_view cn);

inline constexpr std::string_view k_ccd_default = "DEFAULT";  // the file for clients without one

}  // namespace dpvpn::cp
