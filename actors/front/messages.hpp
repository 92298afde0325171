#pragma once

// What the HTTP side sends the front's actors (through `front_service`):
// local-only messages that carry the service's callbacks. Their types are
// not registered with CAF, so no peer can send them.

#include <chrono>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/front/verify_service.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/request.hpp"

namespace duet {

/// A request from the HTTP side with its completion callback (local only).
struct front_job {
  style how;
  verify_request req;
  verify_service::callback done;
};

/// A request for the cluster view from the HTTP side (local only).
struct cluster_query {
  verify_service::cluster_callback done;
};

/// A choreography task submitted by the HTTP side (local only).
struct task_submission {
  verify_request req;
  verify_service::submit_callback done;
};

/// A query for one task, or (empty id) for the oldest unread result (local
/// only).
struct task_query {
  std::string id;
  /// Long poll: how long to wait for a pending task to end.
  std::chrono::milliseconds wait{0};
  verify_service::task_callback done;
};

/// The task desk as the front's service and router see it. (It is an
/// untyped actor underneath: it also takes the hubs' traffic, results,
/// declines and beats, each checked as it comes.)
using task_desk_actor = caf::typed_actor<
  // Accepts a choreography task; answers through the submission's callback.
  caf::reacts_to<submit_atom, task_submission>,
  // Answers a query for a task through its callback (long polls wait).
  caf::reacts_to<task_atom, task_query>,
  // Its counters for the cluster view.
  caf::replies_to<local::counters>::with<desk_counters>>;

} // namespace duet

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::desk_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::front_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::cluster_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::task_submission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::task_query)
