#include "actors/core/metrics.hpp"

#include <memory>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace duet::metrics {

namespace {

using namespace prometheus;

struct families {
  std::shared_ptr<Registry> reg = std::make_shared<Registry>();
  Family<Counter>& requests = BuildCounter()
                                .Name("duet_requests_total")
                                .Help("HTTP requests answered, by style and "
                                      "outcome")
                                .Register(*reg);
  Family<Histogram>& latency = BuildHistogram()
                                 .Name("duet_request_duration_seconds")
                                 .Help("Time to answer a request, by style")
                                 .Register(*reg);
  Family<Counter>& verifications = BuildCounter()
                                     .Name("duet_verifications_total")
                                     .Help("Verifications per verifier "
                                           "instance and result")
                                     .Register(*reg);
  Family<Gauge>& in_flight = BuildGauge()
                               .Name("duet_requests_in_flight")
                               .Help("Verification requests in flight")
                               .Register(*reg);
  Family<Gauge>& pending = BuildGauge()
                             .Name("duet_choreography_pending_tasks")
                             .Help("Choreography tasks without a result")
                             .Register(*reg);
  Family<Counter>& duplicates = BuildCounter()
                                  .Name("duet_choreography_duplicates_total")
                                  .Help("Results for tasks already final")
                                  .Register(*reg);
  Family<Counter>& detections = BuildCounter()
                                  .Name("duet_failure_detections_total")
                                  .Help("Peers found dead or silent")
                                  .Register(*reg);
  Family<Counter>& exceptions = BuildCounter()
                                  .Name("duet_handler_exceptions_total")
                                  .Help("Messages whose handler threw, by "
                                        "actor (the actor went on)")
                                  .Register(*reg);
  Family<Counter>& invalid = BuildCounter()
                               .Name("duet_invalid_messages_total")
                               .Help("Messages from peers refused as "
                                     "malformed or out of range, by actor")
                               .Register(*reg);
  Family<Counter>& restarts = BuildCounter()
                                .Name("duet_restarts_total")
                                .Help("Verifier instances restarted")
                                .Register(*reg);
  Family<Counter>& hub_messages = BuildCounter()
                                    .Name("duet_hub_messages_total")
                                    .Help("Messages through a hub, by kind "
                                          "(task, results, decline, beat) "
                                          "and direction (in, out)")
                                    .Register(*reg);
  Family<Counter>& hub_bytes = BuildCounter()
                                 .Name("duet_hub_payload_bytes_total")
                                 .Help("Payload bytes (strings: texts, "
                                       "signatures, ids, proofs) through a "
                                       "hub, by kind and direction")
                                 .Register(*reg);
};

families& all() {
  static families instance;
  return instance;
}

} // namespace

Counter& requests(const std::string& style, const std::string& outcome) {
  return all().requests.Add({{"style", style}, {"outcome", outcome}});
}

Histogram& latency(const std::string& style) {
  static const Histogram::BucketBoundaries buckets{
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
  return all().latency.Add({{"style", style}}, buckets);
}

Counter& verifications(const std::string& instance, const std::string& result) {
  return all().verifications.Add({{"instance", instance}, {"result", result}});
}

Gauge& in_flight() {
  static auto& g = all().in_flight.Add({});
  return g;
}

Gauge& pending_tasks() {
  static auto& g = all().pending.Add({});
  return g;
}

Counter& duplicates() {
  static auto& c = all().duplicates.Add({});
  return c;
}

Counter& failure_detections(const std::string& by, const std::string& what) {
  return all().detections.Add({{"by", by}, {"what", what}});
}

Counter& restarts() {
  static auto& c = all().restarts.Add({});
  return c;
}

Counter& handler_exceptions(const std::string& actor) {
  return all().exceptions.Add({{"actor", actor}});
}

Counter& invalid_messages(const std::string& actor) {
  return all().invalid.Add({{"actor", actor}});
}

Counter& hub_messages(const std::string& kind, const std::string& direction) {
  return all().hub_messages.Add({{"kind", kind}, {"direction", direction}});
}

Counter& hub_bytes(const std::string& kind, const std::string& direction) {
  return all().hub_bytes.Add({{"kind", kind}, {"direction", direction}});
}

std::string render() {
  return TextSerializer{}.Serialize(all().reg->Collect());
}

} // namespace duet::metrics
