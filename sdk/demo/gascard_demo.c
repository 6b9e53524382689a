/*
 * gascard_demo.c — 燃气IC卡统一接口演示程序 / demo for a gascard.h library
 *
 * Every maker must supply a demo with source (seed §2). This one loads a library at run time and calls
 * every function of sdk/include/gascard.h for one card type, printing each result:
 *   WriteNew -> Check -> Read -> Buy -> Read -> refund (ql 0) -> Read -> Format -> tools -> usage
 *   -> version -> error texts.
 * Portable C: LoadLibrary/GetProcAddress on Windows (MSVC, mingw), dlopen/dlsym elsewhere.
 *
 * Build:  cl /W4 /I..\include gascard_demo.c            (MSVC; 32-bit for 32-bit DLLs)
 *         gcc -O2 -Wall -I../include gascard_demo.c -o gascard_demo -ldl
 * Usage:  gascard_demo <library> <4442|102|cpu> [--kh DIGITS] [--com N] [--show-keys]
 * Keys are masked unless --show-keys is given (card keys are secrets).
 * Against a stand-in library (替身库) the demo also uses its StandIn* helpers: a simulated meter
 * write-back, and a blank simulated CPU card. Real libraries do not export them; those steps are skipped.
 * Exit code: 0 when every step behaved as the interface requires, 1 otherwise, 2 on usage/load errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gascard.h"

#if defined(_WIN32)
#  include <windows.h>
typedef HMODULE lib_t;
static lib_t lib_open(const char *p) { return LoadLibraryA(p); }
static void *lib_sym(lib_t l, const char *n) { return (void *)GetProcAddress(l, n); }
static void lib_close(lib_t l) { FreeLibrary(l); }
#else
#  include <dlfcn.h>
typedef void *lib_t;
static lib_t lib_open(const char *p) { return dlopen(p, RTLD_NOW | RTLD_LOCAL); }
static void *lib_sym(lib_t l, const char *n) { return dlsym(l, n); }
static void lib_close(lib_t l) { dlclose(l); }
#endif

typedef int (__stdcall *fn_write_new)(unsigned char *, int, __int16, __int16, unsigned char *, unsigned char *, unsigned char *);
typedef int (__stdcall *fn_read)(unsigned char *, unsigned char *, int *, __int16 *, __int16 *);
typedef int (__stdcall *fn_buy)(unsigned char *, unsigned char *, int, __int16, unsigned char *, unsigned char *, unsigned char *);
typedef int (__stdcall *fn_format)(unsigned char *, unsigned char *);
typedef int (__stdcall *fn_check4442)(unsigned char *);
typedef int (__stdcall *fn_check102)(unsigned char *, unsigned char *);
typedef int (__stdcall *fn_cpu_write_new)(__int16, unsigned char *, int, __int16, __int16);
typedef int (__stdcall *fn_cpu_read)(__int16, unsigned char *, int *, __int16 *, __int16 *);
typedef int (__stdcall *fn_cpu_buy)(__int16, unsigned char *, int, __int16);
typedef int (__stdcall *fn_cpu_format)(__int16, unsigned char *);
typedef int (__stdcall *fn_cpu_check)(__int16);
typedef int (__stdcall *fn_version)(char *, int);
typedef int (__stdcall *fn_error_text)(int, char *, int);
typedef int (__stdcall *fn_list_tools)(const char *, char *, int);
typedef int (__stdcall *fn_make_tool)(const char *, const char *, const char *, char *, int, char *, char *, int);
typedef int (__stdcall *fn_make_tool_cpu)(__int16, const char *, const char *);
typedef int (__stdcall *fn_read_usage)(const char *, int *, int *, int *, int *, int *, int, int *);
typedef int (__stdcall *fn_read_usage_cpu)(__int16, int *, int *, int *, int *, int *, int, int *);
typedef int (__stdcall *fn_meter_wb)(const char *, const char *, int, int, const int *, const int *, int, char *, int);
typedef int (__stdcall *fn_meter_wb_cpu)(__int16, int, int, const int *, const int *, int);
typedef int (__stdcall *fn_cpu_insert_blank)(__int16);

static lib_t g_lib;
static int g_fail, g_steps, g_show_keys;
static int g_codes[64], g_ncodes;

static void *sym(const char *name)
{
    void *p = lib_sym(g_lib, name);
    if (p == NULL) printf("  (function %s not exported)\n", name);
    return p;
}

static void note_code(int rc)
{
    int i;
    for (i = 0; i < g_ncodes; i++) if (g_codes[i] == rc) return;
    if (g_ncodes < 64) g_codes[g_ncodes++] = rc;
}

/* Prints one step and counts it as failed when rc differs from what the interface requires. */
static int step(const char *name, int rc, int expected)
{
    g_steps++;
    note_code(rc);
    if (rc == expected) printf("[ OK ] %-34s rc=%d\n", name, rc);
    else { printf("[FAIL] %-34s rc=%d (expected %d)\n", name, rc, expected); g_fail++; }
    return rc == expected;
}

static const char *key_text(const char *k, char *buf)
{
    size_t n = strlen(k);
    if (g_show_keys) return k;
    sprintf(buf, "%s(%d hex, hidden; --show-keys)", n ? "******" : "", (int)n);
    return buf;
}

/* Output must be upper-case hex of exactly `len` characters, NUL-terminated within the host buffer. */
static int hex_ok(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return 0;
    }
    return s[len] == '\0';
}

static void print_data(const char *label, const char *data)
{
    size_t n = strlen(data);
    printf("       %s: %.*s%s (%d hex)\n", label, n > 64 ? 64 : (int)n, data, n > 64 ? "..." : "", (int)n);
}

static void show_read(int rc, const char *kh, int ql, int cs, int klx)
{
    if (rc == 0) printf("       kh=%s ql=%d cs=%d klx=%d\n", kh, ql, cs, klx);
}

static int expect_values(const char *what, const char *kh, int ql, int cs, int klx,
                         const char *ekh, int eql, int ecs, int eklx)
{
    g_steps++;
    if (strcmp(kh, ekh) == 0 && ql == eql && cs == ecs && klx == eklx) {
        printf("[ OK ] %-34s values match\n", what);
        return 1;
    }
    printf("[FAIL] %-34s got kh=%s ql=%d cs=%d klx=%d, expected kh=%s ql=%d cs=%d klx=%d\n",
           what, kh, ql, cs, klx, ekh, eql, ecs, eklx);
    g_fail++;
    return 0;
}

static void check_hex(const char *what, const char *s, size_t len)
{
    g_steps++;
    if (hex_ok(s, len)) printf("[ OK ] %-34s %d upper-case hex\n", what, (int)len);
    else { printf("[FAIL] %-34s not %d upper-case hex + NUL\n", what, (int)len); g_fail++; }
}

static void params_for(const char *kind, char *out)
{
    if (!strcmp(kind, "SETUP")) strcpy(out, "alarmGas=5;overdraft=10;limit=500");
    else if (!strcmp(kind, "TRANSFER")) strcpy(out, "cardNo=2024000001");
    else if (!strcmp(kind, "CLOCK")) strcpy(out, "time=20250315083000");
    else out[0] = '\0';
}

static void usage_print(int rc, int written, int status, int lastCode, const int *months, const int *usage, int count)
{
    int i;
    if (rc != 0) return;
    printf("       written=%d status=0x%04X lastCode=%d months=%d\n", written, status, lastCode, count);
    for (i = 0; i < count; i++) printf("         %06d  %d.%02d m3\n", months[i], usage[i] / 100, usage[i] % 100);
}

static void run_memory(const char *type, const char *kh)
{
    int is4442 = !strcmp(type, "4442");
    size_t hexlen = is4442 ? GASCARD_4442_HEX : GASCARD_102_HEX, keylen = is4442 ? 6 : 4;
    char name[64], kb[64], kb2[64];
    static char data[GASCARD_DATA_BUFSIZE], dest[GASCARD_DATA_BUFSIZE], refund[GASCARD_DATA_BUFSIZE];
    static char blank[GASCARD_DATA_BUFSIZE], tool[GASCARD_DATA_BUFSIZE], wb[GASCARD_DATA_BUFSIZE];
    char oldKey[GASCARD_KEY_BUFSIZE], newKey[GASCARD_KEY_BUFSIZE], khOut[GASCARD_KEY_BUFSIZE];
    char list[512], params[128], pub[GASCARD_102_PUBLIC_HEX + 1];
    int ql = 0, rc;
    __int16 cs = 0, klx = 0;
    fn_write_new writeNew; fn_read readCard; fn_buy buy; fn_format format;
    fn_check4442 check4442 = NULL; fn_check102 check102 = NULL;
    fn_list_tools listTools; fn_make_tool makeTool; fn_read_usage readUsage; fn_meter_wb meterWb;

    sprintf(name, "WriteNew%sCard", type); writeNew = (fn_write_new)sym(name);
    sprintf(name, "Read%sCard", type); readCard = (fn_read)sym(name);
    sprintf(name, "Buy%sCard", type); buy = (fn_buy)sym(name);
    sprintf(name, "Format%sCard", type); format = (fn_format)sym(name);
    if (is4442) check4442 = (fn_check4442)sym("Check4442Card");
    else check102 = (fn_check102)sym("Check102Card");
    listTools = (fn_list_tools)sym("ListToolCards");
    sprintf(name, "MakeTool%s", type); makeTool = (fn_make_tool)sym(name);
    sprintf(name, "ReadUsage%s", type); readUsage = (fn_read_usage)sym(name);
    meterWb = (fn_meter_wb)lib_sym(g_lib, "StandInMeterWriteBack");
    if (!writeNew || !readCard || !buy || !format || !(check4442 || check102)) {
        printf("[FAIL] the library lacks core %s functions\n", type);
        g_fail++;
        return;
    }

    /* 1. issue a new card */
    rc = writeNew((unsigned char *)kh, 100, 1, 1, (unsigned char *)data, (unsigned char *)oldKey, (unsigned char *)newKey);
    step("WriteNew (kh, ql=100, cs=1, klx=1)", rc, 0);
    if (rc != 0) return;
    print_data("data", data);
    printf("       oldKey=%s newKey=%s\n", key_text(oldKey, kb), key_text(newKey, kb2));
    check_hex("WriteNew data", data, hexlen);
    check_hex("WriteNew newKey", newKey, keylen);

    /* 2. identify it (102: public zone only, which gives the SC for reading AZ1/AZ2) */
    if (is4442) rc = check4442((unsigned char *)data);
    else {
        memcpy(pub, data, GASCARD_102_PUBLIC_HEX); pub[GASCARD_102_PUBLIC_HEX] = '\0';
        rc = check102((unsigned char *)pub, (unsigned char *)oldKey);
        if (rc == 0) printf("       SC for zones=%s\n", key_text(oldKey, kb));
    }
    step("Check new card -> 0 user card", rc, 0);

    /* 3. read it back */
    rc = readCard((unsigned char *)data, (unsigned char *)khOut, &ql, &cs, &klx);
    step("Read new card", rc, 0);
    show_read(rc, khOut, ql, cs, klx);
    if (rc == 0) expect_values("Read after WriteNew", khOut, ql, cs, klx, kh, 100, 1, 1);

    /* 4. buy 50 m3 as purchase 2 */
    rc = buy((unsigned char *)data, (unsigned char *)kh, 50, 2, (unsigned char *)dest, (unsigned char *)oldKey, (unsigned char *)newKey);
    step("Buy (ql=50, cs=2)", rc, 0);
    if (rc == 0) {
        printf("       oldKey=%s newKey=%s\n", key_text(oldKey, kb), key_text(newKey, kb2));
        check_hex("Buy dest", dest, hexlen);
        if (is4442) {
            g_steps++;
            if (memcmp(dest, data, 64) == 0) printf("[ OK ] %-34s bytes 0x00-0x1F passed through\n", "Buy factory area");
            else { printf("[FAIL] %-34s bytes 0x00-0x1F changed\n", "Buy factory area"); g_fail++; }
        }
        rc = readCard((unsigned char *)dest, (unsigned char *)khOut, &ql, &cs, &klx);
        step("Read after Buy", rc, 0);
        show_read(rc, khOut, ql, cs, klx);
        if (rc == 0) expect_values("Read after Buy", khOut, ql, cs, klx, kh, 50, 2, 1);
    }

    /* 5. wrong card number must be refused */
    rc = buy((unsigned char *)dest, (unsigned char *)"999", 50, 3, (unsigned char *)refund, (unsigned char *)oldKey, (unsigned char *)newKey);
    step("Buy with another kh -> -16", rc, GC_E_CARDNO_MISMATCH);

    /* 6. refund: ql 0 */
    rc = buy((unsigned char *)dest, (unsigned char *)kh, 0, 3, (unsigned char *)refund, (unsigned char *)oldKey, (unsigned char *)newKey);
    step("Refund (ql=0, cs=3)", rc, 0);
    if (rc == 0) {
        rc = readCard((unsigned char *)refund, (unsigned char *)khOut, &ql, &cs, &klx);
        step("Read after refund", rc, 0);
        show_read(rc, khOut, ql, cs, klx);
        if (rc == 0) expect_values("Read after refund", khOut, ql, cs, klx, kh, 0, 3, 1);
    }

    /* 7. meter write-back and usage */
    if (readUsage) {
        int written = 0, status = 0, lastCode = 0, months[24], usage[24], count = 0;
        rc = readUsage(dest, &written, &status, &lastCode, months, usage, 24, &count);
        step("ReadUsage after Buy", rc, 0);
        usage_print(rc, written, status, lastCode, months, usage, count);
        if (meterWb) {
            static const int m[3] = { 202503, 202502, 202501 }, u[3] = { 1250, 980, 1105 };
            rc = meterWb(type, dest, 0x0001, 3, m, u, 3, wb, (int)sizeof wb);
            step("StandInMeterWriteBack (stand-in)", rc, 0);
            if (rc == 0) {
                rc = readUsage(wb, &written, &status, &lastCode, months, usage, 24, &count);
                step("ReadUsage after write-back", rc, 0);
                usage_print(rc, written, status, lastCode, months, usage, count);
                g_steps++;
                if (rc == 0 && written == 1 && count == 3 && months[0] == 202503 && usage[2] == 1105)
                    printf("[ OK ] %-34s usage matches\n", "write-back round trip");
                else { printf("[FAIL] %-34s usage differs\n", "write-back round trip"); g_fail++; }
            }
        } else {
            printf("       (no StandInMeterWriteBack: put the card in a meter to see usage)\n");
        }
    }

    /* 8. format: the library tells the key to present before erasing */
    rc = format((unsigned char *)refund, (unsigned char *)oldKey);
    step("Format", rc, 0);
    if (rc == 0) printf("       oldKey=%s\n", key_text(oldKey, kb));

    /* 9. blank card: not ours */
    if (is4442) {
        strcpy(blank, "A2131091FFFF8115");
        memset(blank + 16, 'F', GASCARD_4442_HEX - 16); blank[GASCARD_4442_HEX] = '\0';
        rc = check4442((unsigned char *)blank);
    } else {
        strcpy(blank, "0F0F");
        memset(blank + 4, 'F', GASCARD_102_HEX - 4); blank[GASCARD_102_HEX] = '\0';
        memcpy(blank + 20, "F0F0", 4);
        memcpy(pub, blank, GASCARD_102_PUBLIC_HEX); pub[GASCARD_102_PUBLIC_HEX] = '\0';
        rc = check102((unsigned char *)pub, (unsigned char *)oldKey);
    }
    step("Check blank card -> -1", rc, GC_CHECK_NOT_OURS);

    /* 10. tool cards */
    if (listTools && makeTool) {
        char *kind, *save;
        rc = listTools(type, list, (int)sizeof list);
        step("ListToolCards", rc, 0);
        if (rc == 0) printf("       kinds=%s\n", list);
        for (kind = strtok(rc == 0 ? list : NULL, ","); kind; kind = strtok(NULL, ",")) {
            char label[80];
            save = kind;
            params_for(save, params);
            rc = makeTool(save, params, blank, tool, (int)sizeof tool, oldKey, newKey, GASCARD_KEY_BUFSIZE);
            sprintf(label, "MakeTool %s", save);
            step(label, rc, 0);
            if (rc != 0) continue;
            if (is4442) rc = check4442((unsigned char *)tool);
            else { memcpy(pub, tool, GASCARD_102_PUBLIC_HEX); pub[GASCARD_102_PUBLIC_HEX] = '\0'; rc = check102((unsigned char *)pub, (unsigned char *)oldKey); }
            sprintf(label, "Check %s tool card -> 1", save);
            step(label, rc, GC_CHECK_TOOL_CARD);
        }
        rc = makeTool("X_NO_SUCH_KIND", "", blank, tool, (int)sizeof tool, oldKey, newKey, GASCARD_KEY_BUFSIZE);
        step("MakeTool unknown kind -> -34", rc, GC_E_UNSUPPORTED);
    }

    /* 11. bad input is refused, not crashed on */
    rc = readCard((unsigned char *)"12ZZ", (unsigned char *)khOut, &ql, &cs, &klx);
    step("Read bad hex -> -32", rc, GC_E_BAD_DATA);
    rc = writeNew((unsigned char *)"12a4", 1, 1, 1, (unsigned char *)data, (unsigned char *)oldKey, (unsigned char *)newKey);
    step("WriteNew bad kh -> -31", rc, GC_E_BAD_PARAM);
}

static void run_cpu(const char *kh, int com)
{
    fn_cpu_write_new writeNew = (fn_cpu_write_new)sym("WriteNewCpuCard");
    fn_cpu_read readCard = (fn_cpu_read)sym("ReadCpuCard");
    fn_cpu_buy buy = (fn_cpu_buy)sym("BuyCpuCard");
    fn_cpu_format format = (fn_cpu_format)sym("FormatCpuCard");
    fn_cpu_check check = (fn_cpu_check)sym("CheckCpuCard");
    fn_list_tools listTools = (fn_list_tools)sym("ListToolCards");
    fn_make_tool_cpu makeTool = (fn_make_tool_cpu)sym("MakeToolCpu");
    fn_read_usage_cpu readUsage = (fn_read_usage_cpu)sym("ReadUsageCpu");
    fn_meter_wb_cpu meterWb = (fn_meter_wb_cpu)lib_sym(g_lib, "StandInMeterWriteBackCpu");
    fn_cpu_insert_blank insertBlank = (fn_cpu_insert_blank)lib_sym(g_lib, "StandInCpuInsertBlank");
    char khOut[GASCARD_KEY_BUFSIZE], list[512], params[128];
    int ql = 0, rc;
    __int16 cs = 0, klx = 0;

    if (!writeNew || !readCard || !buy || !format || !check) {
        printf("[FAIL] the library lacks core cpu functions\n");
        g_fail++;
        return;
    }
    if (insertBlank) { rc = insertBlank((__int16)com); step("StandInCpuInsertBlank (stand-in)", rc, 0); }
    else printf("       (real library: put a blank CPU card in the reader on port %d, PSAM inserted)\n", com);

    rc = check((__int16)com);
    step("Check blank card -> -1", rc, GC_CHECK_NOT_OURS);
    rc = writeNew((__int16)com, (unsigned char *)kh, 100, 1, 1);
    step("WriteNew (kh, ql=100, cs=1, klx=1)", rc, 0);
    rc = check((__int16)com);
    step("Check -> 0 user card", rc, 0);
    rc = readCard((__int16)com, (unsigned char *)khOut, &ql, &cs, &klx);
    step("Read new card", rc, 0);
    show_read(rc, khOut, ql, cs, klx);
    if (rc == 0) expect_values("Read after WriteNew", khOut, ql, cs, klx, kh, 100, 1, 1);
    rc = buy((__int16)com, (unsigned char *)kh, 50, 2);
    step("Buy (ql=50, cs=2)", rc, 0);
    rc = readCard((__int16)com, (unsigned char *)khOut, &ql, &cs, &klx);
    step("Read after Buy", rc, 0);
    if (rc == 0) expect_values("Read after Buy", khOut, ql, cs, klx, kh, 50, 2, 1);
    rc = buy((__int16)com, (unsigned char *)"999", 50, 3);
    step("Buy with another kh -> -16", rc, GC_E_CARDNO_MISMATCH);
    if (readUsage) {
        int written = 0, status = 0, lastCode = 0, months[24], usage[24], count = 0;
        if (meterWb) {
            static const int m[3] = { 202503, 202502, 202501 }, u[3] = { 1250, 980, 1105 };
            rc = meterWb((__int16)com, 0x0001, 3, m, u, 3);
            step("StandInMeterWriteBackCpu (stand-in)", rc, 0);
        }
        rc = readUsage((__int16)com, &written, &status, &lastCode, months, usage, 24, &count);
        step("ReadUsage", rc, 0);
        usage_print(rc, written, status, lastCode, months, usage, count);
    }
    rc = buy((__int16)com, (unsigned char *)kh, 0, 3);
    step("Refund (ql=0, cs=3)", rc, 0);
    rc = readCard((__int16)com, (unsigned char *)khOut, &ql, &cs, &klx);
    if (rc == 0) expect_values("Read after refund", khOut, ql, cs, klx, kh, 0, 3, 1);
    rc = format((__int16)com, (unsigned char *)kh);
    step("Format", rc, 0);
    rc = check((__int16)com);
    step("Check formatted card -> -1", rc, GC_CHECK_NOT_OURS);
    if (listTools && makeTool) {
        char *kind;
        rc = listTools("cpu", list, (int)sizeof list);
        step("ListToolCards", rc, 0);
        if (rc == 0) printf("       kinds=%s\n", list);
        for (kind = strtok(rc == 0 ? list : NULL, ","); kind; kind = strtok(NULL, ",")) {
            char label[80];
            params_for(kind, params);
            rc = makeTool((__int16)com, kind, params);
            sprintf(label, "MakeTool %s", kind);
            step(label, rc, 0);
            rc = check((__int16)com);
            sprintf(label, "Check %s tool card -> 1", kind);
            step(label, rc, GC_CHECK_TOOL_CARD);
            rc = format((__int16)com, (unsigned char *)"");
            step("Format tool card", rc, 0);
        }
    }
}

int main(int argc, char **argv)
{
    const char *path, *type, *kh = "3701020025";
    int com = 0, i;
    char buf[1024];
    fn_version version;
    fn_error_text errorText;

    if (argc < 3) {
        fprintf(stderr, "usage: %s <library> <4442|102|cpu> [--kh DIGITS] [--com N] [--show-keys]\n", argv[0]);
        return 2;
    }
    path = argv[1];
    type = argv[2];
    for (i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--kh") && i + 1 < argc) kh = argv[++i];
        else if (!strcmp(argv[i], "--com") && i + 1 < argc) com = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--show-keys")) g_show_keys = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    if (strcmp(type, "4442") && strcmp(type, "102") && strcmp(type, "cpu")) {
        fprintf(stderr, "card type must be 4442, 102 or cpu\n");
        return 2;
    }
    g_lib = lib_open(path);
    if (!g_lib) { fprintf(stderr, "cannot load %s\n", path); return 2; }
    printf("gascard demo: library=%s cardType=%s kh=%s\n", path, type, kh);
    if (lib_sym(g_lib, "StandInInfo")) printf("  this is a stand-in library / 替身库 (not a maker's real card format)\n");

    version = (fn_version)sym("GasCardInterfaceVersion");
    if (version) {
        int rc = version(buf, (int)sizeof buf);
        step("GasCardInterfaceVersion", rc, 0);
        if (rc == 0) printf("       version=%s\n", buf);
    }

    if (!strcmp(type, "cpu")) run_cpu(kh, com);
    else run_memory(type, kh);

    errorText = (fn_error_text)sym("GasCardErrorText");
    if (errorText) {
        printf("error texts for the codes seen:\n");
        for (i = 0; i < g_ncodes; i++) {
            int rc = errorText(g_codes[i], buf, (int)sizeof buf);
            printf("  %4d  %s\n", g_codes[i], rc == 0 ? buf : "(no text)");
            if (rc != 0) { g_fail++; printf("[FAIL] GasCardErrorText(%d) rc=%d\n", g_codes[i], rc); }
        }
    }
    printf("RESULT: %s (%d steps, %d failed)\n", g_fail ? "FAIL" : "PASS", g_steps, g_fail);
    lib_close(g_lib);
    return g_fail ? 1 : 0;
}
