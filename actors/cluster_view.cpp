#include "actors/cluster_view.hpp"

#include "actors/json_text.hpp"

namespace duet {

namespace {

using nlohmann::json;

json instances_of(const pool& p) {
  auto result = json::array();
  for (auto& x : p.instances)
    result.push_back(
      {{"name", x.name},
       {"node", x.node},
       {"state", x.misconfigured.empty() ? x.state : "misconfigured"},
       {"served", p.served(x.name)},
       {"inFlight", x.in_flight}});
  return result;
}

} // namespace

std::string render_cluster(const std::string& front, const front_options& opts,
                           const registry* reg, bool fresh,
                           const pool& orchestration, const pool& direct,
                           const std::string& choreography) {
  json doc{{"front", front}, {"style", opts.style}, {"balance", opts.balance}};
  if (opts.supervisor.empty())
    doc["supervisor"] = nullptr;
  else
    doc["supervisor"] = {{"address", opts.supervisor}, {"reachable", fresh}};
  auto nodes = json::array();
  if (reg != nullptr) {
    for (auto& n : reg->nodes) {
      auto list = json::array();
      for (auto& v : n.instances) {
        auto x = orchestration.find(v.name);
        auto wrong_key = x != nullptr && !x->misconfigured.empty();
        json inst{{"name", v.name},
                  {"state", wrong_key ? std::string{"misconfigured"} : v.state},
                  {"restarts", v.restarts},
                  {"heartbeatAgeMs", v.heartbeat_age_ms},
                  {"served", orchestration.served(v.name)},
                  {"inFlight", x ? x->in_flight : 0}};
        if (wrong_key)
          inst["why"] = x->misconfigured;
        list.push_back(std::move(inst));
      }
      nodes.push_back({{"name", n.name},
                       {"address", n.address},
                       {"conflicts", n.conflicts},
                       {"lastConflict", n.last_conflict},
                       {"state", n.state},
                       {"instances", list}});
    }
  }
  doc["nodes"] = nodes;
  doc["orchestration"] = instances_of(orchestration);
  doc["direct"] = instances_of(direct);
  doc["choreography"] = choreography.empty()
                          ? json(nullptr)
                          : json::parse(choreography, nullptr, false);
  return dump_json(doc);
}

} // namespace duet
