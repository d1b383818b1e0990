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
#include <string.h>

// SHA-1 of a message given in two parts (the WebSocket accept key hashes the client's key and a GUID: 60 bytes)
// through the low-level interface. OpenSSL 3's one-shot SHA1() looks the algorithm up in its provider registry on
// every call, which costs more than the hash itself; and SHA1_Update/SHA1_Final buffer the input, pad it and wipe the
// context afterwards. A message of at most 119 bytes is laid out and padded on the stack into its one or two blocks,
// which SHA1_Transform hashes in place, and the digest is read from the state. Nothing secret passes through (the
// key and the GUID are public), so nothing is wiped. A longer message takes the buffered interface.
static inline void holdfast_sha1(const unsigned char *first, size_t firstLength, const unsigned char *second,
                                 size_t secondLength, unsigned char *digest) {
    size_t length = firstLength + secondLength;
    if (length > 119) {
        SHA_CTX context;
        SHA1_Init(&context);
        SHA1_Update(&context, first, firstLength);
        SHA1_Update(&context, second, secondLength);
        SHA1_Final(digest, &context);
        return;
    }
    unsigned char blocks[128];
    size_t total = length + 9 <= 64 ? 64 : 128;
    if (firstLength > 0) memcpy(blocks, first, firstLength);
    if (secondLength > 0) memcpy(blocks + firstLength, second, secondLength);
    memset(blocks + length, 0, total - length);
    blocks[length] = 0x80;
    unsigned long long bits = (unsigned long long)length * 8;
    for (int index = 0; index < 8; index++) blocks[total - 1 - index] = (unsigned char)(bits >> (8 * index));
    SHA_CTX context;
    SHA1_Init(&context);
    SHA1_Transform(&context, blocks);
    if (total == 128) SHA1_Transform(&context, blocks + 64);
    SHA_LONG state[5] = {context.h0, context.h1, context.h2, context.h3, context.h4};
    for (int word = 0; word < 5; word++) {
        digest[4 * word] = (unsigned char)(state[word] >> 24);
        digest[4 * word + 1] = (unsigned char)(state[word] >> 16);
        digest[4 * word + 2] = (unsigned char)(state[word] >> 8);
        digest[4 * word + 3] = (unsigned char)state[word];
    }
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
