#include "http_front/cluster.hpp"

#include <nlohmann/json.hpp>

namespace duet::http {

namespace {

using nlohmann::json;

json instances_json(const std::vector<instance_row>& rows, bool registry) {
  auto result = json::array();
  for (auto& x : rows) {
    json obj{{"name", x.name},
             {"state", to_string(x.state)},
             {"served", x.served},
             {"inFlight", x.in_flight}};
    if (registry) {
      obj["restarts"] = x.restarts;
      obj["heartbeatAgeMs"] = x.heartbeat_age_ms;
    } else {
      obj["node"] = x.node;
    }
    if (!x.why.empty())
      obj["why"] = x.why;
    result.push_back(std::move(obj));
  }
  return result;
}

json counts_json(const std::vector<std::pair<std::string, uint64_t>>& xs) {
  auto result = json::object();
  for (auto& [name, n] : xs)
    result[name] = n;
  return result;
}

std::string pad(std::string str, size_t width) {
  if (str.size() < width)
    str.append(width - str.size(), ' ');
  return str + ' ';
}

} // namespace

json cluster_json(const cluster_view& view) {
  json doc{{"front", view.front},
           {"style", to_string(view.default_style)},
           {"balance", to_string(view.balancing)}};
  if (view.supervisor.empty())
    doc["supervisor"] = nullptr;
  else
    doc["supervisor"] = {{"address", view.supervisor},
                         {"reachable", view.supervisor_reachable}};
  auto nodes = json::array();
  for (auto& n : view.nodes)
    nodes.push_back({{"name", n.name},
                     {"address", n.address},
                     {"state", to_string(n.state)},
                     {"conflicts", n.conflicts},
                     {"lastConflict", n.last_conflict},
                     {"instances", instances_json(n.instances, true)}});
  doc["nodes"] = std::move(nodes);
  doc["orchestration"] = instances_json(view.orchestration, false);
  doc["direct"] = instances_json(view.direct, false);
  if (auto& c = view.choreography) {
    auto hubs = json::array();
    for (auto& [address, joined] : c->hubs)
      hubs.push_back({{"address", address}, {"joined", joined}});
    doc["choreography"] = {{"hub", c->hub},
                           {"joined", c->joined},
                           {"hubs", std::move(hubs)},
                           {"members", c->members},
                           {"accepted", c->accepted},
                           {"pending", c->pending},
                           {"redelivered", c->redelivered},
                           {"results", c->results},
                           {"duplicates", c->duplicates},
                           {"mismatched", c->mismatched},
                           {"byVerifier", counts_json(c->by_verifier)},
                           {"misconfigured", counts_json(c->misconfigured)}};
  } else {
    doc["choreography"] = nullptr;
  }
  return doc;
}

std::string cluster_table(const cluster_view& view) {
  std::string out;
  auto row = [&](std::vector<std::string> cols) {
    static constexpr size_t widths[] = {14, 24, 13, 9, 9, 9, 13};
    for (size_t i = 0; i + 1 < cols.size(); ++i)
      out += pad(cols[i], widths[i]);
    out += cols.back() + '\n';
  };
  out += "front " + view.front + ", style " + to_string(view.default_style)
         + ", balance " + to_string(view.balancing);
  if (!view.supervisor.empty())
    out += ", supervisor " + view.supervisor
           + (view.supervisor_reachable ? " (reachable)" : " (unreachable)");
  out += "\n\n";
  row({"NODE", "INSTANCE", "STATE", "SERVED", "IN-FLIGHT", "RESTARTS",
       "HEARTBEAT-MS"});
  for (auto& n : view.nodes)
    for (auto& x : n.instances)
      row({n.name, x.name, to_string(x.state), std::to_string(x.served),
           std::to_string(x.in_flight), std::to_string(x.restarts),
           x.heartbeat_age_ms < 0 ? "-" : std::to_string(x.heartbeat_age_ms)});
  if (view.nodes.empty())
    for (auto& x : view.direct)
      row({x.node, x.name, to_string(x.state), std::to_string(x.served),
           std::to_string(x.in_flight), "-", "-"});
  if (auto& c = view.choreography)
    out += "\nchoreography: hub "
           + (c->joined ? c->hub + " (joined)" : std::string{"none joined"})
           + ", " + std::to_string(c->members) + " consumers, "
           + std::to_string(c->accepted) + " accepted, "
           + std::to_string(c->pending) + " pending, "
           + std::to_string(c->mismatched) + " mismatched results\n";
  return out;
}

} // namespace duet::http
