// SPDX-License-Identifier: MIT
// Fuzzes the control-message text path a client runs on server input (§10): split on NUL,
// PUSH_REPLY accumulation, pushed-option parsing, option word splitting.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dpvpn/control_msg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dpvpn::proto;
  auto msgs = split_control_messages(std::span<const uint8_t>(data, size));
  push_accumulator acc;
  for (const auto& m : msgs) {
    if (acc.feed(m)) {
      auto po = parse_pushed_options(acc.options());
      (void)po;
      acc.reset();
    }
  }
  (void)parse_pushed_options(acc.options());

  // The raw bytes as one option line, both entry points.
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  words_err e = split_words(line, words);
  (void)to_string(e);
  (void)split_words(line);
  (void)build_push_reply(words);
  return 0;
}
