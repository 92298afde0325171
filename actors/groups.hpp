#pragma once

// Guarded lookups of CAF remote groups. `groups().get("remote", ...)` blocks
// with infinite internal timeouts and can hang for good while a hub shuts
// down; it must never run inside an actor. These helpers run it on a thread
// of its own, under a watchdog.

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/fwd.hpp"

namespace duet {

/// The task group: the front publishes tasks, verifiers beat.
constexpr const char* task_group_name = "duet-tasks";

/// The result group: verifiers publish results.
constexpr const char* result_group_name = "duet-results";

/// Looks up group `name` on `hub` ("host:port") without blocking the caller
/// and sends `(lookup_atom, group_lookup)` to `requester`: the group, or an
/// invalid group with an error if the lookup failed or took longer than
/// `timeout` (a hanging lookup is abandoned).
void lookup_group(caf::actor_system& sys, caf::actor requester,
                  const std::string& hub, const std::string& name,
                  std::chrono::nanoseconds timeout);

/// Waits up to `timeout` for running lookups; returns how many still hang.
size_t await_lookups(std::chrono::milliseconds timeout);

/// Logs a failed lookup and has `self` receive `local::lookup{name}` after
/// `defaults::reconnect_interval`, to look the group up again.
void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub);

} // namespace duet
