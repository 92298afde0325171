#pragma once

// Reads `textFile` documents from the front's document folder, refusing any
// name that resolves outside of it (`..`, absolute paths, symlinks out).

#include <string>

#include "actors/core/error.hpp"

namespace duet::http {

/// A document folder, canonicalized once.
class document_folder {
public:
  /// Uses `root` (empty: `textFile` is disabled).
  explicit document_folder(const std::string& root);

  /// Returns the contents of `name`, or `forbidden_path` (escapes the
  /// folder), `no_such_document`, `payload_too_large` (over `limit` bytes) or
  /// `bad_request` (disabled, not a regular file).
  caf::expected<std::string> read(const std::string& name, size_t limit) const;

private:
  std::string root_;
};

} // namespace duet::http
