// Fuzz target config: a node's configuration, INI file and command line.
// Input: the INI text, then a NUL byte, then command-line arguments
// separated by NUL bytes. A node either loads it or refuses it with a
// message; it never crashes or hangs on it.

#include <fstream>
#include <string>
#include <vector>

#include "actors/node/config.hpp"
#include "fuzz/common.hpp"

using namespace duet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto file = fuzz::scratch() + "/node.ini";
  auto nul = input.find('\0');
  {
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out << input.substr(0, nul);
  }
  std::vector<std::string> args{"duet-node", "--config-file=" + file};
  while (nul != std::string::npos) {
    auto next = input.find('\0', nul + 1);
    auto arg = input.substr(
      nul + 1, next == std::string::npos ? std::string::npos : next - nul - 1);
    nul = next;
    // Help only prints; another config file is a path outside the input.
    if (arg == "--help" || arg == "-h" || arg.find("--config-file") == 0
        || arg.find("--caf#") == 0)
      continue;
    args.push_back(std::move(arg));
  }
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  node_config cfg;
  auto loaded = cfg.init(static_cast<int>(argv.size()), argv.data());
  if (!loaded)
    fuzz::require(!message_of(loaded.error()).empty(),
                  "a refusal without reason");
  return 0;
}
