#pragma once

// The keys a front holds: the ones it pins (front.keys: every request names
// the algorithm and public-key fingerprint of its key id, and a verifier
// whose key differs refuses), and those of the inline baseline
// (front.inline-keys, benchmarks only).

#include <memory>

#include "actors/crypto/keyring.hpp"

namespace duet::http {

/// The front's keyrings; either may be null (not configured).
struct front_keys {
  std::shared_ptr<const crypto::keyring> pinned;
  std::shared_ptr<const crypto::keyring> inline_baseline;
};

} // namespace duet::http
