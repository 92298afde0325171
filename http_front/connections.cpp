#include "http_front/connections.hpp"

#include <algorithm>

namespace duet::http {

connection_table::connection_table(size_t max_total, size_t max_per_client)
  : max_total_(std::max<size_t>(max_total, 1)),
    max_per_client_(std::clamp<size_t>(max_per_client, 1, max_total_)) {
  // nop
}

connection_table::admission
connection_table::admit(const std::string& client, clock_type::time_point now) {
  admission result;
  if (of(client) >= max_per_client_) {
    result.evict = oldest_waiting(&client);
    if (result.evict == 0) {
      result.reason = "too many connections from your address "
                      "(front.max-connections-per-client); retry later";
      return result;
    }
  } else if (entries_.size() >= max_total_) {
    result.evict = oldest_waiting(nullptr);
    if (result.evict == 0) {
      result.reason = "too many connections (front.max-connections); retry "
                      "later";
      return result;
    }
  }
  remove(result.evict);
  result.id = next_id_++;
  entries_.emplace(result.id, entry{client, true, now});
  ++per_client_[client];
  waiting_.emplace(now, result.id);
  return result;
}

void connection_table::waiting(id_type id, clock_type::time_point now) {
  auto i = entries_.find(id);
  if (i == entries_.end() || i->second.waiting)
    return;
  i->second.waiting = true;
  i->second.since = now;
  waiting_.emplace(now, id);
}

void connection_table::busy(id_type id) {
  auto i = entries_.find(id);
  if (i == entries_.end() || !i->second.waiting)
    return;
  i->second.waiting = false;
  waiting_.erase({i->second.since, id});
}

void connection_table::remove(id_type id) {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return;
  if (i->second.waiting)
    waiting_.erase({i->second.since, id});
  auto c = per_client_.find(i->second.client);
  if (--c->second == 0)
    per_client_.erase(c);
  entries_.erase(i);
}

size_t connection_table::of(const std::string& client) const {
  auto i = per_client_.find(client);
  return i == per_client_.end() ? 0 : i->second;
}

connection_table::id_type
connection_table::oldest_waiting(const std::string* client) const {
  for (auto& [since, id] : waiting_)
    if (client == nullptr || entries_.at(id).client == *client)
      return id;
  return 0;
}

} // namespace duet::http
