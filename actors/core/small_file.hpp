#pragma once

// Reading configuration files (INI files, key manifests, PEM keys): regular
// files only, and small ones, so that a path to a FIFO, a device or a huge
// file is refused with a message instead of hanging or filling memory.

#include <cstddef>
#include <string>

#include "actors/core/error.hpp"

namespace duet {

/// Largest configuration file duet reads.
constexpr size_t max_config_file = 1024 * 1024;

/// Returns the contents of `path`, or `invalid_config` naming the path if it
/// is missing, not a regular file, unreadable or larger than `limit`.
caf::expected<std::string> read_small_file(const std::string& path,
                                           size_t limit = max_config_file);

} // namespace duet
