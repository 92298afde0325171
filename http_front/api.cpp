#include "http_front/api.hpp"

#include <array>
#include <chrono>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "actors/core/clock.hpp"
#include "actors/core/json_text.hpp"
#include "actors/core/metrics.hpp"
#include "actors/core/text.hpp"
#include "http_front/cluster.hpp"
#include "http_front/dashboard.hpp"
#include "http_front/live.hpp"

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
size_t outcome_of(const response& res, const caf::expected<verdict>* v) {
  if (v != nullptr && *v)
    return (*v)->verified ? 0 : 1;
  auto code = res.result_int();
  if (code == 202)
    return 2;
  return code >= 500 ? 4 : 3;
}

void count_at(size_t index, const response& res, double seconds,
              const caf::expected<verdict>* v) {
  auto& s = series();
  auto outcome = outcome_of(res, v);
  s.count[index][outcome]->Increment();
  s.latency[index]->Observe(seconds);
  live().record(index, seconds, outcome >= 3, live_stats::clock_type::now());
}

} // namespace

void count_request(style how, const response& res, double seconds,
                   const caf::expected<verdict>* outcome) {
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
    default_style(this->opts.default_style) {
  // nop
}

bhttp::status to_status(const caf::error& err) noexcept {
  switch (code_of(err)) {
    case ec::bad_hex:
    case ec::odd_length:
    case ec::wrong_length:
    case ec::unknown_key:
    case ec::bad_request:
      return bhttp::status::bad_request;
    case ec::forbidden_path:
      return bhttp::status::forbidden;
    case ec::no_such_document:
    case ec::unknown_task:
      return bhttp::status::not_found;
    case ec::payload_too_large:
      return bhttp::status::payload_too_large;
    case ec::no_verifier:
    case ec::overloaded:
    case ec::unavailable:
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

response error_response(const caf::error& err, unsigned version,
                        bool keep_alive) {
  auto res = error_response(to_status(err), message_of(err), version,
                            keep_alive);
  if (res.result() == bhttp::status::service_unavailable)
    res.set(bhttp::field::retry_after, "1");
  return res;
}

response render(const caf::expected<verdict>& outcome, unsigned version,
                bool keep_alive) {
  if (!outcome)
    return error_response(outcome.error(), version, keep_alive);
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

response render_submitted(const caf::expected<std::string>& id,
                          unsigned version, bool keep_alive) {
  if (!id)
    return error_response(id.error(), version, keep_alive);
  auto res
    = make_json(bhttp::status::accepted,
                json{{"msg", "Verification request sent"}, {"taskId", *id}},
                version, keep_alive);
  res.set(bhttp::field::location, "/api/signature/" + *id);
  return res;
}

response render_task(const std::string& id,
                     const caf::expected<task_view>& view, unsigned version,
                     bool keep_alive) {
  if (!view && !is_code(view.error(), ec::unknown_task))
    return error_response(view.error(), version, keep_alive);
  if (id.empty()) {
    // The seed's id-less GET: "verified" says whether a result was there.
    auto found = static_cast<bool>(view);
    auto matched = found && view->state == task_state::done && view->verified;
    return make_json(bhttp::status::ok,
                     json{{"verified", found}, {"response", matched}}, version,
                     keep_alive);
  }
  if (!view)
    return error_response(bhttp::status::not_found,
                          "unknown taskId '" + printable(id)
                            + "' (never issued, or expired)",
                          version, keep_alive);
  std::string message;
  switch (view->state) {
    case task_state::pending:
      message = "verification requested";
      break;
    case task_state::done:
      message = view->verified ? "signature ok!" : "signature does not match";
      break;
    case task_state::failed:
      message = message_of(view->error);
      break;
  }
  json body{{"taskId", view->id},
            {"state", to_string(view->state)},
            {"verifier", view->verifier},
            {"message", message}};
  if (view->state == task_state::done)
    body["verified"] = view->verified;
  if (view->state == task_state::failed)
    body["error"] = to_string(code_of(view->error));
  if (!view->key_id.empty())
    body["keyId"] = view->key_id;
  if (!view->algorithm.empty())
    body["algorithm"] = view->algorithm;
  return make_json(bhttp::status::ok, body, version, keep_alive);
}

json live_state(const caf::expected<cluster_view>& view) {
  json state{{"time", unix_ms()},
             {"styles", live().snapshot(live_stats::clock_type::now())},
             {"changes", json::array()}};
  if (view)
    state["cluster"] = cluster_json(*view);
  else
    state["cluster"] = {{"error", message_of(view.error())}};
  return state;
}

response render_live(const caf::expected<cluster_view>& view, unsigned version,
                     bool keep_alive) {
  auto res = make_json(bhttp::status::ok, live_state(view), version,
                       keep_alive);
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

response render_cluster(const caf::expected<cluster_view>& view, bool as_text,
                        unsigned version, bool keep_alive) {
  if (!view)
    return error_response(view.error(), version, keep_alive);
  if (!as_text)
    return make_json(bhttp::status::ok, cluster_json(*view), version,
                     keep_alive);
  response res{bhttp::status::ok, version};
  res.keep_alive(keep_alive);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = cluster_table(*view);
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
      why = "the task desk has no choreography hub (none reachable yet)";
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
  if (target == "/" || target == "/index.html") {
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      return method_not_allowed(req, "GET");
    response res{bhttp::status::ok, version};
    res.keep_alive(keep_alive);
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    // Everything it needs is in the page or on this front.
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src "
            "'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'none'");
    auto page = dashboard_page();
    res.body().assign(page.data(), page.size());
    res.prepare_payload();
    if (req.method() == bhttp::verb::head)
      res.body().clear(); // Content-Length stays the page's
    return res;
  }
  if (target == "/api/events" || target == "/api/live") {
    if (req.method() != bhttp::verb::get)
      return method_not_allowed(req, "GET");
    deferred job;
    job.kind = target == "/api/events" ? deferred::events : deferred::cluster;
    job.live = true;
    return job;
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
      // Longest long poll: front.max-wait.
      auto max_wait_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.opts.max_wait)
          .count());
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
    auto outcome = [&]() -> caf::expected<verdict> {
      std::string document;
      auto parsed = parse_verify_body(req.body(), ctx, &document);
      if (!parsed)
        return std::move(parsed.error());
      // A document is hashed here, on the io thread, through the same cache
      // as for the other styles: the baseline of everything in one place.
      caf::expected<bool> matched = false;
      if (!document.empty()) {
        auto algo = crypto::parse_algorithm(parsed->algorithm);
        auto digest
          = algo
              ? ctx.documents.digest(document, *algo, ctx.opts.document_limit)
              : caf::expected<std::string>{
                caf::make_error(ec::unknown_key, "no algorithm pinned")};
        if (!digest)
          return std::move(digest.error());
        matched = ctx.inline_keys->verify_digest(parsed->key_id, *digest,
                                                 parsed->hex_signature);
      } else {
        matched = ctx.inline_keys->verify(parsed->key_id, parsed->text,
                                          parsed->hex_signature);
      }
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
  std::string document;
  auto parsed = parse_verify_body(req.body(), ctx, &document);
  caf::error err;
  if (!parsed)
    err = std::move(parsed.error());
  else if (document.empty())
    err = hash_text(*parsed);
  if (err) {
    auto res = error_response(err, version, keep_alive);
    count_request(*how, res, 0);
    return res;
  }
  deferred job;
  job.kind = *how == style::choreography ? deferred::submit : deferred::verify;
  job.how = *how;
  job.req = std::move(*parsed);
  job.document = std::move(document);
  return job;
}

} // namespace duet::http
