#include "actors/pool.hpp"

#include <set>

#include "actors/options.hpp"

namespace duet {

pool_instance* pool::find(const std::string& name) {
  for (auto& x : instances)
    if (x.name == name)
      return &x;
  return nullptr;
}

const pool_instance* pool::find(const std::string& name) const {
  for (auto& x : instances)
    if (x.name == name)
      return &x;
  return nullptr;
}

pool_node* pool::node(const std::string& address) {
  for (auto& x : nodes)
    if (x.address == address)
      return &x;
  return nullptr;
}

pool_node& pool::add_node(const std::string& address, bool configured) {
  if (auto ptr = node(address)) {
    ptr->configured |= configured;
    return *ptr;
  }
  pool_node x;
  x.address = address;
  split_address(address, x.host, x.port);
  x.configured = configured;
  nodes.push_back(std::move(x));
  return nodes.back();
}

pool_instance* pool::pick(const std::string& avoid) {
  if (instances.empty())
    return nullptr;
  auto n = instances.size();
  for (auto wanted : {"up", "suspect"}) {
    pool_instance* best = nullptr;
    pool_instance* fallback = nullptr;
    size_t best_index = 0;
    for (size_t k = 0; k < n; ++k) {
      auto i = (next_ + k) % n;
      auto& x = instances[i];
      if (x.state != wanted || !x.handle || !x.misconfigured.empty())
        continue;
      if (x.name == avoid) {
        fallback = &x;
        continue;
      }
      if (best == nullptr || (least_loaded_ && x.in_flight < best->in_flight)) {
        best = &x;
        best_index = i;
        if (!least_loaded_)
          break;
      }
    }
    if (best != nullptr) {
      next_ = best_index + 1;
      return best;
    }
    if (fallback != nullptr)
      return fallback;
  }
  return nullptr;
}

size_t pool::nodes_up() const {
  std::set<std::string> up;
  for (auto& x : instances)
    if (x.handle && (x.state == "up" || x.state == "suspect")
        && x.misconfigured.empty())
      up.insert(x.node);
  return up.size();
}

size_t pool::nodes_connected() const {
  size_t n = 0;
  for (auto& x : nodes)
    if (x.agent)
      ++n;
  return n;
}

uint64_t pool::served(const std::string& name) const {
  return served_by.get(name);
}

} // namespace duet
