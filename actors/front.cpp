#include "actors/front.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <prometheus/gauge.h>

#include "actors/cluster_view.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/router.hpp"
#include "actors/task_desk.hpp"

namespace duet {

namespace {

// Most tries sent to one instance in one message.
constexpr size_t max_batch = 32;

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
  dispatch(id);
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
    auto why = j.how == style::orchestration && opts.supervisor.empty()
                 ? "the orchestration style is not configured on this "
                   "front (set front.supervisor)"
               : j.how == style::direct && opts.verifiers.empty()
                 ? "the direct style is not configured on this front "
                   "(set front.verifiers)"
                 : "no verifier is reachable (0 of "
                     + std::to_string(p.nodes.size()) + " nodes up)";
    finish(id, failure{ec::no_verifier, why});
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
    self->send(self, flush_atom::value);
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
  self->request(target->handle, timeout, verify_atom::value, std::move(reqs))
    .then(
      [this, how, name, batch](batch_verdicts& v) {
        for (size_t i = 0; i < batch.size(); ++i) {
          settle(how, name);
          auto [id, attempt] = batch[i];
          if (!current(id, attempt))
            continue;
          if (i >= v.answers.size()) {
            dispatch(id);
            continue;
          }
          auto& a = v.answers[i];
          if (a.code == 0) {
            ++pool_of(how).served_by[name];
            finish(id, verdict{a.verified, v.verifier});
          } else {
            finish(id, failure{static_cast<ec>(a.code), std::move(a.message)});
          }
        }
      },
      [this, how, name, batch](const caf::error& err) {
        for (auto [id, attempt] : batch) {
          settle(how, name);
          if (!current(id, attempt))
            continue;
          if (!is_transport_error(err)) {
            finish(id, to_failure(err));
            continue;
          }
          log::warning("try ", attempt, " on ", name,
                       " failed: ", self->system().render(err));
          dispatch(id);
        }
      });
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
  auto with_registry = [this, reply](std::string choreo) {
    if (!supervisor) {
      reply(last_registry ? &*last_registry : nullptr, false, choreo);
      return;
    }
    self
      ->request(supervisor, std::chrono::milliseconds(500),
                caf::get_atom::value)
      .then([reply, choreo](registry& reg) { reply(&reg, true, choreo); },
            [this, reply, choreo](const caf::error&) {
              reply(last_registry ? &*last_registry : nullptr, false, choreo);
            });
  };
  if (!desk) {
    with_registry({});
    return;
  }
  self->request(desk, std::chrono::milliseconds(500), cluster_atom::value)
    .then([with_registry](std::string& doc) { with_registry(doc); },
          [with_registry](const caf::error&) { with_registry({}); });
}

router_state::~router_state() {
  for (auto& kvp : jobs)
    kvp.second.done(failure{ec::no_verifier, "the front is shutting down"});
}

namespace {

caf::behavior router(caf::stateful_actor<router_state>* self,
                     front_options opts, std::string node_name,
                     std::shared_ptr<front_status> st, caf::actor desk) {
  auto& s = self->state;
  s.desk = std::move(desk);
  s.opts = std::move(opts);
  s.node_name = std::move(node_name);
  s.status = std::move(st);
  s.default_style = parse_style(s.opts.style).value_or(style::direct);
  auto least_loaded = s.opts.balance == "least-loaded";
  s.pools = {pool{least_loaded}, pool{least_loaded}};
  for (auto& address : s.opts.verifiers)
    s.pool_of(style::direct).add_node(address, true);
  s.update_status();
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.on_down(msg); });
  for (auto& address : s.opts.verifiers)
    s.connect_node(style::direct, address);
  s.connect_supervisor();
  return {
    [self](job_atom, front_job& fj) { self->state.accept(fj); },
    [self](flush_atom) { self->state.flush(); },
    [self](cluster_atom, cluster_query& q) { self->state.cluster(q); },
    [self](registry_atom, registry& reg) { self->state.on_registry(reg); },
    [self](reconnect_atom, int32_t how, const std::string& address) {
      auto& st = self->state;
      auto& p = st.pools[how];
      auto node = p.node(address);
      if (node == nullptr)
        return;
      if (!node->configured && !st.in_registry(address)) {
        // Neither configured nor registered any more: forget it.
        p.nodes.erase(p.nodes.begin() + (node - p.nodes.data()));
        st.update_status();
        return;
      }
      st.connect_node(static_cast<style>(how), address);
    },
    [self](fetch_atom, int32_t how, const std::string& address) {
      self->state.fetch(static_cast<style>(how), address);
    },
    [self](tick_atom) { self->state.connect_supervisor(); },
  };
}

} // namespace

front_service::front_service(caf::actor router, caf::actor desk,
                             std::shared_ptr<front_status> status)
  : router_(std::move(router)),
    desk_(std::move(desk)),
    status_(std::move(status)) {
  // nop
}

void front_service::submit(verify_request req, submit_callback done) {
  if (!desk_) {
    done(failure{ec::no_verifier, "the choreography style is not configured "
                                  "on this front (set choreography.hub)"});
    return;
  }
  caf::anon_send(desk_, submit_atom::value,
                 task_submission{std::move(req), std::move(done)});
}

void front_service::task(std::string id, std::chrono::milliseconds wait,
                         task_callback done) {
  if (!desk_) {
    done(std::nullopt);
    return;
  }
  caf::anon_send(desk_, task_atom::value,
                 task_query{std::move(id), wait, std::move(done)});
}

void front_service::verify(style how, verify_request req, callback done) {
  caf::anon_send(router_, job_atom::value,
                 front_job{how, std::move(req), std::move(done)});
}

void front_service::cluster(text_callback done) {
  caf::anon_send(router_, cluster_atom::value, cluster_query{std::move(done)});
}

const front_status& front_service::status() const noexcept {
  return *status_;
}

std::shared_ptr<front_service>
start_front(caf::actor_system& sys, const front_options& opts,
            const choreography_options& choreo, const std::string& node_name) {
  auto status = std::make_shared<front_status>();
  caf::actor desk;
  if (!choreo.hub.empty())
    desk = start_task_desk(sys, node_name, choreo, status);
  auto handle = sys.spawn(router, opts, node_name, status, desk);
  return std::make_shared<front_service>(std::move(handle), std::move(desk),
                                         std::move(status));
}

} // namespace duet
