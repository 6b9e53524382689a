/*
 * mwic_standin.c — stand-in library (替身库) exporting the Mingwah mwic_32.dll API subset MeterHub's `mwic`
 * reader uses (card-domain.md §3), backed by a small C port of core/station/chips (SLE4442, AT88SC102) and a
 * toy CPU card/PSAM. It is MeterHub's test fixture, not Mingwah code: every layout and return code below is
 * ours. Real Mingwah return codes other than 0 = OK / <0 = error are not known to us.
 *
 * The card in the "reader" lives in a text file named by the environment variable MWIC_STANDIN_STATE
 * (key=value lines, see core/station/readers/mwic-standin/state-file.ts). Every call reads the file and every
 * change writes it back, so a test inserts, removes and inspects cards by editing the file between calls.
 * Volatile chip state (4442 unlocked, 102 SV and erase-key flags) lives in this process and is reset when the
 * file's `insert` counter changes (a new insertion = a power-on), when the card is removed and by ic_exit.
 *
 * Fault hooks in the file: reader=gone (every call fails), pull_after=N (the card leaves the slot when the
 * (N+1)th EEPROM write is attempted). UNCONFIRMED Mingwah behaviours are configurable there: chk4442/chk102
 * (chk_card codes; 21/51 in one SDK, 7 in another), rsct=bits|count (raw EC bits or a count),
 * samframe=t1|raw (sam_slt_protocol framing).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#  include <windows.h>
#endif

#if defined(_WIN32)
#  define MW_API __declspec(dllexport) short __stdcall
#  define MW_HANDLE_API __declspec(dllexport) intptr_t __stdcall
#else
#  define MW_API __attribute__((visibility("default"))) short
#  define MW_HANDLE_API __attribute__((visibility("default"))) intptr_t
#endif

/* Stand-in return codes (ours). */
#define MW_OK 0
#define MW_E_READER (-1)   /* reader gone / bad handle */
#define MW_E_NOCARD (-2)   /* no card, or the card left during the call */
#define MW_E_TYPE (-3)     /* wrong card type for this function */
#define MW_E_COMPARE (-4)  /* password / erase key compare failed */
#define MW_E_LOCKED (-5)   /* attempts counter exhausted (4442 EC, 102 SCAC, 102 EC2) */
#define MW_E_PARAM (-7)
#define MW_E_REFUSED (-8)  /* the chip refused (e.g. no SV) where the chip's answer is observable */

#define MAIN_SIZE 256
#define MEM102 196
#define HEXBUF 1024

typedef struct {
  int loaded;
  int gone;
  int present;
  long insert;
  char type[16];
  char serial[80];
  /* 4442 */
  uint8_t main[MAIN_SIZE];
  uint8_t prot[4];
  int ec;
  uint8_t psc[3];
  /* 102 */
  uint8_t mem[MEM102];
  /* cpu */
  uint8_t atr[40];
  int atr_len;
  /* faults / config */
  long pull_after;
  int chk4442, chk102;
  int rsct_count;
  int sam[4];
  int samframe_t1;
} State;

static State st;
static long volatile_for = -1;
static int unlocked4442 = 0;
static int sv102 = 0;
static int erase_ok[3] = {0, 0, 0};
static int handle_open = 0;

static void reset_volatile(void) {
  unlocked4442 = 0;
  sv102 = 0;
  erase_ok[0] = erase_ok[1] = erase_ok[2] = 0;
}

/* ---- state file ---------------------------------------------------------------------------------- */

static const char *state_path(void) {
  const char *p = getenv("MWIC_STANDIN_STATE");
  return p && *p ? p : NULL;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int unhex(const char *s, uint8_t *out, int max) {
  int n = 0;
  while (s[0] && s[1] && n < max) {
    int h = hexval(s[0]), l = hexval(s[1]);
    if (h < 0 || l < 0) break;
    out[n++] = (uint8_t)(h * 16 + l);
    s += 2;
  }
  return n;
}

static void tohex(const uint8_t *b, int n, char *out) {
  static const char *d = "0123456789ABCDEF";
  for (int i = 0; i < n; i++) {
    out[2 * i] = d[b[i] >> 4];
    out[2 * i + 1] = d[b[i] & 15];
  }
  out[2 * n] = 0;
}

static int load(void) {
  const char *p = state_path();
  memset(&st, 0, sizeof st);
  st.pull_after = -1;
  st.chk4442 = 21;
  st.chk102 = 51;
  if (!p) return MW_E_READER;
  FILE *f = fopen(p, "rb");
  if (!f) return MW_E_READER;
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    char *nl = strpbrk(line, "\r\n");
    if (nl) *nl = 0;
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#') continue;
    *eq = 0;
    const char *k = line, *v = eq + 1;
    if (!strcmp(k, "reader")) st.gone = !strcmp(v, "gone");
    else if (!strcmp(k, "present")) st.present = atoi(v);
    else if (!strcmp(k, "insert")) st.insert = atol(v);
    else if (!strcmp(k, "type")) snprintf(st.type, sizeof st.type, "%s", v);
    else if (!strcmp(k, "serial")) snprintf(st.serial, sizeof st.serial, "%s", v);
    else if (!strcmp(k, "main")) unhex(v, st.main, MAIN_SIZE);
    else if (!strcmp(k, "prot")) unhex(v, st.prot, 4);
    else if (!strcmp(k, "ec")) st.ec = atoi(v) & 7;
    else if (!strcmp(k, "psc")) unhex(v, st.psc, 3);
    else if (!strcmp(k, "memory")) unhex(v, st.mem, MEM102);
    else if (!strcmp(k, "atr")) st.atr_len = unhex(v, st.atr, (int)sizeof st.atr);
    else if (!strcmp(k, "pull_after")) st.pull_after = atol(v);
    else if (!strcmp(k, "chk4442")) st.chk4442 = atoi(v);
    else if (!strcmp(k, "chk102")) st.chk102 = atoi(v);
    else if (!strcmp(k, "rsct")) st.rsct_count = !strcmp(v, "count");
    else if (!strcmp(k, "samframe")) st.samframe_t1 = !strcmp(v, "t1");
    else if (!strncmp(k, "sam", 3) && k[3] >= '1' && k[3] <= '3' && !k[4]) st.sam[k[3] - '0'] = atoi(v);
  }
  fclose(f);
  st.loaded = 1;
  if (!st.present || st.insert != volatile_for) {
    reset_volatile();
    volatile_for = st.present ? st.insert : -1;
  }
  return MW_OK;
}

static int save(void) {
  const char *p = state_path();
  if (!p || !st.loaded) return MW_E_READER;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.standin.tmp", p);
  FILE *f = fopen(tmp, "wb");
  if (!f) return MW_E_READER;
  char hex[HEXBUF];
  fprintf(f, "# MeterHub mwic stand-in card state (替身库)\n");
  fprintf(f, "reader=%s\npresent=%d\ninsert=%ld\ntype=%s\nserial=%s\n", st.gone ? "gone" : "ok", st.present, st.insert, st.type, st.serial);
  tohex(st.main, MAIN_SIZE, hex); fprintf(f, "main=%s\n", hex);
  tohex(st.prot, 4, hex); fprintf(f, "prot=%s\n", hex);
  fprintf(f, "ec=%d\n", st.ec);
  tohex(st.psc, 3, hex); fprintf(f, "psc=%s\n", hex);
  tohex(st.mem, MEM102, hex); fprintf(f, "memory=%s\n", hex);
  tohex(st.atr, st.atr_len, hex); fprintf(f, "atr=%s\n", hex);
  fprintf(f, "pull_after=%ld\nchk4442=%d\nchk102=%d\nrsct=%s\nsamframe=%s\n", st.pull_after, st.chk4442, st.chk102,
          st.rsct_count ? "count" : "bits", st.samframe_t1 ? "t1" : "raw");
  fprintf(f, "sam1=%d\nsam2=%d\nsam3=%d\n", st.sam[1], st.sam[2], st.sam[3]);
  if (fclose(f) != 0) return MW_E_READER;
#if defined(_WIN32)
  /* The C runtime's rename() refuses an existing target on Windows: every save after the first failed there
     (seen under wine). MoveFileEx replaces it, as rename() does on POSIX. */
  return MoveFileExA(tmp, p, MOVEFILE_REPLACE_EXISTING) ? MW_OK : MW_E_READER;
#else
  return rename(tmp, p) == 0 ? MW_OK : MW_E_READER;
#endif
}

/* Loads the state and checks reader + handle (+ card type when `type` is given). */
static int enter(intptr_t icdev, const char *type) {
  int rc = load();
  if (rc) return rc;
  if (st.gone || !handle_open || icdev != 3) return MW_E_READER;
  if (type) {
    if (!st.present) return MW_E_NOCARD;
    if (strcmp(st.type, type)) return MW_E_TYPE;
  }
  return MW_OK;
}

/* Before every EEPROM write: the pull fault removes the card (and the write does not happen). */
static int hook(void) {
  if (st.pull_after < 0) return 0;
  if (st.pull_after == 0) {
    st.pull_after = -1;
    st.present = 0;
    reset_volatile();
    return -1;
  }
  st.pull_after--;
  return 0;
}

static int popcount8(int b) {
  int n = 0;
  for (b &= 0xff; b; b &= b - 1) n++;
  return n;
}

/* ---- common ---------------------------------------------------------------------------------------- */

MW_HANDLE_API ic_init(short port, unsigned long baud) {
  (void)baud;
  if (port < 0) return MW_E_PARAM;
  if (load() || st.gone) return MW_E_READER;
  handle_open = 1;
  reset_volatile();
  return 3;
}

MW_API ic_exit(intptr_t icdev) {
  if (icdev != 3 || !handle_open) return MW_E_READER;
  handle_open = 0;
  reset_volatile();
  return MW_OK;
}

MW_API get_status(intptr_t icdev, short *state) {
  int rc = enter(icdev, NULL);
  if (rc) return (short)rc;
  *state = (short)(st.present ? 1 : 0);
  return MW_OK;
}

MW_API chk_card(intptr_t icdev) {
  int rc = enter(icdev, NULL);
  if (rc) return (short)rc;
  if (!st.present) return MW_E_NOCARD;
  if (!strcmp(st.type, "4442")) return (short)st.chk4442;
  if (!strcmp(st.type, "102")) return (short)st.chk102;
  return 0; /* CPU and unknown cards: "0 = unknown" in the Mingwah sample */
}

/* ---- SLE4442 ---------------------------------------------------------------------------------------- */

static int writable4442(int a) {
  return a >= 32 || ((st.prot[a >> 3] >> (a & 7)) & 1);
}

MW_API srd_4442(intptr_t icdev, short offset, short len, unsigned char *buf) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (offset < 0 || len < 1 || offset + len > MAIN_SIZE) return MW_E_PARAM;
  memcpy(buf, st.main + offset, (size_t)len);
  return MW_OK;
}

MW_API swr_4442(intptr_t icdev, short offset, short len, unsigned char *buf) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (offset < 0 || len < 1 || offset + len > MAIN_SIZE) return MW_E_PARAM;
  /* Like the chip: writes without a verified PSC or to protected bytes silently do nothing. */
  for (int i = 0; i < len; i++) {
    int a = offset + i;
    if (!unlocked4442 || !writable4442(a)) continue;
    if (hook()) { save(); return MW_E_NOCARD; }
    st.main[a] = buf[i];
  }
  return (short)save();
}

MW_API prd_4442(intptr_t icdev, short len, unsigned char *buf) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (len < 1 || len > 4) return MW_E_PARAM;
  memcpy(buf, st.prot, (size_t)len);
  return MW_OK;
}

MW_API pwr_4442(intptr_t icdev, short offset, short len, unsigned char *buf) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (offset < 0 || len < 1 || offset + len > 32) return MW_E_PARAM;
  for (int i = 0; i < len; i++) {
    int a = offset + i;
    if (!unlocked4442 || st.main[a] != buf[i] || !writable4442(a)) continue;
    if (hook()) { save(); return MW_E_NOCARD; }
    st.prot[a >> 3] &= (uint8_t)~(1 << (a & 7));
  }
  return (short)save();
}

/* The datasheet sequence: clear an EC bit, compare PSC, erase EC only if it matched. */
MW_API csc_4442(intptr_t icdev, short len, unsigned char *psc) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (len != 3) return MW_E_PARAM;
  if (st.ec == 0) return MW_E_LOCKED;
  int lowest = st.ec & -st.ec;
  if (hook()) { save(); return MW_E_NOCARD; }
  st.ec &= ~lowest;
  if (memcmp(psc, st.psc, 3) != 0) { save(); return MW_E_COMPARE; }
  if (hook()) { save(); return MW_E_NOCARD; }
  st.ec = 7;
  unlocked4442 = 1;
  return (short)save();
}

MW_API wsc_4442(intptr_t icdev, short len, unsigned char *psc) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (len != 3) return MW_E_PARAM;
  if (!unlocked4442) return MW_E_REFUSED;
  for (int i = 0; i < 3; i++) {
    if (hook()) { save(); return MW_E_NOCARD; }
    st.psc[i] = psc[i];
  }
  return (short)save();
}

MW_API rsc_4442(intptr_t icdev, short len, unsigned char *buf) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  if (len != 3) return MW_E_PARAM;
  if (unlocked4442) memcpy(buf, st.psc, 3);
  else memset(buf, 0, 3);
  return MW_OK;
}

MW_API rsct_4442(intptr_t icdev, short *counter) {
  int rc = enter(icdev, "4442");
  if (rc) return (short)rc;
  *counter = (short)(st.rsct_count ? popcount8(st.ec & 7) : (st.ec & 7));
  return MW_OK;
}

/* ---- AT88SC102 -------------------------------------------------------------------------------------- */

enum { FZ, IZ, SC, SCAC, CPZ, AZ1, EZ1, AZ2, EZ2, EC2, MTZ, MFZ, BLOCK, MFUSE, IFUSE, RESERVED };
static const int ZS[] = {0, 2, 10, 12, 14, 22, 86, 92, 156, 160, 176, 178, 180, 182, 194};
static const int ZE[] = {2, 10, 12, 14, 22, 86, 92, 156, 160, 176, 178, 180, 182, 184, 196};
#define EC2EN_BYTE 191
#define EC2EN_MASK 0x40

static int zone_of(int a) {
  for (int z = FZ; z <= IFUSE; z++) if (a >= ZS[z] && a < ZE[z]) return z;
  return RESERVED;
}
static int level2(void) { return st.mem[194] == 0 && st.mem[195] == 0; }
static int ec2_enabled(void) { return (st.mem[EC2EN_BYTE] & EC2EN_MASK) != 0; }
static int az_p(int z) { return (st.mem[ZS[z]] & 0x80) != 0; }
static int az_r(int z) { return (st.mem[ZS[z]] & 0x40) != 0; }

static int can_read102(int a) {
  int z = zone_of(a);
  if (z == SC) return sv102;
  if (z == EZ1 || z == EZ2) return sv102 && !level2();
  if (z == AZ1 || z == AZ2) return sv102 || !level2() || az_r(z);
  return 1;
}

static int can_write102(int a) {
  int z = zone_of(a);
  switch (z) {
    case MTZ: case SCAC: return 1;
    case IZ: case MFZ: case EZ1: case EZ2: case BLOCK: return sv102 && !level2();
    case SC: case CPZ: return sv102;
    case AZ1: case AZ2: return sv102 && (!level2() || az_p(z));
    default: return 0;
  }
}

static int can_erase102(int a) {
  int z = zone_of(a);
  switch (z) {
    case MTZ: return 1;
    case IZ: case MFZ: case EZ1: case EZ2: case BLOCK: return sv102 && !level2();
    case SC: case CPZ: case SCAC: return sv102;
    case AZ1: return sv102 && erase_ok[1];
    case AZ2: return sv102 && erase_ok[2];
    default: return 0;
  }
}

/* Zone 0 = absolute byte address, 1 = AZ1, 2 = AZ2 (relative offsets). */
static int abs102(short zone, short offset, short len) {
  if (len < 1 || offset < 0) return -1;
  if (zone == 0) return offset + len <= MEM102 ? offset : -1;
  if (zone == 1 || zone == 2) return offset + len <= 64 ? ZS[zone == 1 ? AZ1 : AZ2] + offset : -1;
  return -1;
}

MW_API srd_102(intptr_t icdev, short zone, short offset, short len, unsigned char *buf) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  int a0 = abs102(zone, offset, len);
  if (a0 < 0) return MW_E_PARAM;
  for (int i = 0; i < len; i++) buf[i] = can_read102(a0 + i) ? st.mem[a0 + i] : 0x00;
  return MW_OK;
}

MW_API swr_102(intptr_t icdev, short zone, short offset, short len, unsigned char *buf) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  int a0 = abs102(zone, offset, len);
  if (a0 < 0) return MW_E_PARAM;
  for (int i = 0; i < len; i++) {
    int a = a0 + i;
    uint8_t next = st.mem[a] & buf[i];
    if (!can_write102(a) || next == st.mem[a]) continue;
    if (hook()) { save(); return MW_E_NOCARD; }
    st.mem[a] = next;
  }
  return (short)save();
}

MW_API ser_102(intptr_t icdev, short zone, short offset, short len) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  int a0 = abs102(zone, offset, len);
  if (a0 < 0) return MW_E_PARAM;
  for (int w = a0 & ~1; w < a0 + len; w += 2) {
    if (!can_erase102(w)) continue;
    if (hook()) { save(); return MW_E_NOCARD; }
    st.mem[w] = st.mem[w + 1] = 0xff;
  }
  return (short)save();
}

MW_API csc_102(intptr_t icdev, short len, unsigned char *sc) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  if (len != 2) return MW_E_PARAM;
  int scac = st.mem[12] & 0xf0;
  if (!scac) return MW_E_LOCKED;
  int bit = 0x80;
  while (!(scac & bit)) bit >>= 1;
  if (hook()) { save(); return MW_E_NOCARD; }
  st.mem[12] &= (uint8_t)~bit;
  if (st.mem[10] != sc[0] || st.mem[11] != sc[1]) { save(); return MW_E_COMPARE; }
  sv102 = 1;
  if (hook()) { save(); return MW_E_NOCARD; }
  st.mem[12] = st.mem[13] = 0xff;
  return (short)save();
}

MW_API wsc_102(intptr_t icdev, short len, unsigned char *sc) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  if (len != 2) return MW_E_PARAM;
  if (!sv102) return MW_E_REFUSED;
  if (hook()) { save(); return MW_E_NOCARD; }
  st.mem[10] = st.mem[11] = 0xff;
  for (int i = 0; i < 2; i++) {
    if (hook()) { save(); return MW_E_NOCARD; }
    st.mem[10 + i] = sc[i];
  }
  return (short)save();
}

MW_API rsc_102(intptr_t icdev, short len, unsigned char *buf) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  if (len != 2) return MW_E_PARAM;
  for (int i = 0; i < 2; i++) buf[i] = sv102 ? st.mem[10 + i] : 0x00;
  return MW_OK;
}

MW_API rsct_102(intptr_t icdev, short *counter) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  int nib = st.mem[12] >> 4;
  *counter = (short)(st.rsct_count ? popcount8(nib) : nib);
  return MW_OK;
}

/* Compare erase key; zone 2 with EC2 enabled spends one EC2 bit per presentation. */
MW_API cesc_102(intptr_t icdev, short zone, short len, unsigned char *key) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  if (zone != 1 && zone != 2) return MW_E_PARAM;
  int z = zone == 1 ? EZ1 : EZ2;
  if (len != ZE[z] - ZS[z]) return MW_E_PARAM;
  erase_ok[zone] = 0;
  if (!sv102) return MW_E_REFUSED;
  if (zone == 2 && ec2_enabled()) {
    int i = ZS[EC2];
    while (i < ZE[EC2] && st.mem[i] == 0) i++;
    if (i == ZE[EC2]) return MW_E_LOCKED;
    int bit = 0x80;
    while (!(st.mem[i] & bit)) bit >>= 1;
    if (hook()) { save(); return MW_E_NOCARD; }
    st.mem[i] &= (uint8_t)~bit;
  }
  if (memcmp(st.mem + ZS[z], key, (size_t)len) != 0) { save(); return MW_E_COMPARE; }
  erase_ok[zone] = 1;
  return (short)save();
}

/* EC2 erases left (a count here; whether Mingwah returns a count or raw bits is UNCONFIRMED). */
MW_API resct_102(intptr_t icdev, short zone, short *counter) {
  int rc = enter(icdev, "102");
  if (rc) return (short)rc;
  if (zone != 2) return MW_E_PARAM;
  int n = 0;
  for (int i = ZS[EC2]; i < ZE[EC2]; i++) n += popcount8(st.mem[i]);
  *counter = (short)n;
  return MW_OK;
}

/* ---- CPU card and PSAM (toy ISO 7816: SELECT -> 9000, GET CHALLENGE -> random + 9000, else 6D00) ---- */

static int toy_apdu(const unsigned char *cmd, int len, unsigned char *resp) {
  if (len < 4) { resp[0] = 0x67; resp[1] = 0; return 2; }
  if (cmd[0] == 0 && cmd[1] == 0xa4) { resp[0] = 0x90; resp[1] = 0; return 2; }
  if (cmd[0] == 0 && cmd[1] == 0x84 && len == 5) {
    int le = cmd[4] ? cmd[4] : 256;
    for (int i = 0; i < le; i++) resp[i] = (unsigned char)(rand() & 0xff);
    resp[le] = 0x90; resp[le + 1] = 0;
    return le + 2;
  }
  resp[0] = 0x6d; resp[1] = 0;
  return 2;
}

static const unsigned char SAM_ATR[] = {0x3B, 0x69, 0x00, 0xFF, 0x53, 0x41, 0x4D, 0x20, 0x53, 0x54, 0x41, 0x4E, 0x44};

/* Stand-in convention (UNCONFIRMED for Mingwah): returns the ATR length (> 0) or < 0. */
MW_API cpu_reset(intptr_t icdev, unsigned char *atr) {
  int rc = enter(icdev, "cpu");
  if (rc) return (short)rc;
  memcpy(atr, st.atr, (size_t)st.atr_len);
  return (short)st.atr_len;
}

/* Stand-in convention (UNCONFIRMED): returns the response length (>= 2, data + SW) or < 0. */
MW_API cpu_protocol(intptr_t icdev, short len, unsigned char *cmd, unsigned char *resp) {
  int rc = enter(icdev, "cpu");
  if (rc) return (short)rc;
  if (len < 1 || len > 261) return MW_E_PARAM;
  return (short)toy_apdu(cmd, len, resp);
}

MW_API sam_slt_reset(intptr_t icdev, unsigned char slot, short *len, unsigned char *atr) {
  int rc = enter(icdev, NULL);
  if (rc) return (short)rc;
  if (slot < 1 || slot > 3) return MW_E_PARAM;
  if (!st.sam[slot]) return MW_E_NOCARD;
  memcpy(atr, SAM_ATR, sizeof SAM_ATR);
  *len = (short)sizeof SAM_ATR;
  return MW_OK;
}

/* samframe=t1: request `00 40 LEN APDU LRC`, response `00 40 LEN DATA SW LRC` (the one wrapper seen, §3.4). */
MW_API sam_slt_protocol(intptr_t icdev, unsigned char slot, short slen, unsigned char *cmd, short *rlen, unsigned char *resp) {
  int rc = enter(icdev, NULL);
  if (rc) return (short)rc;
  if (slot < 1 || slot > 3 || slen < 1 || slen > 270) return MW_E_PARAM;
  if (!st.sam[slot]) return MW_E_NOCARD;
  if (!st.samframe_t1) {
    *rlen = (short)toy_apdu(cmd, slen, resp);
    return MW_OK;
  }
  unsigned char lrc = 0;
  for (int i = 0; i < slen - 1; i++) lrc ^= cmd[i];
  if (slen < 4 || cmd[2] != slen - 4 || lrc != cmd[slen - 1]) return MW_E_PARAM;
  int n = toy_apdu(cmd + 3, cmd[2], resp + 3);
  resp[0] = 0; resp[1] = 0x40; resp[2] = (unsigned char)n;
  lrc = 0;
  for (int i = 0; i < n + 3; i++) lrc ^= resp[i];
  resp[n + 3] = lrc;
  *rlen = (short)(n + 4);
  return MW_OK;
}
