// Fuzz target http_request: raw bytes as a front reads them from a socket ->
// Beast's parser with the session's limits -> route() -> the answer
// rendered and serialized. No sockets, no actors. Every answer must be a
// well-formed HTTP message whose JSON body parses.

#include <sstream>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "fuzz/front.hpp"
#include "http_front/live.hpp"

using namespace duet;
using namespace duet::http;

namespace {

void check_json(const response& res) {
  if (res[bhttp::field::content_type] != "application/json")
    return;
  auto doc = nlohmann::json::parse(res.body(), nullptr, false);
  fuzz::require(!doc.is_discarded(), "a JSON answer that does not parse");
}

response answer(const request& req, const api_context& ctx) {
  auto routed = route(req, ctx);
  if (auto res = std::get_if<response>(&routed))
    return std::move(*res);
  auto& job = std::get<deferred>(routed);
  auto v = req.version();
  switch (job.kind) {
    case deferred::verify:
      check_json(render(verdict{true, job.req.key_id}, v, true));
      return render(caf::make_error(ec::unknown_key, job.req.key_id), v, true);
    case deferred::submit:
      return render_submitted(job.req.key_id, v, true);
    case deferred::task:
      check_json(render_task(
        job.task_id, caf::make_error(ec::unknown_task, job.task_id), v, true));
      check_json(render_task(
        job.task_id,
        task_view{job.task_id, task_state::failed, false, job.req.text,
                  caf::make_error(ec::bad_request, job.req.hex_signature),
                  job.req.key_id, job.req.algorithm},
        v, true));
      return render_task(
        job.task_id,
        task_view{job.task_id, task_state::done, true, job.req.text}, v, true);
    case deferred::cluster: {
      // Client bytes in every string the view renders.
      cluster_view view;
      view.nodes.push_back(node_row{
        job.task_id, job.req.text, node_state::up, 1, job.req.algorithm, {}});
      view.nodes.back().instances.push_back(
        instance_row{job.req.key_id, job.req.hex_signature,
                     instance_state::misconfigured, job.req.text, 0, -1, 0, 0});
      check_json(render_cluster(view, false, v, true));
      if (job.live)
        return render_live(view, v, true);
      return render_cluster(view, job.as_text, v, true);
    }
    case deferred::events: {
      // What the stream sends: the state and its changes, client bytes in
      // every name.
      cluster_view before;
      before.nodes.push_back(node_row{
        job.task_id, job.req.text, node_state::up, 1, job.req.algorithm, {}});
      auto after = before;
      after.nodes.back().state = node_state::down;
      auto changes = cluster_changes(live_state(before)["cluster"],
                                     live_state(after)["cluster"]);
      fuzz::require(changes.size() == 1, "a node down that is no change");
      return render_live(after, v, true);
    }
  }
  return error_response(bhttp::status::internal_server_error, "?", v, true);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::front_world w;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(w.ctx->opts.body_limit);
  boost::beast::error_code err;
  boost::asio::const_buffer in{data, size};
  while (in.size() > 0 && !parser.is_done()) {
    auto n = parser.put(in, err);
    if (err == bhttp::error::need_more)
      break;
    if (err)
      return 0;
    in += n;
  }
  if (!parser.is_done()) {
    parser.put_eof(err);
    if (err || !parser.is_done())
      return 0;
  }
  auto req = parser.release();
  auto res = answer(req, *w.ctx);
  check_json(res);
  std::ostringstream out;
  out << res;
  return 0;
}
