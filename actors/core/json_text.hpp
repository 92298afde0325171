#pragma once

// JSON output that never throws: nlohmann's dump() throws type_error.316 on
// invalid UTF-8 in a string; duet replaces such bytes with U+FFFD instead.

#include <string>

#include <nlohmann/json.hpp>

namespace duet {

/// Serializes `doc` compactly; invalid UTF-8 becomes U+FFFD.
inline std::string dump_json(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace duet
