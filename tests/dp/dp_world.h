// SPDX-License-Identifier: MIT
// dp test tier: the pieces of shared state every worker test builds the same way (test_lan,
// test_tap, test_worker_burst, test_worker_spread): a test peer's key material, AES-256-GCM
// parameters, the outer-address hash the workers read, and the lcores' own arrays.
#pragma once

#include <rte_hash.h>
#include <rte_jhash.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "../../dataplane/worker_internal.h"
#include "dpvpn/wire.h"

namespace dpvpn::test {

// A fixed key2 per (peer, key_id): any bytes do, as long as both ends derive the same.
inline std::array<uint8_t, wire::k_key2_size> key2_of(uint32_t pid, uint8_t key_id = 0) {
  std::array<uint8_t, wire::k_key2_size> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 31 + pid * 7 + key_id * 13 + 1);
  return k;
}
inline std::span<const uint8_t, wire::k_key2_size> span_of(const std::array<uint8_t, wire::k_key2_size>& k) {
  return std::span<const uint8_t, wire::k_key2_size>(k.data(), k.size());
}

inline proto::data_key_params gcm() {
  proto::data_key_params p;
  p.cipher = crypto::cipher_alg::aes_256_gcm;
  p.digest = crypto::digest_alg::none;
  return p;
}

// The outer address -> peer-id hash, readable lock-free by the workers (as dp::shared_create).
inline rte_hash* outer_addr_hash(const std::string& name) {
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = 64;
  hp.key_len = sizeof(net::outer_addr);
  hp.hash_func = rte_jhash;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  return rte_hash_create(&hp);
}

// n lcores' own state (index, peer and owned arrays for max_peers, a crypto engine when asked),
// registered in sh.lcores.
inline void make_lcores(dp::dp_shared& sh, std::unique_ptr<dp::dp_lcore>* lc, uint16_t n, bool engines) {
  for (uint16_t w = 0; w < n; ++w) {
    lc[w] = std::make_unique<dp::dp_lcore>();
    lc[w]->index = w;
    if (engines) lc[w]->eng = crypto::engine::create();
    lc[w]->peers = std::make_unique<dp::dp_peer*[]>(sh.cfg.max_peers);
    lc[w]->owned = std::make_unique<uint32_t[]>(sh.cfg.max_peers);
    sh.lcores[w] = lc[w].get();
  }
}

}  // namespace dpvpn::test
