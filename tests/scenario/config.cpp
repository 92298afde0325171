// Scenario: a node refuses to start on bad configuration, naming the problem.

#include <doctest/doctest.h>

#include <filesystem>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/cluster.hpp"

using namespace duet::test;

TEST_SUITE("scenario.config") {
  TEST_CASE("bad config exits 2 with the key named") {
    auto dir = make_temp_dir();
    auto node = start_node("front.ini", {"--front.http-port=70000"},
                           dir + "/bad");
    CHECK(node->wait(10000ms) == 2);
    CHECK(node->err().find("front.http-port=70000") != std::string::npos);
    node = start_node("front.ini", {"--front.nope=1"}, dir + "/unknown");
    CHECK(node->wait(10000ms) == 2);
    CHECK(node->err().find("front.nope: unknown key") != std::string::npos);
    node = start_node("verifier-1.ini", {"--verifier.keys=/nonexistent"},
                      dir + "/keys");
    CHECK(node->wait(10000ms) == 2);
    CHECK(node->err().find("verifier.keys") != std::string::npos);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a port in use exits 1 with the port named") {
    auto dir = make_temp_dir();
    auto fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    auto port = std::to_string(ntohs(addr.sin_port));
    auto front = start_node("front.ini",
                            {"--front.http-port=" + port,
                             "--choreography.store=" + dir + "/tasks.db"},
                            dir + "/front");
    CHECK(front->wait(10000ms) == 1);
    CHECK(front->err().find("front.http-port=" + port) != std::string::npos);
    auto verifier = start_node("verifier-1.ini", {"--node.port=" + port},
                               dir + "/verifier");
    CHECK(verifier->wait(10000ms) == 1);
    CHECK(verifier->err().find("node.port=" + port) != std::string::npos);
    close(fd);
    std::filesystem::remove_all(dir);
  }

} // TEST_SUITE
