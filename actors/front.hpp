#pragma once

// The front role's actor side: a router actor that takes jobs from the HTTP
// front and sends them to verifier instances on other nodes, found either
// from configured node addresses (direct style) or from the supervisor's
// registry (orchestration style), with failover within each job's deadline.

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/options.hpp"
#include "actors/service.hpp"

namespace duet {

/// The `verify_service` backed by the front's router actor.
class front_service : public verify_service {
public:
  front_service(caf::actor router, caf::actor desk,
                std::shared_ptr<front_status> status);

  void verify(style how, verify_request req, callback done) override;

  void submit(verify_request req, submit_callback done) override;

  void task(std::string id, std::chrono::milliseconds wait,
            task_callback done) override;

  void cluster(text_callback done) override;

  const front_status& status() const noexcept override;

  /// The router actor (for shutdown).
  const caf::actor& router() const noexcept {
    return router_;
  }

  /// The task desk of the choreography style (invalid if not configured).
  const caf::actor& desk() const noexcept {
    return desk_;
  }

private:
  caf::actor router_;
  caf::actor desk_;
  std::shared_ptr<front_status> status_;
};

/// Spawns the router, which starts connecting to `opts.verifiers` and to
/// `opts.supervisor` at once, and the task desk if `choreo.hub` is set.
std::shared_ptr<front_service>
start_front(caf::actor_system& sys, const front_options& opts,
            const choreography_options& choreo, const std::string& node_name);

} // namespace duet
