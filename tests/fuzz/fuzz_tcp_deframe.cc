// SPDX-License-Identifier: MIT
// Fuzz the TCP deframer (§1.1): chunking must not change the packets, and re-framing the packets
// must give back the consumed stream.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dpvpn/packet.h"

using namespace dpvpn;

namespace {

struct result {
  proto::pkt_err err = proto::pkt_err::ok;
  std::vector<std::vector<uint8_t>> pkts;
};

// Feeds `stream` in chunks whose sizes come from a small LCG seeded by the input, popping
// packets after every feed as a real reader would.
result run(std::span<const uint8_t> stream, uint32_t seed, uint32_t max_chunk) {
  result r;
  proto::tcp_deframer d;
  std::vector<uint8_t> pkt;
  size_t pos = 0;
  while (pos < stream.size()) {
    seed = seed * 1103515245u + 12345u;
    size_t n = 1 + (seed >> 16) % max_chunk;
    if (n > stream.size() - pos) n = stream.size() - pos;
    if (proto::pkt_err e = d.feed(stream.subspan(pos, n)); e != proto::pkt_err::ok) r.err = e;
    pos += n;
    while (d.next(pkt)) r.pkts.push_back(pkt);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t seed = data[0];
  const uint32_t max_chunk = 1 + data[1] * 16u;
  std::span<const uint8_t> stream(data + 2, size - 2);

  const result whole = run(stream, 0, 0xFFFFFFFFu);
  const result chunked = run(stream, seed, max_chunk);
  if (whole.err != chunked.err || whole.pkts != chunked.pkts) std::abort();

  std::vector<uint8_t> reframed;
  for (const auto& p : whole.pkts) {
    if (p.size() > proto::k_max_packet) std::abort();
    proto::tcp_frame(p, reframed);
  }
  if (reframed.size() > stream.size()) std::abort();
  for (size_t i = 0; i < reframed.size(); ++i)
    if (reframed[i] != stream[i]) std::abort();
  return 0;
}
