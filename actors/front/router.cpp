#include "actors/front/router.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

// Most tries sent to one instance in one message.
constexpr size_t max_batch = limits::batch;

// Key ids that make the router fail on purpose (front.fault-injection).
constexpr std::string_view crash_key = "!router-crash";
constexpr std::string_view throw_key = "!router-throw";

// The state an instance shows: the supervisor's, unless this front found
// that it holds another key.
instance_state shown(const pool_instance* x, instance_state reported) {
  return x != nullptr && !x->misconfigured.empty()
           ? instance_state::misconfigured
           : reported;
}

} // namespace

router_state::~router_state() {
  for (auto& kvp : jobs_)
    kvp.second.done(caf::make_error(ec::unavailable,
                                    "the front's router stopped; it is "
                                    "restarted, retry"));
}

// -- requests -----------------------------------------------------------------

void router_state::accept(front_job& fj) {
  if (fj.how == style::choreography) {
    // Choreography tasks go to the task desk, never here.
    fj.done(
      caf::make_error(ec::bad_request, "choreography requests are tasks"));
    return;
  }
  auto id = next_job_++;
  auto& j = jobs_[id];
  j.req = std::move(fj.req);
  j.done = std::move(fj.done);
  j.how = fj.how;
  j.deadline = clock_type::now() + opts_.request_timeout;
  status_->in_flight = jobs_.size();
  metrics::in_flight().Set(static_cast<double>(jobs_.size()));
  try {
    if (opts_.fault_injection && j.req.key_id == throw_key)
      throw std::runtime_error("router throws on purpose (fault injection)");
    if (opts_.fault_injection && j.req.key_id == crash_key) {
      log::warning("router stopping on purpose (fault injection)");
      self_->quit(caf::make_error(ec::injected_fault, "router crash"));
      return;
    }
    dispatch(id);
  } catch (...) {
    // This request gets its answer; the guard logs and counts the rest.
    if (jobs_.count(id) > 0)
      finish(id, caf::make_error(ec::internal_error,
                                 "the front's router failed on this request "
                                 "(see its log); other requests are not "
                                 "affected"));
    throw;
  }
}

std::string router_state::unavailable(style how) const {
  if (how == style::orchestration && opts_.supervisor.empty())
    return "the orchestration style is not configured on this front (set "
           "front.supervisor)";
  if (how == style::direct && opts_.verifiers.empty())
    return "the direct style is not configured on this front (set "
           "front.verifiers)";
  // Name the instances and what they are doing (the supervisor's view for
  // orchestration, the front's own otherwise).
  auto& p = pool_of(how);
  std::vector<std::string> parts;
  size_t known = 0;
  auto add = [&](const std::string& name, instance_state st) {
    ++known;
    if (parts.size() < 6)
      parts.push_back(name + " " + to_string(st));
  };
  if (how == style::orchestration && last_registry_) {
    for (auto& n : last_registry_->nodes)
      for (auto& x : n.instances)
        add(x.name, shown(p.find(x.name), x.state));
  } else {
    for (auto& x : p.instances)
      add(x.name, shown(&x, x.state));
  }
  std::string out = "no verifier instance can take the request (";
  out += to_string(how);
  out += "): ";
  if (known == 0) {
    out += "none known yet; " + std::to_string(p.nodes_connected()) + " of "
           + std::to_string(p.nodes.size()) + " verifier nodes connected";
    return out;
  }
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i > 0 ? ", " : "") + parts[i];
  if (known > parts.size())
    out += " and " + std::to_string(known - parts.size()) + " more";
  return out;
}

void router_state::dispatch(uint64_t id) {
  auto& j = jobs_[id];
  auto now = clock_type::now();
  if (now >= j.deadline) {
    finish(id, caf::make_error(ec::deadline_exceeded,
                               "no verifier answered within the request "
                               "deadline"));
    return;
  }
  auto target = pool_of(j.how).pick(j.attempt > 0 ? j.target : std::string{});
  if (target == nullptr) {
    finish(id, caf::make_error(ec::no_verifier, unavailable(j.how)));
    return;
  }
  if (j.how == style::orchestration)
    log::debug("Service instance: ", target->name);
  j.target = target->name;
  ++target->in_flight;
  auto attempt = ++j.attempt;
  // Batching: the try waits in the outbox until the mailbox is drained (a
  // flush message to self queues behind the work already there).
  auto key = std::make_pair(j.how, j.target);
  auto& queued = outbox_[key];
  queued.emplace_back(id, attempt);
  if (queued.size() >= max_batch) {
    auto batch = std::move(queued);
    outbox_.erase(key);
    send_batch(key.first, key.second, std::move(batch));
  } else if (!flush_scheduled_) {
    flush_scheduled_ = true;
    self_->send(self_, local::flush{});
  }
}

void router_state::flush() {
  flush_scheduled_ = false;
  auto pending = std::move(outbox_);
  outbox_.clear();
  for (auto& [key, batch] : pending)
    send_batch(key.first, key.second, std::move(batch));
}

void router_state::send_batch(style how, const std::string& instance,
                              std::vector<job_try> batch) {
  // Drop tries that were superseded (e.g. the instance died meanwhile).
  batch.erase(std::remove_if(batch.begin(), batch.end(),
                             [this](const job_try& t) {
                               return !current(t.first, t.second);
                             }),
              batch.end());
  if (batch.empty())
    return;
  auto target = pool_of(how).find(instance);
  if (target == nullptr || !target->handle) {
    for (auto& t : batch)
      dispatch(t.first);
    return;
  }
  // The batch waits no longer than its most urgent request may.
  auto now = clock_type::now();
  auto timeout = clock_type::duration{opts_.attempt_timeout};
  std::vector<verify_request> reqs;
  reqs.reserve(batch.size());
  for (auto& t : batch) {
    auto& j = jobs_[t.first];
    timeout = std::min<clock_type::duration>(timeout, j.deadline - now);
    reqs.push_back(j.req);
  }
  timeout = std::max<clock_type::duration>(timeout,
                                           std::chrono::milliseconds(1));
  // No CAF timeout: batch_due_ times the batch out (see deadlines.hpp).
  auto handle = self_->request(target->handle, caf::infinite,
                               verify_atom::value, std::move(reqs));
  auto answer_id = handle.id();
  batch_due_.add(answer_id, now + timeout);
  if (!tick_scheduled_) {
    tick_scheduled_ = true;
    self_->delayed_send(self_, batch_tick_, local::tick{});
  }
  std::move(handle).then(
    guard(name,
          [this, how, instance, batch, answer_id](batch_verdicts& v) {
            batch_due_.answered(answer_id);
            on_answers(how, instance, batch, v);
          }),
    guard(name, [this, how, instance, batch, answer_id](const caf::error& err) {
      batch_due_.answered(answer_id);
      on_batch_error(how, instance, batch, err);
    }));
}

void router_state::expire_batches() {
  tick_scheduled_ = batch_due_.expire(self_, clock_type::now());
  if (tick_scheduled_)
    self_->delayed_send(self_, batch_tick_, local::tick{});
}

void router_state::on_answers(style how, const std::string& instance,
                              const std::vector<job_try>& batch,
                              batch_verdicts& v) {
  if (auto err = check(v, batch.size())) {
    // A verifier that answers garbage is treated like one that does not
    // answer: the tries go elsewhere.
    on_batch_error(how, instance, batch,
                   refuse(router_state::name, std::move(err)));
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    settle(how, instance);
    auto [id, attempt] = batch[i];
    if (!current(id, attempt))
      continue;
    auto& a = v.answers[i];
    if (!a.error) {
      pool_of(how).served_by.add(instance);
      auto& req = jobs_[id].req;
      finish(id, verdict{a.verified, v.verifier, req.key_id, req.algorithm});
    } else if (is_code(a.error, ec::key_mismatch)) {
      // Not a client error: this instance holds another key than the one
      // pinned; take it out, try another.
      misconfigured(how, instance, message_of(a.error));
      dispatch(id);
    } else {
      finish(id, std::move(a.error));
    }
  }
}

void router_state::on_batch_error(style how, const std::string& instance,
                                  const std::vector<job_try>& batch,
                                  const caf::error& err) {
  for (auto [id, attempt] : batch) {
    settle(how, instance);
    if (!current(id, attempt))
      continue;
    // A refusal of the request itself ends it; a failure of the instance
    // (or an answer that makes no sense) moves it to the next one.
    if (!is_transport_error(err) && !is_code(err, ec::invalid_message)) {
      finish(id, err);
      continue;
    }
    log::warning("try ", attempt, " on ", instance,
                 " failed: ", self_->system().render(err));
    dispatch(id);
  }
}

void router_state::misconfigured(style how, const std::string& instance,
                                 const std::string& why) {
  auto x = pool_of(how).find(instance);
  if (x == nullptr || !x->misconfigured.empty())
    return;
  x->misconfigured = why;
  log::error("verifier instance ", instance, " is misconfigured: ", why,
             "; it gets no more requests");
  metrics::failure_detections(router_state::name, "misconfigured").Increment();
  update_status();
}

void router_state::settle(style how, const std::string& instance) {
  auto x = pool_of(how).find(instance);
  if (x != nullptr && x->in_flight > 0)
    --x->in_flight;
}

bool router_state::current(uint64_t id, uint32_t attempt) const {
  auto i = jobs_.find(id);
  return i != jobs_.end() && i->second.attempt == attempt;
}

void router_state::finish(uint64_t id, caf::expected<verdict> outcome) {
  auto i = jobs_.find(id);
  auto done = std::move(i->second.done);
  jobs_.erase(i);
  status_->in_flight = jobs_.size();
  metrics::in_flight().Set(static_cast<double>(jobs_.size()));
  done(std::move(outcome));
}

// -- cluster view -------------------------------------------------------------

cluster_view router_state::make_view(const registry* reg, bool fresh) const {
  cluster_view view;
  view.front = identity_->name;
  view.default_style = opts_.default_style;
  view.balancing = opts_.balancing;
  view.supervisor = opts_.supervisor;
  view.supervisor_reachable = fresh;
  if (reg != nullptr) {
    for (auto& n : reg->nodes) {
      node_row row{n.name,      n.address,       n.state,
                   n.conflicts, n.last_conflict, {}};
      for (auto& v : n.instances) {
        auto x = orchestration_.find(v.name);
        row.instances.push_back(
          {v.name, n.address, shown(x, v.state),
           x != nullptr ? x->misconfigured : "", v.restarts, v.heartbeat_age_ms,
           orchestration_.served(v.name), x != nullptr ? x->in_flight : 0});
      }
      view.nodes.push_back(std::move(row));
    }
  }
  auto rows = [](const pool& p) {
    std::vector<instance_row> result;
    for (auto& x : p.instances)
      result.push_back({x.name, x.node, shown(&x, x.state), x.misconfigured, 0,
                        -1, p.served(x.name), x.in_flight});
    return result;
  };
  view.orchestration = rows(orchestration_);
  view.direct = rows(direct_);
  return view;
}

void router_state::cluster(cluster_query& q) {
  // Gathers the task desk's counters, then the supervisor's registry; each
  // within front.view-timeout, or the view shows what the front knows.
  auto done
    = std::make_shared<verify_service::cluster_callback>(std::move(q.done));
  auto counters = std::make_shared<std::optional<desk_counters>>();
  auto reply = [this, done, counters](const registry* reg, bool fresh) {
    auto view = make_view(reg, fresh);
    view.choreography = std::move(*counters);
    (*done)(std::move(view));
  };
  auto with_registry = [this, reply] {
    auto stale = [this, reply](const caf::error&) {
      reply(last_registry_ ? &*last_registry_ : nullptr, false);
    };
    if (!supervisor_) {
      stale({});
      return;
    }
    self_->request(supervisor_, opts_.view_timeout, caf::get_atom::value)
      .then(guard(name,
                  [reply, stale](registry& reg) {
                    if (auto err = check(reg))
                      stale(refuse(name, std::move(err)));
                    else
                      reply(&reg, true);
                  }),
            guard(name, stale));
  };
  auto desk = current_desk_ ? current_desk_() : task_desk_actor{};
  if (!desk) {
    with_registry();
    return;
  }
  self_->request(desk, opts_.view_timeout, local::counters{})
    .then(guard(name,
                [with_registry, counters](desk_counters& x) {
                  *counters = std::move(x);
                  with_registry();
                }),
          guard(name, [with_registry](const caf::error&) { with_registry(); }));
}

// -- behavior -----------------------------------------------------------------

router_actor::behavior_type
router_state::make_behavior(front_options opts,
                            std::shared_ptr<const node_identity> identity,
                            std::shared_ptr<front_status> status,
                            std::function<task_desk_actor()> current_desk) {
  opts_ = std::move(opts);
  identity_ = std::move(identity);
  status_ = std::move(status);
  current_desk_ = std::move(current_desk);
  batch_tick_ = request_deadlines::tick_for(opts_.attempt_timeout);
  direct_ = pool{opts_.balancing};
  orchestration_ = pool{opts_.balancing};
  for (auto& address : opts_.verifiers)
    direct_.add_node(address, true);
  update_status();
  drop_unexpected(self_, name);
  self_->set_down_handler(
    guard(name, [this](caf::down_msg& msg) { on_down(msg); }));
  for (auto& address : opts_.verifiers)
    connect_node(style::direct, address);
  connect_supervisor();
  return {
    guard(name, [this](job_atom, front_job& fj) { accept(fj); }),
    guard(name, [this](cluster_atom, cluster_query& q) { cluster(q); }),
    guard(name,
          [this](registry_atom, registry& reg) {
            if (!supervisor_
                || self_->current_sender() != supervisor_.address())
              return; // not from the supervisor this router subscribed to
            if (auto err = check(reg)) {
              refuse(name, std::move(err));
              return;
            }
            on_registry(reg);
          }),
    guard(name, [this](local::flush) { flush(); }),
    guard(name, [this](local::tick) { expire_batches(); }),
    guard(name,
          [this](local::reconnect& x) { reconnect_node(x.how, x.address); }),
    guard(name, [this](local::fetch& x) { fetch(x.how, x.address); }),
    guard(name, [this](local::reconnect_supervisor) { connect_supervisor(); }),
  };
}

router_actor start_router(caf::actor_system& sys, const front_options& opts,
                          std::shared_ptr<const node_identity> identity,
                          std::shared_ptr<front_status> status,
                          std::function<task_desk_actor()> current_desk) {
  return sys.spawn(
    [](router_state::pointer self, front_options opts,
       std::shared_ptr<const node_identity> identity,
       std::shared_ptr<front_status> status,
       std::function<task_desk_actor()> current_desk) {
      return self->state.make_behavior(std::move(opts), std::move(identity),
                                       std::move(status),
                                       std::move(current_desk));
    },
    opts, std::move(identity), std::move(status), std::move(current_desk));
}

} // namespace duet
