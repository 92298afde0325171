// duet-pki: the cluster's certificates for mutual TLS between nodes.
//
//   duet-pki init DIR               # a CA in DIR (ca.pem, ca.key), if none
//   duet-pki issue DIR NAME... --roles=verifier[,front...] [--hosts=H,...]
//                                   # NAME.pem / NAME.key per node, from it
//                                   # (--hosts: extra SANs, e.g. the address
//                                   # an HTTPS front is reached at)
//   duet-pki check CA CERT KEY [--roles=R,...]
//                                   # what a node checks before it starts
//
// tools/cluster up runs the first two for run/pki/ and every node of
// config/; `tools/cluster cert NAME` issues one more. Keys are EC P-256,
// written with mode 0600; a certificate carries its node's name as CN and
// as a DNS subject alternative name.

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "actors/crypto/pki.hpp"

namespace {

constexpr const char* usage
  = "usage: duet-pki init DIR\n"
    "       duet-pki issue DIR NAME... --roles=ROLE[,ROLE...] "
    "[--hosts=HOST,...]\n"
    "       duet-pki check CA CERTIFICATE KEY [--roles=ROLE[,ROLE...]]\n"
    "Makes the cluster CA and one certificate per node (CN and DNS SAN = the\n"
    "node's name, OU = each role it vouches for: front, verifier,\n"
    "supervisor, hub; EC P-256, keys with mode 0600) for [tls] in node\n"
    "configs.\n";

int fail(const std::string& what) {
  std::cerr << "duet-pki: error: " << what << "\n";
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "init" && argc == 3) {
    auto made = duet::pki::init_ca(argv[2]);
    if (!made)
      return fail(duet::message_of(made.error()));
    std::cout << (*made ? "made a CA in " : "kept the CA in ") << argv[2]
              << "\n";
    return 0;
  }
  if (cmd == "issue" && argc >= 4) {
    std::vector<std::string> names;
    std::vector<std::string> roles;
    std::vector<std::string> hosts;
    for (int i = 3; i < argc; ++i) {
      std::string arg = argv[i];
      auto list_of = [](const std::string& str, std::vector<std::string>& out) {
        std::istringstream list{str};
        for (std::string x; std::getline(list, x, ',');)
          out.push_back(x);
      };
      if (arg.rfind("--roles=", 0) == 0)
        list_of(arg.substr(8), roles);
      else if (arg.rfind("--hosts=", 0) == 0)
        list_of(arg.substr(8), hosts);
      else
        names.push_back(arg);
    }
    if (roles.empty())
      return fail("give the roles the certificate vouches for, e.g. "
                  "--roles=verifier (front, verifier, supervisor, hub)");
    for (auto& name : names) {
      auto ok = duet::pki::issue(argv[2], name, roles, hosts);
      if (!ok)
        return fail(duet::message_of(ok.error()));
      std::cout << "issued " << argv[2] << "/" << name << ".pem\n";
    }
    return 0;
  }
  if (cmd == "check" && (argc == 5 || argc == 6)) {
    auto id = duet::pki::check(argv[2], argv[3], argv[4]);
    if (!id)
      return fail(duet::message_of(id.error()));
    if (argc == 6) {
      std::string arg = argv[5];
      if (arg.rfind("--roles=", 0) != 0)
        return fail("expected --roles=ROLE[,ROLE...], got " + arg);
      std::istringstream list{arg.substr(8)};
      for (std::string role; std::getline(list, role, ',');)
        if (!id->has_role(role))
          return fail(std::string{argv[3]} + " does not vouch for the role "
                      + role);
    }
    std::cout << id->name << ": valid for " << id->seconds_left / 86400
              << " more days, roles:";
    for (auto& role : id->roles)
      std::cout << " " << role;
    std::cout << "\n";
    return 0;
  }
  std::cerr << usage;
  return cmd == "-h" || cmd == "--help" ? 0 : 2;
}
