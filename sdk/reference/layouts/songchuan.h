/*
 * layouts/songchuan.h — STAND-IN layout for 松川 (songchuan). 替身布局，不是厂家的真实卡格式。
 *
 * This is NOT the maker's real card layout. MeterHub invented it so tests and demos have a library
 * that behaves like a maker's (own mark, own checksum, own key derivation). The maker replaces this
 * file (or the whole library) with its real format. See sdk/reference/README.md.
 * Offsets are byte offsets into the card image (4442: 256-byte main memory; 102: the 150-byte
 * public zone + AZ1 + AZ2 image the host passes; cpu: the stand-in's simulated 256-byte card file).
 * Field sizes: mark 3, kind 1, id hash 4 (BE), id check 1, kh 16 (BCD) or 32 (ASCII), ql 4, cs 2,
 * klx 1, tool params 12, record checksum 1, write-back flag 1, status 2 (BE), last code 1,
 * months 12 x 5 (YYMM BCD + usage 3 bytes BE, 0.01 m3; newest first).
 * kh packed BCD, ql/cs little-endian, checksum CRC-8/MAXIM, written-back flag 0x3C.
 */
#define GC_MAKER            "songchuan"
#define GC_MAKER_ZH         "松川"
#define GC_SUPPORTS_4442    1
#define GC_SUPPORTS_102     1
#define GC_SUPPORTS_CPU     0
#define GC_TOOL_KINDS       "CLEAR,CHECK,CLOCK"
#define GC_SALT             0x5343C0DEu          /* stand-in salt for key derivation */
#define GC_MARK             { 0x53, 0x43, 0x48 }
#define GC_KH_ENC           GC_KH_BCD
#define GC_QL_ENC           GC_ENC_LE
#define GC_CS_ENC           GC_ENC_LE
#define GC_SUM_ALG          GC_SUM_CRC8_MAXIM
#define GC_WB_FLAG          0x3C
/*                 total mark kind idhash idchk  kh    ql    cs    klx   params sum   wbflag wbstat wblast months */
#define GC_MAP_4442 { 256, 0x40, 0x25, 0x21, 0x20, 0x50, 0x61, 0x65, 0x60, 0x67, 0x73, 0xC0, 0xC2, 0xC1, 0xC4 }
#define GC_MAP_102  { 150,    3,    6,   18,    2,   24,   41,   45,   40,   47,   59,   60,   62,   61,   90 }
