// replay-<target>: runs a fuzz target once on every file of the folders it
// is given (its seed corpus and the crashes found before), without
// libFuzzer. Exits 0 if every file ran; a crash or a broken invariant
// aborts, naming the file first.
//
//   replay-http_request tests/fuzz/corpus/http_request
//                       tests/fuzz/regressions/http_request

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code err;
    if (!fs::is_directory(argv[i], err))
      continue;
    std::vector<fs::path> files;
    for (auto& entry : fs::directory_iterator(argv[i]))
      if (entry.is_regular_file()
          && entry.path().filename().string().front() != '.')
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (auto& file : files) {
      std::ifstream in{file, std::ios::binary};
      std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in},
                                 std::istreambuf_iterator<char>{}};
      std::fprintf(stderr, "%s\n", file.c_str());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
  }
  std::printf("replayed %zu inputs\n", runs);
  return 0;
}
