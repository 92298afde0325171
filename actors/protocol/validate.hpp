#pragma once

// Checks of every value a peer sends, before use. A cluster member may send
// any message its interfaces allow, with any values: names, sizes, counts,
// indexes and strings are checked here, in one place, without CAF actors,
// so that the fuzzers can run them on bytes.

#include <cstddef>
#include <vector>

#include <caf/error.hpp>

#include "actors/core/limits.hpp"
#include "actors/protocol/fwd.hpp"

namespace duet {

/// Returns `ec::invalid_message` naming what is wrong with `x`, or no error.
caf::error check(const verify_request& x);

/// Checks the size of a batch (its requests are checked one by one).
caf::error check_batch_size(size_t n);

/// Checks answers to a batch of `expected` requests.
caf::error check(const batch_verdicts& x, size_t expected);

/// Checks an error a peer sent: none, or a duet error with a known code and
/// at most one text as its context.
caf::error check_error(const caf::error& x);

/// Checks a single verdict.
caf::error check(const verdict& x);

/// Checks the instances a node's agent lists: at most `max_slots`, each slot
/// once.
caf::error check(const std::vector<instance_info>& x, size_t max_slots);

/// Checks a node's registration with the supervisor.
caf::error check(const node_registration& x);

/// Checks a registry pushed by the supervisor.
caf::error check(const registry& x);

/// Checks a task on the task group.
caf::error check(const choreo_task& x);

/// Checks a result on the result group.
caf::error check(const choreo_result& x);

/// Checks a consumer's heartbeat (not its proof's signature).
caf::error check(const member_beat& x);

/// Checks a batch of results: sizes, each result, that every result names
/// an instance of the signer (not the proof's signature).
caf::error check(const result_batch& x);

/// Checks a decline (not its proof's signature).
caf::error check(const task_decline& x);

/// Checks the sizes of a proof of identity.
caf::error check(const identity_proof& x);

/// Returns whether `x` is one of the instance states the supervisor uses.
bool is_instance_state(const std::string& x) noexcept;

} // namespace duet
