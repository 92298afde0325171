// OpenSSL requires the calling thread's error queue to be empty before each
// TLS I/O call (SSL_get_error(3)): SSL_get_error reads that queue, so an
// error left over from one connection makes the next call on another
// connection look failed. CAF 0.17.6's OpenSSL module does not clear it
// when a peer disconnects (SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN): a
// killed node then took every other TLS link of the same process down with
// it (measured: both verifier links of a front dropped 10 ms apart).
//
// These definitions interpose libssl's I/O entry points for CAF's module
// (the executable's symbols come first when libcaf_openssl is bound): each
// clears the queue and calls the real function.

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F real(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  void* sym = dlsym(RTLD_NEXT, name);
  F fn;
  __builtin_memcpy(&fn, &sym, sizeof(fn));
  return fn;
}

} // namespace

#define DUET_EXPORT __attribute__((visibility("default")))

extern "C" {

DUET_EXPORT int SSL_read(SSL* ssl, void* buf, int num) {
  static auto fn = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return fn(ssl, buf, num);
}

DUET_EXPORT int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto fn = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return fn(ssl, buf, num);
}

DUET_EXPORT int SSL_connect(SSL* ssl) {
  static auto fn = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return fn(ssl);
}

DUET_EXPORT int SSL_accept(SSL* ssl) {
  static auto fn = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return fn(ssl);
}

} // extern "C"

namespace duet {

/// Referenced by connect.cpp so that the linker keeps this object file.
void link_tls_error_fix() {
  // nop
}

} // namespace duet
