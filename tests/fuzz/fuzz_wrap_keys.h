// SPDX-License-Identifier: MIT
// Fixed keys for the wrapping fuzz targets: the §15 vector keys, so the seeds in corpus/ (made by
// tools/gen-fuzz-seeds-wrap.py from the same vectors) authenticate and reach the decode paths.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "dpvpn/static_key.h"
#include "dpvpn/tls_wrap.h"

namespace dpvpn::fuzz {

template <size_t N>
std::array<uint8_t, N> from_hex(std::string_view s) {
  std::array<uint8_t, N> out{};
  size_t n = 0;
  int hi = -1;
  for (char c : s) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else if (n < N) {
      out[n++] = static_cast<uint8_t>(hi << 4 | v);
      hi = -1;
    }
  }
  if (n != N) std::abort();
  return out;
}

// §15.2 upstream static key (tls-auth SHA1 and tls-crypt vectors 15.3, 15.4).
inline const proto::key2 k_key_15_2 = from_hex<256>(
    "37268ea8f95d7f71f9fb8fc03770c460daf714a483d815c013ce0a537efc18f2"
    "8f4f172669d9e6a413bac6741d8ea05400f49b7fd6326470f23798c606bf53d4"
    "de63ebc64ec59d57ce5d04d5b62e68b53ca6e5354351097fa370446c4d269f18"
    "7bb6ae54af2dc70ff7317fe2f8754b8282aad4202f9fa42c8640245d883e2c54"
    "a0c1c489a036cf3a8964d8d289c1583b9447c262b1da5fd167a5d27bd5ac5143"
    "17bc2343a31a2efc38dd920d910375f51c2e27f3afd36c49269da079f7ce466e"
    "bb0f9ad13e9bbb4665974e6bc24b513c5700393bf4a3e7f967e2f384069ac8a8"
    "e78b18b15604993fd16515cce9c0f3e42b4126b999005ade802797b0eeb8b9e6");

// §15.9 lab tls-crypt key.
inline const proto::key2 k_key_15_9 = from_hex<256>(
    "092b381db8d0be60e9e10e1d3adca6ad8d448f4985280ce65c92cc86d0ac4059"
    "7c0210e250238081c202b8ffb95434b6d299328bb1ab958b09aa1f2be8753e36"
    "7e27fe4b5e3c12df3a648699764908594e9fa2214d8945a9fc1fe8205211d938"
    "99cce791499bcbf19c10f8083d3ccf47b544c411131c4d70b3ada3ba89dd22f4"
    "d1494b73c060fdc964a7122a08cabb3c7e507ef8c3ec7d6d477635cff0249d05"
    "d96ec1f216b7c0caedbb907a9086b0ac6345364d2d6f2dfd2bb659bd719754d9"
    "eaa661446a9cda57d7ce73cba393dfea9aea6099bd353be544be66b964db7a6b"
    "8a23dea400a84c17a882e40e0ea52daa4f355230eef65a09d7ac9e3267be0e3e");

// §15.11 lab tls-auth (SHA256) key.
inline const proto::key2 k_key_15_11 = from_hex<256>(
    "e477eaf021948ec983ccdd4d19706068fcc0d92d6673d167536e10f1774328ae"
    "821eaf5f526066796a95f738071829cd28cccbe674927b99b403468dd145aaf1"
    "921bac8e34d028e944b0b2b073a49826d5713727ac9d5b94be78cd84c330f9c8"
    "f40eed16c5b7d8a3a1b46de46fa2a5786ab9a785bc93efeefc1e858497a8f99d"
    "7724f990ea143f434ab175bfe39a5eca616841b2fc13021bc1d38cdd02d18ec8"
    "6189fbda8b301d1297b3a750ccd71a77de014fa62d2f5fb381bc213450bbda34"
    "e48cb5b74d25d691ed5b97bf49ab8de7a572f0953cf753fd960c8805dc7e517e"
    "8fbdd094efb6afee126df60fd4bbe45021cdc0ec1d478ce5798b1f54d729c4cc");

// §15.8 upstream tls-crypt-v2 server key 00..7f, and §15.12 lab server key.
inline proto::tcv2_server_key server_key_15_8() {
  proto::tcv2_server_key k;
  for (size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<uint8_t>(i);
  return k;
}
inline proto::tcv2_server_key server_key_15_12() {
  proto::tcv2_server_key k;
  k.bytes = from_hex<128>(
      "cbce280f08415f8277a1d5f30447c494c237ea21a2e9eb8fed3c4af781dcf71e"
      "c94e3783fe18196457327249cb9c055b12e1dd25447ebecc2f637f58ac13daa8"
      "d1f3f484db5c947945bf0cfe6e2cf3d958139f34d722579b6b7fbb491fbc1c18"
      "29a92e36cc206498d02194396d51249b10c0bf5111e697bc5211634c4195f3af");
  return k;
}

// Sender and receiver of one direction.
struct wrap_pair {
  proto::wrap_keys tx, rx;
};

// An accepted packet must be reproduced exactly by wrapping its contents again: the wrappings are
// deterministic, so any difference is a parser bug.
inline void check_rewrap(const proto::wrap_keys& tx, std::span<const uint8_t> pkt, uint8_t op,
                         const wire::session_id& sid, proto::replay_id rid, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> again;
  proto::wrap(tx, op, sid, body, rid, again);
  if (again.size() != pkt.size() || !std::equal(again.begin(), again.end(), pkt.begin())) std::abort();
}

}  // namespace dpvpn::fuzz
