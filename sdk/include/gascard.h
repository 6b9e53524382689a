/*
 * gascard.h — 燃气IC卡统一接口 / Unified gas IC-card interface, version 1.0
 *
 * Published by the gas company to every meter maker. Each maker ships one library (DLL on Windows,
 * shared object elsewhere) that exports the functions below. The normative text is sdk/SPEC.zh-CN.md;
 * this header is its machine-readable half and compiles with MSVC, mingw-w64 and gcc.
 *
 * Conventions fixed by the spec (see SPEC.zh-CN.md for the full text):
 *  - Card data is ASCII hex, NUL-terminated. Input is case-insensitive, output is upper case.
 *  - 4442 data: the whole 256-byte main memory = 512 hex. Libraries write bytes 0x20-0xFF only.
 *  - 102 data: public zone (card bytes 0-21, 44 hex) + application zone 1 (64 B) + zone 2 (64 B)
 *    = 150 bytes = 300 hex. Check102Card receives the public zone alone (44 hex).
 *  - Keys: 4442 PSC = 6 hex; 102 security code = 4 hex, optionally followed by ":EZ1(12 hex):EZ2(8 hex)"
 *    when the library uses non-factory erase keys (factory erase keys are all FF).
 *  - kh: ASCII digits, 1-32 long. ql: whole m3, 0-99999999. cs: 0-32767. klx: 1 residential, 2 industrial.
 *  - Buffers the host always provides: data >= GASCARD_DATA_BUFSIZE, keys and kh >= GASCARD_KEY_BUFSIZE.
 *    Writing more than the spec's length (plus the NUL) is non-conformant.
 *  - Strings produced by extension functions are UTF-8.
 */
#ifndef GASCARD_H
#define GASCARD_H

#define GASCARD_INTERFACE_VERSION "1.0"

/* ---- portability ------------------------------------------------------------------------------ */
#if defined(_WIN32)
#  ifndef __stdcall
     /* MSVC and mingw-w64 both know __stdcall; nothing to do. */
#  endif
#  if defined(GASCARD_BUILD)
#    define GASCARD_EXPORT __declspec(dllexport)
#  else
#    define GASCARD_EXPORT __declspec(dllimport)
#  endif
#else
#  ifndef __stdcall
#    define __stdcall
#  endif
#  define GASCARD_EXPORT __attribute__((visibility("default")))
#endif

#if !defined(_MSC_VER) && !defined(__int16)
   /* mingw-w64 defines __int16 itself; gcc elsewhere does not. */
#  define __int16 short
#endif

#ifdef __cplusplus
#  define GASCARD_API extern "C" GASCARD_EXPORT
#else
#  define GASCARD_API extern GASCARD_EXPORT
#endif

/* ---- sizes ------------------------------------------------------------------------------------ */
#define GASCARD_4442_BYTES        256
#define GASCARD_4442_HEX          512
#define GASCARD_4442_APP_START    0x20   /* bytes 0x00-0x1F are the factory area */
#define GASCARD_102_PUBLIC_BYTES  22
#define GASCARD_102_ZONE_BYTES    64
#define GASCARD_102_BYTES         150
#define GASCARD_102_HEX           300
#define GASCARD_102_PUBLIC_HEX    44
#define GASCARD_KH_MAX            32
#define GASCARD_QL_MAX            99999999
#define GASCARD_CS_MAX            32767
#define GASCARD_DATA_BUFSIZE      4096   /* the host always provides at least this for data outputs */
#define GASCARD_KEY_BUFSIZE       64     /* ... and at least this for keys and kh */

/* ---- return codes ----------------------------------------------------------------------------- */
/* 0 = OK. Check*Card: 0 = this maker's user card, 1 = this maker's tool/clearing card, -1 = not this maker's. */
#define GC_OK                      0
#define GC_CHECK_USER_CARD         0
#define GC_CHECK_TOOL_CARD         1
#define GC_CHECK_NOT_OURS        (-1)
/* The industry's table (天然气销售系统IC卡接口规范 V1.0, 2012), kept so makers' habits carry over. */
#define GC_E_NOT_REGISTERED      (-1)   /* 非注册用户 / not a registered user (outside Check) */
#define GC_E_PORT_INIT           (-2)   /* 端口初始化失败 */
#define GC_E_DEVICE_STATUS       (-3)   /* 读设备状态失败 */
#define GC_E_NO_CARD             (-4)   /* 无卡 */
#define GC_E_PSC_COUNTER         (-5)   /* 读密码计数器失败 */
#define GC_E_CARD_DAMAGED        (-6)   /* 卡损坏 */
#define GC_E_READ                (-7)   /* 读卡错误 */
#define GC_E_NOT_USER_CARD       (-8)   /* 非用户卡 */
#define GC_E_PSC_CHECK           (-9)   /* 密码校验错误 */
#define GC_E_WRITE               (-10)  /* 写卡错误 */
#define GC_E_BACKUP_GAS          (-11)  /* 备份气量错误 */
#define GC_E_PORT_CLOSE          (-12)  /* 关闭端口失败 */
#define GC_E_NEW_OR_BACKWARDS    (-13)  /* 可能是新卡或插反 */
#define GC_E_NOT_THIS_SYSTEM     (-14)  /* 非本系统卡 */
#define GC_E_NOT_NEW_CARD        (-15)  /* 非新卡 (WriteNew only) */
#define GC_E_CARDNO_MISMATCH     (-16)  /* 卡号/地区码不符 */
#define GC_E_FORMAT              (-17)  /* 擦卡失败 */
#define GC_E_GAS_OVER_LIMIT      (-18)  /* 气量超限 */
/* -19 ... -30 are reserved for the host (MeterHub); a library never returns them. */
/* Interface-level codes added by this spec. */
#define GC_E_BAD_PARAM           (-31)  /* 参数错误: kh/ql/cs/klx/kind/params out of range */
#define GC_E_BAD_DATA            (-32)  /* 卡数据格式错误: not hex, wrong length */
#define GC_E_BUFFER_TOO_SMALL    (-33)  /* 输出缓冲区不足 (extensions only) */
#define GC_E_UNSUPPORTED         (-34)  /* 不支持的功能或工具卡类型 */
#define GC_E_CHECKSUM            (-35)  /* 卡数据校验和错误 */
/* <= -100: maker-defined; explain them through GasCardErrorText. */

/* ---- 4442 cards (seed §6) ---------------------------------------------------------------------- */
GASCARD_API int __stdcall WriteNew4442Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                           unsigned char *data, unsigned char *oldKey, unsigned char *newKey);
GASCARD_API int __stdcall Read4442Card(unsigned char *data,
                                       unsigned char *kh, int *ql, __int16 *cs, __int16 *klx);
GASCARD_API int __stdcall Buy4442Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                      unsigned char *dest, unsigned char *oldKey, unsigned char *newKey);
GASCARD_API int __stdcall Format4442Card(unsigned char *source, unsigned char *oldKey);
GASCARD_API int __stdcall Check4442Card(unsigned char *source);

/* ---- 102 cards (seed §6) ----------------------------------------------------------------------- */
GASCARD_API int __stdcall WriteNew102Card(unsigned char *kh, int ql, __int16 cs, __int16 klx,
                                          unsigned char *data, unsigned char *oldKey, unsigned char *newKey);
GASCARD_API int __stdcall Read102Card(unsigned char *data,
                                      unsigned char *kh, int *ql, __int16 *cs, __int16 *klx);
GASCARD_API int __stdcall Buy102Card(unsigned char *source, unsigned char *kh, int ql, __int16 cs,
                                     unsigned char *dest, unsigned char *oldKey, unsigned char *newKey);
GASCARD_API int __stdcall Format102Card(unsigned char *source, unsigned char *oldKey);
GASCARD_API int __stdcall Check102Card(unsigned char *source, unsigned char *oldKey);

/* ---- CPU cards (seed §6; the seed reused the 102 names by mistake, these are the published names) ---- */
/* com: reader port, 0-based. The library drives the reader and the PSAM itself. */
GASCARD_API int __stdcall WriteNewCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs, __int16 klx);
GASCARD_API int __stdcall ReadCpuCard(__int16 com, unsigned char *kh, int *ql, __int16 *cs, __int16 *klx);
GASCARD_API int __stdcall BuyCpuCard(__int16 com, unsigned char *kh, int ql, __int16 cs);
GASCARD_API int __stdcall FormatCpuCard(__int16 com, unsigned char *kh);
GASCARD_API int __stdcall CheckCpuCard(__int16 com);

/* ---- extensions (required by the seed, signatures fixed here; every output has an explicit size) ---- */

/* Interface version the library implements, e.g. "1.0". */
GASCARD_API int __stdcall GasCardInterfaceVersion(char *out, int outSize);

/* Text (UTF-8, Chinese first) for one of this library's return codes. */
GASCARD_API int __stdcall GasCardErrorText(int code, char *out, int outSize);

/*
 * Tool cards (工具卡). cardType is "4442", "102" or "cpu". ListToolCards writes the kinds this library
 * makes for that card type, comma-separated, e.g. "CLEAR,CHECK,VALVE_OPEN". Company-wide kinds:
 *   CLEAR 清零卡, CHECK 检查卡/数据采集卡, SETUP 设置卡/参数卡, VALVE_OPEN 开阀卡, VALVE_CLOSE 关阀卡,
 *   TRANSFER 转移卡/换表卡, CLOCK 校时卡, REKEY 改密卡. Maker-specific kinds start with "X_".
 * params: "name=value;name=value" ASCII (see SPEC for each kind's parameters); may be "".
 * Memory cards: source is the raw card as read (same form as Buy's source); the library returns the
 * data to write and the keys, exactly like Buy. CPU cards: the library writes the card itself.
 */
GASCARD_API int __stdcall ListToolCards(const char *cardType, char *out, int outSize);
GASCARD_API int __stdcall MakeTool4442(const char *kind, const char *params, const char *source,
                                       char *data, int dataSize, char *oldKey, char *newKey, int keySize);
GASCARD_API int __stdcall MakeTool102(const char *kind, const char *params, const char *source,
                                      char *data, int dataSize, char *oldKey, char *newKey, int keySize);
GASCARD_API int __stdcall MakeToolCpu(__int16 com, const char *kind, const char *params);

/*
 * Meter write-back (表回写) read from a purchase card that has been in the meter.
 *   written:  1 if the meter has written back onto this card since it was last sold, else 0
 *   status:   the meter's status word (bit meanings in the maker's catalogue)
 *   lastCode: the last code the meter showed (meaning in the maker's return-code catalogue)
 *   months[i] = YYYYMM, usage[i] = that month's usage in 0.01 m3; newest first; at most `capacity`
 *   entries; *count receives how many were written.
 */
GASCARD_API int __stdcall ReadUsage4442(const char *data, int *written, int *status, int *lastCode,
                                        int *months, int *usage, int capacity, int *count);
GASCARD_API int __stdcall ReadUsage102(const char *data, int *written, int *status, int *lastCode,
                                       int *months, int *usage, int capacity, int *count);
GASCARD_API int __stdcall ReadUsageCpu(__int16 com, int *written, int *status, int *lastCode,
                                       int *months, int *usage, int capacity, int *count);

#endif /* GASCARD_H */
