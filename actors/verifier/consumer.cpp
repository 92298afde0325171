#include "actors/verifier/consumer.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/protocol/hub_links.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/deadlines.hpp"
#include "actors/runtime/guard.hpp"
#include "actors/verifier/task_memory.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_member_id(const std::string& node) {
  std::random_device rd;
  std::mt19937_64 rng{rd()};
  char nonce[9];
  std::snprintf(nonce, sizeof(nonce), "%08x",
                static_cast<unsigned>(rng() & 0xFFFFFFFF));
  return node + "#" + nonce;
}

struct consumer_state {
  static inline const char* name = "consumer";

  explicit consumer_state(caf::stateful_actor<consumer_state>* ptr)
    : self(ptr) {
    // nop
  }

  /// A result on its way to the front that published its task.
  struct outgoing {
    /// The hub the task came through, and the front.
    size_t hub;
    std::string front;
    choreo_result result;
  };

  caf::stateful_actor<consumer_state>* self;
  choreography_options opts;
  /// Deadlines for the local instances and the node's agent.
  verifier_options local;
  std::string node;
  /// This consumer's member id: node name plus a per-process nonce, so a
  /// restarted node is a new member.
  std::string member;
  task_memory memory;
  verifier_node_actor agent;
  std::vector<instance_info> instances;
  size_t next_instance = 0;
  /// Every hub: this node's task group joined on each.
  std::optional<hub_links> links;
  /// Results made and not yet published, in order: sent as one signed
  /// batch per front and hub once the mailbox is drained (or once a hub is
  /// back).
  std::vector<outgoing> unsent;
  bool flush_scheduled = false;
  /// When each request to a local instance times out, checked every beat:
  /// at most `choreography.beat-interval` late (see deadlines.hpp).
  request_deadlines deadlines;
  /// Proves this node's name (see identity.hpp).
  std::shared_ptr<const node_identity> identity;

  void on_joined(local::hub_joined& x) {
    auto i = links->on_joined(x);
    if (i == hub_links::npos)
      return;
    // Known to the fronts on that hub at once.
    self->send(links->at(i), publish_atom::value,
               make_beat(*identity, member, false));
    flush();
  }

  void on_task(choreo_task& t) {
    auto hub = links->index_of(self->current_sender());
    if (hub == hub_links::npos)
      return; // not through a hub of ours
    if (auto err = check(t)) {
      refuse(name, std::move(err));
      return;
    }
    if (t.reply_to.empty()) {
      refuse(name,
             caf::make_error(ec::invalid_message, "a task without its front"));
      return;
    }
    log::debug("task ", t.id, " (attempt ", t.attempt, ")");
    auto seen = memory.see(std::move(t), clock_type::now());
    if (seen == nullptr)
      return;
    // A copy through another hub (the front moved) is answered there.
    seen->hub = hub;
    if (!seen->in_progress)
      process(*seen);
  }

  void tick() {
    for (size_t i = 0; i < links->size(); ++i)
      if (links->at(i))
        self->send(links->at(i), publish_atom::value,
                   make_beat(*identity, member, false));
    // A task without result past task-timeout was given up by its front
    // (which may be gone): forget it.
    memory.forget_before(clock_type::now() - opts.task_timeout);
    deadlines.expire(self, clock_type::now());
    self->delayed_send(self, opts.beat_interval, local::tick{});
  }

  void process(task_memory::seen_task& st) {
    if (instances.empty()) {
      // Asked again; the front publishes the task again meanwhile.
      refresh_instances();
      return;
    }
    auto digest = task_digest(st.task.id, st.task.req);
    if (!digest) {
      log::error("cannot answer task ", st.task.id, ": ",
                 message_of(digest.error()));
      return;
    }
    st.in_progress = true;
    auto& inst = instances[next_instance++ % instances.size()];
    auto id = st.task.id;
    // No CAF timeout: `deadlines` times the request out (deadlines.hpp).
    auto handle = self->request(inst.handle, caf::infinite, verify_atom::value,
                                st.task.req);
    auto answer_id = handle.id();
    deadlines.add(answer_id, clock_type::now() + local.verify_timeout);
    std::move(handle).then(
      guard(
        name,
        [this, id, digest = *digest, answer_id](verdict& v) {
          deadlines.answered(answer_id);
          if (auto err = check(v)) {
            retry_later(id, refuse(name, std::move(err)));
            return;
          }
          publish(id, choreo_result{id, v.verified, v.verifier, {}, digest});
        }),
      guard(name,
            [this, id, digest = *digest, answer_id](const caf::error& err) {
              deadlines.answered(answer_id);
              if (is_transport_error(err)) {
                retry_later(id, err);
                return;
              }
              if (is_code(err, ec::key_mismatch)) {
                decline(id, message_of(err));
                return;
              }
              publish(id, choreo_result{id, false, node, err, digest});
            }));
  }

  // This node holds another key than the one pinned for task `id`: the
  // front gives the task to another consumer.
  void decline(const std::string& id, const std::string& why) {
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::error("declining tasks: ", why);
    auto seen = memory.find(id);
    if (seen == nullptr)
      return;
    auto hub = hub_for(seen->hub);
    auto front = seen->task.reply_to;
    memory.done(id);
    if (hub == hub_links::npos)
      return; // the front publishes it again; declined again then
    task_decline d{id, member, why, {}};
    if (auto proof = identity->prove(purpose::decline, id))
      d.proof = std::move(*proof);
    self->send(links->at(hub), publish_atom::value, result_topic(front), d);
  }

  // Hub `i` if it is joined, else any joined hub (the fronts listen on
  // every hub they reach), else `npos`.
  size_t hub_for(size_t i) const {
    return i < links->size() && links->at(i) ? i : links->first_joined();
  }

  // The local instance died or stalled: the front publishes the task again.
  void retry_later(const std::string& id, const caf::error& err) {
    log::debug("verifying ", id, " failed: ", self->system().render(err));
    if (auto seen = memory.find(id))
      seen->in_progress = false;
    refresh_instances();
  }

  // Queues a result for its front; it counts as done once published.
  void publish(const std::string& id, choreo_result r) {
    log::debug("result ", r.id, " by ", r.verifier);
    auto seen = memory.find(id);
    if (seen == nullptr || unsent.size() >= limits::seen_tasks)
      return; // the front publishes it again: answered then
    unsent.push_back({seen->hub, seen->task.reply_to, std::move(r)});
    if (!flush_scheduled) {
      // Batching: the flush queues behind the work already in the mailbox.
      flush_scheduled = true;
      self->send(self, local::flush{});
    }
  }

  // Publishes the queued results as signed batches, one per front and hub.
  // Kept (with their tasks in progress, so they are not verified again)
  // while no hub is joined.
  void flush() {
    flush_scheduled = false;
    if (unsent.empty() || links->first_joined() == hub_links::npos)
      return;
    auto pending = std::move(unsent);
    unsent.clear();
    std::stable_sort(pending.begin(), pending.end(),
                     [&](const outgoing& x, const outgoing& y) {
                       return std::tie(x.hub, x.front)
                              < std::tie(y.hub, y.front);
                     });
    for (size_t first = 0; first < pending.size();) {
      auto last = first;
      while (last < pending.size() && last - first < limits::batch
             && pending[last].hub == pending[first].hub
             && pending[last].front == pending[first].front)
        ++last;
      send_batch(pending, first, last);
      first = last;
    }
  }

  void send_batch(std::vector<outgoing>& xs, size_t first, size_t last) {
    result_batch b;
    b.signer = node;
    for (auto i = first; i < last; ++i)
      b.results.push_back(std::move(xs[i].result));
    auto digest = identity->enabled() ? results_digest(b.results)
                                      : caf::expected<std::string>{""};
    if (!digest) {
      log::error("cannot sign results: ", message_of(digest.error()));
      return;
    }
    auto proof = identity->prove(purpose::results, *digest);
    if (!proof) {
      log::error("cannot sign results: ", message_of(proof.error()));
      return;
    }
    b.proof = std::move(*proof);
    auto hub = hub_for(xs[first].hub);
    self->send(links->at(hub), publish_atom::value,
               result_topic(xs[first].front), b);
    for (auto& r : b.results)
      memory.done(r.id);
  }

  void refresh_instances() {
    self->request(agent, local.connect_timeout, caf::get_atom::value)
      .then(guard(name,
                  [this](std::vector<instance_info>& list) {
                    if (auto err = check(list, limits::slots)) {
                      refuse(name, std::move(err));
                      return;
                    }
                    instances = std::move(list);
                  }),
            [](const caf::error&) {
              // Asked again on the next task.
            });
  }

  ~consumer_state() {
    // A clean stop: the fronts hand this member's tasks to the others now
    // rather than after member-timeout.
    if (links && identity)
      for (size_t i = 0; i < links->size(); ++i)
        if (links->at(i))
          caf::anon_send(links->at(i), publish_atom::value,
                         make_beat(*identity, member, true));
  }
};

caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                       std::shared_ptr<const node_identity> identity,
                       verifier_node_actor agent, verifier_options local,
                       choreography_options opts) {
  auto& st = self->state;
  st.local = std::move(local);
  st.node = identity->name;
  st.identity = std::move(identity);
  st.member = make_member_id(st.node);
  st.agent = std::move(agent);
  st.opts = std::move(opts);
  st.refresh_instances();
  st.links.emplace(self, st.identity,
                   hub_links::config{st.opts.hubs,
                                     {task_topic(st.node)},
                                     st.opts.lookup_timeout,
                                     st.opts.lookup_retry});
  st.links->start();
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.links->on_down(msg) != hub_links::npos)
      self->state.flush();
  });
  self->send(self, local::tick{});
  drop_unexpected(self, st.name);
  const char* name = st.name;
  return {
    guard(name, [self](local::hub_joined& x) { self->state.on_joined(x); }),
    guard(name,
          [self](local::reconnect_hub& x) {
            self->state.links->reconnect(x.index);
          }),
    guard(name, [self](choreo_task& t) { self->state.on_task(t); }),
    guard(name, [self](local::flush) { self->state.flush(); }),
    guard(name, [self](local::tick) { self->state.tick(); }),
  };
}

} // namespace

consumer_actor start_consumer(caf::actor_system& sys,
                              std::shared_ptr<const node_identity> identity,
                              verifier_node_actor agent,
                              const verifier_options& local,
                              const choreography_options& opts) {
  return caf::actor_cast<consumer_actor>(
    sys.spawn(consumer, std::move(identity), std::move(agent), local, opts));
}

} // namespace duet
