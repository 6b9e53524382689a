/*
 * layouts/kingcard.h — STAND-IN layout for 金卡 (kingcard). 替身布局，不是厂家的真实卡格式。
 *
 * This is NOT the maker's real card layout. MeterHub invented it so tests and demos have a library
 * that behaves like a maker's (own mark, own checksum, own key derivation). The maker replaces this
 * file (or the whole library) with its real format. See sdk/reference/README.md.
 * Offsets are byte offsets into the card image (4442: 256-byte main memory; 102: the 150-byte
 * public zone + AZ1 + AZ2 image the host passes; cpu: the stand-in's simulated 256-byte card file).
 * Field sizes: mark 3, kind 1, id hash 4 (BE), id check 1, kh 16 (BCD) or 32 (ASCII), ql 4, cs 2,
 * klx 1, tool params 12, record checksum 1, write-back flag 1, status 2 (BE), last code 1,
 * months 12 x 5 (YYMM BCD + usage 3 bytes BE, 0.01 m3; newest first).
 * kh packed BCD, ql/cs big-endian, checksum ADD8 (sum), written-back flag 0x58.
 */
#define GC_MAKER            "kingcard"
#define GC_MAKER_ZH         "金卡"
#define GC_SUPPORTS_4442    1
#define GC_SUPPORTS_102     1
#define GC_SUPPORTS_CPU     0
#define GC_TOOL_KINDS       "CLEAR,TRANSFER"
#define GC_SALT             0x4B43A17Eu          /* stand-in salt for key derivation */
#define GC_MARK             { 0x4B, 0x43, 0x31 }
#define GC_KH_ENC           GC_KH_BCD
#define GC_QL_ENC           GC_ENC_BE
#define GC_CS_ENC           GC_ENC_BE
#define GC_SUM_ALG          GC_SUM_ADD8
#define GC_WB_FLAG          0x58
/*                 total mark kind idhash idchk  kh    ql    cs    klx   params sum   wbflag wbstat wblast months */
#define GC_MAP_4442 { 256, 0x20, 0x23, 0x24, 0x28, 0x30, 0x40, 0x44, 0x46, 0x48, 0x54, 0x80, 0x81, 0x83, 0x84 }
#define GC_MAP_102  { 150,    2,    5,   14,   18,   22,   38,   42,   44,   45,   57,   58,   59,   61,   88 }
