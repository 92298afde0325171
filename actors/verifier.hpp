#pragma once

// The verifier role: an actor that forwards to the crypto keyring.

#include <memory>
#include <string>

#include "actors/crypto.hpp"
#include "actors/fwd.hpp"

namespace duet {

/// State of one verifier instance.
struct verifier_state {
  static inline const char* name = "verifier";

  /// Keys shared (read-only) by all instances on the node.
  std::shared_ptr<const crypto::keyring> keys;

  /// This instance's name in answers: `<node>/verifier-<n>`.
  std::string id;

  /// Verifications answered, matches and mismatches alike.
  uint64_t served = 0;

  /// Checks one request; a mismatch is a verdict, bad input an error.
  caf::result<verdict> verify(const verify_request& req);
};

/// Returns the behavior of a verifier instance named `id`.
verifier_actor::behavior_type
verifier(verifier_actor::stateful_pointer<verifier_state> self,
         std::shared_ptr<const crypto::keyring> keys, std::string id);

} // namespace duet
