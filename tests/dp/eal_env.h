// SPDX-License-Identifier: MIT
// dp test tier: one EAL per test binary (it cannot be initialised twice) and one shared mbuf pool.
#pragma once

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dpvpn/ports.h"

namespace dpvpn::test {

// Set by the environment; tests ASSERT on eal_ok so a failed init fails every test loudly.
inline bool eal_ok = false;
inline rte_mempool* test_pool = nullptr;

// --no-huge needs -m (64 MB default is too small); --no-pci keeps EAL off the VM's own NIC;
// --no-shconf plus a per-binary prefix lets dp binaries run next to other DPDK processes.
class eal_env : public ::testing::Environment {
 public:
  explicit eal_env(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    std::vector<std::string> args = {"dpvpn-dp-test", "--no-huge", "-m", "512", "--no-shconf",
                                     "--no-pci", "--file-prefix", prefix_, "-l", "0",
                                     "--log-level", "*:warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) return;
    std::string err;
    test_pool = dp::create_mbuf_pool("dp_test_pool", 4095, 0, err);
    eal_ok = test_pool != nullptr;
  }
  void TearDown() override {
    if (!eal_ok) return;
    uint16_t p;
    RTE_ETH_FOREACH_DEV(p) {
      rte_eth_dev_stop(p);
      rte_eth_dev_close(p);
    }
    rte_mempool_free(test_pool);
    rte_eal_cleanup();
  }

 private:
  std::string prefix_;
};

}  // namespace dpvpn::test
