#pragma once

// The HTTP API without sockets: routes a parsed request either to an
// immediate response or to a verification for the actors, and renders
// outcomes. Sessions only adapt; tests call these functions directly.

#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/core/options.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/front/verify_service.hpp"
#include "http_front/documents.hpp"
#include "http_front/keys.hpp"

namespace duet::http {

namespace bhttp = boost::beast::http;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

/// What the routes need, shared by all sessions of a server.
struct api_context {
  api_context(front_options opts, std::string node, verify_service& service,
              front_keys keys = {});

  front_options opts;
  std::string node;
  verify_service& service;
  /// The keys the front pins; null: requests name no fingerprint (a unit
  /// test's front), and the inline baseline's (null: off).
  std::shared_ptr<const crypto::keyring> pinned;
  std::shared_ptr<const crypto::keyring> inline_keys;
  /// False on nodes without the front role: only /healthz, /readyz and
  /// /metrics are served.
  bool api_enabled = true;
  document_folder documents;
  style default_style;
};

/// Work the session hands to the service before it can answer.
struct deferred {
  enum kind_t { verify, cluster, submit, task, events };
  kind_t kind = verify;
  /// For `verify`: the style and the request.
  style how = style::direct;
  verify_request req;
  /// For `cluster`: answer as a text table instead of JSON.
  bool as_text = false;
  /// For `cluster`: answer the dashboard's state (`live_state`) instead.
  bool live = false;
  /// For `task`: the task id; empty for the seed's id-less GET.
  std::string task_id;
  /// For `task`: long-poll time (`?wait=<ms>`).
  std::chrono::milliseconds wait{0};
  /// For `verify` and `submit`: a `textFile` to hash first (its path), the
  /// digest then goes in `req`.
  std::string document;
};

/// Returns a response at once, or a verification to run first.
std::variant<response, deferred> route(const request& req,
                                       const api_context& ctx);

/// Parses a verification body: `hexSignature`, `text` (or the seed's `texto`)
/// or `textFile`, optional `keyId`. With `document` and a pinned key, a
/// `textFile` is not read: its path goes to `*document`, to be hashed.
caf::expected<verify_request>
parse_verify_body(const std::string& body, const api_context& ctx,
                  std::string* document = nullptr);

/// Replaces the text of `req` by its digest under the algorithm the front
/// pins for its key (`message_digest`): verifiers then do only the
/// public-key operation, and the request costs a few hundred bytes between
/// nodes whatever the text's size. A request without a pin (no front.keys,
/// or a fault-injection key id) keeps its text.
caf::error hash_text(verify_request& req);

/// Renders the outcome of a verification.
response render(const caf::expected<verdict>& outcome, unsigned version,
                bool keep_alive);

/// Renders the answer to a choreography submission: 202 with the task id and
/// a `Location`, or the refusal.
response render_submitted(const caf::expected<std::string>& id,
                          unsigned version, bool keep_alive);

/// Renders `GET /api/signature/<id>` (`id` non-empty) or the seed's id-less
/// `GET /api/signature`.
response render_task(const std::string& id,
                     const caf::expected<task_view>& view, unsigned version,
                     bool keep_alive);

/// Renders the cluster view as JSON or as a table (`as_text`).
response render_cluster(const caf::expected<cluster_view>& view, bool as_text,
                        unsigned version, bool keep_alive);

/// The dashboard's state: `{"time": unix ms, "cluster": the cluster view as
/// GET /api/cluster shows it (or {"error": why}), "styles": the last
/// minute per style (live_stats), "changes": []}`.
nlohmann::json live_state(const caf::expected<cluster_view>& view);

/// Renders `live_state(view)` (GET /api/live).
response render_live(const caf::expected<cluster_view>& view, unsigned version,
                     bool keep_alive);

/// Renders `{"status":"error","data":{"message":...}}` with `status`.
response error_response(bhttp::status status, const std::string& message,
                        unsigned version, bool keep_alive);

/// Renders `err` with its status (`to_status`) and message; 503s say
/// `Retry-After: 1`.
response error_response(const caf::error& err, unsigned version,
                        bool keep_alive);

/// Counts an answered verification request in `duet_requests_total` and
/// `duet_request_duration_seconds`; `outcome` is the verification's, if one
/// ran (otherwise the status class of `res` decides).
void count_request(style how, const response& res, double seconds,
                   const caf::expected<verdict>* outcome = nullptr);

/// The one place that maps an error to an HTTP status.
bhttp::status to_status(const caf::error& err) noexcept;

} // namespace duet::http
