#include "actors/cluster_view.hpp"

#include "actors/json_text.hpp"

namespace duet {

namespace {

using nlohmann::json;

json instances_of(const pool& p) {
  auto result = json::array();
  for (auto& x : p.instances)
    result.push_back({{"name", x.name},
                      {"node", x.node},
                      {"state", x.state},
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
        list.push_back({{"name", v.name},
                        {"state", v.state},
                        {"restarts", v.restarts},
                        {"heartbeatAgeMs", v.heartbeat_age_ms},
                        {"served", orchestration.served(v.name)},
                        {"inFlight", x ? x->in_flight : 0}});
      }
      nodes.push_back({{"name", n.name},
                       {"address", n.address},
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
