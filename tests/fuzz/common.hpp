#pragma once

// Shared pieces of the libFuzzer targets: a scratch folder per process and a
// check that stops the fuzzer on a broken invariant.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace duet::fuzz {

/// A folder of this process for files a target writes.
inline const std::string& scratch() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/duet-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr)
      std::abort();
    return tmpl;
  }();
  return dir;
}

/// Stops the fuzzer (a finding) if `ok` is false.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

} // namespace duet::fuzz
