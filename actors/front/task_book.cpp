#include "actors/front/task_book.hpp"

#include <algorithm>
#include <vector>

#include <openssl/rand.h>

#include "actors/core/clock.hpp"
#include "actors/core/limits.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/crypto/keyring.hpp"

namespace duet {

task_book::task_book(config cfg, id_source ids)
  : cfg_(cfg), ids_(std::move(ids)) {
  // nop
}

std::string task_book::random_id() {
  uint8_t bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return {};
  return crypto::encode_hex(bytes, sizeof(bytes));
}

void task_book::restore(stored&& x, time_point now) {
  if (entries_.count(x.id) > 0)
    return;
  auto age = [&](int64_t ms) {
    return now
           - std::chrono::milliseconds{std::max<int64_t>(0, unix_ms() - ms)};
  };
  auto& e = entries_[x.id];
  e.view = std::move(x.view);
  e.view.id = x.id;
  e.created = age(x.created_ms);
  e.read = x.read;
  e.digest = std::move(x.digest);
  if (x.finished_ms == 0 || e.view.state == task_state::pending) {
    e.view.state = task_state::pending;
    e.req = std::move(x.req);
    open_.insert(x.id);
    return;
  }
  e.finished = age(x.finished_ms);
  finished_order_.push_back(x.id);
  if (!e.read)
    unread_.push_back(x.id);
}

caf::expected<std::string> task_book::accept(verify_request req,
                                             time_point now) {
  if (open_.size() >= cfg_.max_pending)
    return caf::make_error(
      ec::overloaded, "too many pending tasks (" + std::to_string(open_.size())
                        + ", choreography.max-pending); retry later");
  auto id = ids_();
  if (id.empty() || entries_.count(id) > 0)
    return caf::make_error(ec::crypto_failure,
                           "cannot make a task id: " + crypto::openssl_error());
  auto digest = task_digest(id, req);
  if (!digest)
    return std::move(digest.error());
  if (journal_ != nullptr)
    if (auto err = journal_->accepted(id, req, *digest, unix_ms()))
      return err;
  auto& e = entries_[id];
  e.req = std::move(req);
  e.digest = std::move(*digest);
  e.view = task_view{id, task_state::pending, false,          {},
                     {}, e.req.key_id,        e.req.algorithm};
  e.created = now;
  open_.insert(id);
  ++counters_.accepted;
  return id;
}

caf::error task_book::unknown(const std::string& id) {
  return caf::make_error(ec::unknown_task, "unknown taskId '" + id + "'");
}

std::vector<std::string> task_book::pending_ids(time_point now) const {
  std::vector<std::string> result;
  for (auto& id : open_) {
    auto& e = entries_.at(id);
    if (e.attempt == 0 || e.due || now - e.published > cfg_.redeliver_after)
      result.push_back(id);
  }
  return result;
}

void task_book::add_once(std::vector<std::string>& xs, const std::string& x) {
  if (xs.size() < limits::members
      && std::find(xs.begin(), xs.end(), x) == xs.end())
    xs.push_back(x);
}

bool task_book::decline(const std::string& id, const std::string& member) {
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.view.state != task_state::pending)
    return false;
  add_once(i->second.declined, member);
  i->second.due = true;
  return true;
}

size_t task_book::owner_lost(const std::string& member) {
  size_t n = 0;
  for (auto& id : open_)
    if (auto& e = entries_.at(id); e.owner == member) {
      e.due = true;
      ++n;
    }
  return n;
}

void task_book::all_due() {
  for (auto& id : open_)
    entries_.at(id).due = true;
}

task_book::recorded task_book::record(const result& r, time_point now) {
  ++counters_.results;
  auto i = entries_.find(r.id);
  if (i == entries_.end())
    return recorded::unknown;
  auto& e = i->second;
  if (r.request != e.digest) {
    ++counters_.mismatched;
    return recorded::mismatch;
  }
  if (e.view.state != task_state::pending) {
    ++counters_.duplicates;
    return recorded::duplicate;
  }
  counters_.by_verifier.add(r.verifier);
  e.view.state = r.error ? task_state::failed : task_state::done;
  e.view.verified = !r.error && r.verified;
  e.view.verifier = r.verifier;
  e.view.error = r.error;
  finish(r.id, e, now);
  return recorded::first;
}

void task_book::finish(const std::string& id, entry& e, time_point now) {
  e.finished = now;
  e.req = verify_request{}; // the text is not needed any more
  open_.erase(id);
  finished_order_.push_back(id);
  auto [first, last] = waiters_.equal_range(id);
  if (journal_ != nullptr)
    journal_->finished(id, e.view, unix_ms());
  if (first == last) {
    unread_.push_back(id);
    return;
  }
  e.read = true;
  if (journal_ != nullptr)
    journal_->read(id);
  std::vector<callback> done;
  for (auto i = first; i != last; ++i)
    done.push_back(std::move(i->second.second));
  waiters_.erase(first, last);
  for (auto& f : done)
    f(e.view);
}

caf::expected<task_view> task_book::take(const std::string& id) {
  if (id.empty()) {
    while (!unread_.empty()) {
      auto i = entries_.find(unread_.front());
      unread_.pop_front();
      if (i != entries_.end() && !i->second.read) {
        i->second.read = true;
        if (journal_ != nullptr)
          journal_->read(i->first);
        return i->second.view;
      }
    }
    return caf::make_error(ec::unknown_task, "no finished task unread");
  }
  auto i = entries_.find(id);
  if (i == entries_.end())
    return unknown(id);
  if (i->second.view.state != task_state::pending && !i->second.read) {
    i->second.read = true;
    if (journal_ != nullptr)
      journal_->read(id);
  }
  return i->second.view;
}

void task_book::query(const std::string& id, std::chrono::milliseconds wait,
                      time_point now, callback done) {
  if (!id.empty() && wait.count() > 0) {
    auto i = entries_.find(id);
    if (i != entries_.end() && i->second.view.state == task_state::pending) {
      waiters_.emplace(id, std::make_pair(now + wait, std::move(done)));
      return;
    }
  }
  done(take(id));
}

void task_book::expire(time_point now) {
  std::vector<std::string> late_tasks;
  for (auto& id : open_)
    if (now - entries_.at(id).created > cfg_.task_timeout)
      late_tasks.push_back(id);
  for (auto& id : late_tasks) {
    auto& e = entries_.at(id);
    e.view.state = task_state::failed;
    e.view.error = caf::make_error(ec::deadline_exceeded,
                                   "no verifier answered within "
                                   "choreography.task-timeout");
    ++counters_.timed_out;
    finish(id, e, now);
  }
  std::vector<std::pair<std::string, callback>> late;
  for (auto i = waiters_.begin(); i != waiters_.end();) {
    if (now >= i->second.first) {
      late.emplace_back(i->first, std::move(i->second.second));
      i = waiters_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& [id, done] : late) {
    auto e = entries_.find(id);
    if (e == entries_.end())
      done(unknown(id));
    else
      done(e->second.view);
  }
  while (!finished_order_.empty()) {
    auto i = entries_.find(finished_order_.front());
    auto expired = i == entries_.end()
                   || now - i->second.finished > cfg_.keep_for;
    if (!expired && finished_order_.size() <= cfg_.keep_results)
      break;
    if (i != entries_.end()) {
      if (journal_ != nullptr)
        journal_->forgotten(i->first);
      entries_.erase(i);
    }
    finished_order_.pop_front();
  }
  // Unread ids of evicted tasks sit at the front (both lists are in
  // finishing order).
  while (!unread_.empty() && entries_.count(unread_.front()) == 0)
    unread_.pop_front();
}

} // namespace duet
