#pragma once

// The front role's actor side: a router actor that takes jobs from the HTTP
// front and sends them to verifier instances on other nodes, found either
// from configured node addresses (direct style) or from the supervisor's
// registry (orchestration style), with failover within each job's deadline.

#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/identity.hpp"
#include "actors/keeper.hpp"
#include "actors/options.hpp"
#include "actors/service.hpp"

namespace duet {

/// The `verify_service` backed by the front's router actor and task desk.
/// Both are kept by the node's keeper, which tells the service each new
/// incarnation; requests that arrive while one is down get 503.
class front_service : public verify_service {
public:
  /// `has_desk`: the choreography style is configured.
  front_service(std::shared_ptr<front_status> status, bool has_desk);

  void verify(style how, verify_request req, callback done) override;

  void submit(verify_request req, submit_callback done) override;

  void task(std::string id, std::chrono::milliseconds wait,
            task_callback done) override;

  void cluster(text_callback done) override;

  const front_status& status() const noexcept override;

  /// The counters, shared with the actors.
  const std::shared_ptr<front_status>& shared_status() const noexcept {
    return status_;
  }

  /// The current router (invalid while it restarts).
  caf::actor router() const;

  /// The current task desk (invalid while it restarts or if not configured).
  caf::actor desk() const;

  /// Sets the router requests go to.
  void set_router(caf::actor x);

  /// Sets the task desk tasks go to.
  void set_desk(caf::actor x);

private:
  mutable std::mutex mtx_;
  caf::actor router_;
  caf::actor desk_;
  std::shared_ptr<front_status> status_;
  bool has_desk_;
};

/// Returns the front's actors for the node's keeper: the router (which
/// starts connecting to `opts.verifiers` and `opts.supervisor` at once) and,
/// if `choreo.hub` is set, the task desk; each incarnation is handed to
/// `service`.
std::vector<kept_actor>
front_actors(const std::shared_ptr<front_service>& service,
             const front_options& opts, const choreography_options& choreo,
             const std::shared_ptr<const node_identity>& identity);

} // namespace duet
