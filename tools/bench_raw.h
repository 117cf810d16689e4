// SPDX-License-Identifier: MIT
// The benchmarks' raw AEAD reference (docs/bench/dataplane.md, "Raw reference"): crypto::aead_key
// alone on cache-hot buffers of the measured sizes, so that every dataplane rate is reported as a
// ratio to what the same core seals or opens in the same run. Shared by dpvpn-bench's scenarios.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpvpn/crypto.h"

namespace dpvpn::bench {

// This thread's CPU seconds (CLOCK_THREAD_CPUTIME_ID): time the scheduler gives to other
// processes on a shared machine does not count (their cache pollution still does).
double thread_cpu_s();

double median(std::vector<double> v);

// --hugepages: the EAL takes its memory (the mbuf pool) from hugepages, as a deployment does
// (docs/deploy.md), instead of --no-huge's 4 KiB pages: "--no-huge" in eal becomes "--in-memory"
// (hugepages, no files or shared config left behind). Needs free 2 MiB pages.
void eal_memory(std::vector<std::string>& eal, bool hugepages);

// aead_key alone, in place on k_bufs buffers (hot in cache), with the data channel's 8-byte AAD;
// each round takes the fastest of the per-op, direct-burst and job APIs. Open re-runs on the same
// buffers: after the first pass the tag no longer matches, but neither backend's cost depends on
// that (the whole tag is computed and compared in constant time); checked once before timing.
class raw_ref {
 public:
  static constexpr uint32_t k_bufs = 48;  // the working set (a multiple of the IMIX cycle)
  // pattern: the buffers' lengths, cycled; offset: their offset from a 64-byte boundary.
  raw_ref(crypto::engine& eng, crypto::backend backend, crypto::cipher_alg cipher, const std::vector<uint16_t>& pattern,
          bool seal, uint32_t offset = 0);
  // One round of `seconds` CPU time, split between the three APIs; packets/s of the fastest.
  double round(double seconds);
  // The API that won most rounds: "single", "burst" or "job".
  const char* api() const;
  // Median packets/s of one API over the rounds so far: 0 per op, 1 direct burst, 2 job API.
  double median_rate(int api) const;

 private:
  void single_batch();
  void burst_batch();
  void job_batch();
  template <class F>
  static double time_it(double seconds, F&& batch);

  crypto::engine& eng_;
  bool seal_;
  std::unique_ptr<crypto::aead_key> key_;
  std::vector<std::vector<uint8_t>> data_, meta_;
  std::vector<crypto::aead_key::op> ops_;
  volatile uint64_t sink_ = 0;
  uint32_t wins_[3] = {};
  std::vector<double> rates_[3];
};

}  // namespace dpvpn::bench
