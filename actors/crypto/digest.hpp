#pragma once

// SHA-256 over a sequence of fields, each prefixed with its length, so that
// no two different sequences share a digest by moving bytes from one field
// to the next. Proofs sign such digests (a batch of results), and a result
// names the digest of the task it answers (see `task_digest`).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/core/error.hpp"
#include "actors/front/verify_service.hpp"

struct evp_md_ctx_st;

namespace duet {

/// An incremental SHA-256 of length-prefixed fields.
class field_digest {
public:
  field_digest();
  field_digest(field_digest&&) noexcept;
  field_digest& operator=(field_digest&&) noexcept;
  ~field_digest();

  /// Adds a field (its length as 4 bytes, big endian, then its bytes).
  field_digest& add(std::string_view field);

  /// Adds one byte (flags) without a length.
  field_digest& add_byte(uint8_t x);

  /// Returns the digest as 64 lowercase hex digits, or `crypto_failure` if
  /// OpenSSL failed at any step.
  caf::expected<std::string> hex();

private:
  struct deleter {
    void operator()(evp_md_ctx_st* ptr) const noexcept;
  };

  std::unique_ptr<evp_md_ctx_st, deleter> ctx_;
  bool ok_ = false;
};

/// Returns the digest of task `id` with request `req`: what a result names
/// to say which request it answers. A front takes a result only if it names
/// the digest of the request the front published under that id, so a task
/// copy that somebody else published under the same id never yields a
/// verdict for the front's client.
caf::expected<std::string> task_digest(std::string_view id,
                                       const verify_request& req);

} // namespace duet
