#pragma once

// Renders the front's cluster view (GET /api/cluster) as JSON.

#include <string>

#include "actors/fwd.hpp"
#include "actors/options.hpp"
#include "actors/pool.hpp"

namespace duet {

/// Merges the supervisor's registry (`reg`, may be null; `fresh` if it was
/// just fetched) with the front's own counters of both pools and the task
/// desk's counters (`choreography`, a JSON object or empty).
std::string render_cluster(const std::string& front, const front_options& opts,
                           const registry* reg, bool fresh,
                           const pool& orchestration, const pool& direct,
                           const std::string& choreography);

} // namespace duet
