// Seed replay driver for builds without libFuzzer (the ordinary gcc build and the ASan build): feeds every
// file under the given directories (or the given files) to LLVMFuzzerTestOneInput, so each target's seed
// corpus and minimised findings (regressions/) run as an ordinary test. A directory that does not exist
// is skipped (a target may have no regressions yet); no input at all is an error.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no inputs under the given paths\n");
    return 2;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy of exactly the input's size, as libFuzzer passes it (empty inputs get a valid pointer).
    const std::vector<uint8_t> exact(data);
    LLVMFuzzerTestOneInput(exact.empty() ? reinterpret_cast<const uint8_t*>("") : exact.data(), exact.size());
  }
  std::printf("%zu inputs ran without a finding\n", files.size());
  return 0;
}
