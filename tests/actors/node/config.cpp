#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <algorithm>

#include "actors/crypto/pki.hpp"
#include "actors/node/config.hpp"
#include "support/cluster.hpp"

using namespace duet;

namespace {

struct fixture {
  fixture() : dir(test::make_temp_dir()) {
    std::filesystem::create_directory(dir + "/keys");
    std::filesystem::create_directory(dir + "/docs");
  }

  ~fixture() {
    std::filesystem::remove_all(dir);
  }

  // Writes `ini` to a file and loads it with `args` after it.
  caf::expected<bool> load(const std::string& ini,
                           std::vector<std::string> args = {}) {
    auto file = dir + "/node.ini";
    std::ofstream{file} << ini;
    std::vector<std::string> argv{"duet-node", "--config-file=" + file};
    // These tests are about other sections; TLS has its own below.
    auto has_tls = std::any_of(args.begin(), args.end(), [](auto& x) {
      return x.rfind("--tls.", 0) == 0;
    });
    if (!has_tls && ini.find("[tls]") == std::string::npos)
      argv.push_back("--tls.insecure=true");
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> ptrs;
    for (auto& arg : argv)
      ptrs.push_back(arg.data());
    cfg = std::make_unique<node_config>();
    return cfg->init(static_cast<int>(ptrs.size()), ptrs.data());
  }

  std::string error_of(const std::string& ini,
                       std::vector<std::string> args = {}) {
    auto r = load(ini, std::move(args));
    return r ? std::string{"<no error>"} : message_of(r.error());
  }

  std::string dir;
  std::unique_ptr<node_config> cfg;
};

constexpr const char* verifier_ini = R"(
[node]
name="v1"
roles=["verifier"] ; a comment
port=4101
[verifier]
keys="keys"
)";

constexpr const char* front_ini = R"(
[node]
name="f"
roles=["front"]
[front]
http-port=8081
keys="keys"
verifiers=["127.0.0.1:4101", "localhost:4102"]
documents="docs"
request-timeout=3s
)";

bool contains(const std::string& str, const std::string& what) {
  return str.find(what) != std::string::npos;
}

} // namespace

TEST_SUITE("actors.config") {
  TEST_CASE_FIXTURE(fixture, "valid files load, relative paths resolve") {
    REQUIRE(load(verifier_ini));
    CHECK(cfg->opts.node.name == "v1");
    CHECK(cfg->opts.node.port == 4101);
    CHECK(cfg->opts.verifier.keys == dir + "/keys");
    REQUIRE(load(front_ini));
    CHECK(cfg->opts.front.http_port == 8081);
    CHECK(cfg->opts.front.verifiers.size() == 2);
    CHECK(cfg->opts.front.request_timeout == std::chrono::seconds(3));
    CHECK(cfg->opts.front.body_limit == defaults::body_limit);
  }

  TEST_CASE_FIXTURE(fixture, "the command line overrides the file") {
    REQUIRE(load(front_ini, {"--front.http-port=9099", "--node.name=other"}));
    CHECK(cfg->opts.front.http_port == 9099);
    CHECK(cfg->opts.node.name == "other");
  }

  TEST_CASE_FIXTURE(fixture, "a node binds node.host and advertises "
                             "node.advertise") {
    REQUIRE(load(verifier_ini));
    CHECK(cfg->opts.node.advertise == cfg->opts.node.host);
    REQUIRE(load(verifier_ini,
                 {"--node.host=0.0.0.0", "--node.advertise=198.18.0.11"}));
    CHECK(cfg->opts.node.host == "0.0.0.0");
    CHECK(cfg->opts.node.advertise == "198.18.0.11");
    REQUIRE(load(verifier_ini, {"--node.advertise=verifier-1.example.org"}));
    REQUIRE(load(verifier_ini, {"--node.host=::", "--node.advertise=fd00::1"}));
    // A wildcard is no address to tell others.
    for (auto host : {"0.0.0.0", "::"}) {
      CAPTURE(host);
      CHECK(
        contains(error_of(verifier_ini, {"--node.host=" + std::string{host}}),
                 "binds every interface: set node.advertise"));
    }
    for (auto bad : {"0.0.0.0", "127.0.0.1:4101", "a b", "::"}) {
      CAPTURE(bad);
      CHECK(contains(error_of(verifier_ini,
                              {"--node.advertise=" + std::string{bad}}),
                     "not an address other nodes can use"));
    }
  }

  TEST_CASE_FIXTURE(fixture, "heartbeats are on by default") {
    REQUIRE(load(front_ini));
    auto hb = caf::get_or(*cfg, "middleman.heartbeat-interval",
                          caf::timespan{0});
    CHECK(hb == defaults::heartbeat_interval);
  }

  TEST_CASE_FIXTURE(fixture,
                    "each bad value is refused with file, key, reason") {
    auto err = error_of("[node]\nname=\"x\"\nroles=[\"front\"]\nport=70000\n");
    CHECK(contains(err, "node.ini:4"));
    CHECK(contains(err, "node.port=70000"));
    CHECK(contains(err, "0..65535"));
    err = error_of("[node]\nname=x\n");
    CHECK(contains(err, "node.name=x: strings must be quoted"));
    err = error_of("[node]\nname=\"x\"\nport=\"abc\"\n");
    CHECK(contains(err, "node.port=\"abc\": expected an integer"));
    err = error_of("[node]\nnmae=\"x\"\n");
    CHECK(contains(err, "node.nmae: unknown key"));
    err = error_of("[frnt]\nhttp-port=1\n");
    CHECK(contains(err, "frnt.http-port: unknown key"));
    err = error_of("[node]\nname=\"a\"\nname=\"b\"\n");
    CHECK(contains(err, "node.name is set twice"));
    err = error_of("[front]\nrequest-timeout=5\n");
    CHECK(contains(err, "expected a duration"));
    err = error_of("[front]\nverifiers=[a, b]\n");
    CHECK(contains(err, "list of quoted strings"));
    err = error_of("[front]\nverifiers=[\"a:1\",\n\"b:2\"]\n");
    CHECK(contains(err, "lists must be written on one line"));
    err = error_of("name=\"x\"\n");
    CHECK(contains(err, "outside of a [section]"));
  }

  TEST_CASE_FIXTURE(fixture, "semantic errors are refused") {
    CHECK(contains(error_of("[node]\nroles=[\"front\"]\n"),
                   "node.name is required"));
    CHECK(contains(error_of("[node]\nname=\"x\"\nroles=[\"cook\"]\n"),
                   "node.roles=\"cook\": expected \"front\", \"verifier\", "
                   "\"supervisor\" or \"hub\""));
    CHECK(contains(error_of("[node]\nname=\"x\"\nroles=[\"verifier\"]\n"
                            "[verifier]\nkeys=\"nowhere\"\n"),
                   "verifier.keys=\"" + dir + "/nowhere\": not a folder"));
    CHECK(contains(error_of(std::string{front_ini}, {"--front.style=fancy"}),
                   "front.style=\"fancy\": expected \"direct\", "
                   "\"orchestration\" or \"choreography\""));
    CHECK(contains(error_of(std::string{front_ini},
                            {"--front.verifiers=[\"nohost\"]"}),
                   "'nohost' is not host:port"));
    CHECK(contains(error_of(std::string{front_ini}, {"--front.io-threads=0"}),
                   "front.io-threads must be in 1..64"));
    CHECK(
      contains(error_of(std::string{front_ini}, {"--front.documents=nodocs"}),
               "front.documents"));
    CHECK(contains(error_of(std::string{front_ini}, {"--front.bogus=1"}),
                   "front.bogus: unknown key"));
    CHECK(contains(error_of(std::string{front_ini}, {"--node.port=99999"}),
                   "node.port=99999: expected an integer in 0..65535"));
  }

  TEST_CASE_FIXTURE(fixture, "choreography: one hub or several, a store for "
                             "what a 202 promises") {
    auto hub = std::string{"--choreography.hub=127.0.0.1:4200"};
    REQUIRE(load(front_ini, {hub, "--choreography.store=run/tasks.db"}));
    auto& c = cfg->opts.choreography;
    CHECK(c.hubs == std::vector<std::string>{"127.0.0.1:4200"});
    CHECK(c.durability == durability::fsync);
    CHECK(c.store == dir + "/run/tasks.db");
    REQUIRE(load(front_ini, {"--choreography.hubs=[\"a:1\", \"b:2\"]",
                             "--choreography.durability=memory"}));
    CHECK(cfg->opts.choreography.hubs
          == std::vector<std::string>{"a:1", "b:2"});
    CHECK(cfg->opts.choreography.store.empty());
    CHECK(contains(error_of(front_ini, {hub}), "needs choreography.store"));
    CHECK(contains(error_of(front_ini, {hub, "--choreography.hubs=[\"a:1\"]",
                                        "--choreography.durability=memory"}),
                   "choreography.hub and choreography.hubs are both set"));
    CHECK(
      contains(error_of(front_ini, {"--choreography.hubs=[\"a:1\", \"a:1\"]",
                                    "--choreography.durability=memory"}),
               "'a:1' twice"));
    CHECK(contains(error_of(front_ini, {hub, "--choreography.durability=disk"}),
                   "choreography.durability=\"disk\": expected \"fsync\", "
                   "\"os\" or \"memory\""));
    // Verifier nodes have no store.
    REQUIRE(load(verifier_ini, {hub}));
  }

  TEST_CASE_FIXTURE(fixture, "a missing config file is named") {
    std::vector<std::string> argv{"duet-node",
                                  "--config-file=" + dir + "/no.ini"};
    std::vector<char*> ptrs;
    for (auto& arg : argv)
      ptrs.push_back(arg.data());
    node_config c;
    auto r = c.init(2, ptrs.data());
    REQUIRE_FALSE(r);
    CHECK(contains(message_of(r.error()), "no.ini: no such file"));
  }

  TEST_CASE_FIXTURE(fixture, "a config file that is a device is refused") {
    std::vector<std::string> argv{"duet-node", "--config-file=/dev/zero"};
    std::vector<char*> ptrs;
    for (auto& arg : argv)
      ptrs.push_back(arg.data());
    node_config c;
    auto r = c.init(2, ptrs.data());
    REQUIRE_FALSE(r);
    CHECK(contains(message_of(r.error()), "/dev/zero: not a regular file"));
  }

  TEST_CASE("every shipped config file loads") {
    for (auto& entry :
         std::filesystem::directory_iterator(test::source_dir() + "/config")) {
      if (entry.path().extension() != ".ini")
        continue;
      CAPTURE(entry.path().string());
      std::vector<std::string> argv{"duet-node",
                                    "--config-file=" + entry.path().string()};
      // The files name run/pki/ (made by tools/cluster up); here the test
      // PKI stands in for it.
      auto text = test::read_file(entry.path().string());
      auto start = text.find("\nname=\"") + 7;
      auto name = text.substr(start, text.find('"', start) - start);
      for (auto& arg : test::tls_args(name))
        argv.push_back(arg);
      std::vector<char*> ptrs;
      for (auto& arg : argv)
        ptrs.push_back(arg.data());
      node_config c;
      auto r = c.init(static_cast<int>(ptrs.size()), ptrs.data());
      CHECK_MESSAGE(r, (r ? "" : message_of(r.error())));
    }
  }

  TEST_CASE_FIXTURE(fixture, "TLS is on by default and its files checked") {
    // Without files and without insecure=true a node refuses to start and
    // says how to make certificates.
    auto err = error_of(verifier_ini, {"--tls.insecure=false"});
    CHECK(contains(err, "tls.ca, tls.certificate and tls.key are required"));
    CHECK(contains(err, "duet-pki"));
    // A certificate for another node.
    err = error_of(verifier_ini, test::tls_args("someone-else"));
    CHECK(contains(err, "is for node 'someone-else', but node.name is 'v1'"));
    // A key that is not the certificate's.
    auto args = test::tls_args("v1");
    args[2] = "--tls.key=" + test::test_pki::key("someone-else");
    CHECK(contains(error_of(verifier_ini, args), "is not the key of"));
    // A certificate of another CA.
    pki::init_ca(dir + "/other");
    pki::issue(dir + "/other", "v1", {"verifier"});
    args = test::tls_args("v1");
    args[1] = "--tls.certificate=" + dir + "/other/v1.pem";
    args[2] = "--tls.key=" + dir + "/other/v1.key";
    CHECK(contains(error_of(verifier_ini, args), "does not chain to"));
    // Missing files are named (CAF would hang on them).
    args = test::tls_args("v1");
    args[0] = "--tls.ca=" + dir + "/nope.pem";
    CHECK(contains(error_of(verifier_ini, args), "nope.pem: no such file"));
    // The right files load, and the name is proven.
    REQUIRE(load(verifier_ini, test::tls_args("v1")));
    CHECK(cfg->opts.tls.proven_name == "v1");
    CHECK(cfg->opts.tls.insecure == false);
  }

} // TEST_SUITE
