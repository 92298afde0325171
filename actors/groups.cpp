#include "actors/groups.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group_manager.hpp>
#include <caf/send.hpp>

#include "actors/fwd.hpp"
#include "actors/log.hpp"
#include "actors/options.hpp"

namespace duet {

namespace {

std::atomic<size_t> running_lookups{0};

struct lookup_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool finished = false;
  caf::group grp;
  std::string error;
};

} // namespace

void lookup_group(caf::actor_system& sys, caf::actor requester,
                  const std::string& hub, const std::string& name,
                  std::chrono::nanoseconds timeout) {
  auto uri = name + "@" + hub;
  auto st = std::make_shared<lookup_state>();
  ++running_lookups;
  std::thread([st, &sys, uri] {
    auto grp = sys.groups().get("remote", uri);
    {
      std::lock_guard<std::mutex> guard{st->mtx};
      if (grp)
        st->grp = std::move(*grp);
      else
        st->error = sys.render(grp.error());
      st->finished = true;
    }
    st->cv.notify_all();
    --running_lookups;
  }).detach();
  std::thread([st, requester, name, uri, timeout] {
    group_lookup result{name, {}, {}};
    {
      std::unique_lock<std::mutex> guard{st->mtx};
      if (st->cv.wait_for(guard, timeout, [&] { return st->finished; })) {
        result.grp = st->grp;
        result.error = st->error;
      } else {
        result.error = "lookup of " + uri + " timed out";
      }
    }
    caf::anon_send(requester, lookup_atom::value, std::move(result));
  }).detach();
}

size_t await_lookups(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running_lookups > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return running_lookups;
}

void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub) {
  log::warning("cannot use group ", failed.name, " on hub ", hub, ": ",
               failed.error, "; retrying");
  self->delayed_send(self, defaults::reconnect_interval,
                     local::lookup{failed.name});
}

} // namespace duet
