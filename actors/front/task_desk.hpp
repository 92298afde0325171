#pragma once

// The front side of the choreography style: the task desk publishes each
// accepted task to the task group, records the first result per task from the
// result group, publishes tasks again that got no result in time, and
// answers task queries. Its tasks live in a `task_book` that outlives it.

#include <memory>

#include <caf/fwd.hpp>

#include "actors/core/options.hpp"
#include "actors/front/messages.hpp"
#include "actors/front/task_book.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// Returns the task book of a front's desk, from the options: with a store
/// (unless `durability` is `memory`) and what the store held restored.
caf::expected<std::shared_ptr<task_book>>
make_task_book(const choreography_options& opts);

/// Spawns a task desk of this front (`identity->name`) working on `book`;
/// it sets `status->tasks_joined`. With `fault_injection`, keyId
/// "!desk-crash" stops it (tests).
task_desk_actor start_task_desk(caf::actor_system& sys,
                                std::shared_ptr<const node_identity> identity,
                                const choreography_options& opts,
                                std::shared_ptr<front_status> status,
                                std::shared_ptr<task_book> book,
                                bool fault_injection = false);

} // namespace duet
