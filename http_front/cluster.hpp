#pragma once

// `GET /api/cluster`: the cluster view the front's actors gather, as JSON
// (for programs) or as a text table (`?format=text`, for people).

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/front/verify_service.hpp"

namespace duet::http {

/// Returns the JSON document of `view` (see README, "HTTP API").
nlohmann::json cluster_json(const cluster_view& view);

/// Returns `view` as a table: one line per verifier instance.
std::string cluster_table(const cluster_view& view);

} // namespace duet::http
