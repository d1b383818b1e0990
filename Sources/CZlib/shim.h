#ifndef HOLDFAST_CZLIB_SHIM_H
#define HOLDFAST_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2/inflateInit2 are macros (they pass the library version and struct size).
static inline int holdfast_deflateInit2(z_streamp stream, int level, int method, int windowBits, int memLevel,
                                        int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}

static inline int holdfast_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
