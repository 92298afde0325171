#pragma once

// Whole-file reads and writes for the command-line tools.

#include <fstream>
#include <sstream>
#include <string>

namespace duet::tools {

/// Reads the bytes of `path` into `out`; false if it cannot be opened.
inline bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::stringstream buf;
  buf << in.rdbuf();
  out = buf.str();
  return true;
}

/// Replaces the contents of `path` with `data`.
inline bool write_file(const std::string& path, const std::string& data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << data;
  return static_cast<bool>(out);
}

} // namespace duet::tools
