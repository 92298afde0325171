#include "actors/crypto/digest.hpp"

#include <openssl/evp.h>

#include "actors/crypto/keyring.hpp"

namespace duet {

void field_digest::deleter::operator()(evp_md_ctx_st* ptr) const noexcept {
  EVP_MD_CTX_free(ptr);
}

field_digest::field_digest() : ctx_(EVP_MD_CTX_new()) {
  ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
}

field_digest::field_digest(field_digest&&) noexcept = default;

field_digest& field_digest::operator=(field_digest&&) noexcept = default;

field_digest::~field_digest() = default;

field_digest& field_digest::add(std::string_view field) {
  auto n = static_cast<uint32_t>(field.size());
  uint8_t len[4] = {static_cast<uint8_t>(n >> 24),
                    static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                    static_cast<uint8_t>(n)};
  ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), len, sizeof(len)) == 1
        && EVP_DigestUpdate(ctx_.get(), field.data(), field.size()) == 1;
  return *this;
}

field_digest& field_digest::add_byte(uint8_t x) {
  ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), &x, 1) == 1;
  return *this;
}

caf::expected<std::string> field_digest::hex() {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  ok_ = ok_ && EVP_DigestFinal_ex(ctx_.get(), md, &md_len) == 1;
  if (!ok_)
    return caf::make_error(ec::crypto_failure,
                           "SHA-256 failed: " + crypto::openssl_error());
  ok_ = false; // finished: a second call fails
  return crypto::encode_hex(md, md_len);
}

caf::expected<std::string> task_digest(std::string_view id,
                                       const verify_request& req) {
  return field_digest{}
    .add(id)
    .add(req.key_id)
    .add(req.text)
    .add(req.hex_signature)
    .add(req.algorithm)
    .add(req.fingerprint)
    .add(req.digest)
    .hex();
}

} // namespace duet
