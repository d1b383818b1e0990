#ifndef HOLDFAST_COPENSSL_SHIM_H
#define HOLDFAST_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

// SHA-1 of a short message through the low-level interface (the WebSocket accept key). OpenSSL 3's one-shot
// SHA1() looks the algorithm up in its provider registry on every call, which costs more than the hash itself.
static inline void holdfast_sha1(const unsigned char *data, size_t length, unsigned char *digest) {
    SHA_CTX context;
    SHA1_Init(&context);
    SHA1_Update(&context, data, length);
    SHA1_Final(digest, &context);
}

// OpenSSL exposes these as function-like macros, which Swift cannot call.

static inline long holdfast_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long holdfast_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long holdfast_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long holdfast_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline int holdfast_SSL_set_app_data(SSL *ssl, void *data) {
    return SSL_set_app_data(ssl, data);
}

static inline void *holdfast_SSL_get_app_data(const SSL *ssl) {
    return SSL_get_app_data(ssl);
}

static inline long holdfast_BIO_ctrl_pending(BIO *bio) {
    return (long)BIO_ctrl_pending(bio);
}

static inline int holdfast_BIO_set_mem_eof_return(BIO *bio, int value) {
    return (int)BIO_set_mem_eof_return(bio, value);
}

static inline unsigned long holdfast_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline unsigned long holdfast_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline unsigned long holdfast_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline unsigned long holdfast_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }

#endif
