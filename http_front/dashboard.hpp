#pragma once

// The dashboard: one self-contained page (no CDN, nothing to install beside
// the front), compiled into the front from http_front/dashboard/index.html
// with the article's text and signature filled in for its "try it" form.
// It follows the cluster through GET /api/events (Server-Sent Events) and
// polls GET /api/live only when the stream fails.

#include <string_view>

namespace duet::http {

/// The page served at GET /.
std::string_view dashboard_page() noexcept;

} // namespace duet::http
