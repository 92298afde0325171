#pragma once

// The front of the HTTP fuzz targets: an API context over a document folder
// with one document, and a service that route() never calls.

#include <cstdio>
#include <memory>

#include <sys/stat.h>

#include "fuzz/common.hpp"
#include "http_front/api.hpp"

namespace duet::fuzz {

/// A service for route(): it only reads the counters.
struct idle_service : verify_service {
  void verify(style, verify_request, callback) override {
  }
  void submit(verify_request, submit_callback) override {
  }
  void task(std::string, std::chrono::milliseconds, task_callback) override {
  }
  void cluster(cluster_callback) override {
  }
  const front_status& status() const noexcept override {
    return st;
  }
  front_status st;
};

/// A front's API context: documents in `scratch()/docs` (a.txt), a 64 KiB
/// body limit, the direct style.
struct front_world {
  front_world() {
    auto docs = scratch() + "/docs";
    mkdir(docs.c_str(), 0700);
    std::FILE* f = std::fopen((docs + "/a.txt").c_str(), "w");
    std::fputs("document", f);
    std::fclose(f);
    front_options opts;
    opts.documents = docs;
    opts.body_limit = 64 * 1024;
    opts.default_style = style::direct;
    ctx = std::make_unique<http::api_context>(opts, "front", service);
  }
  idle_service service;
  std::unique_ptr<http::api_context> ctx;
};

} // namespace duet::fuzz
