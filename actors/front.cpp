#include "actors/front.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "actors/cluster_view.hpp"
#include "actors/guard.hpp"
#include "actors/keeper.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/router.hpp"
#include "actors/task_desk.hpp"
#include "actors/validate.hpp"

namespace duet {

namespace {

// Most tries sent to one instance in one message.
constexpr size_t max_batch = 32;

// Key ids that make the router fail on purpose (front.fault-injection).
constexpr std::string_view crash_key = "!router-crash";
constexpr std::string_view throw_key = "!router-throw";

} // namespace

// -- jobs ---------------------------------------------------------------------

void router_state::accept(front_job& fj) {
  if (fj.how == style::choreography) {
    // Choreography tasks go to the task desk, never here.
    fj.done(failure{ec::bad_request, "choreography requests are tasks"});
    return;
  }
  auto id = next_job++;
  auto& j = jobs[id];
  j.req = std::move(fj.req);
  j.done = std::move(fj.done);
  j.how = fj.how;
  j.deadline = clock_type::now() + opts.request_timeout;
  status->in_flight = jobs.size();
  metrics::in_flight().Set(static_cast<double>(jobs.size()));
  try {
    if (fault_injection && j.req.key_id == throw_key)
      throw std::runtime_error("router throws on purpose (fault injection)");
    if (fault_injection && j.req.key_id == crash_key) {
      log::warning("router stopping on purpose (fault injection)");
      self->quit(caf::make_error(ec::injected_fault, "router crash"));
      return;
    }
    dispatch(id);
  } catch (...) {
    // This request gets its answer; the guard logs and counts the rest.
    if (jobs.count(id) > 0)
      finish(id, failure{ec::internal_error,
                         "the front's router failed on this request (see "
                         "its log); other requests are not affected"});
    throw;
  }
}

std::string router_state::unavailable(style how) {
  if (how == style::orchestration && opts.supervisor.empty())
    return "the orchestration style is not configured on this front (set "
           "front.supervisor)";
  if (how == style::direct && opts.verifiers.empty())
    return "the direct style is not configured on this front (set "
           "front.verifiers)";
  // Name the instances and what they are doing (the supervisor's view for
  // orchestration, the front's own otherwise).
  std::vector<std::string> parts;
  size_t known = 0;
  if (how == style::orchestration && last_registry) {
    for (auto& n : last_registry->nodes)
      for (auto& x : n.instances) {
        ++known;
        auto local = pool_of(how).find(x.name);
        if (parts.size() < 6)
          parts.push_back(x.name + " "
                          + (local && !local->misconfigured.empty()
                               ? "misconfigured"
                               : x.state));
      }
  } else {
    for (auto& x : pool_of(how).instances) {
      ++known;
      if (parts.size() < 6)
        parts.push_back(
          x.name + " " + (x.misconfigured.empty() ? x.state : "misconfigured"));
    }
  }
  std::string out = "no verifier instance can take the request (";
  out += to_string(how);
  out += "): ";
  if (known == 0) {
    out += "none known yet; " + std::to_string(pool_of(how).nodes_connected())
           + " of " + std::to_string(pool_of(how).nodes.size())
           + " verifier nodes connected";
    return out;
  }
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i > 0 ? ", " : "") + parts[i];
  if (known > parts.size())
    out += " and " + std::to_string(known - parts.size()) + " more";
  return out;
}

void router_state::dispatch(uint64_t id) {
  auto& j = jobs[id];
  auto now = clock_type::now();
  if (now >= j.deadline) {
    finish(id, failure{ec::deadline_exceeded,
                       "no verifier answered within the request deadline"});
    return;
  }
  auto& p = pool_of(j.how);
  auto target = p.pick(j.attempt > 0 ? j.target : std::string{});
  if (target == nullptr) {
    finish(id, failure{ec::no_verifier, unavailable(j.how)});
    return;
  }
  if (j.how == style::orchestration)
    log::debug("Service instance: ", target->name);
  j.target = target->name;
  ++target->in_flight;
  auto attempt = ++j.attempt;
  // Batching: the try waits in the outbox until the mailbox is drained (a
  // flush message to self queues behind the work already there).
  auto& queued = outbox[{j.how, j.target}];
  queued.emplace_back(id, attempt);
  if (queued.size() >= max_batch) {
    auto batch = std::move(queued);
    outbox.erase({j.how, j.target});
    send_batch(j.how, j.target, std::move(batch));
  } else if (!flush_scheduled) {
    flush_scheduled = true;
    self->send(self, local::flush{});
  }
}

void router_state::flush() {
  flush_scheduled = false;
  auto pending = std::move(outbox);
  outbox.clear();
  for (auto& [key, batch] : pending)
    send_batch(key.first, key.second, std::move(batch));
}

void router_state::send_batch(style how, const std::string& name,
                              std::vector<job_try> batch) {
  // Drop tries that were superseded (e.g. the instance died meanwhile).
  batch.erase(std::remove_if(batch.begin(), batch.end(),
                             [this](const job_try& t) {
                               return !current(t.first, t.second);
                             }),
              batch.end());
  if (batch.empty())
    return;
  auto target = pool_of(how).find(name);
  if (target == nullptr || !target->handle) {
    for (auto& t : batch)
      dispatch(t.first);
    return;
  }
  auto now = clock_type::now();
  auto timeout = clock_type::duration{opts.attempt_timeout};
  std::vector<verify_request> reqs;
  reqs.reserve(batch.size());
  for (auto& t : batch) {
    auto& j = jobs[t.first];
    timeout = std::min<clock_type::duration>(timeout, j.deadline - now);
    reqs.push_back(j.req);
  }
  if (timeout <= clock_type::duration::zero())
    timeout = std::chrono::milliseconds(1);
  auto on_error = [this, how, name, batch](const caf::error& err) {
    for (auto [id, attempt] : batch) {
      settle(how, name);
      if (!current(id, attempt))
        continue;
      if (!is_transport_error(err) && !is_code(err, ec::invalid_message)) {
        finish(id, to_failure(err));
        continue;
      }
      log::warning("try ", attempt, " on ", name,
                   " failed: ", self->system().render(err));
      dispatch(id);
    }
  };
  self->request(target->handle, timeout, verify_atom::value, std::move(reqs))
    .then(guard(router_state::name,
                [this, how, name, batch, on_error](batch_verdicts& v) {
                  if (auto err = check(v, batch.size())) {
                    // A verifier that answers garbage is treated like one
                    // that does not answer: the tries go elsewhere.
                    on_error(refuse(router_state::name, std::move(err)));
                    return;
                  }
                  for (size_t i = 0; i < batch.size(); ++i) {
                    settle(how, name);
                    auto [id, attempt] = batch[i];
                    if (!current(id, attempt))
                      continue;
                    auto& a = v.answers[i];
                    if (a.code == 0) {
                      pool_of(how).served_by.add(name);
                      auto& req = jobs[id].req;
                      finish(id, verdict{a.verified, v.verifier, req.key_id,
                                         req.algorithm});
                    } else if (a.code
                               == static_cast<uint8_t>(ec::key_mismatch)) {
                      // Not a client error: this instance holds another
                      // key than the one pinned; take it out, try another.
                      misconfigured(how, name, a.message);
                      dispatch(id);
                    } else {
                      finish(id, failure{static_cast<ec>(a.code),
                                         std::move(a.message)});
                    }
                  }
                }),
          guard(router_state::name, on_error));
}

void router_state::misconfigured(style how, const std::string& name,
                                 const std::string& why) {
  auto x = pool_of(how).find(name);
  if (x == nullptr || !x->misconfigured.empty())
    return;
  x->misconfigured = why;
  log::error("verifier instance ", name, " is misconfigured: ", why,
             "; it gets no more requests");
  metrics::failure_detections("front", "misconfigured").Increment();
  update_status();
}

// Books the end of one try on instance `name`.
pool_instance* router_state::settle(style how, const std::string& name) {
  auto x = pool_of(how).find(name);
  if (x != nullptr && x->in_flight > 0)
    --x->in_flight;
  return x;
}

bool router_state::current(uint64_t id, uint32_t attempt) {
  auto i = jobs.find(id);
  return i != jobs.end() && i->second.attempt == attempt;
}

void router_state::finish(uint64_t id, expected<verdict> outcome) {
  auto i = jobs.find(id);
  auto done = std::move(i->second.done);
  jobs.erase(i);
  status->in_flight = jobs.size();
  metrics::in_flight().Set(static_cast<double>(jobs.size()));
  done(std::move(outcome));
}

// -- cluster view -------------------------------------------------------------

void router_state::cluster(cluster_query& q) {
  auto reply = [this, done = std::move(q.done)](const registry* reg, bool fresh,
                                                const std::string& choreo) {
    done(render_cluster(node_name, opts, reg, fresh,
                        pool_of(style::orchestration), pool_of(style::direct),
                        choreo));
  };
  // Gathers the task desk's counters, then the supervisor's registry.
  auto with_registry = [this, reply](const std::string& choreo) {
    if (!supervisor) {
      reply(last_registry ? &*last_registry : nullptr, false, choreo);
      return;
    }
    auto stale = [this, reply, choreo](const caf::error&) {
      reply(last_registry ? &*last_registry : nullptr, false, choreo);
    };
    self
      ->request(supervisor, std::chrono::milliseconds(500),
                caf::get_atom::value)
      .then(guard(name,
                  [reply, choreo, stale](registry& reg) {
                    if (auto err = check(reg))
                      stale(refuse(name, std::move(err)));
                    else
                      reply(&reg, true, choreo);
                  }),
            guard(name, stale));
  };
  auto desk = current_desk ? current_desk() : caf::actor{};
  if (!desk) {
    with_registry({});
    return;
  }
  self->request(desk, std::chrono::milliseconds(500), local::counters{})
    .then(
      guard(name, [with_registry](std::string& doc) { with_registry(doc); }),
      guard(name, [with_registry](const caf::error&) { with_registry({}); }));
}

router_state::~router_state() {
  for (auto& kvp : jobs)
    kvp.second.done(failure{ec::no_verifier,
                            "the front's router stopped; it is restarted, "
                            "retry"});
}

namespace {

caf::behavior router(caf::stateful_actor<router_state>* self,
                     front_options opts,
                     std::shared_ptr<const node_identity> identity,
                     std::shared_ptr<front_status> st,
                     std::function<caf::actor()> current_desk) {
  auto& s = self->state;
  s.current_desk = std::move(current_desk);
  s.opts = std::move(opts);
  s.node_name = identity->name;
  s.identity = std::move(identity);
  s.status = std::move(st);
  s.fault_injection = s.opts.fault_injection;
  s.default_style = parse_style(s.opts.style).value_or(style::direct);
  auto least_loaded = s.opts.balance == "least-loaded";
  s.pools = {pool{least_loaded}, pool{least_loaded}};
  for (auto& address : s.opts.verifiers)
    s.pool_of(style::direct).add_node(address, true);
  s.update_status();
  drop_unexpected(self, s.name);
  self->set_down_handler(
    guard(s.name, [self](caf::down_msg& msg) { self->state.on_down(msg); }));
  for (auto& address : s.opts.verifiers)
    s.connect_node(style::direct, address);
  s.connect_supervisor();
  const char* name = s.name;
  return {
    guard(name, [self](job_atom, front_job& fj) { self->state.accept(fj); }),
    guard(name, [self](local::flush) { self->state.flush(); }),
    guard(name,
          [self](cluster_atom, cluster_query& q) { self->state.cluster(q); }),
    guard(name,
          [self](registry_atom, registry& reg) {
            auto& st = self->state;
            if (!st.supervisor
                || self->current_sender() != st.supervisor.address())
              return; // not from the supervisor this router subscribed to
            if (auto err = check(reg)) {
              refuse(st.name, std::move(err));
              return;
            }
            st.on_registry(reg);
          }),
    guard(name,
          [self](local::reconnect& x) {
            auto& st = self->state;
            auto& p = st.pool_of(x.how);
            auto node = p.node(x.address);
            if (node == nullptr)
              return;
            if (!node->configured && !st.in_registry(x.address)) {
              // Neither configured nor registered any more: forget it.
              p.nodes.erase(p.nodes.begin() + (node - p.nodes.data()));
              st.update_status();
              return;
            }
            st.connect_node(x.how, x.address);
          }),
    guard(name,
          [self](local::fetch& x) { self->state.fetch(x.how, x.address); }),
    guard(name,
          [self](local::reconnect_supervisor) {
            self->state.connect_supervisor();
          }),
  };
}

} // namespace

// -- the service the HTTP side calls
// -------------------------------------------

front_service::front_service(std::shared_ptr<front_status> status,
                             bool has_desk)
  : status_(std::move(status)), has_desk_(has_desk) {
  // nop
}

caf::actor front_service::router() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return router_;
}

caf::actor front_service::desk() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return desk_;
}

void front_service::set_router(caf::actor x) {
  std::lock_guard<std::mutex> guard{mtx_};
  router_ = std::move(x);
}

void front_service::set_desk(caf::actor x) {
  std::lock_guard<std::mutex> guard{mtx_};
  desk_ = std::move(x);
}

void front_service::submit(verify_request req, submit_callback done) {
  if (!has_desk_) {
    done(failure{ec::no_verifier, "the choreography style is not configured "
                                  "on this front (set choreography.hub)"});
    return;
  }
  auto d = desk();
  if (!d) {
    done(failure{ec::no_verifier, "the task desk is restarting; retry"});
    return;
  }
  caf::anon_send(d, submit_atom::value,
                 task_submission{std::move(req), std::move(done)});
}

void front_service::task(std::string id, std::chrono::milliseconds wait,
                         task_callback done) {
  auto d = desk();
  if (!d) {
    done(std::nullopt);
    return;
  }
  caf::anon_send(d, task_atom::value,
                 task_query{std::move(id), wait, std::move(done)});
}

void front_service::verify(style how, verify_request req, callback done) {
  auto r = router();
  if (!r) {
    done(failure{ec::no_verifier, "the front's router is restarting; retry"});
    return;
  }
  caf::anon_send(r, job_atom::value,
                 front_job{how, std::move(req), std::move(done)});
}

void front_service::cluster(text_callback done) {
  auto r = router();
  if (!r) {
    done("{}");
    return;
  }
  caf::anon_send(r, cluster_atom::value, cluster_query{std::move(done)});
}

const front_status& front_service::status() const noexcept {
  return *status_;
}

std::vector<kept_actor>
front_actors(const std::shared_ptr<front_service>& service,
             const front_options& opts, const choreography_options& choreo,
             const std::shared_ptr<const node_identity>& identity) {
  std::vector<kept_actor> result;
  auto status = service->shared_status();
  std::weak_ptr<front_service> weak = service;
  result.push_back({"router",
                    [opts, identity, status, weak](caf::actor_system& sys) {
                      auto current_desk = [weak] {
                        auto s = weak.lock();
                        return s ? s->desk() : caf::actor{};
                      };
                      return sys.spawn(router, opts, identity, status,
                                       current_desk);
                    },
                    [service, status](const caf::actor& x) {
                      service->set_router(x);
                      if (x)
                        ++status->router_starts;
                      status->router_up = static_cast<bool>(x);
                    }});
  if (!choreo.hub.empty()) {
    auto book = make_task_book(choreo);
    result.push_back({"task desk",
                      [choreo, identity, status, book,
                       fault = opts.fault_injection](caf::actor_system& sys) {
                        return start_task_desk(sys, identity, choreo, status,
                                               book, fault);
                      },
                      [service, status](const caf::actor& x) {
                        service->set_desk(x);
                        if (x)
                          ++status->desk_starts;
                        status->desk_up = static_cast<bool>(x);
                      }});
  }
  return result;
}

} // namespace duet
