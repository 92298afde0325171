#include "actors/crypto/keyring.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "actors/core/small_file.hpp"
#include "actors/core/text.hpp"

namespace duet::crypto {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ptr) const noexcept {
    EVP_MD_CTX_free(ptr);
  }
};

using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* ptr) const noexcept {
    EVP_PKEY_CTX_free(ptr);
  }
};

using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

const char* digest_name(algorithm algo) noexcept {
  return algo == algorithm::rsa_pkcs1_md5 ? "MD5" : "SHA256";
}

struct md_deleter {
  void operator()(EVP_MD* ptr) const noexcept {
    EVP_MD_free(ptr);
  }
};

// The digest of `algo`, fetched from OpenSSL's providers once: a digest
// named per call (EVP_get_digestbyname) is fetched again on every use, under
// a lock. Null if the providers lack it.
const EVP_MD* fetched_digest(algorithm algo) noexcept {
  static const std::unique_ptr<EVP_MD, md_deleter> md5{
    EVP_MD_fetch(nullptr, "MD5", nullptr)};
  static const std::unique_ptr<EVP_MD, md_deleter> sha256{
    EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return algo == algorithm::rsa_pkcs1_md5 ? md5.get() : sha256.get();
}

// A context for verifying digests with `key` under `algo`, or null.
pkey_ctx_ptr make_digest_verify(EVP_PKEY* key, algorithm algo) {
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)};
  auto md = fetched_digest(algo);
  if (!ctx || md == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1
      || EVP_PKEY_CTX_set_signature_md(ctx.get(), md) <= 0)
    return nullptr;
  if (algo == algorithm::rsa_pss_sha256
      && (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) <= 0
          || EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_AUTO)
               <= 0))
    return nullptr;
  return ctx;
}

// Prepares `ctx` for verifying with `key` under `algo`.
bool init_verify(EVP_MD_CTX* ctx, EVP_PKEY* key, algorithm algo) {
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx, &pctx, digest_name(algo), nullptr, nullptr,
                              key, nullptr)
      != 1)
    return false;
  if (algo == algorithm::rsa_pss_sha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
        || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)
      return false;
  }
  return true;
}

} // namespace

size_t digest_size(algorithm x) noexcept {
  return x == algorithm::rsa_pkcs1_md5 ? 16 : 32;
}

caf::expected<std::string> message_digest(algorithm x, std::string_view text) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto md = fetched_digest(x);
  if (md == nullptr
      || EVP_Digest(text.data(), text.size(), out, &len, md, nullptr) != 1)
    return caf::make_error(ec::crypto_failure, openssl_error());
  return std::string{reinterpret_cast<const char*>(out), len};
}

caf::expected<std::string> file_digest(algorithm x, const std::string& path,
                                       uint64_t limit) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{
    std::fopen(path.c_str(), "rb"), &std::fclose};
  if (!file)
    return caf::make_error(ec::no_such_document,
                           "cannot read '" + printable(path) + "'");
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  auto md = fetched_digest(x);
  if (!ctx || md == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    return caf::make_error(ec::crypto_failure, openssl_error());
  std::vector<char> buf(size_t{1} << 20);
  uint64_t total = 0;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), file.get())) > 0) {
    total += n;
    if (total > limit)
      return caf::make_error(ec::payload_too_large,
                             "'" + printable(path) + "' is over "
                               + std::to_string(limit) + " bytes");
    if (EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1)
      return caf::make_error(ec::crypto_failure, openssl_error());
  }
  if (std::ferror(file.get()))
    return caf::make_error(ec::no_such_document,
                           "cannot read '" + printable(path) + "'");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1)
    return caf::make_error(ec::crypto_failure, openssl_error());
  return std::string{reinterpret_cast<const char*>(out), len};
}

std::string openssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// -- algorithm ----------------------------------------------------------------

const char* to_string(algorithm x) noexcept {
  switch (x) {
    case algorithm::rsa_pkcs1_sha256:
      return "rsa-pkcs1-sha256";
    case algorithm::rsa_pss_sha256:
      return "rsa-pss-sha256";
    case algorithm::rsa_pkcs1_md5:
      return "rsa-pkcs1-md5";
  }
  return "?";
}

std::optional<algorithm> parse_algorithm(std::string_view name) noexcept {
  for (auto x : {algorithm::rsa_pkcs1_sha256, algorithm::rsa_pss_sha256,
                 algorithm::rsa_pkcs1_md5})
    if (name == to_string(x))
      return x;
  return std::nullopt;
}

bool is_legacy(algorithm x) noexcept {
  return x == algorithm::rsa_pkcs1_md5;
}

// -- hex ----------------------------------------------------------------------

caf::expected<std::vector<uint8_t>> decode_hex(std::string_view hex) {
  for (size_t i = 0; i < hex.size(); ++i)
    if (hex_value(hex[i]) < 0)
      return caf::make_error(ec::bad_hex,
                             "hexSignature has a non-hex character at position "
                               + std::to_string(i));
  if (hex.size() % 2 != 0)
    return caf::make_error(ec::odd_length,
                           "hexSignature has an odd number of digits ("
                             + std::to_string(hex.size()) + ")");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(hex_value(hex[2 * i]) << 4
                                  | hex_value(hex[2 * i + 1]));
  return out;
}

std::string encode_hex(const uint8_t* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0F];
  }
  return out;
}

// -- public_key ---------------------------------------------------------------

void public_key::deleter::operator()(evp_pkey_st* ptr) const noexcept {
  EVP_PKEY_free(ptr);
}

caf::expected<public_key> public_key::from_pem(std::string_view pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  if (!bio)
    return caf::make_error(ec::crypto_failure, openssl_error());
  EVP_PKEY* raw = nullptr;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    std::unique_ptr<X509, decltype(&X509_free)> cert{
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
    if (!cert)
      return caf::make_error(ec::invalid_config,
                             "not a valid X.509 certificate: "
                               + openssl_error());
    raw = X509_get_pubkey(cert.get());
  } else {
    raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  if (raw == nullptr)
    return caf::make_error(ec::invalid_config,
                           "not a PEM public key (SubjectPublicKeyInfo) or "
                           "certificate: "
                             + openssl_error());
  public_key result;
  result.key_.reset(raw, deleter{});
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA)
    return caf::make_error(ec::invalid_config, "not an RSA key");
  result.size_ = static_cast<size_t>(EVP_PKEY_get_size(raw));
  // The fingerprint: SHA-256 of the SubjectPublicKeyInfo in DER.
  unsigned char* der = nullptr;
  auto len = i2d_PUBKEY(raw, &der);
  if (len <= 0)
    return caf::make_error(ec::crypto_failure,
                           "cannot encode the key: " + openssl_error());
  unsigned char md[32];
  unsigned int md_len = 0;
  auto ok = EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(),
                       nullptr);
  OPENSSL_free(der);
  if (ok != 1)
    return caf::make_error(ec::crypto_failure,
                           "cannot hash the key: " + openssl_error());
  result.fingerprint_ = encode_hex(md, md_len);
  return result;
}

caf::expected<public_key> public_key::from_file(const std::string& path) {
  auto pem = read_small_file(path);
  if (!pem)
    return std::move(pem.error());
  auto key = from_pem(*pem);
  if (!key)
    return caf::make_error(code_of(key.error()),
                           path + ": " + message_of(key.error()));
  return key;
}

// -- keyring ------------------------------------------------------------------

struct keyring::entry {
  public_key key;
  algorithm algo;
  // Contexts initialized once for this key, for messages and for digests;
  // each verification copies one, which skips fetching the digest and
  // signature providers again (measured: 3.8 us of a 20.8 us digest check).
  md_ctx_ptr prototype;
  pkey_ctx_ptr digest_prototype;
};

keyring::keyring() = default;
keyring::keyring(keyring&&) noexcept = default;
keyring& keyring::operator=(keyring&&) noexcept = default;
keyring::~keyring() = default;

caf::expected<bool> keyring::add(std::string id, public_key key, algorithm algo,
                                 bool legacy) {
  if (id.empty())
    return caf::make_error(ec::invalid_config, "empty key id");
  if (entries_.count(id) > 0)
    return caf::make_error(ec::invalid_config, "duplicate key id '" + id + "'");
  if (is_legacy(algo) && !legacy)
    return caf::make_error(
      ec::invalid_config,
      "key '" + id + "': algorithm " + to_string(algo)
        + " is broken and only allowed with \"legacy\": true");
  if (key.native() == nullptr)
    return caf::make_error(ec::invalid_config, "key '" + id + "' is empty");
  auto e = std::make_unique<entry>();
  e->key = std::move(key);
  e->algo = algo;
  e->prototype.reset(EVP_MD_CTX_new());
  e->digest_prototype = make_digest_verify(e->key.native(), algo);
  if (!e->prototype || !init_verify(e->prototype.get(), e->key.native(), algo)
      || !e->digest_prototype)
    return caf::make_error(ec::crypto_failure,
                           "key '" + id + "': cannot set up " + to_string(algo)
                             + ": " + openssl_error());
  entries_.emplace(std::move(id), std::move(e));
  return true;
}

caf::expected<std::pair<const keyring::entry*, std::vector<uint8_t>>>
keyring::prepare(std::string_view key_id,
                 std::string_view signature_hex) const {
  auto i = entries_.find(key_id);
  if (i == entries_.end())
    return caf::make_error(ec::unknown_key,
                           "unknown keyId '" + printable(key_id) + "'");
  auto& e = *i->second;
  auto sig = decode_hex(signature_hex);
  if (!sig)
    return std::move(sig.error());
  if (sig->size() != e.key.size())
    return caf::make_error(
      ec::wrong_length, "hexSignature is " + std::to_string(sig->size())
                          + " bytes, key '" + i->first + "' needs "
                          + std::to_string(e.key.size()) + " ("
                          + std::to_string(e.key.size() * 2) + " hex digits)");
  return std::make_pair(&e, std::move(*sig));
}

namespace {

// A verification's return code as duet's answer.
caf::expected<bool> verdict_of(int rc) {
  if (rc == 1)
    return true;
  if (rc == 0) {
    // A signature that does not match, whatever its bytes (bad padding, a
    // value over the modulus): OpenSSL 3 answers 0 and queues the reason.
    ERR_clear_error();
    return false;
  }
  // Anything else means the verification could not run: not a verdict.
  return caf::make_error(ec::crypto_failure, openssl_error());
}

} // namespace

caf::expected<bool> keyring::verify(std::string_view key_id,
                                    std::string_view text,
                                    std::string_view signature_hex) const {
  auto prepared = prepare(key_id, signature_hex);
  if (!prepared)
    return std::move(prepared.error());
  auto& [e, sig] = *prepared;
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), e->prototype.get()) != 1) {
    ERR_clear_error();
    ctx.reset(EVP_MD_CTX_new());
    if (!ctx || !init_verify(ctx.get(), e->key.native(), e->algo))
      return caf::make_error(ec::crypto_failure, openssl_error());
  }
  return verdict_of(EVP_DigestVerify(
    ctx.get(), sig.data(), sig.size(),
    reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

caf::expected<bool>
keyring::verify_digest(std::string_view key_id, std::string_view digest,
                       std::string_view signature_hex) const {
  auto prepared = prepare(key_id, signature_hex);
  if (!prepared)
    return std::move(prepared.error());
  auto& [e, sig] = *prepared;
  if (digest.size() != digest_size(e->algo))
    return caf::make_error(ec::bad_request,
                           "a digest of " + std::to_string(digest.size())
                             + " bytes for " + to_string(e->algo) + " (needs "
                             + std::to_string(digest_size(e->algo)) + ")");
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_dup(e->digest_prototype.get())};
  if (!ctx) {
    ERR_clear_error();
    ctx = make_digest_verify(e->key.native(), e->algo);
    if (!ctx)
      return caf::make_error(ec::crypto_failure, openssl_error());
  }
  return verdict_of(EVP_PKEY_verify(
    ctx.get(), sig.data(), sig.size(),
    reinterpret_cast<const unsigned char*>(digest.data()), digest.size()));
}

bool keyring::contains(std::string_view id) const {
  return entries_.find(id) != entries_.end();
}

std::optional<keyring::pin> keyring::pinned(std::string_view id) const {
  auto i = entries_.find(id);
  if (i == entries_.end())
    return std::nullopt;
  return pin{i->second->algo, i->second->key.fingerprint()};
}

std::vector<std::string> keyring::ids() const {
  std::vector<std::string> result;
  for (auto& kvp : entries_)
    result.push_back(kvp.first);
  return result;
}

// -- loading ------------------------------------------------------------------

caf::expected<keyring> load_keyring(const std::string& dir) {
  using nlohmann::json;
  auto manifest_path = dir + "/keys.json";
  auto text = read_small_file(manifest_path);
  if (!text)
    return caf::make_error(ec::invalid_config,
                           message_of(text.error()) + " (the key manifest)");
  auto doc = json::parse(*text, nullptr, false, true);
  if (doc.is_discarded() || !doc.is_object())
    return caf::make_error(
      ec::invalid_config, manifest_path + ": not a JSON object of key entries");
  keyring result;
  for (auto& [id, spec] : doc.items()) {
    auto where = manifest_path + ": key '" + printable(id) + "': ";
    if (!spec.is_object())
      return caf::make_error(ec::invalid_config,
                             where + "entry must be an object");
    for (auto& [field, value] : spec.items())
      if (field != "file" && field != "algorithm" && field != "legacy"
          && field != "comment")
        return caf::make_error(ec::invalid_config,
                               where + "unknown field '" + printable(field)
                                 + "' (allowed: file, algorithm, "
                                   "legacy, comment)");
    auto file = spec.find("file");
    if (file == spec.end() || !file->is_string())
      return caf::make_error(ec::invalid_config,
                             where + "missing string \"file\"");
    auto algo = algorithm::rsa_pkcs1_sha256;
    if (auto a = spec.find("algorithm"); a != spec.end()) {
      auto parsed = a->is_string() ? parse_algorithm(a->get<std::string>())
                                   : std::nullopt;
      if (!parsed)
        return caf::make_error(
          ec::invalid_config,
          where
            + "\"algorithm\" must be one of rsa-pkcs1-sha256, "
              "rsa-pss-sha256, rsa-pkcs1-md5");
      algo = *parsed;
    }
    auto legacy = false;
    if (auto l = spec.find("legacy"); l != spec.end()) {
      if (!l->is_boolean())
        return caf::make_error(ec::invalid_config,
                               where + "\"legacy\" must be true or false");
      legacy = l->get<bool>();
    }
    auto name = file->get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos)
      return caf::make_error(
        ec::invalid_config,
        where.append("\"file\" must be a file name inside ").append(dir));
    auto key = public_key::from_file(std::string{dir}.append("/").append(name));
    if (!key)
      return caf::make_error(ec::invalid_config,
                             where.append(message_of(key.error())));
    if (auto added = result.add(id, std::move(*key), algo, legacy); !added)
      return caf::make_error(ec::invalid_config,
                             manifest_path + ": " + message_of(added.error()));
  }
  if (result.size() == 0)
    return caf::make_error(ec::invalid_config,
                           manifest_path + ": defines no keys");
  return result;
}

} // namespace duet::crypto
