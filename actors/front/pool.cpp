#include "actors/front/pool.hpp"

#include <set>

#include "actors/core/options.hpp"

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
  for (auto wanted : {instance_state::up, instance_state::suspect}) {
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
      auto least_loaded = mode_ == balance::least_loaded;
      if (best == nullptr || (least_loaded && x.in_flight < best->in_flight)) {
        best = &x;
        best_index = i;
        if (!least_loaded)
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
    if (usable(x))
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

bool pool::usable(const pool_instance& x) noexcept {
  return x.handle && x.misconfigured.empty()
         && (x.state == instance_state::up
             || x.state == instance_state::suspect);
}

uint64_t pool::served(const std::string& name) const {
  return served_by.get(name);
}

} // namespace duet
