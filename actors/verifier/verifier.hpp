#pragma once

// The verifier instance: an actor that forwards to the crypto keyring.

#include <memory>
#include <string>

#include "actors/crypto/keyring.hpp"
#include "actors/protocol/fwd.hpp"

namespace prometheus {
class Counter;
} // namespace prometheus

namespace duet {

/// Key id that makes a verifier crash when fault injection is on (tests);
/// `!crash@<instance>` crashes only that instance.
constexpr std::string_view crash_key_id = "!crash";

/// State of one verifier instance.
struct verifier_state {
  static inline const char* name = "verifier";

  explicit verifier_state(verifier_actor::stateful_pointer<verifier_state> ptr)
    : self(ptr) {
    // nop
  }

  verifier_actor::stateful_pointer<verifier_state> self;

  /// Keys shared (read-only) by all instances on the node.
  std::shared_ptr<const crypto::keyring> keys;

  /// This instance's name in answers: `<node>/verifier-<slot>`.
  std::string id;

  /// Whether the crash key id is honored (`verifier.fault-injection`).
  bool fault_injection = false;

  /// Verifications answered, matches and mismatches alike.
  uint64_t served = 0;

  /// `duet_verifications_total` series of this instance (match, mismatch,
  /// error), looked up once.
  prometheus::Counter* counted[3] = {nullptr, nullptr, nullptr};

  /// Checks one request: whether it matched, or what is wrong with it.
  caf::expected<bool> check(const verify_request& req);

  /// Checks one request; a mismatch is a verdict, bad input an error.
  caf::result<verdict> verify(const verify_request& req);

  /// Checks a batch; every request gets an answer (a batch of the wrong
  /// size is refused as a whole).
  caf::result<batch_verdicts> verify(const std::vector<verify_request>& batch);
};

/// Returns the behavior of a verifier instance named `id`.
verifier_actor::behavior_type
verifier(verifier_actor::stateful_pointer<verifier_state> self,
         std::shared_ptr<const crypto::keyring> keys, std::string id,
         bool fault_injection);

} // namespace duet
