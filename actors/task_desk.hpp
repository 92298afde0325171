#pragma once

// The front side of the choreography style: the task desk publishes each
// accepted task to the task group, records the first result per task from the
// result group, publishes tasks again that got no result in time, answers
// task queries, and bounds what it keeps.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

#include "actors/options.hpp"
#include "actors/service.hpp"

namespace duet {

/// Spawns the task desk of front `front`; it sets `status->tasks_joined`.
caf::actor start_task_desk(caf::actor_system& sys, const std::string& front,
                           const choreography_options& opts,
                           std::shared_ptr<front_status> status);

} // namespace duet
