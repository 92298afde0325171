// tools/systemd/duet-node@.service: systemd accepts it without a warning,
// and it restarts failed nodes with the hardening it promises.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "support/cluster.hpp"

using namespace duet::test;

namespace {

// What `systemd-analyze verify` says of `unit` (with ExecStart pointing at
// the built duet-node, which must exist), or nullopt without systemd.
std::optional<std::string> verify(const std::string& unit,
                                  const std::string& dir) {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze"))
    return std::nullopt;
  auto text = unit;
  auto exec = std::string{"/usr/local/bin/duet-node"};
  for (auto pos = text.find(exec); pos != std::string::npos;
       pos = text.find(exec))
    text.replace(pos, exec.size(), node_binary());
  auto file = dir + "/duet-node@verifier-1.service";
  std::ofstream{file} << text;
  process p{{"/usr/bin/systemd-analyze", "verify", file}, dir + "/verify"};
  auto rc = p.wait(30000ms);
  return "rc=" + std::to_string(rc) + "\n" + p.out() + p.err();
}

} // namespace

TEST_SUITE("tools") {
  TEST_CASE("the systemd unit verifies clean, restarts on failure, is "
            "hardened") {
    auto unit = read_file(source_dir() + "/tools/systemd/duet-node@.service");
    REQUIRE_FALSE(unit.empty());
    for (auto line : {"ExecStart=/usr/local/bin/duet-node "
                      "--config-file=/etc/duet/%i.ini",
                      "Restart=on-failure", "RestartPreventExitStatus=2",
                      "NoNewPrivileges=yes", "ProtectSystem=strict",
                      "PrivateTmp=yes", "User=duet"})
      CHECK_MESSAGE(unit.find(line) != std::string::npos, line);
    auto dir = make_temp_dir();
    auto said = verify(unit, dir);
    if (!said) {
      MESSAGE("skipped: no systemd-analyze (Debian package systemd)");
      return;
    }
    CHECK(*said == "rc=0\n");
    // The check can fail: a misspelt setting is reported.
    auto broken = unit;
    broken.replace(broken.find("NoNewPrivileges=yes"), 19,
                   "NoNewPrivileges=perhaps");
    CHECK(verify(broken, dir)->find("ignoring: perhaps") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
}
