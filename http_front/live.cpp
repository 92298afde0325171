#include "http_front/live.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace duet::http {

namespace {

using nlohmann::json;

// Bucket 0 holds everything up to 10 us; each next one is 25 % wider.
constexpr double first_bound_s = 1e-5;
constexpr double growth = 1.25;

constexpr const char* style_names[live_stats::styles]
  = {"direct", "orchestration", "choreography", "inline"};

} // namespace

size_t live_stats::bucket_of(double latency_s) noexcept {
  if (!(latency_s > first_bound_s)) // NaN and negatives too
    return 0;
  auto i = static_cast<size_t>(
    std::ceil(std::log(latency_s / first_bound_s) / std::log(growth)));
  return std::min(i, buckets - 1);
}

double live_stats::latency_of(size_t bucket) noexcept {
  if (bucket == 0)
    return first_bound_s;
  // Between the bounds of bucket - 1 and bucket.
  return first_bound_s * std::pow(growth, static_cast<double>(bucket) - 0.5);
}

int64_t live_stats::second_of(clock_type::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch())
    .count();
}

void live_stats::record(size_t index, double latency_s, bool error,
                        clock_type::time_point now) {
  if (index >= styles)
    return;
  auto sec = second_of(now);
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = slots_[index][static_cast<size_t>(sec) % seconds];
  if (s.second != sec) {
    s = slot{};
    s.second = sec;
  }
  ++s.count;
  if (error)
    ++s.errors;
  ++s.histogram[bucket_of(latency_s)];
}

json live_stats::snapshot(clock_type::time_point now) const {
  auto last = second_of(now) - 1; // the current second is not over yet
  auto first = last - static_cast<int64_t>(seconds) + 1;
  json result = json::object();
  std::lock_guard<std::mutex> guard{mtx_};
  for (size_t i = 0; i < styles; ++i) {
    auto rps = json::array();
    std::array<uint64_t, buckets> merged{};
    uint64_t count = 0;
    uint64_t errors = 0;
    for (auto sec = first; sec <= last; ++sec) {
      auto& s = slots_[i][static_cast<size_t>(sec) % seconds];
      if (s.second != sec) {
        rps.push_back(0);
        continue;
      }
      rps.push_back(s.count);
      count += s.count;
      errors += s.errors;
      for (size_t b = 0; b < buckets; ++b)
        merged[b] += s.histogram[b];
    }
    auto percentile = [&](double q) -> json {
      if (count == 0)
        return nullptr;
      auto rank
        = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count)));
      uint64_t seen = 0;
      for (size_t b = 0; b < buckets; ++b) {
        seen += merged[b];
        if (seen >= rank)
          return std::round(latency_of(b) * 1e6) / 1e3; // ms, 3 decimals
      }
      return latency_of(buckets - 1) * 1e3;
    };
    result[style_names[i]] = {{"rps", std::move(rps)},
                              {"count", count},
                              {"errors", errors},
                              {"p50_ms", percentile(0.5)},
                              {"p99_ms", percentile(0.99)}};
  }
  return result;
}

live_stats& live() {
  static live_stats instance;
  return instance;
}

namespace {

// The member `key` of `obj`, or null: a reference into `obj`, never a copy
// (`by_name` keeps pointers into it).
const json& member(const json& obj, const char* key) {
  static const json none;
  if (!obj.is_object())
    return none;
  auto i = obj.find(key);
  return i == obj.end() ? none : *i;
}

// name -> object of the array `xs` (entries without a string name skipped).
std::map<std::string, const json*> by_name(const json& xs) {
  std::map<std::string, const json*> result;
  if (!xs.is_array())
    return result;
  for (auto& x : xs)
    if (x.is_object() && x.contains("name") && x["name"].is_string())
      result.emplace(x["name"].get<std::string>(), &x);
  return result;
}

std::string text_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_string() ? i->get<std::string>() : "";
}

int64_t number_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_number_integer() ? i->get<int64_t>() : 0;
}

json change(const char* kind, const std::string& name, std::string detail) {
  return {{"kind", kind}, {"name", name}, {"detail", std::move(detail)}};
}

} // namespace

std::vector<json> cluster_changes(const json& before, const json& after) {
  std::vector<json> result;
  if (!after.is_object())
    return result;
  auto old_nodes = by_name(member(before, "nodes"));
  for (auto& [name, node] : by_name(member(after, "nodes"))) {
    auto state = text_of(*node, "state");
    auto i = old_nodes.find(name);
    auto old_state = i == old_nodes.end() ? "" : text_of(*i->second, "state");
    if (state != old_state) {
      if (state == "down")
        result.push_back(change("node down", name, "no heartbeat"));
      else if (state == "up")
        result.push_back(change("node back", name, text_of(*node, "address")));
      else
        result.push_back(change("node state", name, state));
    }
    auto old_instances = i == old_nodes.end()
                           ? std::map<std::string, const json*>{}
                           : by_name(member(*i->second, "instances"));
    for (auto& [iname, inst] : by_name(member(*node, "instances"))) {
      auto j = old_instances.find(iname);
      if (j == old_instances.end())
        continue; // shown with its node
      auto restarts = number_of(*inst, "restarts");
      if (restarts > number_of(*j->second, "restarts"))
        result.push_back(change("instance restarted", iname,
                                std::to_string(restarts) + " restarts"));
      auto ist = text_of(*inst, "state");
      if (ist != text_of(*j->second, "state"))
        result.push_back(change("instance state", iname, ist));
    }
  }
  // The choreography's hubs.
  auto hubs_of = [](const json& view) {
    std::map<std::string, bool> hubs;
    auto& listed = member(member(view, "choreography"), "hubs");
    if (!listed.is_array())
      return hubs;
    for (auto& h : listed)
      if (h.is_object() && h.contains("address") && h["address"].is_string())
        hubs[h["address"].get<std::string>()] = h.value("joined", false);
    return hubs;
  };
  auto old_hubs = hubs_of(before);
  for (auto& [address, joined] : hubs_of(after)) {
    auto i = old_hubs.find(address);
    if (i != old_hubs.end() && i->second == joined)
      continue;
    if (i == old_hubs.end() && !joined)
      continue;
    result.push_back(
      change(joined ? "hub joined" : "hub lost", address, "choreography"));
  }
  return result;
}

} // namespace duet::http
