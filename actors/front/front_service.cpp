#include "actors/front/front_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/front/task_desk.hpp"

namespace duet {

front_service::front_service(std::shared_ptr<front_status> status,
                             bool has_desk)
  : status_(std::move(status)), has_desk_(has_desk) {
  // nop
}

router_actor front_service::router() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return router_;
}

task_desk_actor front_service::desk() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return desk_;
}

void front_service::set_router(router_actor x) {
  std::lock_guard<std::mutex> guard{mtx_};
  router_ = std::move(x);
}

void front_service::set_desk(task_desk_actor x) {
  std::lock_guard<std::mutex> guard{mtx_};
  desk_ = std::move(x);
}

void front_service::submit(verify_request req, submit_callback done) {
  if (!has_desk_) {
    done(caf::make_error(ec::no_verifier,
                         "the choreography style is not configured on this "
                         "front (set choreography.hub)"));
    return;
  }
  auto d = desk();
  if (!d) {
    done(
      caf::make_error(ec::unavailable, "the task desk is restarting; retry"));
    return;
  }
  caf::anon_send(d, submit_atom::value,
                 task_submission{std::move(req), std::move(done)});
}

void front_service::task(std::string id, std::chrono::milliseconds wait,
                         task_callback done) {
  auto d = desk();
  if (!d) {
    done(caf::make_error(ec::unavailable,
                         has_desk_ ? "the task desk is restarting; retry"
                                   : "the choreography style is not "
                                     "configured on this front"));
    return;
  }
  caf::anon_send(d, task_atom::value,
                 task_query{std::move(id), wait, std::move(done)});
}

void front_service::verify(style how, verify_request req, callback done) {
  auto r = router();
  if (!r) {
    done(caf::make_error(ec::unavailable,
                         "the front's router is restarting; retry"));
    return;
  }
  caf::anon_send(r, job_atom::value,
                 front_job{how, std::move(req), std::move(done)});
}

void front_service::cluster(cluster_callback done) {
  auto r = router();
  if (!r) {
    done(caf::make_error(ec::unavailable,
                         "the front's router is restarting; retry"));
    return;
  }
  caf::anon_send(r, cluster_atom::value, cluster_query{std::move(done)});
}

const front_status& front_service::status() const noexcept {
  return *status_;
}

caf::expected<std::vector<kept_actor>>
front_actors(const std::shared_ptr<front_service>& service, const options& opts,
             const std::shared_ptr<const node_identity>& identity) {
  std::vector<kept_actor> result;
  auto status = service->shared_status();
  std::weak_ptr<front_service> weak = service;
  auto& keeper = opts.node;
  result.push_back(
    {"router",
     [front = opts.front, identity, status, weak](caf::actor_system& sys) {
       auto current_desk = [weak] {
         auto s = weak.lock();
         return s ? s->desk() : task_desk_actor{};
       };
       return caf::actor_cast<caf::actor>(
         start_router(sys, front, identity, status, current_desk));
     },
     [service, status](const caf::actor& x) {
       service->set_router(caf::actor_cast<router_actor>(x));
       if (x)
         ++status->router_starts;
       status->router_up = static_cast<bool>(x);
     },
     keeper.keeper_intensity, keeper.keeper_period});
  if (!opts.choreography.hubs.empty()) {
    auto made = make_task_book(opts.choreography);
    if (!made)
      return std::move(made.error());
    auto book = std::move(*made);
    result.push_back(
      {"task desk",
       [choreo = opts.choreography, identity, status, book,
        fault = opts.front.fault_injection](caf::actor_system& sys) {
         return caf::actor_cast<caf::actor>(
           start_task_desk(sys, identity, choreo, status, book, fault));
       },
       [service, status](const caf::actor& x) {
         service->set_desk(caf::actor_cast<task_desk_actor>(x));
         if (x)
           ++status->desk_starts;
         status->desk_up = static_cast<bool>(x);
       },
       keeper.keeper_intensity, keeper.keeper_period});
  }
  return result;
}

} // namespace duet
