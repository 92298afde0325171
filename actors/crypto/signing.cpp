#include "actors/crypto/signing.hpp"

#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace duet::crypto {

namespace {

caf::error openssl_failure(const char* what) {
  return caf::make_error(ec::crypto_failure,
                         std::string{what} + ": " + openssl_error());
}

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string drain(BIO* bio) {
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

} // namespace

caf::expected<key_pair> generate_rsa(int bits) {
  pkey_ptr key{EVP_RSA_gen(static_cast<unsigned>(bits)), EVP_PKEY_free};
  if (!key)
    return openssl_failure("RSA key generation failed");
  bio_ptr priv{BIO_new(BIO_s_mem()), BIO_free};
  bio_ptr pub{BIO_new(BIO_s_mem()), BIO_free};
  if (!priv || !pub
      || PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0,
                                  nullptr, nullptr)
           != 1
      || PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1)
    return openssl_failure("cannot encode the key pair");
  return key_pair{drain(priv.get()), drain(pub.get())};
}

caf::expected<std::string> sign_hex(std::string_view private_pem,
                                    std::string_view text, algorithm algo) {
  bio_ptr bio{BIO_new_mem_buf(private_pem.data(),
                              static_cast<int>(private_pem.size())),
              BIO_free};
  pkey_ptr key{bio
                 ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                 : nullptr,
               EVP_PKEY_free};
  if (!key)
    return openssl_failure("not a PEM private key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  EVP_PKEY_CTX* pctx = nullptr;
  auto md = algo == algorithm::rsa_pkcs1_md5 ? "MD5" : "SHA256";
  if (!ctx
      || EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr,
                               key.get(), nullptr)
           != 1)
    return openssl_failure("cannot start signing");
  if (algo == algorithm::rsa_pss_sha256
      && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
          || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0))
    return openssl_failure("cannot select PSS padding");
  size_t len = 0;
  auto data = reinterpret_cast<const unsigned char*>(text.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, text.size()) != 1)
    return openssl_failure("signing failed");
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data, text.size()) != 1)
    return openssl_failure("signing failed");
  return encode_hex(sig.data(), len);
}

} // namespace duet::crypto
