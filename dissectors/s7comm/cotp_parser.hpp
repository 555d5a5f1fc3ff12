// ISO transport over TCP, as S7 runs it on TCP 102: TPKT (RFC 1006 §6) carrying one COTP TPDU (ISO 8073 /
// X.224, class 0) each. Pure: bytes in, views out; no state, no allocation.
//
// RFC 1006 §6: a TPKT is version (3), reserved (0), length (16 bits, big-endian, the whole TPKT including
// these 4 bytes); the TPDU follows. ISO 8073 §13: a TPDU starts with its length indicator (LI: the header
// length without the LI byte) and the TPDU code in the high nibble of the next byte. Class 0 uses CR, CC,
// DR, DT and ER; the other codes are parsed as far as their fixed part so cotp.log can name them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::s7 {

inline constexpr size_t kTpktHeaderSize = 4;
inline constexpr uint8_t kTpktVersion = 3;
// The smallest TPKT that carries a TPDU: header + LI + code (RFC 1006 §6 allows 7 as its minimum: a DT
// with no user data has LI 2, so 4 + 3).
inline constexpr size_t kTpktMinLength = 7;

struct TpktHeader {
  uint8_t version = 0;
  uint8_t reserved = 0;
  uint16_t length = 0;  // the whole TPKT, header included
};

enum class TpktStatus : uint8_t { Ok, NeedMore, BadVersion, BadLength };

// The header at the start of `in`. BadVersion: version != 3 or reserved != 0 (RFC 1006 §6 fixes both);
// BadLength: length < 7 (no room for a TPDU).
TpktStatus parse_tpkt(std::span<const uint8_t> in, TpktHeader& h);

// Whether a TPKT plausibly starts at in[0], for resynchronising after a gap: a valid header whose TPDU has
// a class 0 code and an LI that fits; when the next TPKT's header is in view it must be valid too.
// Maybe: too few bytes to decide.
enum class Plausible : uint8_t { No, Maybe, Yes };
Plausible plausible_tpkt_start(std::span<const uint8_t> in);

// TPDU codes (ISO 8073 §13.1, Table 8): the high nibble of the second header byte.
enum CotpCode : uint8_t {
  kCotpED = 0x1,  // expedited data
  kCotpEA = 0x2,  // expedited data acknowledgement
  kCotpRJ = 0x5,  // reject
  kCotpAK = 0x6,  // data acknowledgement
  kCotpER = 0x7,  // TPDU error
  kCotpDR = 0x8,  // disconnect request
  kCotpDC = 0xC,  // disconnect confirm
  kCotpCC = 0xD,  // connection confirm
  kCotpCR = 0xE,  // connection request
  kCotpDT = 0xF,  // data
};

// Variable-part parameter codes of CR/CC (ISO 8073 §13.3.4).
inline constexpr uint8_t kParamTpduSize = 0xC0;     // 2^n octets, n = 7..13
inline constexpr uint8_t kParamCallingTsap = 0xC1;  // the TSAP of the connection's initiator
inline constexpr uint8_t kParamCalledTsap = 0xC2;   // the TSAP of the responder (S7: rack and slot)

enum class CotpError : uint8_t {
  None,
  TooShort,      // no LI and code
  BadLength,     // LI runs past the TPKT, or is shorter than the TPDU's fixed part
  BadParameter,  // a CR/CC/DR/ER variable-part parameter runs past the header
};

struct CotpTpdu {
  uint8_t li = 0;
  uint8_t code = 0;    // CotpCode (the high nibble)
  uint8_t low = 0;     // the low nibble: CDT (credit) in CR/CC/AK/RJ; 0 in DT class 0
  CotpError error = CotpError::None;

  // DT / ED (§13.7, §13.8): the TPDU number (7 bits) and the EOT mark ending a TSDU.
  uint8_t tpdu_nr = 0;
  bool eot = false;
  std::span<const uint8_t> user_data;  // after the header (DT, ED; CR/CC/DR user data when present)

  // CR / CC / DR / DC / ER fixed parts (§13.3 - §13.6, §13.12).
  uint16_t dst_ref = 0;
  uint16_t src_ref = 0;
  uint8_t class_option = 0;  // CR/CC: class (high nibble) and options
  uint8_t reason = 0;        // DR: reason; ER: reject cause
  // CR / CC variable part.
  std::span<const uint8_t> calling_tsap;
  std::span<const uint8_t> called_tsap;
  uint32_t tpdu_size = 0;    // octets (2^n), 0 when absent
  std::span<const uint8_t> params;  // the whole variable part
};

// The TPDU in a TPKT's payload (the bytes after its 4-byte header). Fields past an error stay at their
// defaults; `code` is set whenever two bytes are there.
CotpError parse_cotp(std::span<const uint8_t> payload, CotpTpdu& t);

// Iterates the variable part's (code, length, value) parameters (§13.2.3).
class CotpParams {
 public:
  explicit CotpParams(std::span<const uint8_t> params) : p_(params) {}
  // False at the end or at a parameter that runs past the variable part.
  bool next(uint8_t& code, std::span<const uint8_t>& value);

 private:
  std::span<const uint8_t> p_;
  size_t off_ = 0;
};

// Whether a TSDU is a TLS record (RFC 8446 §5.1: content type 20-23, legacy version 0x03 0x0N): newer S7
// firmware (TIA Portal V17 and later) runs S7comm-plus inside TLS after the COTP connection is set up.
bool looks_like_tls_record(std::span<const uint8_t> tsdu);

}  // namespace ots::s7
