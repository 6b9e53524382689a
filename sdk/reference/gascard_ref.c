/*
 * gascard_ref.c — 燃气IC卡统一接口参考实现 / reference implementation of sdk/include/gascard.h
 *
 * One source, built once per maker with that maker's layout chosen at compile time:
 *   cc -O2 -shared -fPIC -fvisibility=hidden -Isdk/include -Isdk/reference \
 *      -DGASCARD_LAYOUT='"layouts/kingcard.h"' sdk/reference/gascard_ref.c -o libgascard_kingcard.so
 * The layouts shipped here are STAND-INS (替身): MeterHub's own inventions, not any maker's real format.
 * A maker starts from this file, replaces the layout (and the key derivation in card_key()) with its own,
 * and keeps the interface behaviour: validation, return codes, buffer discipline, upper-case hex.
 *
 * Fault builds (-DGASCARD_FAULT=SEGV|ABORT|HANG|OVERRUN|GARBAGE|CLAIM_ALL|NONDET|KH_LENGTH) misbehave on purpose so the
 * host's isolation can be tested. Never ship one.
 *
 * Stand-in-only exports (StandIn*) are NOT part of the interface; tests and simulators use them.
 */
#ifndef GASCARD_BUILD
#define GASCARD_BUILD 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gascard.h"
#include "gc_util.h"

#if defined(_WIN32)
#  include <direct.h>
#  include <windows.h>
#  define gc_mkdir(p) _mkdir(p)
#  define gc_sleep_ms(ms) Sleep(ms)
#else
#  include <sys/stat.h>
#  include <sys/types.h>
#  include <unistd.h>
#  define gc_mkdir(p) mkdir((p), 0777)
#  define gc_sleep_ms(ms) usleep((ms) * 1000)
#endif

/* Where each field sits in a card image; the layout header fills one per supported card type. */
typedef struct gc_map {
    int total;                    /* image bytes: 256 (4442, cpu) or 150 (102) */
    int mark_off, kind_off, h32_off, pchk_off;
    int kh_off, ql_off, cs_off, klx_off, par_off, sum_off;
    int wb_flag_off, wb_status_off, wb_last_off, wb_months_off;
} gc_map;

#ifndef GASCARD_LAYOUT
#  define GASCARD_LAYOUT "layouts/kingcard.h"
#endif
#include GASCARD_LAYOUT

/* ---- fault selection: -DGASCARD_FAULT=NAME ---- */
#define GCF_NONE 0
#define GCF_SEGV 1
#define GCF_ABORT 2
#define GCF_HANG 3
#define GCF_OVERRUN 4
#define GCF_GARBAGE 5
#define GCF_CLAIM_ALL 6
#define GCF_NONDET 7
#define GCF_KH_LENGTH 8
#ifdef GASCARD_FAULT
#  define GC_CAT_(a, b) a##b
#  define GC_CAT(a, b) GC_CAT_(a, b)
#  define GC_FAULT GC_CAT(GCF_, GASCARD_FAULT)
#  define GC_STR_(x) #x
#  define GC_STR(x) GC_STR_(x)
#  define GC_FAULT_NAME GC_STR(GASCARD_FAULT)
#else
#  define GC_FAULT GCF_NONE
#  define GC_FAULT_NAME "NONE"
#endif

/* ---- constants ---- */
#define KIND_USER 0x01
#define GC_E_PSAM (-100)          /* maker-defined: PSAM not present (cpu) */
#define FIELD_MARK 3
#define FIELD_PARAMS 12
#define WB_MONTHS 12
#define WB_ENTRY 5

static const gc_u8 g_mark[FIELD_MARK] = GC_MARK;
#if GC_SUPPORTS_4442
static const gc_map g_map4442 = GC_MAP_4442;
static const gc_map *const g_p4442 = &g_map4442;
#  define M4442 g_p4442
#else
static const gc_map *const g_p4442 = 0;
#  define M4442 g_p4442
#endif
#if GC_SUPPORTS_102
static const gc_map g_map102 = GC_MAP_102;
static const gc_map *const g_p102 = &g_map102;
#  define M102 g_p102
#else
static const gc_map *const g_p102 = 0;
#  define M102 g_p102
#endif
#if GC_SUPPORTS_CPU
static const gc_map g_mapcpu = GC_MAP_CPU;
static const gc_map *const g_pcpu = &g_mapcpu;
#  define MCPU g_pcpu
#else
static const gc_map *const g_pcpu = 0;
#  define MCPU g_pcpu
#endif

static const struct { const char *name; int code; } g_tool_codes[] = {
    { "CLEAR", 0x81 }, { "CHECK", 0x82 }, { "SETUP", 0x83 }, { "VALVE_OPEN", 0x84 },
    { "VALVE_CLOSE", 0x85 }, { "TRANSFER", 0x86 }, { "CLOCK", 0x87 }, { "REKEY", 0x88 },
};
#define N_TOOL_CODES ((int)(sizeof g_tool_codes / sizeof g_tool_codes[0]))

/* ---- small pieces ---------------------------------------------------------------------------- */

static int is102(const gc_map *m) { return m->total == GASCARD_102_BYTES; }
static int key_bytes(const gc_map *m) { return is102(m) ? 2 : 3; }
static int kh_field_len(void) { return GC_KH_ENC == GC_KH_BCD ? 16 : 32; }

/* Is `name` one of this maker's tool kinds (GC_TOOL_KINDS, comma-separated)? Returns its code or 0. */
static int tool_code(const char *name)
{
    const char *list = GC_TOOL_KINDS, *p = list;
    size_t n;
    int i;
    if (name == NULL) return 0;
    n = strlen(name);
    if (n == 0 || n > 32) return 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) {
            for (i = 0; i < N_TOOL_CODES; i++)
                if (strcmp(g_tool_codes[i].name, name) == 0) return g_tool_codes[i].code;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

static const char *tool_name(int code)
{
    int i;
    for (i = 0; i < N_TOOL_CODES; i++)
        if (g_tool_codes[i].code == code) return g_tool_codes[i].name;
    return NULL;
}

/* kh: 1..32 ASCII digits. Reads at most 33 characters. */
static int kh_check(const char *kh)
{
    int i;
    if (kh == NULL) return GC_E_BAD_PARAM;
    for (i = 0; i <= GASCARD_KH_MAX; i++) {
        if (kh[i] == '\0') return i >= 1 ? GC_OK : GC_E_BAD_PARAM;
        if (kh[i] < '0' || kh[i] > '9') return GC_E_BAD_PARAM;
    }
    return GC_E_BAD_PARAM;
}

static void kh_put(gc_u8 *p, const char *kh)
{
    int i, n = (int)strlen(kh);
    if (GC_KH_ENC == GC_KH_BCD) {
        memset(p, 0xFF, 16);
        for (i = 0; i < n; i++) {
            gc_u8 d = (gc_u8)(kh[i] - '0');
            if (i % 2 == 0) p[i / 2] = (gc_u8)((d << 4) | 0x0F);
            else p[i / 2] = (gc_u8)((p[i / 2] & 0xF0) | d);
        }
    } else {
        memset(p, 0x00, 32);
        memcpy(p, kh, (size_t)n);
    }
}

/* Decodes the kh field into out[33]. Returns 0, or -1 when it is not 1..32 digits. */
static int kh_get(const gc_u8 *p, char *out)
{
    int i, n = 0, ended = 0;
    if (GC_KH_ENC == GC_KH_BCD) {
        for (i = 0; i < 32; i++) {
            int d = (i % 2 == 0) ? (p[i / 2] >> 4) : (p[i / 2] & 15);
            if (ended) { if (d != 15) return -1; continue; }
            if (d == 15) { ended = 1; continue; }
            if (d > 9) return -1;
            out[n++] = (char)('0' + d);
        }
    } else {
        for (i = 0; i < 32; i++) {
            if (ended) { if (p[i] != 0) return -1; continue; }
            if (p[i] == 0) { ended = 1; continue; }
            if (p[i] < '0' || p[i] > '9') return -1;
            out[n++] = (char)p[i];
        }
    }
    out[n] = '\0';
    return n >= 1 ? 0 : -1;
}

static gc_u32 h32_get(const gc_map *m, const gc_u8 *img) { gc_u32 v; gc_get_u32(img + m->h32_off, GC_ENC_BE, &v); return v; }

static gc_u32 user_h32(const char *kh) { return gc_fnv1a(kh, 2166136261u); }

static gc_u32 tool_h32(int code)
{
    const char *n = tool_name(code);
    return gc_fnv1a(n ? n : "", gc_fnv1a("TOOL:", 2166136261u));
}

/* Identity check byte over mark, kind and id hash: all a 102 Check can see. */
static gc_u8 id_check(const gc_map *m, const gc_u8 *img)
{
    gc_u8 acc = (gc_u8)((GC_SALT >> 8) & 0xFF);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->mark_off, FIELD_MARK);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->kind_off, 1);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->h32_off, 4);
    return gc_sum_final(GC_SUM_ALG, acc);
}

/* Record checksum over every purchase field, in a fixed order (the write-back area is the meter's). */
static gc_u8 record_sum(const gc_map *m, const gc_u8 *img)
{
    gc_u8 acc = (gc_u8)(GC_SALT & 0xFF);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->mark_off, FIELD_MARK);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->kind_off, 1);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->h32_off, 4);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->kh_off, kh_field_len());
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->ql_off, 4);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->cs_off, 2);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->klx_off, 1);
    acc = gc_sum_update(GC_SUM_ALG, acc, img + m->par_off, FIELD_PARAMS);
    return gc_sum_final(GC_SUM_ALG, acc);
}

static void seal(const gc_map *m, gc_u8 *img)
{
    img[m->pchk_off] = id_check(m, img);
    img[m->sum_off] = record_sum(m, img);
}

/* 0 user card, 1 tool card, -1 not ours. For 102 only the public zone (bytes 0-21) is looked at. */
static int identify(const gc_map *m, const gc_u8 *img)
{
    int kind = img[m->kind_off];
    if (memcmp(img + m->mark_off, g_mark, FIELD_MARK) != 0) return GC_CHECK_NOT_OURS;
    if (kind != KIND_USER && tool_code(tool_name(kind)) == 0) return GC_CHECK_NOT_OURS;
    if (img[m->pchk_off] != id_check(m, img)) return GC_CHECK_NOT_OURS;
    return kind == KIND_USER ? GC_CHECK_USER_CARD : GC_CHECK_TOOL_CARD;
}

/* Blank = the application bytes are all FF or all 00 (factory bytes of 4442 / FZ, SC, SCAC of 102 ignored). */
static int is_blank(const gc_map *m, const gc_u8 *img)
{
    int i, ff = 1, zero = 1;
    for (i = 0; i < m->total; i++) {
        if (m->total == GASCARD_4442_BYTES && m != MCPU && i < GASCARD_4442_APP_START) continue;
        if (is102(m) && (i < 2 || (i >= 10 && i < 14))) continue;
        if (img[i] != 0xFF) ff = 0;
        if (img[i] != 0x00) zero = 0;
    }
    return ff || zero;
}

static void blank_image(const gc_map *m, gc_u8 *img)
{
    static const gc_u8 hdr4442[8] = { 0xA2, 0x13, 0x10, 0x91, 0xFF, 0xFF, 0x81, 0x15 };
    memset(img, 0xFF, (size_t)m->total);
    if (m == MCPU) return;
    if (is102(m)) {
        img[0] = 0x0F; img[1] = 0x0F;        /* FZ */
        img[10] = 0xF0; img[11] = 0xF0;      /* factory SC */
    } else {
        memcpy(img, hdr4442, sizeof hdr4442);
    }
}

/*
 * Clears every byte the library owns, keeping what the writer ignores (4442 0x00-0x1F, 102 FZ/SC/SCAC).
 * The 102 SC is never put into the data image: it is a secret, and writers set it from newKey.
 */
static void clear_app(const gc_map *m, gc_u8 *img)
{
    int i;
    for (i = 0; i < m->total; i++) {
        if (m->total == GASCARD_4442_BYTES && m != MCPU && i < GASCARD_4442_APP_START) continue;
        if (is102(m) && (i < 2 || (i >= 10 && i < 14))) continue;
        img[i] = 0xFF;
    }
}

static void key_from_h32(const gc_map *m, gc_u32 h32, char *out)
{
    gc_u32 x = gc_mix(GC_SALT, h32);
    gc_u8 k[3];
    if (is102(m)) {
        k[0] = (gc_u8)(x >> 24); k[1] = (gc_u8)(x >> 16);
        if ((k[0] == 0xF0 && k[1] == 0xF0) || (k[0] == 0xFF && k[1] == 0xFF)) k[1] ^= 0x5A;
    } else {
        k[0] = (gc_u8)(x >> 24); k[1] = (gc_u8)(x >> 16); k[2] = (gc_u8)(x >> 8);
        if (k[0] == 0xFF && k[1] == 0xFF && k[2] == 0xFF) k[2] = 0x5A;
    }
    gc_hex_encode(k, key_bytes(m), out);
}

static void factory_key(const gc_map *m, char *out) { strcpy(out, is102(m) ? "F0F0" : "FFFFFF"); }


typedef struct { char kh[GASCARD_KH_MAX + 1]; gc_u32 ql; unsigned cs; int klx; } gc_values;

/* A readable user card of this maker: identity, checksum, id hash and field ranges. */
static int load_user(const gc_map *m, const gc_u8 *img, gc_values *v)
{
    int id = identify(m, img);
    if (id == GC_CHECK_NOT_OURS) return is_blank(m, img) ? GC_E_NEW_OR_BACKWARDS : GC_E_NOT_THIS_SYSTEM;
    if (id == GC_CHECK_TOOL_CARD) return GC_E_NOT_USER_CARD;
    if (img[m->sum_off] != record_sum(m, img)) return GC_E_CHECKSUM;
    if (kh_get(img + m->kh_off, v->kh) != 0) return GC_E_CARD_DAMAGED;
    if (user_h32(v->kh) != h32_get(m, img)) return GC_E_CHECKSUM;
    if (gc_get_u32(img + m->ql_off, GC_QL_ENC, &v->ql) != 0 || v->ql > GASCARD_QL_MAX) return GC_E_CARD_DAMAGED;
    v->cs = gc_get_u16(img + m->cs_off, GC_CS_ENC);
    if (v->cs > GASCARD_CS_MAX) return GC_E_CARD_DAMAGED;
    v->klx = img[m->klx_off];
    if (v->klx != 1 && v->klx != 2) return GC_E_CARD_DAMAGED;
    return GC_OK;
}

static int values_check(int ql, int cs, int klx_or_1)
{
    if (ql < 0 || ql > GASCARD_QL_MAX) return GC_E_BAD_PARAM;
    if (cs < 0 || cs > GASCARD_CS_MAX) return GC_E_BAD_PARAM;
    if (klx_or_1 != 1 && klx_or_1 != 2) return GC_E_BAD_PARAM;
    return GC_OK;
}

static void put_user(const gc_map *m, gc_u8 *img, const char *kh, int ql, int cs, int klx)
{
    img[m->kind_off] = KIND_USER;
    memcpy(img + m->mark_off, g_mark, FIELD_MARK);
    gc_put_u32(img + m->h32_off, user_h32(kh), GC_ENC_BE);
    kh_put(img + m->kh_off, kh);
    gc_put_u32(img + m->ql_off, (gc_u32)ql, GC_QL_ENC);
    gc_put_u16(img + m->cs_off, (unsigned)cs, GC_CS_ENC);
    img[m->klx_off] = (gc_u8)klx;
    memset(img + m->par_off, 0x00, FIELD_PARAMS);
}

static void wb_reset(const gc_map *m, gc_u8 *img)
{
    img[m->wb_flag_off] = 0x00;
    gc_put_u16(img + m->wb_status_off, 0, GC_ENC_BE);
    img[m->wb_last_off] = 0x00;
    memset(img + m->wb_months_off, 0x00, WB_MONTHS * WB_ENTRY);
}

/* ---- fault helpers ---- */
#if GC_FAULT == GCF_SEGV || GC_FAULT == GCF_ABORT || GC_FAULT == GCF_HANG
static void fault_now(void)
{
#  if GC_FAULT == GCF_SEGV
    volatile int *volatile p = (int *)0;
    *p = 42;
#  elif GC_FAULT == GCF_ABORT
    abort();
#  else
    volatile int forever = 1;
    while (forever) gc_sleep_ms(50); /* sleeps, so a hung stand-in does not burn a shared CPU */
#  endif
}
#  define FAULT_IN_BUY_READ() fault_now()
#else
#  define FAULT_IN_BUY_READ() ((void)0)
#endif

#if GC_FAULT == GCF_OVERRUN
/* Longer than the spec but inside the host's buffers (data 4096, keys 64): a conformance failure to detect. */
static void overrun_hex(char *out, int n) { int i; for (i = 0; i < n; i++) out[i] = "0123456789ABCDEF"[i % 16]; out[n] = '\0'; }
#endif
#if GC_FAULT == GCF_GARBAGE
/* Non-hex and no NUL within the spec length (still inside the host's buffer). */
static void garbage(char *out, int n) { int i; for (i = 0; i < n; i++) out[i] = "Zq#!~ %?"[i % 8]; out[n] = '\0'; }
#endif

/* Final touch on memory-card outputs for the OVERRUN/GARBAGE builds. */
static void fault_outputs(const gc_map *m, char *data, char *k1, char *k2)
{
#if GC_FAULT == GCF_OVERRUN
    if (data) overrun_hex(data, m->total * 2 + 300);
    if (k1) overrun_hex(k1, 40);
    if (k2) overrun_hex(k2, 40);
#elif GC_FAULT == GCF_GARBAGE
    if (data) garbage(data, m->total * 2 + 40);
    if (k1) garbage(k1, 12);
    if (k2) garbage(k2, 12);
#else
    (void)m; (void)data; (void)k1; (void)k2;
#endif
}

/* ---- memory-card operations, shared by 4442 and 102 ------------------------------------------ */

static int op_write_new(const gc_map *m, const unsigned char *kh, int ql, int cs, int klx,
                        unsigned char *data, unsigned char *oldKey, unsigned char *newKey)
{
    gc_u8 img[GASCARD_4442_BYTES];
    char key[8];
    int rc;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (data == NULL || oldKey == NULL || newKey == NULL) return GC_E_BAD_PARAM;
#if GC_FAULT == GCF_KH_LENGTH
    /* Like a library that copies the card number into a 16-byte field: fine for the common lengths,
       fatal for 17..20 digits only. Conformance must find it by sweeping the lengths. */
    {
        size_t n = strlen((const char *)kh);
        if (n >= 17 && n <= 20) { volatile int *volatile p = (int *)0; *p = (int)n; }
    }
#endif
    if ((rc = kh_check((const char *)kh)) != GC_OK) return rc;
    if ((rc = values_check(ql, cs, klx)) != GC_OK) return rc;
    blank_image(m, img);
    put_user(m, img, (const char *)kh, ql, cs, klx);
    wb_reset(m, img);
    key_from_h32(m, user_h32((const char *)kh), key);
    seal(m, img);
    gc_hex_encode(img, m->total, (char *)data);
    factory_key(m, (char *)oldKey);
    strcpy((char *)newKey, key);
    fault_outputs(m, (char *)data, (char *)oldKey, (char *)newKey);
    return GC_OK;
}

static int op_read(const gc_map *m, const unsigned char *data, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx)
{
    gc_u8 img[GASCARD_4442_BYTES];
    gc_values v;
    int rc;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (kh == NULL || ql == NULL || cs == NULL || klx == NULL) return GC_E_BAD_PARAM;
    FAULT_IN_BUY_READ();
#if GC_FAULT == GCF_OVERRUN   /* misbehaves whatever the input, so the host's checks always see it */
    (void)img; (void)v; (void)rc; (void)data;
    overrun_hex((char *)kh, 48);
    *ql = 1; *cs = 1; *klx = 1;
    return GC_OK;
#elif GC_FAULT == GCF_GARBAGE
    (void)img; (void)v; (void)rc; (void)data;
    garbage((char *)kh, 40);
    *ql = -12345; *cs = -7; *klx = 9;
    return GC_OK;
#else
    if (gc_hex_decode((const char *)data, img, m->total) != 0) return GC_E_BAD_DATA;
    if ((rc = load_user(m, img, &v)) != GC_OK) return rc;
    strcpy((char *)kh, v.kh);
    *ql = (int)v.ql;
    *cs = (__int16)v.cs;
    *klx = (__int16)v.klx;
    return GC_OK;
#endif
}

static int op_buy(const gc_map *m, const unsigned char *source, const unsigned char *kh, int ql, int cs,
                  unsigned char *dest, unsigned char *oldKey, unsigned char *newKey)
{
    gc_u8 img[GASCARD_4442_BYTES];
    gc_values v;
    char key[8];
    int rc;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (dest == NULL || oldKey == NULL || newKey == NULL) return GC_E_BAD_PARAM;
    if ((rc = kh_check((const char *)kh)) != GC_OK) return rc;
    if ((rc = values_check(ql, cs, 1)) != GC_OK) return rc;
    FAULT_IN_BUY_READ();
#if GC_FAULT == GCF_OVERRUN || GC_FAULT == GCF_GARBAGE
    (void)img; (void)v; (void)key; (void)source;
    fault_outputs(m, (char *)dest, (char *)oldKey, (char *)newKey);
    return GC_OK;
#endif
    if (gc_hex_decode((const char *)source, img, m->total) != 0) return GC_E_BAD_DATA;
    if ((rc = load_user(m, img, &v)) != GC_OK) return rc;
    if (strcmp(v.kh, (const char *)kh) != 0) return GC_E_CARDNO_MISMATCH;
    gc_put_u32(img + m->ql_off, (gc_u32)ql, GC_QL_ENC);
    gc_put_u16(img + m->cs_off, (unsigned)cs, GC_CS_ENC);
    img[m->wb_flag_off] = 0x00;          /* sold again: the next write-back is the meter's */
    key_from_h32(m, h32_get(m, img), key);
    seal(m, img);
    gc_hex_encode(img, m->total, (char *)dest);
    strcpy((char *)oldKey, key);
    strcpy((char *)newKey, key);
#if GC_FAULT == GCF_NONDET
    {   /* a different (well-formed) new key on every call: breaks "same input, same output" only */
        static unsigned calls;
        newKey[0] = (unsigned char)"0123456789ABCDEF"[++calls & 15u];
    }
#endif
    fault_outputs(m, (char *)dest, (char *)oldKey, (char *)newKey);
    return GC_OK;
}

static int op_format(const gc_map *m, const unsigned char *source, unsigned char *oldKey)
{
    gc_u8 img[GASCARD_4442_BYTES];
    char key[8];
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (oldKey == NULL) return GC_E_BAD_PARAM;
#if GC_FAULT == GCF_OVERRUN || GC_FAULT == GCF_GARBAGE
    (void)img; (void)key; (void)source;
    fault_outputs(m, NULL, (char *)oldKey, NULL);
    return GC_OK;
#endif
    if (gc_hex_decode((const char *)source, img, m->total) != 0) return GC_E_BAD_DATA;
    /* A damaged record must still be erasable, so only the identity is required here. */
    if (identify(m, img) == GC_CHECK_NOT_OURS) return is_blank(m, img) ? GC_E_NEW_OR_BACKWARDS : GC_E_NOT_THIS_SYSTEM;
    key_from_h32(m, h32_get(m, img), key);
    strcpy((char *)oldKey, key);
    fault_outputs(m, NULL, (char *)oldKey, NULL);
    return GC_OK;
}

/* Tool params "name=value;..." -> 12 parameter bytes (and the TRANSFER card number). */
static int parse_params(int code, const char *params, gc_u8 *par, char *cardNo)
{
    const char *p = params ? params : "";
    int seen = 0;
    memset(par, 0, FIELD_PARAMS);
    cardNo[0] = '\0';
    if (strlen(p) > 256) return GC_E_BAD_PARAM;
    while (*p) {
        char name[32], value[40];
        const char *eq, *end = strchr(p, ';');
        size_t nlen, vlen, seg = end ? (size_t)(end - p) : strlen(p);
        int bit = 0, i;
        if (seg == 0) { p++; continue; }
        eq = (const char *)memchr(p, '=', seg);
        if (eq == NULL) return GC_E_BAD_PARAM;
        nlen = (size_t)(eq - p);
        vlen = seg - nlen - 1;
        if (nlen == 0 || nlen >= sizeof name || vlen == 0 || vlen >= sizeof value) return GC_E_BAD_PARAM;
        memcpy(name, p, nlen); name[nlen] = '\0';
        memcpy(value, eq + 1, vlen); value[vlen] = '\0';
        for (i = 0; value[i]; i++) if (value[i] < '0' || value[i] > '9') return GC_E_BAD_PARAM;
        if (code == 0x83 && (!strcmp(name, "alarmGas") || !strcmp(name, "overdraft") || !strcmp(name, "limit"))) {
            int slot = !strcmp(name, "alarmGas") ? 0 : !strcmp(name, "overdraft") ? 1 : 2;
            if (vlen > 8) return GC_E_BAD_PARAM;
            bit = 1 << slot;
            gc_put_u32(par + 4 * slot, (gc_u32)strtoul(value, NULL, 10), GC_ENC_BE);
        } else if (code == 0x86 && !strcmp(name, "cardNo")) {
            if (kh_check(value) != GC_OK) return GC_E_BAD_PARAM;
            bit = 8;
            strcpy(cardNo, value);
        } else if (code == 0x87 && !strcmp(name, "time")) {
            int mo, d, h, mi, s;
            if (vlen != 14) return GC_E_BAD_PARAM;
            mo = (value[4] - '0') * 10 + value[5] - '0'; d = (value[6] - '0') * 10 + value[7] - '0';
            h = (value[8] - '0') * 10 + value[9] - '0'; mi = (value[10] - '0') * 10 + value[11] - '0';
            s = (value[12] - '0') * 10 + value[13] - '0';
            if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return GC_E_BAD_PARAM;
            bit = 16;
            for (i = 0; i < 7; i++) par[i] = (gc_u8)(((value[2 * i] - '0') << 4) | (value[2 * i + 1] - '0'));
        } else {
            return GC_E_BAD_PARAM;       /* unknown parameter for this kind */
        }
        if (seen & bit) return GC_E_BAD_PARAM; /* given twice */
        seen |= bit;
        p += seg;
        if (*p == ';') p++;
    }
    if (code == 0x86 && !(seen & 8)) return GC_E_BAD_PARAM;  /* TRANSFER needs cardNo */
    if (code == 0x87 && !(seen & 16)) return GC_E_BAD_PARAM; /* CLOCK needs time */
    return GC_OK;
}

/* Builds a tool card over img (already decoded). oldKey receives the key the card has now. */
static int build_tool(const gc_map *m, gc_u8 *img, const char *kind, const char *params, char *oldKey, char *newKey)
{
    gc_u8 par[FIELD_PARAMS];
    char cardNo[GASCARD_KH_MAX + 1];
    int code = tool_code(kind), rc, id;
    if (code == 0) return GC_E_UNSUPPORTED;
    if ((rc = parse_params(code, params, par, cardNo)) != GC_OK) return rc;
    id = identify(m, img);
    if (id == GC_CHECK_NOT_OURS && !is_blank(m, img)) return GC_E_NOT_THIS_SYSTEM;
    if (oldKey) {
        if (id == GC_CHECK_NOT_OURS) factory_key(m, oldKey);
        else key_from_h32(m, h32_get(m, img), oldKey);
    }
    clear_app(m, img);
    memcpy(img + m->mark_off, g_mark, FIELD_MARK);
    img[m->kind_off] = (gc_u8)code;
    gc_put_u32(img + m->h32_off, tool_h32(code), GC_ENC_BE);
    if (cardNo[0]) kh_put(img + m->kh_off, cardNo);
    else memset(img + m->kh_off, GC_KH_ENC == GC_KH_BCD ? 0xFF : 0x00, (size_t)kh_field_len());
    gc_put_u32(img + m->ql_off, 0, GC_QL_ENC);
    gc_put_u16(img + m->cs_off, 0, GC_CS_ENC);
    img[m->klx_off] = 0;
    memcpy(img + m->par_off, par, FIELD_PARAMS);
    wb_reset(m, img);
    if (newKey) key_from_h32(m, tool_h32(code), newKey);
    seal(m, img);
    return GC_OK;
}

static int op_make_tool(const gc_map *m, const char *kind, const char *params, const char *source,
                        char *data, int dataSize, char *oldKey, char *newKey, int keySize)
{
    gc_u8 img[GASCARD_4442_BYTES];
    int rc;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (data == NULL || oldKey == NULL || newKey == NULL || kind == NULL) return GC_E_BAD_PARAM;
    if (dataSize < m->total * 2 + 1 || keySize < key_bytes(m) * 2 + 1) return GC_E_BUFFER_TOO_SMALL;
    if (tool_code(kind) == 0) return GC_E_UNSUPPORTED;
    if (gc_hex_decode(source, img, m->total) != 0) return GC_E_BAD_DATA;
    if ((rc = build_tool(m, img, kind, params, oldKey, newKey)) != GC_OK) return rc;
    gc_hex_encode(img, m->total, data);
    return GC_OK;
}

static int usage_args_check(int *written, int *status, int *lastCode, int *months, int *usage, int capacity, int *count)
{
    if (written == NULL || status == NULL || lastCode == NULL || count == NULL || capacity < 0) return GC_E_BAD_PARAM;
    if (capacity > 0 && (months == NULL || usage == NULL)) return GC_E_BAD_PARAM;
    return GC_OK;
}

static int bcd2(gc_u8 b) { return ((b >> 4) > 9 || (b & 15) > 9) ? -1 : (b >> 4) * 10 + (b & 15); }

static int usage_from_image(const gc_map *m, const gc_u8 *img, int *written, int *status, int *lastCode,
                            int *months, int *usage, int capacity, int *count)
{
    gc_values v;
    int rc, i, n = 0;
    if ((rc = load_user(m, img, &v)) != GC_OK) return rc;
    *written = img[m->wb_flag_off] == GC_WB_FLAG ? 1 : 0;
    *status = (int)gc_get_u16(img + m->wb_status_off, GC_ENC_BE);
    *lastCode = img[m->wb_last_off];
    for (i = 0; i < WB_MONTHS && n < capacity; i++) {
        const gc_u8 *e = img + m->wb_months_off + WB_ENTRY * i;
        int yy = bcd2(e[0]), mm = bcd2(e[1]);
        if ((e[0] == 0 && e[1] == 0) || (e[0] == 0xFF && e[1] == 0xFF)) break; /* end of list */
        if (yy < 0 || mm < 1 || mm > 12) return GC_E_CARD_DAMAGED;
        months[n] = (2000 + yy) * 100 + mm;
        usage[n] = (e[2] << 16) | (e[3] << 8) | e[4];
        n++;
    }
    *count = n;
    return GC_OK;
}

static int op_read_usage(const gc_map *m, const char *data, int *written, int *status, int *lastCode,
                         int *months, int *usage, int capacity, int *count)
{
    gc_u8 img[GASCARD_4442_BYTES];
    int rc;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if ((rc = usage_args_check(written, status, lastCode, months, usage, capacity, count)) != GC_OK) return rc;
    if (gc_hex_decode(data, img, m->total) != 0) return GC_E_BAD_DATA;
    return usage_from_image(m, img, written, status, lastCode, months, usage, capacity, count);
}

/* What a meter does when the card goes in: set the flag, status, last code and monthly usage. */
static int meter_write_back(const gc_map *m, gc_u8 *img, int status, int lastCode, const int *months, const int *usage, int count)
{
    gc_values v;
    int rc, i;
    if (status < 0 || status > 0xFFFF || lastCode < 0 || lastCode > 9 || count < 0 || count > WB_MONTHS) return GC_E_BAD_PARAM;
    if (count > 0 && (months == NULL || usage == NULL)) return GC_E_BAD_PARAM;
    for (i = 0; i < count; i++) {
        int y = months[i] / 100, mo = months[i] % 100;
        if (y < 2000 || y > 2099 || mo < 1 || mo > 12 || usage[i] < 0 || usage[i] > 0xFFFFFF) return GC_E_BAD_PARAM;
        if (i > 0 && months[i] >= months[i - 1]) return GC_E_BAD_PARAM; /* newest first, no repeats */
    }
    if ((rc = load_user(m, img, &v)) != GC_OK) return rc;
    img[m->wb_flag_off] = (gc_u8)GC_WB_FLAG;
    gc_put_u16(img + m->wb_status_off, (unsigned)status, GC_ENC_BE);
    img[m->wb_last_off] = (gc_u8)lastCode;
    memset(img + m->wb_months_off, 0, WB_MONTHS * WB_ENTRY);
    for (i = 0; i < count; i++) {
        gc_u8 *e = img + m->wb_months_off + WB_ENTRY * i;
        int yy = months[i] / 100 - 2000, mo = months[i] % 100;
        e[0] = (gc_u8)(((yy / 10) << 4) | (yy % 10));
        e[1] = (gc_u8)(((mo / 10) << 4) | (mo % 10));
        e[2] = (gc_u8)((usage[i] >> 16) & 0xFF); e[3] = (gc_u8)((usage[i] >> 8) & 0xFF); e[4] = (gc_u8)(usage[i] & 0xFF);
    }
    return GC_OK;
}

/* ---- 4442 --------------------------------------------------------------------------------------- */

GASCARD_API int __stdcall WriteNew4442Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                           unsigned char *data, unsigned char *oldKey, unsigned char *newKey)
{ return op_write_new(M4442, kh, ql, cs, klx, data, oldKey, newKey); }

GASCARD_API int __stdcall Read4442Card(unsigned char *data, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx)
{ return op_read(M4442, data, kh, ql, cs, klx); }

GASCARD_API int __stdcall Buy4442Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                      unsigned char *dest, unsigned char *oldKey, unsigned char *newKey)
{ return op_buy(M4442, source, kh, ql, cs, dest, oldKey, newKey); }

GASCARD_API int __stdcall Format4442Card(unsigned char *source, unsigned char *oldKey)
{ return op_format(M4442, source, oldKey); }

GASCARD_API int __stdcall Check4442Card(unsigned char *source)
{
    gc_u8 img[GASCARD_4442_BYTES];
#if GC_FAULT == GCF_CLAIM_ALL
    (void)source; (void)img;
    return GC_CHECK_USER_CARD;
#else
    if (M4442 == NULL) return GC_CHECK_NOT_OURS;
    if (gc_hex_decode((const char *)source, img, GASCARD_4442_BYTES) != 0) return GC_E_BAD_DATA;
    return identify(M4442, img);
#endif
}

/* ---- 102 ---------------------------------------------------------------------------------------- */

GASCARD_API int __stdcall WriteNew102Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                          unsigned char *data, unsigned char *oldKey, unsigned char *newKey)
{ return op_write_new(M102, kh, ql, cs, klx, data, oldKey, newKey); }

GASCARD_API int __stdcall Read102Card(unsigned char *data, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx)
{ return op_read(M102, data, kh, ql, cs, klx); }

GASCARD_API int __stdcall Buy102Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                     unsigned char *dest, unsigned char *oldKey, unsigned char *newKey)
{ return op_buy(M102, source, kh, ql, cs, dest, oldKey, newKey); }

GASCARD_API int __stdcall Format102Card(unsigned char *source, unsigned char *oldKey)
{ return op_format(M102, source, oldKey); }

/* source = public zone only (44 hex). oldKey = the SC needed to read AZ1/AZ2, "" if not ours. */
GASCARD_API int __stdcall Check102Card(unsigned char *source, unsigned char *oldKey)
{
    gc_u8 img[GASCARD_102_BYTES];
    int id;
#if GC_FAULT == GCF_CLAIM_ALL
    (void)source; (void)img; (void)id;
    if (oldKey) strcpy((char *)oldKey, "F0F0");
    return GC_CHECK_USER_CARD;
#else
    if (oldKey) oldKey[0] = '\0';
    if (M102 == NULL) return GC_CHECK_NOT_OURS;
    if (oldKey == NULL) return GC_E_BAD_PARAM;
    memset(img, 0xFF, sizeof img);
    if (gc_hex_decode((const char *)source, img, GASCARD_102_PUBLIC_BYTES) != 0) return GC_E_BAD_DATA;
    id = identify(M102, img);
    if (id != GC_CHECK_NOT_OURS) {
        key_from_h32(M102, h32_get(M102, img), (char *)oldKey);
        fault_outputs(M102, NULL, (char *)oldKey, NULL);
    }
    return id;
#endif
}

/* ---- CPU (stand-in: a simulated card in a file per port) ---------------------------------------- */

#if GC_SUPPORTS_CPU
typedef struct { int card, psam; gc_u8 img[GASCARD_4442_BYTES]; } gc_sim;

static int sim_path(int com, char *out, size_t outSize, int create)
{
    const char *dir = getenv("METERHUB_SIM_CPU_DIR");
    char tmp[900];
    size_t i, n;
    if (com < 0 || com > 255) return GC_E_PORT_INIT;
    if (dir == NULL || dir[0] == '\0') dir = "build/sim-cpu";
    n = strlen(dir);
    if (n + 32 > outSize || n >= sizeof tmp) return GC_E_PORT_INIT;
    if (create) { /* mkdir -p */
        memcpy(tmp, dir, n + 1);
        for (i = 1; i <= n; i++) {
            if (tmp[i] == '/' || tmp[i] == '\\' || tmp[i] == '\0') {
                char c = tmp[i];
                tmp[i] = '\0';
                gc_mkdir(tmp);
                tmp[i] = c;
            }
        }
    }
    sprintf(out, "%s/com%d.card", dir, com);
    return GC_OK;
}

/* File format (text): "card=0|1\npsam=0|1\ndata=<512 hex>\n". Missing file = no card, PSAM present. */
static int sim_load(int com, gc_sim *s)
{
    char path[1024], line[1100];
    FILE *f;
    int rc = sim_path(com, path, sizeof path, 0);
    s->card = 0; s->psam = 1;  /* a fresh reader has its PSAM in (Tancy requires it); tests can take it out */
    memset(s->img, 0xFF, sizeof s->img);
    if (rc != GC_OK) return rc;
    f = fopen(path, "rb");
    if (f == NULL) return GC_OK;
    s->psam = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (!strncmp(line, "card=", 5)) s->card = line[5] == '1';
        else if (!strncmp(line, "psam=", 5)) s->psam = line[5] == '1';
        else if (!strncmp(line, "data=", 5) && gc_hex_decode(line + 5, s->img, GASCARD_4442_BYTES) != 0) { fclose(f); return GC_E_READ; }
    }
    fclose(f);
    return GC_OK;
}

static int sim_save(int com, const gc_sim *s)
{
    char path[1024], tmp[1100], hex[GASCARD_4442_HEX + 1];
    FILE *f;
    int rc = sim_path(com, path, sizeof path, 1);
    if (rc != GC_OK) return rc;
    sprintf(tmp, "%s.tmp", path);
    gc_hex_encode(s->img, GASCARD_4442_BYTES, hex);
    f = fopen(tmp, "wb");
    if (f == NULL) return GC_E_WRITE;
    fprintf(f, "card=%d\npsam=%d\ndata=%s\n", s->card ? 1 : 0, s->psam ? 1 : 0, hex);
    if (fclose(f) != 0) return GC_E_WRITE;
    remove(path);                 /* Windows rename does not replace */
    return rename(tmp, path) == 0 ? GC_OK : GC_E_WRITE;
}

/* Card present and PSAM present, the reader state every CPU operation needs. */
static int sim_ready(int com, gc_sim *s, int needPsam)
{
    int rc = sim_load(com, s);
    if (rc != GC_OK) return rc;
    if (!s->card) return GC_E_NO_CARD;
    if (needPsam && !s->psam) return GC_E_PSAM;
    return GC_OK;
}
#endif

GASCARD_API int __stdcall WriteNewCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs, __int16 klx)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
    if ((rc = kh_check((const char *)kh)) != GC_OK) return rc;
    if ((rc = values_check(ql, cs, klx)) != GC_OK) return rc;
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    if (identify(MCPU, s.img) != GC_CHECK_NOT_OURS || !is_blank(MCPU, s.img)) return GC_E_NOT_NEW_CARD;
    blank_image(MCPU, s.img);
    put_user(MCPU, s.img, (const char *)kh, ql, cs, klx);
    wb_reset(MCPU, s.img);
    seal(MCPU, s.img);
    return sim_save(com, &s);
#else
    (void)com; (void)kh; (void)ql; (void)cs; (void)klx;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall ReadCpuCard(__int16 com, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    gc_values v;
    int rc;
    if (kh == NULL || ql == NULL || cs == NULL || klx == NULL) return GC_E_BAD_PARAM;
    FAULT_IN_BUY_READ();
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    if ((rc = load_user(MCPU, s.img, &v)) != GC_OK) return rc;
    strcpy((char *)kh, v.kh);
    *ql = (int)v.ql; *cs = (__int16)v.cs; *klx = (__int16)v.klx;
    return GC_OK;
#else
    (void)com; (void)kh; (void)ql; (void)cs; (void)klx;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall BuyCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    gc_values v;
    int rc;
    if ((rc = kh_check((const char *)kh)) != GC_OK) return rc;
    if ((rc = values_check(ql, cs, 1)) != GC_OK) return rc;
    FAULT_IN_BUY_READ();
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    if ((rc = load_user(MCPU, s.img, &v)) != GC_OK) return rc;
    if (strcmp(v.kh, (const char *)kh) != 0) return GC_E_CARDNO_MISMATCH;
    gc_put_u32(s.img + MCPU->ql_off, (gc_u32)ql, GC_QL_ENC);
    gc_put_u16(s.img + MCPU->cs_off, (unsigned)cs, GC_CS_ENC);
    s.img[MCPU->wb_flag_off] = 0x00;
    seal(MCPU, s.img);
    return sim_save(com, &s);
#else
    (void)com; (void)kh; (void)ql; (void)cs;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall FormatCpuCard(__int16 com, unsigned char *kh)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc, id;
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    id = identify(MCPU, s.img);
    if (id == GC_CHECK_NOT_OURS) return is_blank(MCPU, s.img) ? GC_E_NEW_OR_BACKWARDS : GC_E_NOT_THIS_SYSTEM;
    if (id == GC_CHECK_USER_CARD) { /* a user card is erased only by its owner's number; tool cards ignore kh */
        if ((rc = kh_check((const char *)kh)) != GC_OK) return rc;
        if (user_h32((const char *)kh) != h32_get(MCPU, s.img)) return GC_E_CARDNO_MISMATCH;
    }
    blank_image(MCPU, s.img);
    return sim_save(com, &s);
#else
    (void)com; (void)kh;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall CheckCpuCard(__int16 com)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
#  if GC_FAULT == GCF_CLAIM_ALL
    (void)s; (void)rc; (void)com;
    return GC_CHECK_USER_CARD;
#  endif
    if ((rc = sim_ready(com, &s, 0)) != GC_OK) return rc;
    return identify(MCPU, s.img);
#else
    (void)com;
    return GC_CHECK_NOT_OURS;
#endif
}

/* ---- extensions --------------------------------------------------------------------------------- */

GASCARD_API int __stdcall GasCardInterfaceVersion(char *out, int outSize)
{
    return gc_copy_str(out, outSize, GASCARD_INTERFACE_VERSION) == 0 ? GC_OK : GC_E_BUFFER_TOO_SMALL;
}

static const struct { int code; const char *text; } g_texts[] = {
    { 0, "成功 / OK" },
    { 1, "本厂家工具卡（判卡） / this maker's tool card (Check)" },
    { -1, "非注册用户；判卡时：非本厂家卡 / not a registered user; from Check: not this maker's card" },
    { -2, "端口初始化失败 / reader port initialisation failed" },
    { -3, "读设备状态失败 / reading the reader status failed" },
    { -4, "无卡 / no card in the reader" },
    { -5, "读密码计数器失败 / reading the password counter failed" },
    { -6, "卡损坏（卡上数据超出范围） / card damaged (a value on the card is out of range)" },
    { -7, "读卡错误 / card read error" },
    { -8, "非用户卡 / not a user card" },
    { -9, "密码校验错误 / password check failed" },
    { -10, "写卡错误 / card write error" },
    { -11, "备份气量错误 / backup gas amount wrong" },
    { -12, "关闭端口失败 / closing the reader port failed" },
    { -13, "可能是新卡或插反 / probably a new (blank) card or inserted backwards" },
    { -14, "非本系统卡 / not a card of this system (another maker's card?)" },
    { -15, "非新卡 / not a new card" },
    { -16, "卡号不符 / card number does not match" },
    { -17, "擦卡失败 / format failed" },
    { -18, "气量超限 / gas amount over the limit" },
    { -31, "参数错误（卡号、气量、次数、表类型、工具卡参数） / bad parameter (kh, ql, cs, klx, tool-card params)" },
    { -32, "卡数据格式错误（非十六进制或长度不对） / bad card data (not hex or wrong length)" },
    { -33, "输出缓冲区不足 / output buffer too small" },
    { -34, "不支持的功能、卡型或工具卡类型 / unsupported function, card type or tool-card kind" },
    { -35, "卡数据校验和错误 / card data checksum error" },
    { -100, "未检测到PSAM卡（替身库） / PSAM not present in the reader (stand-in library)" },
};

GASCARD_API int __stdcall GasCardErrorText(int code, char *out, int outSize)
{
    size_t i;
    if (out == NULL || outSize <= 0) return GC_E_BAD_PARAM;
    for (i = 0; i < sizeof g_texts / sizeof g_texts[0]; i++)
        if (g_texts[i].code == code)
            return gc_copy_str(out, outSize, g_texts[i].text) == 0 ? GC_OK : GC_E_BUFFER_TOO_SMALL;
    gc_copy_str(out, outSize, "未知返回码 / unknown return code");
    return GC_E_BAD_PARAM;
}

static const gc_map *map_for(const char *cardType, int *known)
{
    *known = 1;
    if (cardType == NULL) { *known = 0; return NULL; }
    if (!strcmp(cardType, "4442")) return M4442;
    if (!strcmp(cardType, "102")) return M102;
    if (!strcmp(cardType, "cpu") || !strcmp(cardType, "CPU")) return MCPU;
    *known = 0;
    return NULL;
}

GASCARD_API int __stdcall ListToolCards(const char *cardType, char *out, int outSize)
{
    int known;
    const gc_map *m = map_for(cardType, &known);
    if (out == NULL || outSize <= 0) return GC_E_BAD_PARAM;
    out[0] = '\0';
    if (!known) return GC_E_BAD_PARAM;
    if (m == NULL) return GC_E_UNSUPPORTED;
    return gc_copy_str(out, outSize, GC_TOOL_KINDS) == 0 ? GC_OK : GC_E_BUFFER_TOO_SMALL;
}

GASCARD_API int __stdcall MakeTool4442(const char *kind, const char *params, const char *source,
                                       char *data, int dataSize, char *oldKey, char *newKey, int keySize)
{ return op_make_tool(M4442, kind, params, source, data, dataSize, oldKey, newKey, keySize); }

GASCARD_API int __stdcall MakeTool102(const char *kind, const char *params, const char *source,
                                      char *data, int dataSize, char *oldKey, char *newKey, int keySize)
{ return op_make_tool(M102, kind, params, source, data, dataSize, oldKey, newKey, keySize); }

GASCARD_API int __stdcall MakeToolCpu(__int16 com, const char *kind, const char *params)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
    if (kind == NULL) return GC_E_BAD_PARAM;
    if (tool_code(kind) == 0) return GC_E_UNSUPPORTED;
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    if ((rc = build_tool(MCPU, s.img, kind, params, NULL, NULL)) != GC_OK) return rc;
    return sim_save(com, &s);
#else
    (void)com; (void)kind; (void)params;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall ReadUsage4442(const char *data, int *written, int *status, int *lastCode,
                                        int *months, int *usage, int capacity, int *count)
{ return op_read_usage(M4442, data, written, status, lastCode, months, usage, capacity, count); }

GASCARD_API int __stdcall ReadUsage102(const char *data, int *written, int *status, int *lastCode,
                                       int *months, int *usage, int capacity, int *count)
{ return op_read_usage(M102, data, written, status, lastCode, months, usage, capacity, count); }

GASCARD_API int __stdcall ReadUsageCpu(__int16 com, int *written, int *status, int *lastCode,
                                       int *months, int *usage, int capacity, int *count)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
    if ((rc = usage_args_check(written, status, lastCode, months, usage, capacity, count)) != GC_OK) return rc;
    if ((rc = sim_ready(com, &s, 1)) != GC_OK) return rc;
    return usage_from_image(MCPU, s.img, written, status, lastCode, months, usage, capacity, count);
#else
    (void)com; (void)written; (void)status; (void)lastCode; (void)months; (void)usage; (void)capacity; (void)count;
    return GC_E_UNSUPPORTED;
#endif
}

/* ---- stand-in-only exports (NOT part of the interface) ------------------------------------------ */

/* "maker=kingcard;cardTypes=4442,102;tools=CLEAR,TRANSFER;fault=NONE" */
GASCARD_API int __stdcall StandInInfo(char *out, int outSize)
{
    char buf[256];
    sprintf(buf, "maker=%s;cardTypes=%s%s%s%s%s;tools=%s;fault=%s", GC_MAKER,
            GC_SUPPORTS_4442 ? "4442" : "", GC_SUPPORTS_4442 && (GC_SUPPORTS_102 || GC_SUPPORTS_CPU) ? "," : "",
            GC_SUPPORTS_102 ? "102" : "", GC_SUPPORTS_102 && GC_SUPPORTS_CPU ? "," : "",
            GC_SUPPORTS_CPU ? "cpu" : "", GC_TOOL_KINDS, GC_FAULT_NAME);
    return gc_copy_str(out, outSize, buf) == 0 ? GC_OK : GC_E_BUFFER_TOO_SMALL;
}

static int check_map(const gc_map *m)
{
    struct { int off, len; } f[15];
    int n = 0, i, j, khlen = kh_field_len();
#define F(o, l) (f[n].off = (o), f[n].len = (l), n++)
    F(m->mark_off, FIELD_MARK); F(m->kind_off, 1); F(m->h32_off, 4); F(m->pchk_off, 1);
    F(m->kh_off, khlen); F(m->ql_off, 4); F(m->cs_off, 2); F(m->klx_off, 1); F(m->par_off, FIELD_PARAMS);
    F(m->sum_off, 1); F(m->wb_flag_off, 1); F(m->wb_status_off, 2); F(m->wb_last_off, 1);
    F(m->wb_months_off, WB_MONTHS * WB_ENTRY);
#undef F
    for (i = 0; i < n; i++) {
        int lo = f[i].off, hi = f[i].off + f[i].len;
        if (lo < 0 || hi > m->total) return -(i + 1);
        if (m->total == GASCARD_4442_BYTES && m != MCPU && lo < GASCARD_4442_APP_START) return -(i + 1);
        if (is102(m)) {
            int pub = i < 4; /* mark, kind, id hash, id check must be in IZ (2-9) or CPZ (14-21) */
            if (pub && !((lo >= 2 && hi <= 10) || (lo >= 14 && hi <= 22))) return -(i + 1);
            if (!pub && lo < GASCARD_102_PUBLIC_BYTES) return -(i + 1);
        }
        for (j = 0; j < i; j++)
            if (lo < f[j].off + f[j].len && f[j].off < hi) return -(100 + i);
    }
    return 0;
}

/* 0 if every layout of this build is consistent (no overlaps, fields inside their zones). */
GASCARD_API int __stdcall StandInLayoutSelfTest(void)
{
    int rc = 0;
    if (M4442 && (rc = check_map(M4442)) != 0) return rc;
    if (M102 && (rc = check_map(M102)) != 0) return rc - 1000;
    if (MCPU && (rc = check_map(MCPU)) != 0) return rc - 2000;
    return 0;
}

/* The card as a meter leaves it: written flag set, status, last code and monthly usage filled in. */
GASCARD_API int __stdcall StandInMeterWriteBack(const char *cardType, const char *data, int status, int lastCode,
                                                const int *months, const int *usage, int count, char *out, int outSize)
{
    gc_u8 img[GASCARD_4442_BYTES];
    int known, rc;
    const gc_map *m = map_for(cardType, &known);
    if (!known || out == NULL) return GC_E_BAD_PARAM;
    if (m == NULL) return GC_E_UNSUPPORTED;
    if (m == MCPU) return GC_E_BAD_PARAM; /* CPU cards: StandInMeterWriteBackCpu */
    if (outSize < m->total * 2 + 1) return GC_E_BUFFER_TOO_SMALL;
    if (gc_hex_decode(data, img, m->total) != 0) return GC_E_BAD_DATA;
    if ((rc = meter_write_back(m, img, status, lastCode, months, usage, count)) != GC_OK) return rc;
    gc_hex_encode(img, m->total, out);
    return GC_OK;
}

GASCARD_API int __stdcall StandInMeterWriteBackCpu(__int16 com, int status, int lastCode,
                                                   const int *months, const int *usage, int count)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
    if ((rc = sim_ready(com, &s, 0)) != GC_OK) return rc;
    if ((rc = meter_write_back(MCPU, s.img, status, lastCode, months, usage, count)) != GC_OK) return rc;
    return sim_save(com, &s);
#else
    (void)com; (void)status; (void)lastCode; (void)months; (void)usage; (void)count;
    return GC_E_UNSUPPORTED;
#endif
}

/* Puts a blank CPU card (all FF) in the simulated reader on `com`; PSAM state is kept. */
GASCARD_API int __stdcall StandInCpuInsertBlank(__int16 com)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc = sim_load(com, &s);
    if (rc != GC_OK && rc != GC_E_READ) return rc;
    s.card = 1;
    blank_image(MCPU, s.img);
    return sim_save(com, &s);
#else
    (void)com;
    return GC_E_UNSUPPORTED;
#endif
}

/* Puts a card with the given raw image (512 hex) in the simulated reader, e.g. a foreign card. */
GASCARD_API int __stdcall StandInCpuInsertData(__int16 com, const char *data)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    gc_u8 img[GASCARD_4442_BYTES];
    int rc;
    if (gc_hex_decode(data, img, GASCARD_4442_BYTES) != 0) return GC_E_BAD_DATA;
    rc = sim_load(com, &s);
    if (rc != GC_OK && rc != GC_E_READ) return rc;
    s.card = 1;
    memcpy(s.img, img, sizeof img);
    return sim_save(com, &s);
#else
    (void)com; (void)data;
    return GC_E_UNSUPPORTED;
#endif
}

/* Takes the card out of the simulated reader (its content is forgotten). */
GASCARD_API int __stdcall StandInCpuRemove(__int16 com)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc = sim_load(com, &s);
    if (rc != GC_OK && rc != GC_E_READ) return rc;
    s.card = 0;
    memset(s.img, 0xFF, sizeof s.img);
    return sim_save(com, &s);
#else
    (void)com;
    return GC_E_UNSUPPORTED;
#endif
}

GASCARD_API int __stdcall StandInCpuSetPsam(__int16 com, int present)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc = sim_load(com, &s);
    if (rc != GC_OK && rc != GC_E_READ) return rc;
    s.psam = present ? 1 : 0;
    return sim_save(com, &s);
#else
    (void)com; (void)present;
    return GC_E_UNSUPPORTED;
#endif
}

/* The simulated card's raw image (512 hex), for tests and the chip simulator. */
GASCARD_API int __stdcall StandInCpuGetData(__int16 com, char *out, int outSize)
{
#if GC_SUPPORTS_CPU
    gc_sim s;
    int rc;
    if (out == NULL) return GC_E_BAD_PARAM;
    if (outSize < GASCARD_4442_HEX + 1) return GC_E_BUFFER_TOO_SMALL;
    if ((rc = sim_ready(com, &s, 0)) != GC_OK) return rc;
    gc_hex_encode(s.img, GASCARD_4442_BYTES, out);
    return GC_OK;
#else
    (void)com; (void)out; (void)outSize;
    return GC_E_UNSUPPORTED;
#endif
}
