#pragma once

// The front's router actor: its state is shared by two sources, front.cpp
// (jobs: dispatch, failover, answers, cluster view) and
// router_discovery.cpp (finding verifier instances: configured nodes, the
// supervisor's registry, failure handling).

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/stateful_actor.hpp>

#include "actors/fwd.hpp"
#include "actors/identity.hpp"
#include "actors/options.hpp"
#include "actors/pool.hpp"

namespace duet {

/// A request in progress.
struct job {
  verify_request req;
  verify_service::callback done;
  std::chrono::steady_clock::time_point deadline;
  style how = style::direct;
  /// Incremented per try; answers to an older try are stale.
  uint32_t attempt = 0;
  /// Instance of the current try.
  std::string target;
};

/// State of the front's router actor.
struct router_state {
  using clock_type = std::chrono::steady_clock;

  static inline const char* name = "front";

  explicit router_state(caf::stateful_actor<router_state>* ptr) : self(ptr) {
    // nop
  }

  caf::stateful_actor<router_state>* self;
  front_options opts;
  std::string node_name;
  /// Proves this front's name to the supervisor.
  std::shared_ptr<const node_identity> identity;
  std::shared_ptr<front_status> status;
  /// Returns the current task desk (the keeper may have restarted it).
  std::function<caf::actor()> current_desk;
  style default_style = style::direct;
  std::array<pool, 2> pools;
  supervisor_actor supervisor;
  bool supervisor_connecting = false;
  std::optional<registry> last_registry;
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_job = 0;
  /// A job's try: its id and attempt number.
  using job_try = std::pair<uint64_t, uint32_t>;
  /// Tries picked for an instance but not sent yet; `flush` sends each list
  /// as one batch once the mailbox holds no more work.
  std::map<std::pair<style, std::string>, std::vector<job_try>> outbox;
  bool flush_scheduled = false;

  /// The instances used for style `how` (direct or orchestration; the
  /// choreography has no pool).
  pool& pool_of(style how) {
    return pools[how == style::orchestration ? 1 : 0];
  }

  /// Says why no instance of style `how` can take a request, naming the
  /// instances that are not usable and their states.
  std::string unavailable(style how);

  // -- nodes and instances ----------------------------------------------------

  /// Connects to the agent of the verifier node at `address`.
  void connect_node(style how, const std::string& address);

  /// Connects again after `front.reconnect-interval`.
  void retry_node(style how, const std::string& address);

  /// Asks the node's agent for its instances and syncs the pool with them.
  void fetch(style how, const std::string& address);

  /// Makes the pool's instances of node `address` match `list`.
  void sync(style how, const std::string& address,
            std::vector<instance_info>& list);

  /// Returns the supervisor's state of instance `name`, if known.
  std::optional<std::string> state_in_registry(style how,
                                               const std::string& name);

  /// Drops an instance and sends its requests in flight elsewhere.
  void remove_instance(style how, const std::string& name);

  /// Reacts to the death of the supervisor, an agent or an instance.
  void on_down(const caf::down_msg& msg);

  /// Refreshes the counters /healthz and /readyz read.
  void update_status();

  // -- supervisor
  // ---------------------------------------------------------------

  /// Connects and subscribes to `front.supervisor`.
  void connect_supervisor();

  /// Subscribes to the supervisor with the proof of this front's name.
  void subscribe();

  /// Connects again after `front.reconnect-interval`.
  void retry_supervisor();

  /// Applies a registry pushed by the supervisor. Instances the registry does
  /// not list are kept: a supervisor that just restarted knows less than the
  /// front, and the front's own monitors catch instances that die.
  void on_registry(registry& reg);

  /// Returns whether the last registry lists node `address`.
  bool in_registry(const std::string& address) const;

  // -- jobs -------------------------------------------------------------------

  /// Takes a request from the HTTP side.
  void accept(front_job& fj);

  /// Sends job `id` to the next instance, or ends it if none is left or its
  /// deadline passed.
  void dispatch(uint64_t id);

  /// Sends every batch in the outbox.
  void flush();

  /// Sends the tries `batch` to instance `name` as one message.
  void send_batch(style how, const std::string& name,
                  std::vector<job_try> batch);

  /// Takes instance `name` out of rotation: it holds another key than the
  /// front pins (`why` says which).
  void misconfigured(style how, const std::string& name,
                     const std::string& why);

  /// Books the end of one try on instance `name`.
  pool_instance* settle(style how, const std::string& name);

  /// Returns whether `attempt` is the latest try of job `id`.
  bool current(uint64_t id, uint32_t attempt);

  /// Ends job `id` and answers the HTTP side.
  void finish(uint64_t id, expected<verdict> outcome);

  // -- cluster view -----------------------------------------------------------

  /// Answers GET /api/cluster: registry, pools and choreography counters.
  void cluster(cluster_query& q);

  /// Fails the jobs still open.
  ~router_state();

  /// Whether keyIds "!router-crash" and "!router-throw" are honored (tests).
  bool fault_injection = false;
};

} // namespace duet
