#pragma once

// The front role's actor side as the HTTP side sees it: `front_service`
// implements `verify_service` by sending each call to the router (direct,
// orchestration, the cluster view) or to the task desk (choreography). The
// node's keeper keeps both actors alive and tells the service each new
// incarnation; calls that arrive while one is down get `unavailable`.

#include <memory>
#include <mutex>
#include <vector>

#include "actors/core/options.hpp"
#include "actors/front/messages.hpp"
#include "actors/front/router.hpp"
#include "actors/front/verify_service.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/runtime/keeper.hpp"

namespace duet {

/// The `verify_service` backed by the front's router and task desk.
class front_service : public verify_service {
public:
  /// `has_desk`: the choreography style is configured.
  front_service(std::shared_ptr<front_status> status, bool has_desk);

  void verify(style how, verify_request req, callback done) override;

  void submit(verify_request req, submit_callback done) override;

  void task(std::string id, std::chrono::milliseconds wait,
            task_callback done) override;

  void cluster(cluster_callback done) override;

  const front_status& status() const noexcept override;

  /// The counters, shared with the actors.
  const std::shared_ptr<front_status>& shared_status() const noexcept {
    return status_;
  }

  /// The current router (invalid while it restarts).
  router_actor router() const;

  /// The current task desk (invalid while it restarts or if not configured).
  task_desk_actor desk() const;

  /// Sets the router requests go to.
  void set_router(router_actor x);

  /// Sets the task desk tasks go to.
  void set_desk(task_desk_actor x);

private:
  mutable std::mutex mtx_;
  router_actor router_;
  task_desk_actor desk_;
  std::shared_ptr<front_status> status_;
  bool has_desk_;
};

/// Returns the front's actors for the node's keeper: the router (which
/// starts connecting to `opts.verifiers` and `opts.supervisor` at once) and,
/// if hubs are set, the task desk with its book (and store: an error if it
/// cannot be opened); each incarnation is handed to
/// `service`.
caf::expected<std::vector<kept_actor>>
front_actors(const std::shared_ptr<front_service>& service, const options& opts,
             const std::shared_ptr<const node_identity>& identity);

} // namespace duet
