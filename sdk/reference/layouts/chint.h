/*
 * layouts/chint.h — STAND-IN layout for 正泰 (chint). 替身布局，不是厂家的真实卡格式。
 *
 * This is NOT the maker's real card layout. MeterHub invented it so tests and demos have a library
 * that behaves like a maker's (own mark, own checksum, own key derivation). The maker replaces this
 * file (or the whole library) with its real format. See sdk/reference/README.md.
 * Offsets are byte offsets into the card image (4442: 256-byte main memory; 102: the 150-byte
 * public zone + AZ1 + AZ2 image the host passes; cpu: the stand-in's simulated 256-byte card file).
 * Field sizes: mark 3, kind 1, id hash 4 (BE), id check 1, kh 16 (BCD) or 32 (ASCII), ql 4, cs 2,
 * klx 1, tool params 12, record checksum 1, write-back flag 1, status 2 (BE), last code 1,
 * months 12 x 5 (YYMM BCD + usage 3 bytes BE, 0.01 m3; newest first).
 * kh packed BCD, ql/cs big-endian, checksum NEG8 (two's-complement sum), written-back flag 0x96.
 */
#define GC_MAKER            "chint"
#define GC_MAKER_ZH         "正泰"
#define GC_SUPPORTS_4442    1
#define GC_SUPPORTS_102     0
#define GC_SUPPORTS_CPU     0
#define GC_TOOL_KINDS       "CLEAR,CHECK,VALVE_OPEN,VALVE_CLOSE"
#define GC_SALT             0x5A54E11Au          /* stand-in salt for key derivation */
#define GC_MARK             { 0x43, 0x54, 0xC7 }
#define GC_KH_ENC           GC_KH_BCD
#define GC_QL_ENC           GC_ENC_BE
#define GC_CS_ENC           GC_ENC_BE
#define GC_SUM_ALG          GC_SUM_NEG8
#define GC_WB_FLAG          0x96
/*                 total mark kind idhash idchk  kh    ql    cs    klx   params sum   wbflag wbstat wblast months */
#define GC_MAP_4442 { 256, 0x28, 0x2B, 0x2C, 0x27, 0x90, 0xA0, 0xA4, 0xA6, 0xA8, 0x8F, 0x7C, 0x7D, 0x7F, 0x40 }
