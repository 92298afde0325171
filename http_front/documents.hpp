#pragma once

// `textFile` documents from the front's document folder, refusing any name
// that resolves outside of it (`..`, absolute paths, symlinks out). A front
// that pins the key hashes a document instead of reading it (verifiers get
// the digest): in chunks, off the io threads, once per version of the file.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actors/core/error.hpp"
#include "actors/crypto/keyring.hpp"

namespace duet::http {

/// A document folder, canonicalized once, with a cache of digests.
class document_folder {
public:
  /// Uses `root` (empty: `textFile` is disabled); keeps at most
  /// `cache_entries` digests.
  explicit document_folder(const std::string& root,
                           size_t cache_entries = 4096);

  /// Returns the path of document `name`, or `forbidden_path` (escapes the
  /// folder), `no_such_document` or `bad_request` (disabled, not a regular
  /// file).
  caf::expected<std::string> resolve(const std::string& name) const;

  /// Returns the contents of `name` (as `resolve`, and `payload_too_large`
  /// over `limit` bytes).
  caf::expected<std::string> read(const std::string& name, size_t limit) const;

  /// Returns the digest of the file at `path` (from `resolve`) under `algo`:
  /// from the cache while the file's device, inode, size and modification
  /// time are unchanged, else hashed in chunks (`payload_too_large` past
  /// `limit` bytes). A file that changes while it is hashed is hashed again.
  caf::expected<std::string>
  digest(const std::string& path, crypto::algorithm algo, uint64_t limit) const;

  /// Returns the cached digest of the file at `path`, if the file is
  /// unchanged since it was hashed (costs one `stat`).
  std::optional<std::string> cached(const std::string& path,
                                    crypto::algorithm algo) const;

  /// Digests hashed and found in the cache since the start.
  uint64_t hashed() const noexcept;
  uint64_t hits() const noexcept;

private:
  struct cache;

  std::string root_;
  std::shared_ptr<cache> cache_;
};

} // namespace duet::http
