#pragma once

// Which HTTP connections the front holds, and which one it gives up when a
// new one arrives at a limit. Pure bookkeeping, no sockets: the server keeps
// one table under a mutex, sessions report their state to it.
//
// A connection is *waiting* while it has no complete request header and no
// response pending: freshly accepted, between keep-alive requests, or
// trickling a header. Waiting connections cost a socket and nothing else,
// so when a limit is reached the one waiting longest is closed to admit the
// new one. Connections with a request in progress are never evicted.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace duet::http {

/// Admission and eviction of connections (not thread-safe).
class connection_table {
public:
  using id_type = uint64_t;
  using clock_type = std::chrono::steady_clock;

  /// At most `max_total` connections at once, at most `max_per_client` of
  /// them from one client address.
  connection_table(size_t max_total, size_t max_per_client);

  /// The outcome of `admit`.
  struct admission {
    /// The new connection's id; 0 if it was refused.
    id_type id = 0;
    /// A waiting connection to close to make room (0: none).
    id_type evict = 0;
    /// Why the connection was refused (`id` 0), naming the option.
    const char* reason = "";
  };

  /// Admits a connection from `client`, which starts out waiting. At the
  /// client's share it evicts that client's connection waiting longest, at
  /// the total limit the one of anyone; if none is waiting, it refuses.
  admission admit(const std::string& client, clock_type::time_point now);

  /// Marks `id` waiting for a request since `now`.
  void waiting(id_type id, clock_type::time_point now);

  /// Marks `id` busy: a request is in progress, it is not evicted.
  void busy(id_type id);

  /// Forgets `id` (closed or evicted); unknown ids are ignored.
  void remove(id_type id);

  /// Returns the number of connections held.
  size_t size() const noexcept {
    return entries_.size();
  }

  /// Returns the number of connections held from `client`.
  size_t of(const std::string& client) const;

  /// Returns the number of waiting connections.
  size_t waiting_count() const noexcept {
    return waiting_.size();
  }

private:
  struct entry {
    std::string client;
    bool waiting = true;
    clock_type::time_point since;
  };

  // Returns the waiting connection of `client` (any client if null) that
  // waits longest, or 0.
  id_type oldest_waiting(const std::string* client) const;

  size_t max_total_;
  size_t max_per_client_;
  id_type next_id_ = 1;
  std::unordered_map<id_type, entry> entries_;
  std::unordered_map<std::string, size_t> per_client_;
  /// Waiting connections, longest waiting first.
  std::set<std::pair<clock_type::time_point, id_type>> waiting_;
};

} // namespace duet::http
