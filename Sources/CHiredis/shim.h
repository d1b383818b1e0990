#ifndef HOLDFAST_CHIREDIS_SHIM_H
#define HOLDFAST_CHIREDIS_SHIM_H

// hiredis 0.14 (Debian libhiredis-dev): the async API and the reply types. No TLS (hiredis_ssl came in 1.0).
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

// The connection's error text lives in a fixed char array that Swift imports as a tuple; ac->errstr only points at
// it once hiredis has copied the error up, which it has not yet done when the connect callback reports a failure.
static inline const char *holdfast_redis_error(const redisAsyncContext *ac) { return ac->c.errstr; }

// Whether the non-blocking connect has completed (REDIS_CONNECTED).
static inline int holdfast_redis_is_connected(const redisAsyncContext *ac) {
    return (ac->c.flags & REDIS_CONNECTED) != 0;
}

#endif
