/*
 * gc_util.h — small helpers for the reference library (hex, numbers, checksums, hashing).
 * 参考实现的小工具：十六进制、数值编码、校验和、散列。Header-only so a maker can compile one .c file.
 */
#ifndef GC_UTIL_H
#define GC_UTIL_H

#include <stddef.h>
#include <string.h>

typedef unsigned char gc_u8;
typedef unsigned int gc_u32; /* at least 32 bits on every supported compiler; values are masked anyway */

/* ---- encodings a layout can choose ---- */
#define GC_ENC_BE    1   /* big-endian binary */
#define GC_ENC_LE    2   /* little-endian binary */
#define GC_ENC_BCD   3   /* packed BCD, most significant digit first (ql only: 4 bytes = 8 digits) */
#define GC_KH_BCD    1   /* 16 bytes, digits left-aligned, padded with nibble F */
#define GC_KH_ASCII  2   /* 32 bytes, ASCII digits left-aligned, padded with 0x00 */

/* ---- checksum algorithms ---- */
#define GC_SUM_ADD8     1   /* init + sum of bytes, mod 256 */
#define GC_SUM_XOR8     2   /* init ^ all bytes */
#define GC_SUM_CRC8     3   /* CRC-8, polynomial 0x07, MSB first, init given */
#define GC_SUM_CRC8_MAXIM 4 /* CRC-8/MAXIM (Dallas), polynomial 0x31 reflected (0x8C), init given */
#define GC_SUM_NEG8     5   /* two's complement of (init + sum): init + sum + check == 0 mod 256 */

static int gc_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes exactly nbytes*2 hex digits followed by NUL. Reads at most nbytes*2+1 characters. */
static int gc_hex_decode(const char *hex, gc_u8 *out, int nbytes)
{
    int i;
    if (hex == NULL) return -1;
    for (i = 0; i < nbytes; i++) {
        int hi, lo;
        hi = gc_hexval((unsigned char)hex[2 * i]);
        if (hi < 0) return -1;
        lo = gc_hexval((unsigned char)hex[2 * i + 1]);
        if (lo < 0) return -1;
        out[i] = (gc_u8)(hi * 16 + lo);
    }
    return hex[2 * nbytes] == '\0' ? 0 : -1;
}

/* Writes nbytes*2 upper-case hex digits plus NUL (nbytes*2+1 characters). */
static void gc_hex_encode(const gc_u8 *in, int nbytes, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    int i;
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

static void gc_put_u32(gc_u8 *p, gc_u32 v, int enc)
{
    int i;
    if (enc == GC_ENC_LE) {
        for (i = 0; i < 4; i++) p[i] = (gc_u8)((v >> (8 * i)) & 0xFF);
    } else if (enc == GC_ENC_BCD) {
        for (i = 3; i >= 0; i--) {
            gc_u32 lo = v % 10, hi;
            v /= 10;
            hi = v % 10;
            v /= 10;
            p[i] = (gc_u8)((hi << 4) | lo);
        }
    } else {
        for (i = 0; i < 4; i++) p[i] = (gc_u8)((v >> (8 * (3 - i))) & 0xFF);
    }
}

/* Returns 0, or -1 when a BCD value holds a non-decimal nibble. */
static int gc_get_u32(const gc_u8 *p, int enc, gc_u32 *v)
{
    int i;
    gc_u32 r = 0;
    if (enc == GC_ENC_LE) {
        for (i = 3; i >= 0; i--) r = (r << 8) | p[i];
    } else if (enc == GC_ENC_BCD) {
        for (i = 0; i < 4; i++) {
            if ((p[i] >> 4) > 9 || (p[i] & 15) > 9) return -1;
            r = r * 100 + (gc_u32)((p[i] >> 4) * 10 + (p[i] & 15));
        }
    } else {
        for (i = 0; i < 4; i++) r = (r << 8) | p[i];
    }
    *v = r & 0xFFFFFFFFu;
    return 0;
}

static void gc_put_u16(gc_u8 *p, unsigned v, int enc)
{
    if (enc == GC_ENC_LE) { p[0] = (gc_u8)(v & 0xFF); p[1] = (gc_u8)((v >> 8) & 0xFF); }
    else { p[0] = (gc_u8)((v >> 8) & 0xFF); p[1] = (gc_u8)(v & 0xFF); }
}

static unsigned gc_get_u16(const gc_u8 *p, int enc)
{
    return enc == GC_ENC_LE ? (unsigned)(p[0] | (p[1] << 8)) : (unsigned)((p[0] << 8) | p[1]);
}

/* One checksum step, so a layout can checksum scattered fields in a fixed order. */
static gc_u8 gc_sum_update(int alg, gc_u8 acc, const gc_u8 *p, int n)
{
    int i, b;
    for (i = 0; i < n; i++) {
        switch (alg) {
        case GC_SUM_XOR8: acc ^= p[i]; break;
        case GC_SUM_CRC8:
            acc ^= p[i];
            for (b = 0; b < 8; b++) acc = (gc_u8)((acc & 0x80) ? ((acc << 1) ^ 0x07) : (acc << 1));
            break;
        case GC_SUM_CRC8_MAXIM:
            acc ^= p[i];
            for (b = 0; b < 8; b++) acc = (gc_u8)((acc & 0x01) ? ((acc >> 1) ^ 0x8C) : (acc >> 1));
            break;
        default: acc = (gc_u8)(acc + p[i]); break; /* ADD8 and NEG8 accumulate a plain sum */
        }
    }
    return acc;
}

static gc_u8 gc_sum_final(int alg, gc_u8 acc)
{
    return alg == GC_SUM_NEG8 ? (gc_u8)(0x100 - acc) : acc;
}

/* FNV-1a 32-bit: the card-id hash that keys and the 102 public zone are derived from. */
static gc_u32 gc_fnv1a(const char *s, gc_u32 h)
{
    while (*s) {
        h ^= (gc_u8)*s++;
        h = (h * 16777619u) & 0xFFFFFFFFu;
    }
    return h;
}

/* A stand-in key mixer (murmur3 finaliser). Real makers use their own secret algorithm. */
static gc_u32 gc_mix(gc_u32 salt, gc_u32 h)
{
    gc_u32 x = (salt ^ ((h * 0x9E3779B1u) & 0xFFFFFFFFu)) & 0xFFFFFFFFu;
    x ^= x >> 16;
    x = (x * 0x85EBCA6Bu) & 0xFFFFFFFFu;
    x ^= x >> 13;
    x = (x * 0xC2B2AE35u) & 0xFFFFFFFFu;
    x ^= x >> 16;
    return x;
}

/* Bounded copy that always NUL-terminates; returns -1 if it did not fit. */
static int gc_copy_str(char *out, int outSize, const char *s)
{
    size_t n = strlen(s);
    if (out == NULL || outSize <= 0) return -1;
    if ((size_t)outSize < n + 1) { out[0] = '\0'; return -1; }
    memcpy(out, s, n + 1);
    return 0;
}

#endif /* GC_UTIL_H */
