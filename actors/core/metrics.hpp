#pragma once

// Prometheus metrics of a node (prometheus-cpp), rendered by GET /metrics.
// Metric objects are thread-safe; look a labelled series up once and keep the
// reference, since a lookup takes a lock.

#include <string>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
} // namespace prometheus

namespace duet::metrics {

/// `duet_requests_total{style,outcome}`: HTTP requests answered by the
/// front; outcome is match, mismatch, accepted (choreography), client_error
/// or server_error.
prometheus::Counter& requests(const std::string& style,
                              const std::string& outcome);

/// `duet_request_duration_seconds{style}`: time from reading a request to
/// answering it.
prometheus::Histogram& latency(const std::string& style);

/// `duet_verifications_total{instance,result}`: verifications done by a
/// verifier instance; result is match, mismatch or error.
prometheus::Counter& verifications(const std::string& instance,
                                   const std::string& result);

/// `duet_requests_in_flight`: verification requests the front waits for.
prometheus::Gauge& in_flight();

/// `duet_choreography_pending_tasks`: tasks the task desk waits for.
prometheus::Gauge& pending_tasks();

/// `duet_choreography_duplicates_total`: results for already final tasks.
prometheus::Counter& duplicates();

/// `duet_failure_detections_total{by,what}`: peers found dead or silent.
prometheus::Counter& failure_detections(const std::string& by,
                                        const std::string& what);

/// `duet_restarts_total`: verifier instances restarted by the supervisor.
prometheus::Counter& restarts();

/// `duet_handler_exceptions_total{actor}`: messages whose handler threw;
/// the actor answered with an error and went on.
prometheus::Counter& handler_exceptions(const std::string& actor);

/// `duet_invalid_messages_total{actor}`: messages from peers refused because
/// a value was malformed or out of range.
prometheus::Counter& invalid_messages(const std::string& actor);

/// `duet_hub_messages_total{kind,direction}`: messages through a hub.
prometheus::Counter& hub_messages(const std::string& kind,
                                  const std::string& direction);

/// `duet_hub_payload_bytes_total{kind,direction}`: their payload bytes.
prometheus::Counter& hub_bytes(const std::string& kind,
                               const std::string& direction);

/// Renders every metric in the Prometheus text format.
std::string render();

} // namespace duet::metrics
