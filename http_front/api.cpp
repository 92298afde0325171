#include "http_front/api.hpp"

#include <array>
#include <chrono>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "actors/json_text.hpp"
#include "actors/metrics.hpp"
#include "actors/text.hpp"

namespace duet::http {

using nlohmann::json;

namespace {

response make_json(bhttp::status status, const json& body, unsigned version,
                   bool keep_alive) {
  response res{status, version};
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = dump_json(body);
  res.prepare_payload();
  return res;
}

response method_not_allowed(const request& req, const char* allow) {
  auto res = error_response(
    bhttp::status::method_not_allowed,
    "method "
      + printable({req.method_string().data(), req.method_string().size()})
      + " not allowed here; use " + allow,
    req.version(), req.keep_alive());
  res.set(bhttp::field::allow, allow);
  return res;
}

} // namespace

namespace {

// Longest long poll of GET /api/signature/<id>?wait=<ms>.
constexpr long max_wait_ms = 30000;

constexpr std::array<const char*, 5> outcomes{"match", "mismatch", "accepted",
                                              "client_error", "server_error"};

// The series of duet_requests_total and the latency histograms, looked up
// once (a lookup takes a lock and builds label maps).
struct request_series {
  std::array<std::array<prometheus::Counter*, outcomes.size()>, 4> count;
  std::array<prometheus::Histogram*, 4> latency;

  request_series() {
    for (auto how :
         {style::direct, style::orchestration, style::choreography}) {
      auto i = static_cast<size_t>(how);
      for (size_t j = 0; j < outcomes.size(); ++j)
        count[i][j] = &metrics::requests(to_string(how), outcomes[j]);
      latency[i] = &metrics::latency(to_string(how));
    }
    for (size_t j = 0; j < outcomes.size(); ++j)
      count[3][j] = &metrics::requests("inline", outcomes[j]);
    latency[3] = &metrics::latency("inline");
  }
};

request_series& series() {
  static request_series instance;
  return instance;
}

// Index into `outcomes`.
size_t outcome_of(const response& res, const expected<verdict>* v) {
  if (v != nullptr && *v)
    return (*v)->verified ? 0 : 1;
  auto code = res.result_int();
  if (code == 202)
    return 2;
  return code >= 500 ? 4 : 3;
}

void count_at(size_t index, const response& res, double seconds,
              const expected<verdict>* v) {
  auto& s = series();
  s.count[index][outcome_of(res, v)]->Increment();
  s.latency[index]->Observe(seconds);
}

} // namespace

void count_request(style how, const response& res, double seconds,
                   const expected<verdict>* outcome) {
  count_at(static_cast<size_t>(how), res, seconds, outcome);
}

api_context::api_context(front_options opts, std::string node,
                         verify_service& service, front_keys keys)
  : opts(std::move(opts)),
    node(std::move(node)),
    service(service),
    pinned(std::move(keys.pinned)),
    inline_keys(std::move(keys.inline_baseline)),
    documents(this->opts.documents),
    default_style(parse_style(this->opts.style).value_or(style::direct)) {
  // nop
}

bhttp::status to_status(ec code) noexcept {
  switch (code) {
    case ec::bad_hex:
    case ec::odd_length:
    case ec::wrong_length:
    case ec::unknown_key:
    case ec::bad_request:
      return bhttp::status::bad_request;
    case ec::forbidden_path:
      return bhttp::status::forbidden;
    case ec::no_such_document:
      return bhttp::status::not_found;
    case ec::payload_too_large:
      return bhttp::status::payload_too_large;
    case ec::no_verifier:
    case ec::overloaded:
      return bhttp::status::service_unavailable;
    case ec::deadline_exceeded:
      return bhttp::status::gateway_timeout;
    case ec::invalid_message:
    case ec::key_mismatch:
      return bhttp::status::bad_gateway;
    case ec::crypto_failure:
    case ec::invalid_config:
    case ec::injected_fault:
    case ec::internal_error:
    case ec::conflict:
      break;
  }
  return bhttp::status::internal_server_error;
}

response error_response(bhttp::status status, const std::string& message,
                        unsigned version, bool keep_alive) {
  return make_json(status,
                   json{{"status", "error"}, {"data", {{"message", message}}}},
                   version, keep_alive);
}

response render(const expected<verdict>& outcome, unsigned version,
                bool keep_alive) {
  if (!outcome) {
    auto& err = outcome.error();
    auto res = error_response(to_status(err.code), err.message, version,
                              keep_alive);
    if (res.result() == bhttp::status::service_unavailable)
      res.set(bhttp::field::retry_after, "1");
    return res;
  }
  auto ok = outcome->verified;
  json body{{"status", ok ? "success" : "fail"},
            {"data",
             {{"message", ok ? "signature ok!" : "signature does not match"}}},
            {"verified", ok},
            {"verifier", outcome->verifier}};
  // The key and algorithm the verdict was made with, as AWS KMS's Verify
  // names them.
  if (!outcome->key_id.empty())
    body["keyId"] = outcome->key_id;
  if (!outcome->algorithm.empty())
    body["algorithm"] = outcome->algorithm;
  return make_json(bhttp::status::ok, body, version, keep_alive);
}

namespace {

std::string pad(std::string str, size_t width) {
  if (str.size() < width)
    str.append(width - str.size(), ' ');
  return str + ' ';
}

// The field `key` of `obj`, or null: the document comes from the actors
// and is read defensively.
const json& field(const json& obj, const char* key) {
  static const json null;
  if (!obj.is_object())
    return null;
  auto i = obj.find(key);
  return i == obj.end() ? null : *i;
}

std::string text(const json& obj, const char* key) {
  auto& x = field(obj, key);
  return x.is_string() ? x.get<std::string>() : std::string{};
}

std::string cluster_table(const json& doc) {
  auto& nodes = field(doc, "nodes");
  if (!nodes.is_array())
    return "the cluster view is not available (no answer from the router)\n";
  std::string out;
  auto row = [&](std::vector<std::string> cols) {
    static constexpr size_t widths[] = {14, 24, 11, 9, 9, 9, 13};
    for (size_t i = 0; i + 1 < cols.size(); ++i)
      out += pad(cols[i], widths[i]);
    out += cols.back() + '\n';
  };
  auto num = [](const json& x) {
    return x.is_number() ? dump_json(x) : std::string{"-"};
  };
  out += "front " + text(doc, "front") + ", style " + text(doc, "style")
         + ", balance " + text(doc, "balance");
  auto& sup = field(doc, "supervisor");
  if (sup.is_object())
    out += ", supervisor " + text(sup, "address")
           + (field(sup, "reachable") == true ? " (reachable)"
                                              : " (unreachable)");
  out += "\n\n";
  row({"NODE", "INSTANCE", "STATE", "SERVED", "IN-FLIGHT", "RESTARTS",
       "HEARTBEAT-MS"});
  for (auto& n : nodes) {
    auto& list = field(n, "instances");
    if (!list.is_array())
      continue;
    for (auto& x : list)
      row({text(n, "name"), text(x, "name"), text(x, "state"),
           num(field(x, "served")), num(field(x, "inFlight")),
           num(field(x, "restarts")), num(field(x, "heartbeatAgeMs"))});
  }
  auto& direct = field(doc, "direct");
  if (nodes.empty() && direct.is_array())
    for (auto& x : direct)
      row({text(x, "node"), text(x, "name"), text(x, "state"),
           num(field(x, "served")), num(field(x, "inFlight")), "-", "-"});
  return out;
}

} // namespace

response render_submitted(const expected<std::string>& id, unsigned version,
                          bool keep_alive) {
  if (!id) {
    auto res = error_response(to_status(id.error().code), id.error().message,
                              version, keep_alive);
    if (res.result() == bhttp::status::service_unavailable)
      res.set(bhttp::field::retry_after, "1");
    return res;
  }
  auto res
    = make_json(bhttp::status::accepted,
                json{{"msg", "Verification request sent"}, {"taskId", *id}},
                version, keep_alive);
  res.set(bhttp::field::location, "/api/signature/" + *id);
  return res;
}

response render_task(const std::string& id,
                     const std::optional<task_view>& view, unsigned version,
                     bool keep_alive) {
  if (id.empty()) {
    // The seed's id-less GET: "verified" says whether a result was there.
    auto found = view.has_value();
    auto matched = found && view->state == "done" && view->verified;
    return make_json(bhttp::status::ok,
                     json{{"verified", found}, {"response", matched}}, version,
                     keep_alive);
  }
  if (!view)
    return error_response(bhttp::status::not_found,
                          "unknown taskId '" + printable(id)
                            + "' (never issued, or expired)",
                          version, keep_alive);
  json body{{"taskId", view->id},
            {"state", view->state},
            {"verifier", view->verifier},
            {"message", view->message}};
  if (view->state == "done")
    body["verified"] = view->verified;
  if (!view->key_id.empty())
    body["keyId"] = view->key_id;
  if (!view->algorithm.empty())
    body["algorithm"] = view->algorithm;
  return make_json(bhttp::status::ok, body, version, keep_alive);
}

response render_cluster(const std::string& json_doc, bool as_text,
                        unsigned version, bool keep_alive) {
  response res{bhttp::status::ok, version};
  res.keep_alive(keep_alive);
  auto doc = json::parse(json_doc, nullptr, false);
  if (as_text) {
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body() = cluster_table(doc);
  } else if (doc.is_object()) {
    res.set(bhttp::field::content_type, "application/json");
    res.body() = json_doc;
  } else {
    return error_response(bhttp::status::service_unavailable,
                          "the cluster view is not available (no answer from "
                          "the router); retry",
                          version, keep_alive);
  }
  res.prepare_payload();
  return res;
}

std::variant<response, deferred> route(const request& req,
                                       const api_context& ctx) {
  auto target = std::string_view{req.target().data(), req.target().size()};
  if (auto q = target.find('?'); q != std::string_view::npos)
    target = target.substr(0, q);
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  if (target == "/metrics") {
    if (req.method() != bhttp::verb::get)
      return method_not_allowed(req, "GET");
    response res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
    res.keep_alive(keep_alive);
    res.body() = metrics::render();
    res.prepare_payload();
    return res;
  }
  if (target == "/readyz") {
    if (req.method() != bhttp::verb::get)
      return method_not_allowed(req, "GET");
    auto& st = ctx.service.status();
    // Nodes without a front are ready once they run.
    std::string why;
    auto choreography = ctx.default_style == style::choreography;
    if (ctx.api_enabled && !st.router_up)
      why = "the front's router is not running (restarting)";
    else if (ctx.api_enabled && choreography && !st.desk_up)
      why = "the task desk is not running (restarting)";
    else if (ctx.api_enabled && choreography && !st.tasks_joined)
      why = "the task desk has not joined the hub's groups yet";
    else if (ctx.api_enabled && !choreography && st.verifiers_up == 0)
      why = std::string{"no verifier node is up for the "}
            + to_string(ctx.default_style) + " style";
    auto ready = why.empty();
    json body{{"ready", ready}, {"node", ctx.node}};
    if (!ready)
      body["reason"] = why;
    return make_json(ready ? bhttp::status::ok
                           : bhttp::status::service_unavailable,
                     body, version, keep_alive);
  }
  if (!ctx.api_enabled && target != "/healthz")
    return error_response(bhttp::status::not_found,
                          "this node serves only /healthz, /readyz and "
                          "/metrics (it has no front role)",
                          version, keep_alive);
  if (target == "/healthz") {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      return method_not_allowed(req, "GET");
    auto& st = ctx.service.status();
    // Live unless one of the front's actors is down (the keeper restarts
    // it, or stops the node if it cannot).
    auto has_desk = st.desk_starts > 0;
    auto live = !ctx.api_enabled || (st.router_up && (!has_desk || st.desk_up));
    json body{{"status", live ? "ok" : "degraded"},
              {"node", ctx.node},
              {"verifiersUp", st.verifiers_up.load()},
              {"verifiersKnown", st.verifiers_known.load()},
              {"inFlight", st.in_flight.load()}};
    body["tls"] = !st.plaintext;
    if (st.plaintext)
      body["warning"] = "tls.insecure=true: nodes talk in plaintext and any "
                        "process that reaches a CAF port can join the cluster";
    if (ctx.api_enabled) {
      body["router"] = {{"up", st.router_up.load()},
                        {"starts", st.router_starts.load()}};
      if (has_desk)
        body["taskDesk"] = {{"up", st.desk_up.load()},
                            {"starts", st.desk_starts.load()}};
    }
    return make_json(live ? bhttp::status::ok
                          : bhttp::status::service_unavailable,
                     body, version, keep_alive);
  }
  if (target == "/api/cluster") {
    if (req.method() != bhttp::verb::get)
      return method_not_allowed(req, "GET");
    auto query = std::string_view{req.target().data(), req.target().size()};
    deferred job;
    job.kind = deferred::cluster;
    job.as_text = query.find("format=text") != std::string_view::npos;
    return job;
  }
  constexpr std::string_view task_prefix = "/api/signature/";
  if (target.compare(0, task_prefix.size(), task_prefix) == 0) {
    if (req.method() != bhttp::verb::get)
      return method_not_allowed(req, "GET");
    deferred job;
    job.kind = deferred::task;
    job.task_id = std::string{target.substr(task_prefix.size())};
    auto query = std::string_view{req.target().data(), req.target().size()};
    if (auto w = query.find("wait="); w != std::string_view::npos) {
      auto digits = query.substr(w + 5, query.find('&', w) - (w + 5));
      long ms = 0;
      for (auto c : digits) {
        if (c < '0' || c > '9' || ms > max_wait_ms)
          return error_response(bhttp::status::bad_request,
                                "wait must be milliseconds in 0.."
                                  + std::to_string(max_wait_ms),
                                version, keep_alive);
        ms = ms * 10 + (c - '0');
      }
      if (ms > max_wait_ms)
        return error_response(bhttp::status::bad_request,
                              "wait must be milliseconds in 0.."
                                + std::to_string(max_wait_ms),
                              version, keep_alive);
      job.wait = std::chrono::milliseconds{ms};
    }
    if (!is_name(job.task_id, 64))
      return error_response(bhttp::status::not_found,
                            "no such task: '" + printable(job.task_id) + "'",
                            version, keep_alive);
    return job;
  }
  if (target == "/api/signature" && req.method() == bhttp::verb::get) {
    deferred job;
    job.kind = deferred::task;
    return job;
  }
  if (target == "/api/inline/signature") {
    // The baseline for benchmarks: verify right here, no actor hop.
    if (!ctx.inline_keys)
      return error_response(bhttp::status::not_found,
                            "the inline baseline is off on this front (set "
                            "front.inline-keys)",
                            version, keep_alive);
    if (req.method() != bhttp::verb::post)
      return method_not_allowed(req, "POST");
    auto started = std::chrono::steady_clock::now();
    auto outcome = [&]() -> expected<verdict> {
      auto parsed = parse_verify_body(req.body(), ctx);
      if (!parsed)
        return std::move(parsed.error());
      auto matched = ctx.inline_keys->verify(parsed->key_id, parsed->text,
                                             parsed->hex_signature);
      if (!matched)
        return std::move(matched.error());
      return verdict{*matched, ctx.node + "/inline", parsed->key_id,
                     parsed->algorithm};
    }();
    auto answer = render(outcome, version, keep_alive);
    count_at(
      3, answer,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count(),
      &outcome);
    return answer;
  }
  std::optional<style> how;
  if (target == "/api/signature")
    how = ctx.default_style;
  else if (target == "/api/direct/signature")
    how = style::direct;
  else if (target == "/api/orchestration/signature")
    how = style::orchestration;
  else if (target == "/api/choreography/signature")
    how = style::choreography;
  if (!how) {
    return error_response(bhttp::status::not_found,
                          "no such resource: " + printable(target), version,
                          keep_alive);
  }
  if (req.method() != bhttp::verb::post)
    return method_not_allowed(req, target == "/api/signature" ? "GET, POST"
                                                              : "POST");
  auto parsed = parse_verify_body(req.body(), ctx);
  if (!parsed) {
    auto res = error_response(to_status(parsed.error().code),
                              parsed.error().message, version, keep_alive);
    count_request(*how, res, 0);
    return res;
  }
  deferred job;
  job.kind = *how == style::choreography ? deferred::submit : deferred::verify;
  job.how = *how;
  job.req = std::move(*parsed);
  return job;
}

} // namespace duet::http
