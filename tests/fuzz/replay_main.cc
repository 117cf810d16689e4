// SPDX-License-Identifier: MIT
// Replays a libFuzzer seed corpus (a directory of files, or files) through LLVMFuzzerTestOneInput
// so that every fuzz target's corpus runs as an ordinary unit test under gcc.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
    for (auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(buf.data(), buf.size());
      ++n;
    }
  }
  // Also run the empty input and a few short ones.
  uint8_t small[64] = {};
  for (size_t len = 0; len <= sizeof small; ++len) LLVMFuzzerTestOneInput(small, len);
  std::printf("replayed %zu corpus files\n", n);
  return n > 0 ? 0 : 1;
}
