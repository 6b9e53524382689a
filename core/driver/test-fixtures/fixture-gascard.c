/*
 * Test fixture for the driver host: a tiny stand-in library (替身库) implementing every function of
 * sdk/include/gascard.h with a made-up card layout, plus faults triggered by the card number given to
 * Buy4442Card. It is NOT any maker's layout; it exists only to exercise core/driver.
 *
 * Layout (ours): 4442 byte 0x20-0x21 "FX" (user card) or "FT" (tool card), kh ASCII at 0x30 (32 bytes),
 * ql big-endian at 0x50, cs at 0x54, klx at 0x56, tool "kind|params" ASCII at 0x60. 102: same fields at
 * 0x00 (magic), 0x02 (kh, 18 bytes), 0x16 (ql), 0x1A (cs), 0x1C (klx); tool "kind|params" at 0x10.
 *
 * Build flags: -DNOISY (print to stdout in every call, with and without newline),
 *              -DOMIT_USAGE102 (do not export ReadUsage102), -DRENAME_BUY (export Buy4442Card as Vendor_Buy4442).
 */
#include "gascard.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <time.h>

#ifdef NOISY
#  define NOISE(name) do { printf("vendor debug: entering %s\n", name); printf("no-newline-noise "); fflush(stdout); } while (0)
__attribute__((constructor)) static void noisy_ctor(void) { printf("vendor lib v9 loaded, licence OK"); fflush(stdout); }
#else
#  define NOISE(name) do { } while (0)
#endif

/* Reentry detector: a vendor library is not reentrant; calls overlapping inside it are counted. */
static volatile int g_inside = 0, g_max_inside = 0, g_total = 0;
static void enter(void) { g_inside++; if (g_inside > g_max_inside) g_max_inside = g_inside; g_total++; }
static void leave(void) { g_inside--; }

static void sleep_ms(int ms) { struct timespec t = { ms / 1000, (ms % 1000) * 1000000L }; nanosleep(&t, NULL); }

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static int from_hex(const unsigned char *h, unsigned char *out, int n) {
  if (!h || (int)strlen((const char *)h) != 2 * n) return -1;
  for (int i = 0; i < n; i++) {
    int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
    if (a < 0 || b < 0) return -1;
    out[i] = (unsigned char)(a * 16 + b);
  }
  return 0;
}
static void to_hex(const unsigned char *in, int n, unsigned char *h) {
  static const char d[] = "0123456789ABCDEF";
  for (int i = 0; i < n; i++) { h[2 * i] = d[in[i] >> 4]; h[2 * i + 1] = d[in[i] & 15]; }
  h[2 * n] = 0;
}
static int kh_ok(const unsigned char *kh) {
  size_t n = kh ? strlen((const char *)kh) : 0;
  if (n < 1 || n > 32) return 0;
  for (size_t i = 0; i < n; i++) if (kh[i] < '0' || kh[i] > '9') return 0;
  return 1;
}
static void put32(unsigned char *p, int v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static int get32(const unsigned char *p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
static void put16(unsigned char *p, int v) { p[0] = v >> 8; p[1] = v; }
static short get16(const unsigned char *p) { return (short)((p[0] << 8) | p[1]); }

/* ---- 4442 ---- */
static int make4442(const unsigned char *kh, int ql, short cs, short klx, unsigned char *card) {
  memset(card + 0x20, 0, 256 - 0x20);
  card[0x20] = 'F'; card[0x21] = 'X';
  strncpy((char *)card + 0x30, (const char *)kh, 32);
  put32(card + 0x50, ql); put16(card + 0x54, cs); put16(card + 0x56, klx);
  return 0;
}

GASCARD_API int __stdcall WriteNew4442Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                           unsigned char *data, unsigned char *oldKey, unsigned char *newKey) {
  NOISE("WriteNew4442Card");
  if (!kh_ok(kh) || ql < 0 || ql > GASCARD_QL_MAX || cs < 0 || (klx != 1 && klx != 2)) return GC_E_BAD_PARAM;
  unsigned char card[256] = { 0xA2, 0x13, 0x10, 0x91 };
  make4442(kh, ql, cs, klx, card);
  to_hex(card, 256, data);
  strcpy((char *)oldKey, "FFFFFF");
  strcpy((char *)newKey, "C0FFEE");
  return GC_OK;
}

GASCARD_API int __stdcall Read4442Card(unsigned char *data, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx) {
  NOISE("Read4442Card");
  unsigned char card[256];
  if (from_hex(data, card, 256)) return GC_E_BAD_DATA;
  if (card[0x20] != 'F' || card[0x21] != 'X') return GC_E_NOT_USER_CARD;
  memcpy(kh, card + 0x30, 32); kh[32] = 0;
  *ql = get32(card + 0x50); *cs = get16(card + 0x54); *klx = get16(card + 0x56);
  return GC_OK;
}

#ifdef RENAME_BUY
GASCARD_API int __stdcall Vendor_Buy4442(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                         unsigned char *dest, unsigned char *oldKey, unsigned char *newKey)
#else
GASCARD_API int __stdcall Buy4442Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                      unsigned char *dest, unsigned char *oldKey, unsigned char *newKey)
#endif
{
  NOISE("Buy4442Card");
  /* Fault triggers for the supervisor tests. */
  if (kh && strcmp((const char *)kh, "9000000001") == 0) { volatile int *p = NULL; *p = 1; }
  if (kh && strcmp((const char *)kh, "9000000002") == 0) abort();
  if (kh && strcmp((const char *)kh, "9000000003") == 0) { for (;;) sleep(1000); }
  if (kh && strcmp((const char *)kh, "9000000004") == 0) { printf("\036MH1 {this is not json\n"); fflush(stdout); return 0; }
  if (kh && strcmp((const char *)kh, "9000000005") == 0) { printf("\036MH1 {\"id\":999999,\"result\":{}}\n"); fflush(stdout); return 0; }
  if (kh && strcmp((const char *)kh, "9000000006") == 0) _exit(3);
  unsigned char card[256];
  if (from_hex(source, card, 256)) return GC_E_BAD_DATA;
  if (card[0x20] != 'F' || card[0x21] != 'X') return GC_E_NOT_USER_CARD;
  if (strncmp((const char *)card + 0x30, (const char *)kh, 32) != 0) return GC_E_CARDNO_MISMATCH;
  put32(card + 0x50, ql); put16(card + 0x54, cs);
  to_hex(card, 256, dest);
  strcpy((char *)oldKey, "C0FFEE");
  strcpy((char *)newKey, "C0FFEE");
  if (strcmp((const char *)kh, "9000000007") == 0) memset(dest + 513, 'Z', 100);       /* beyond the NUL */
  if (strcmp((const char *)kh, "9000000008") == 0) memset(dest, 'Y', GASCARD_DATA_BUFSIZE + 10); /* no NUL, overflow */
  return GC_OK;
}

GASCARD_API int __stdcall Format4442Card(unsigned char *source, unsigned char *oldKey) {
  NOISE("Format4442Card");
  unsigned char card[256];
  if (from_hex(source, card, 256)) return GC_E_BAD_DATA;
  strcpy((char *)oldKey, "C0FFEE");
  return GC_OK;
}

GASCARD_API int __stdcall Check4442Card(unsigned char *source) {
  NOISE("Check4442Card");
  unsigned char card[256];
  if (from_hex(source, card, 256)) return GC_E_BAD_DATA;
  if (card[0x20] == 'F' && card[0x21] == 'X') return GC_CHECK_USER_CARD;
  if (card[0x20] == 'F' && card[0x21] == 'T') return GC_CHECK_TOOL_CARD;
  return GC_CHECK_NOT_OURS;
}

/* ---- 102 ---- */
GASCARD_API int __stdcall WriteNew102Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                          unsigned char *data, unsigned char *oldKey, unsigned char *newKey) {
  NOISE("WriteNew102Card");
  if (!kh_ok(kh) || strlen((const char *)kh) > 18 || ql < 0 || cs < 0 || (klx != 1 && klx != 2)) return GC_E_BAD_PARAM;
  unsigned char card[150] = { 0 };
  card[0] = 'F'; card[1] = 'X';
  strncpy((char *)card + 2, (const char *)kh, 18);
  put32(card + 0x16, ql); put16(card + 0x1A, cs); put16(card + 0x1C, klx);
  to_hex(card, 150, data);
  strcpy((char *)oldKey, "F0F0");
  strcpy((char *)newKey, "1234");
  return GC_OK;
}

GASCARD_API int __stdcall Read102Card(unsigned char *data, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx) {
  NOISE("Read102Card");
  unsigned char card[150];
  if (from_hex(data, card, 150)) return GC_E_BAD_DATA;
  if (card[0] != 'F' || card[1] != 'X') return GC_E_NOT_USER_CARD;
  memcpy(kh, card + 2, 18); kh[18] = 0;
  *ql = get32(card + 0x16); *cs = get16(card + 0x1A); *klx = get16(card + 0x1C);
  return GC_OK;
}

GASCARD_API int __stdcall Buy102Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                     unsigned char *dest, unsigned char *oldKey, unsigned char *newKey) {
  NOISE("Buy102Card");
  unsigned char card[150];
  if (from_hex(source, card, 150)) return GC_E_BAD_DATA;
  if (strncmp((const char *)card + 2, (const char *)kh, 18) != 0) return GC_E_CARDNO_MISMATCH;
  put32(card + 0x16, ql); put16(card + 0x1A, cs);
  to_hex(card, 150, dest);
  strcpy((char *)oldKey, "1234");
  strcpy((char *)newKey, "1234");
  return GC_OK;
}

GASCARD_API int __stdcall Format102Card(unsigned char *source, unsigned char *oldKey) {
  NOISE("Format102Card");
  unsigned char card[150];
  if (from_hex(source, card, 150)) return GC_E_BAD_DATA;
  strcpy((char *)oldKey, "1234");
  return GC_OK;
}

GASCARD_API int __stdcall Check102Card(unsigned char *source, unsigned char *oldKey) {
  NOISE("Check102Card");
  unsigned char pub[22];
  if (from_hex(source, pub, 22)) return GC_E_BAD_DATA;
  if (pub[0] != 'F' || pub[1] != 'X') return GC_CHECK_NOT_OURS;
  strcpy((char *)oldKey, "1234");
  return GC_CHECK_USER_CARD;
}

/* ---- CPU: the "reader" is simulated per port ---- */
static struct { int present; char kh[33]; int ql; short cs, klx; } g_cpu[4];

GASCARD_API int __stdcall WriteNewCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs, __int16 klx) {
  NOISE("WriteNewCpuCard");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  if (!kh_ok(kh)) return GC_E_BAD_PARAM;
  g_cpu[com].present = 1; strncpy(g_cpu[com].kh, (const char *)kh, 32);
  g_cpu[com].ql = ql; g_cpu[com].cs = cs; g_cpu[com].klx = klx;
  return GC_OK;
}
GASCARD_API int __stdcall ReadCpuCard(__int16 com, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx) {
  NOISE("ReadCpuCard");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  if (!g_cpu[com].present) return GC_E_NO_CARD;
  strcpy((char *)kh, g_cpu[com].kh); *ql = g_cpu[com].ql; *cs = g_cpu[com].cs; *klx = g_cpu[com].klx;
  return GC_OK;
}
GASCARD_API int __stdcall BuyCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs) {
  NOISE("BuyCpuCard");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  if (!g_cpu[com].present) return GC_E_NO_CARD;
  if (strcmp(g_cpu[com].kh, (const char *)kh) != 0) return GC_E_CARDNO_MISMATCH;
  g_cpu[com].ql = ql; g_cpu[com].cs = cs;
  return GC_OK;
}
GASCARD_API int __stdcall FormatCpuCard(__int16 com, unsigned char *kh) {
  NOISE("FormatCpuCard");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  if (!g_cpu[com].present || strcmp(g_cpu[com].kh, (const char *)kh) != 0) return GC_E_CARDNO_MISMATCH;
  memset(&g_cpu[com], 0, sizeof g_cpu[com]);
  return GC_OK;
}
GASCARD_API int __stdcall CheckCpuCard(__int16 com) {
  NOISE("CheckCpuCard");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  return g_cpu[com].present ? GC_CHECK_USER_CARD : GC_E_NO_CARD;
}

/* ---- extensions ---- */
static int put_str(char *out, int outSize, const char *s) {
  if (!out || outSize <= 0 || (int)strlen(s) + 1 > outSize) return GC_E_BUFFER_TOO_SMALL;
  strcpy(out, s);
  return GC_OK;
}

GASCARD_API int __stdcall GasCardInterfaceVersion(char *out, int outSize) {
  NOISE("GasCardInterfaceVersion");
  return put_str(out, outSize, GASCARD_INTERFACE_VERSION);
}

/* Codes 1000/1001 are fixture hooks: 1000 is a slow call (for the serialisation test), 1001 reports what the
 * reentry detector saw as "max=<n> total=<n>". */
GASCARD_API int __stdcall GasCardErrorText(int code, char *out, int outSize) {
  enter();
  NOISE("GasCardErrorText");
  int rc;
  char buf[128];
  if (code == 1000) { sleep_ms(15); rc = put_str(out, outSize, "slow"); }
  else if (code == 1001) { snprintf(buf, sizeof buf, "max=%d total=%d", g_max_inside, g_total); rc = put_str(out, outSize, buf); }
  else if (code == GC_E_PSC_CHECK) rc = put_str(out, outSize, "密码校验错误 / PSC check failed");
  else if (code == GC_OK) rc = put_str(out, outSize, "成功 / OK");
  else rc = put_str(out, outSize, "未知错误 / unknown error");
  leave();
  return rc;
}

GASCARD_API int __stdcall ListToolCards(const char *cardType, char *out, int outSize) {
  NOISE("ListToolCards");
  if (!cardType) return GC_E_BAD_PARAM;
  if (strcmp(cardType, "4442") == 0) return put_str(out, outSize, "CLEAR,CHECK,X_FIXTURE");
  if (strcmp(cardType, "102") == 0) return put_str(out, outSize, "CLEAR");
  if (strcmp(cardType, "cpu") == 0) return put_str(out, outSize, "VALVE_OPEN");
  return GC_E_BAD_PARAM;
}

static int make_tool(int bytes, const char *kind, const char *params, const char *source,
                     char *data, int dataSize, char *oldKey, char *newKey, int keySize) {
  unsigned char card[256];
  if (!kind || !params) return GC_E_BAD_PARAM;
  if (from_hex((const unsigned char *)source, card, bytes)) return GC_E_BAD_DATA;
  if (dataSize < 2 * bytes + 1 || keySize < 7) return GC_E_BUFFER_TOO_SMALL;
  int base = bytes == 256 ? 0x20 : 0;
  memset(card + base, 0, bytes - base);
  card[base] = 'F'; card[base + 1] = 'T';
  snprintf((char *)card + (bytes == 256 ? 0x60 : 0x10), 80, "%s|%s", kind, params);
  to_hex(card, bytes, (unsigned char *)data);
  strcpy(oldKey, bytes == 256 ? "C0FFEE" : "1234");
  strcpy(newKey, bytes == 256 ? "C0FFEE" : "1234");
  return GC_OK;
}
GASCARD_API int __stdcall MakeTool4442(const char *kind, const char *params, const char *source,
                                       char *data, int dataSize, char *oldKey, char *newKey, int keySize) {
  NOISE("MakeTool4442");
  return make_tool(256, kind, params, source, data, dataSize, oldKey, newKey, keySize);
}
GASCARD_API int __stdcall MakeTool102(const char *kind, const char *params, const char *source,
                                      char *data, int dataSize, char *oldKey, char *newKey, int keySize) {
  NOISE("MakeTool102");
  return make_tool(150, kind, params, source, data, dataSize, oldKey, newKey, keySize);
}
GASCARD_API int __stdcall MakeToolCpu(__int16 com, const char *kind, const char *params) {
  NOISE("MakeToolCpu");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  if (!kind || strcmp(kind, "VALVE_OPEN") != 0) return GC_E_UNSUPPORTED;
  return params ? GC_OK : GC_E_BAD_PARAM;
}

static int usage(int *written, int *status, int *lastCode, int *months, int *use, int capacity, int *count) {
  static const int m[] = { 202405, 202404, 202403 }, u[] = { 1234, 1100, 987 };
  *written = 1; *status = 0x12; *lastCode = 3;
  int n = capacity < 3 ? capacity : 3;
  for (int i = 0; i < n; i++) { months[i] = m[i]; use[i] = u[i]; }
  *count = n < 0 ? 0 : n;
  return GC_OK;
}
GASCARD_API int __stdcall ReadUsage4442(const char *data, int *written, int *status, int *lastCode,
                                        int *months, int *use, int capacity, int *count) {
  NOISE("ReadUsage4442");
  unsigned char card[256];
  if (from_hex((const unsigned char *)data, card, 256)) return GC_E_BAD_DATA;
  return usage(written, status, lastCode, months, use, capacity, count);
}
#ifndef OMIT_USAGE102
GASCARD_API int __stdcall ReadUsage102(const char *data, int *written, int *status, int *lastCode,
                                       int *months, int *use, int capacity, int *count) {
  NOISE("ReadUsage102");
  unsigned char card[150];
  if (from_hex((const unsigned char *)data, card, 150)) return GC_E_BAD_DATA;
  return usage(written, status, lastCode, months, use, capacity, count);
}
#endif
GASCARD_API int __stdcall ReadUsageCpu(__int16 com, int *written, int *status, int *lastCode,
                                       int *months, int *use, int capacity, int *count) {
  NOISE("ReadUsageCpu");
  if (com < 0 || com > 3) return GC_E_PORT_INIT;
  return usage(written, status, lastCode, months, use, capacity, count);
}
