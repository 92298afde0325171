#include "actors/runtime/keeper.hpp"

#include <deque>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

struct keeper_state {
  static inline const char* name = "keeper";

  struct child {
    kept_actor spec;
    caf::actor handle;
    /// Deaths within the period.
    std::deque<clock_type::time_point> deaths;
  };

  explicit keeper_state(caf::stateful_actor<keeper_state>* ptr) : self(ptr) {
    // nop
  }

  caf::stateful_actor<keeper_state>* self;
  std::vector<child> children;
  std::function<void(const std::string&)> give_up;
  bool stopping = false;
  bool gave_up = false;

  void start(child& c) {
    c.handle = c.spec.spawn(self->system());
    self->monitor(c.handle);
    if (c.spec.on_change)
      c.spec.on_change(c.handle);
  }

  void on_down(const caf::down_msg& msg) {
    for (auto& c : children) {
      if (!c.handle || c.handle.address() != msg.source)
        continue;
      c.handle = nullptr;
      if (c.spec.on_change)
        c.spec.on_change(c.handle);
      if (stopping || gave_up)
        return;
      auto why = self->system().render(msg.reason);
      auto now = clock_type::now();
      while (!c.deaths.empty() && now - c.deaths.front() > c.spec.period)
        c.deaths.pop_front();
      c.deaths.push_back(now);
      if (c.deaths.size() > c.spec.max_restarts) {
        gave_up = true;
        auto reason
          = "the " + c.spec.name + " stopped (" + why + ")"
            + (c.spec.max_restarts == 0
                 ? std::string{"; it cannot be restarted in place"}
                 : "; it stopped " + std::to_string(c.deaths.size())
                     + " times within "
                     + std::to_string(
                       std::chrono::duration_cast<std::chrono::seconds>(
                         c.spec.period)
                         .count())
                     + " s");
        log::error(reason, ": stopping the node so that its service manager "
                           "restarts it");
        if (give_up)
          give_up(reason);
        return;
      }
      log::error("the ", c.spec.name, " stopped (", why, "); restarting it");
      metrics::failure_detections("keeper", c.spec.name).Increment();
      start(c);
      return;
    }
  }

  void stop() {
    stopping = true;
    for (auto& c : children)
      if (c.handle && c.spec.owned)
        self->send_exit(c.handle, caf::exit_reason::user_shutdown);
    self->quit();
  }
};

caf::behavior keeper(caf::stateful_actor<keeper_state>* self,
                     std::vector<kept_actor> specs,
                     std::function<void(const std::string&)> give_up) {
  auto& st = self->state;
  st.give_up = std::move(give_up);
  for (auto& spec : specs)
    st.children.push_back({std::move(spec), {}, {}});
  for (auto& c : st.children)
    st.start(c);
  drop_unexpected(self, st.name);
  self->set_down_handler(
    guard(st.name, [self](caf::down_msg& msg) { self->state.on_down(msg); }));
  return {
    guard(st.name, [self](local::stop) { self->state.stop(); }),
  };
}

} // namespace

caf::actor start_keeper(caf::actor_system& sys,
                        std::vector<kept_actor> children,
                        std::function<void(const std::string&)> give_up) {
  return sys.spawn(keeper, std::move(children), std::move(give_up));
}

} // namespace duet
