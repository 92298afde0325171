#include "actors/crypto/pki.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "actors/core/small_file.hpp"
#include "actors/core/text.hpp"
#include "actors/crypto/keyring.hpp"

namespace duet::pki {

namespace {

namespace fs = std::filesystem;

struct free_bio {
  void operator()(BIO* x) const noexcept {
    BIO_free(x);
  }
};
struct free_key {
  void operator()(EVP_PKEY* x) const noexcept {
    EVP_PKEY_free(x);
  }
};
struct free_x509 {
  void operator()(X509* x) const noexcept {
    X509_free(x);
  }
};
struct free_store {
  void operator()(X509_STORE* x) const noexcept {
    X509_STORE_free(x);
  }
};
struct free_store_ctx {
  void operator()(X509_STORE_CTX* x) const noexcept {
    X509_STORE_CTX_free(x);
  }
};
struct free_stack {
  void operator()(STACK_OF(X509) * x) const noexcept {
    sk_X509_pop_free(x, X509_free);
  }
};

using bio_ptr = std::unique_ptr<BIO, free_bio>;
using key_ptr = std::unique_ptr<EVP_PKEY, free_key>;
using x509_ptr = std::unique_ptr<X509, free_x509>;

using crypto::openssl_error;

caf::error bad(const std::string& where, const std::string& what) {
  return caf::make_error(ec::invalid_config, where + ": " + what);
}

// Writes `data` to `path` with `mode` (replacing the file).
caf::expected<bool> write_file(const std::string& path, const std::string& data,
                               mode_t mode) {
  ::unlink(path.c_str());
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0)
    return bad(path, "cannot create");
  auto n = ::write(fd, data.data(), data.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size()))
    return bad(path, "cannot write");
  return true;
}

template <class F>
std::string to_pem(F write) {
  bio_ptr out{BIO_new(BIO_s_mem())};
  write(out.get());
  char* data = nullptr;
  auto n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    return false;
  auto ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Makes a certificate for `name` valid for `days`, signed by `signer`
// (self-signed if `issuer` is null).
x509_ptr make_cert(const std::string& name,
                   const std::vector<std::string>& roles,
                   const std::vector<std::string>& hosts, EVP_PKEY* key,
                   X509* issuer, EVP_PKEY* signer, long days, bool is_ca) {
  std::string san = "DNS:" + name;
  for (auto& host : hosts) {
    unsigned char buf[16];
    auto is_ip = inet_pton(AF_INET, host.c_str(), buf) == 1
                 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
    san += (is_ip ? ",IP:" : ",DNS:") + host;
  }
  x509_ptr cert{X509_new()};
  if (!cert)
    return nullptr;
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;
  auto bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  auto subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
    subject, "CN", MBSTRING_UTF8,
    reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("duet"), -1,
                             -1, 0);
  for (auto& role : roles)
    X509_NAME_add_entry_by_txt(
      subject, "OU", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(role.c_str()), -1, -1, 0);
  X509_set_issuer_name(
    cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  auto self = issuer != nullptr ? issuer : cert.get();
  auto ok
    = is_ca
        ? add_ext(cert.get(), self, NID_basic_constraints,
                  "critical,CA:TRUE,pathlen:0")
            && add_ext(cert.get(), self, NID_key_usage,
                       "critical,keyCertSign,cRLSign")
        : add_ext(cert.get(), self, NID_basic_constraints, "critical,CA:FALSE")
            && add_ext(cert.get(), self, NID_key_usage,
                       "critical,digitalSignature")
            && add_ext(cert.get(), self, NID_ext_key_usage,
                       "serverAuth,clientAuth")
            && add_ext(cert.get(), self, NID_subject_alt_name, san.c_str());
  ok = ok && add_ext(cert.get(), self, NID_subject_key_identifier, "hash");
  if (!ok || X509_sign(cert.get(), signer, EVP_sha256()) == 0)
    return nullptr;
  return cert;
}

caf::expected<key_ptr> read_key(const std::string& path) {
  auto pem = read_small_file(path);
  if (!pem)
    return std::move(pem.error());
  bio_ptr in{BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()))};
  key_ptr key{PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr)};
  if (!key)
    return bad(path, "not a PEM private key (" + openssl_error() + ")");
  return key;
}

// Reads every certificate of a PEM file, in order.
caf::expected<std::vector<x509_ptr>> read_certs(const std::string& path) {
  auto pem = read_small_file(path);
  if (!pem)
    return std::move(pem.error());
  bio_ptr in{BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()))};
  std::vector<x509_ptr> result;
  while (auto x = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr))
    result.emplace_back(x);
  ERR_clear_error(); // the end of the file
  if (result.empty())
    return bad(path, "no PEM certificate in it");
  return result;
}

std::string common_name(X509* cert) {
  char buf[256] = {0};
  auto n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                     NID_commonName, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

// The OU entries of the subject (at most 8, each at most 32 bytes).
std::vector<std::string> units(X509* cert) {
  std::vector<std::string> result;
  auto subject = X509_get_subject_name(cert);
  for (int i = -1;
       (i = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, i))
         >= 0
       && result.size() < 8;) {
    auto data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    auto len = ASN1_STRING_length(data);
    if (len > 0 && len <= 32)
      result.emplace_back(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
        static_cast<size_t>(len));
  }
  return result;
}

} // namespace

caf::expected<bool> init_ca(const std::string& dir) {
  std::error_code err;
  fs::create_directories(dir, err);
  if (err)
    return bad(dir, "cannot create the folder");
  ::chmod(dir.c_str(), 0700);
  if (fs::exists(dir + "/ca.pem"))
    return false;
  key_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return bad(dir, "cannot make a key: " + openssl_error());
  auto cert = make_cert("duet cluster CA", {}, {}, key.get(), nullptr,
                        key.get(), 3650, true);
  if (!cert)
    return bad(dir, "cannot make the CA certificate: " + openssl_error());
  auto key_pem = to_pem([&](BIO* out) {
    PEM_write_bio_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr,
                             nullptr);
  });
  auto cert_pem
    = to_pem([&](BIO* out) { PEM_write_bio_X509(out, cert.get()); });
  if (auto ok = write_file(dir + "/ca.key", key_pem, 0600); !ok)
    return ok;
  if (auto ok = write_file(dir + "/ca.pem", cert_pem, 0644); !ok)
    return ok;
  return true;
}

caf::expected<bool> issue(const std::string& dir, const std::string& name,
                          const std::vector<std::string>& roles,
                          const std::vector<std::string>& hosts) {
  for (auto& host : hosts)
    if (!is_name(host, 253))
      return bad(name, "'" + printable(host)
                         + "' is not a host name or "
                           "address");
  if (!is_name(name, 64) || name.find_first_of("/#") != std::string::npos)
    return bad(name, "not a node name (1..64 of A-Z a-z 0-9 - _ . : @)");
  for (auto& role : roles)
    if (std::find(std::begin(known_roles), std::end(known_roles), role)
        == std::end(known_roles))
      return bad(name, "unknown role '" + printable(role)
                         + "' (known: front, verifier, supervisor, hub)");
  auto ca_key = read_key(dir + "/ca.key");
  if (!ca_key)
    return std::move(ca_key.error());
  auto ca = read_certs(dir + "/ca.pem");
  if (!ca)
    return std::move(ca.error());
  key_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return bad(dir, "cannot make a key: " + openssl_error());
  auto cert = make_cert(name, roles, hosts, key.get(), ca->front().get(),
                        ca_key->get(), 730, false);
  if (!cert)
    return bad(dir, "cannot make the certificate of " + name + ": "
                      + openssl_error());
  auto key_pem = to_pem([&](BIO* out) {
    PEM_write_bio_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr,
                             nullptr);
  });
  auto cert_pem
    = to_pem([&](BIO* out) { PEM_write_bio_X509(out, cert.get()); });
  if (auto ok = write_file(dir + "/" + name + ".key", key_pem, 0600); !ok)
    return ok;
  return write_file(dir + "/" + name + ".pem", cert_pem, 0644);
}

caf::expected<identity> check(const std::string& ca,
                              const std::string& certificate,
                              const std::string& key) {
  auto cas = read_certs(ca);
  if (!cas)
    return std::move(cas.error());
  auto chain = read_certs(certificate);
  if (!chain)
    return std::move(chain.error());
  auto pkey = read_key(key);
  if (!pkey)
    return std::move(pkey.error());
  auto leaf = chain->front().get();
  if (X509_check_private_key(leaf, pkey->get()) != 1) {
    ERR_clear_error();
    return bad(key, "is not the key of " + certificate);
  }
  std::unique_ptr<X509_STORE, free_store> store{X509_STORE_new()};
  for (auto& x : *cas)
    X509_STORE_add_cert(store.get(), x.get());
  std::unique_ptr<STACK_OF(X509), free_stack> untrusted{sk_X509_new_null()};
  for (size_t i = 1; i < chain->size(); ++i)
    sk_X509_push(untrusted.get(), X509_dup((*chain)[i].get()));
  std::unique_ptr<X509_STORE_CTX, free_store_ctx> ctx{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get());
  if (X509_verify_cert(ctx.get()) != 1) {
    auto why
      = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return bad(certificate,
               std::string{"does not chain to "} + ca + " (" + why + ")");
  }
  identity result;
  result.name = common_name(leaf);
  result.roles = units(leaf);
  int days = 0;
  int secs = 0;
  ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(leaf));
  result.seconds_left = static_cast<long long>(days) * 86400 + secs;
  if (result.name.empty())
    return bad(certificate, "has no subject CN (the node's name)");
  return result;
}

std::string proof_message(std::string_view purpose, std::string_view challenge,
                          std::string_view name) {
  std::string result = "duet-proof/1\n";
  result.append(purpose).append("\n");
  result.append(challenge).append("\n");
  result.append(name);
  return result;
}

caf::expected<signer> signer::load(const std::string& certificate,
                                   const std::string& key) {
  auto pem = read_small_file(certificate);
  if (!pem)
    return std::move(pem.error());
  auto k = read_key(key);
  if (!k)
    return std::move(k.error());
  signer result;
  result.certificate_ = std::move(*pem);
  result.key_ = std::shared_ptr<EVP_PKEY>{k->release(), EVP_PKEY_free};
  return result;
}

caf::expected<std::string> signer::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  size_t len = 0;
  if (!ctx
      || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                            key_.get())
           != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(message.data()),
                        message.size())
           != 1)
    return caf::make_error(ec::crypto_failure,
                           "cannot sign a proof: " + openssl_error());
  std::string sig(len, '\0');
  if (EVP_DigestSign(
        ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
        reinterpret_cast<const unsigned char*>(message.data()), message.size())
      != 1)
    return caf::make_error(ec::crypto_failure,
                           "cannot sign a proof: " + openssl_error());
  sig.resize(len);
  return sig;
}

bool identity::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

struct authority::impl {
  std::unique_ptr<X509_STORE, free_store> store{X509_STORE_new()};
  /// Certificates that chained to the CA: PEM -> (identity, public key).
  mutable std::mutex mtx;
  mutable std::map<std::string, std::pair<identity, std::shared_ptr<EVP_PKEY>>,
                   std::less<>>
    known;
};

caf::expected<authority> authority::load(const std::string& ca) {
  auto cas = read_certs(ca);
  if (!cas)
    return std::move(cas.error());
  authority result;
  result.impl_ = std::make_shared<impl>();
  for (auto& x : *cas)
    X509_STORE_add_cert(result.impl_->store.get(), x.get());
  return result;
}

caf::expected<identity> authority::verify(std::string_view certificate,
                                          std::string_view message,
                                          std::string_view signature) const {
  identity id;
  std::shared_ptr<EVP_PKEY> key;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (auto i = impl_->known.find(certificate); i != impl_->known.end()) {
      id = i->second.first;
      key = i->second.second;
    }
  }
  if (!key) {
    if (certificate.size() > 16 * 1024)
      return caf::make_error(ec::invalid_message,
                             "the certificate is too large");
    bio_ptr in{BIO_new_mem_buf(certificate.data(),
                               static_cast<int>(certificate.size()))};
    x509_ptr cert{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)};
    if (!cert) {
      ERR_clear_error();
      return caf::make_error(ec::invalid_message,
                             "no PEM certificate in the proof");
    }
    std::unique_ptr<X509_STORE_CTX, free_store_ctx> ctx{X509_STORE_CTX_new()};
    X509_STORE_CTX_init(ctx.get(), impl_->store.get(), cert.get(), nullptr);
    if (X509_verify_cert(ctx.get()) != 1) {
      auto why
        = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      ERR_clear_error();
      return caf::make_error(ec::invalid_message,
                             std::string{
                               "the certificate does not chain to the "
                               "cluster CA ("}
                               + why + ")");
    }
    id.name = common_name(cert.get());
    id.roles = units(cert.get());
    key = std::shared_ptr<EVP_PKEY>{X509_get_pubkey(cert.get()), EVP_PKEY_free};
    if (id.name.empty() || !key)
      return caf::make_error(ec::invalid_message,
                             "the certificate names no node");
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->known.size() >= 1024)
      impl_->known.clear();
    impl_->known.emplace(std::string{certificate}, std::make_pair(id, key));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  if (!ctx
      || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                              key.get())
           != 1)
    // The check could not run (refused all the same: it fails closed).
    return caf::make_error(ec::crypto_failure, openssl_error());
  if (EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
        signature.size(),
        reinterpret_cast<const unsigned char*>(message.data()), message.size())
      != 1) {
    ERR_clear_error();
    return caf::make_error(ec::invalid_message,
                           "the signature is not " + printable(id.name) + "'s");
  }
  return id;
}

} // namespace duet::pki
