#pragma once

// The front's router: it takes verification requests from the HTTP side
// (direct and orchestration styles; choreography tasks go to the task
// desk), sends each to a verifier instance, fails over within the request's
// deadline, and answers. It finds instances in two ways, one pool each:
// configured verifier nodes (direct) and the supervisor's registry
// (orchestration). One actor in two sources: router.cpp (requests, batches,
// answers, the cluster view) and router_discovery.cpp (nodes, instances,
// the supervisor, failures).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "actors/core/options.hpp"
#include "actors/front/messages.hpp"
#include "actors/front/pool.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/runtime/deadlines.hpp"

namespace duet {

/// The router's interface: what the front's service and the supervisor send
/// it, and its own timers.
using router_actor = caf::typed_actor<
  // A verification request from the HTTP side (direct or orchestration).
  caf::reacts_to<job_atom, front_job>,
  // GET /api/cluster.
  caf::reacts_to<cluster_atom, cluster_query>,
  // The supervisor's registry after a change (only from the supervisor the
  // router subscribed to).
  caf::reacts_to<registry_atom, registry>,
  // Timers and retries it sends itself.
  caf::reacts_to<local::flush>, caf::reacts_to<local::tick>,
  caf::reacts_to<local::reconnect>, caf::reacts_to<local::fetch>,
  caf::reacts_to<local::reconnect_supervisor>>;

/// The state of the router.
class router_state {
public:
  using clock_type = std::chrono::steady_clock;
  using pointer = router_actor::stateful_pointer<router_state>;

  static inline const char* name = "router";

  explicit router_state(pointer self) : self_(self) {
    // nop
  }

  /// Fails the requests still open (the keeper starts a new router).
  ~router_state();

  /// Starts connecting and returns the behavior.
  router_actor::behavior_type
  make_behavior(front_options opts,
                std::shared_ptr<const node_identity> identity,
                std::shared_ptr<front_status> status,
                std::function<task_desk_actor()> current_desk);

private:
  /// A request in progress.
  struct job {
    verify_request req;
    verify_service::callback done;
    clock_type::time_point deadline;
    style how = style::direct;
    /// Incremented per try; answers to an older try are stale.
    uint32_t attempt = 0;
    /// Instance of the current try.
    std::string target;
  };

  /// A job's try: its id and attempt number.
  using job_try = std::pair<uint64_t, uint32_t>;

  // -- requests (router.cpp) --------------------------------------------------

  /// Takes a request from the HTTP side.
  void accept(front_job& fj);

  /// Sends job `id` to the next instance, or ends it if none is left or its
  /// deadline passed.
  void dispatch(uint64_t id);

  /// Sends every batch in the outbox.
  void flush();

  /// Sends the tries `batch` to instance `name` as one message.
  void send_batch(style how, const std::string& instance,
                  std::vector<job_try> batch);

  /// Times out the batches whose time is up and, while any are in flight,
  /// asks for the next tick.
  void expire_batches();

  /// Handles the answers to a batch.
  void on_answers(style how, const std::string& instance,
                  const std::vector<job_try>& batch, batch_verdicts& v);

  /// Handles a batch without answers: sends its tries elsewhere, or ends
  /// them with the error if the instance refused them.
  void on_batch_error(style how, const std::string& instance,
                      const std::vector<job_try>& batch, const caf::error& err);

  /// Takes instance `name` out of rotation: it holds another key than the
  /// front pins (`why` says which).
  void misconfigured(style how, const std::string& instance,
                     const std::string& why);

  /// Books the end of one try on instance `name`.
  void settle(style how, const std::string& instance);

  /// Returns whether `attempt` is the latest try of job `id`.
  bool current(uint64_t id, uint32_t attempt) const;

  /// Ends job `id` and answers the HTTP side.
  void finish(uint64_t id, caf::expected<verdict> outcome);

  /// Says why no instance of style `how` can take a request, naming the
  /// instances that are not usable and their states.
  std::string unavailable(style how) const;

  /// Answers GET /api/cluster: registry, pools and the desk's counters.
  void cluster(cluster_query& q);

  /// The view of the cluster from what the router knows.
  cluster_view make_view(const registry* reg, bool fresh) const;

  // -- nodes and instances (router_discovery.cpp) -----------------------------

  /// The instances used for style `how` (the choreography has none).
  pool& pool_of(style how) noexcept;
  const pool& pool_of(style how) const noexcept;

  /// Connects to the agent of the verifier node at `address`.
  void connect_node(style how, const std::string& address);

  /// Connects again after `front.reconnect-interval`, or forgets the node if
  /// it is neither configured nor registered any more.
  void reconnect_node(style how, const std::string& address);

  /// Asks the node's agent for its instances and syncs the pool with them.
  void fetch(style how, const std::string& address);

  /// Makes the pool's instances of node `address` match `list`.
  void sync(style how, const std::string& address,
            std::vector<instance_info>& list);

  /// Returns the supervisor's state of instance `name`, if known.
  std::optional<instance_state>
  state_in_registry(style how, const std::string& name) const;

  /// Drops an instance and sends its requests in flight elsewhere.
  void remove_instance(style how, const std::string& name);

  /// Reacts to the death of the supervisor, an agent or an instance.
  void on_down(const caf::down_msg& msg);

  /// Refreshes the counters /healthz and /readyz read.
  void update_status();

  /// Connects and subscribes to `front.supervisor`.
  void connect_supervisor();

  /// Subscribes to the supervisor with the proof of this front's name.
  void subscribe();

  /// Connects again after `front.reconnect-interval`.
  void retry_supervisor();

  /// Applies a registry from the supervisor (checked, from the supervisor
  /// this router subscribed to). Instances the registry does not list are
  /// kept: a supervisor that just restarted knows less than the front, and
  /// the front's own monitors catch instances that die.
  void on_registry(registry& reg);

  /// Returns whether the last registry lists node `address`.
  bool in_registry(const std::string& address) const;

  // -- state ------------------------------------------------------------------

  pointer self_;
  front_options opts_;
  /// Proves this front's name to the supervisor.
  std::shared_ptr<const node_identity> identity_;
  /// What /healthz and /readyz read.
  std::shared_ptr<front_status> status_;
  /// Returns the current task desk (the keeper may have restarted it).
  std::function<task_desk_actor()> current_desk_;
  /// Instances from `front.verifiers` (direct style).
  pool direct_;
  /// Instances from the supervisor's registry (orchestration style).
  pool orchestration_;
  supervisor_actor supervisor_;
  bool supervisor_connecting_ = false;
  std::optional<registry> last_registry_;
  std::unordered_map<uint64_t, job> jobs_;
  uint64_t next_job_ = 0;
  /// Tries picked for an instance but not sent yet; `flush` sends each list
  /// as one batch once the mailbox holds no more work.
  std::map<std::pair<style, std::string>, std::vector<job_try>> outbox_;
  bool flush_scheduled_ = false;
  /// When each batch in flight times out (see deadlines.hpp); the tick
  /// runs while any is in flight.
  request_deadlines batch_due_;
  bool tick_scheduled_ = false;
  clock_type::duration batch_tick_{};
};

/// Spawns the router: it connects to `opts.verifiers` and subscribes to
/// `opts.supervisor` at once, proving its name with `identity`; it asks
/// `current_desk()` for the choreography's part of the cluster view.
router_actor start_router(caf::actor_system& sys, const front_options& opts,
                          std::shared_ptr<const node_identity> identity,
                          std::shared_ptr<front_status> status,
                          std::function<task_desk_actor()> current_desk);

} // namespace duet
