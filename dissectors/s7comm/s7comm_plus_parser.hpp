// The S7comm-plus envelope (protocol id 0x72), as S7-1200/1500 and TIA Portal speak it inside COTP DT
// TSDUs. Pure: bytes in, views out; no state, no allocation. Nothing past the envelope is decoded: the
// payload is an object model (and with V3 integrity-protected, or inside TLS from TIA V17 on).
//
// Layouts as the S7comm-plus Wireshark plugin (Thomas Wiens, s7commwireshark) documents them:
//   header   0x72, protocol version (1, 2, 3; 0xFE extended keep-alive; 0xFF keep-alive), data length (2)
//   V3       integrity part first: digest length (1, always 32) and the digest (an HMAC over the PDU)
//   data     opcode (0x31 request, 0x32 response, 0x33 notification, 0x02 response2), reserved (2),
//            function (2), reserved (2), sequence number (2); requests then carry the session id (4) and
//            transport flags (1), responses the transport flags (1)
//   trailer  0x72, version, 0x0000 after the data part. A PDU without one continues in the next PDU of
//            the same direction (the plugin's only fragmentation mark); continuation PDUs repeat the
//            header (and for V3 the integrity part) but not the opcode and function.
// Keep-alive (0xFF) PDUs are 4 bytes: id, version, a sequence number and a reserved byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::s7 {

enum PlusVersion : uint8_t { kPlusV1 = 0x01, kPlusV2 = 0x02, kPlusV3 = 0x03, kPlusExtKeepAlive = 0xFE,
                             kPlusKeepAlive = 0xFF };
enum PlusOpcode : uint8_t { kPlusRequest = 0x31, kPlusResponse = 0x32, kPlusNotification = 0x33,
                            kPlusResponse2 = 0x02 };
inline constexpr size_t kPlusHeaderSize = 4;
inline constexpr size_t kPlusTrailerSize = 4;
inline constexpr uint8_t kPlusDigestSize = 32;

enum class PlusError : uint8_t {
  None,
  TooShort,        // no complete 4-byte header
  BadProtocolId,   // not 0x72
  Truncated,       // the data length runs past the TSDU (what is there is still read)
  BadDigest,       // V3 digest length other than 32
};

struct PlusPdu {
  uint8_t version = 0;
  uint16_t data_length = 0;     // from the header (keep-alive: 0)
  uint8_t keepalive_seq = 0;    // version 0xFF
  bool has_integrity = false;   // V3: digest_length + digest lead the data part
  uint8_t digest_length = 0;
  std::span<const uint8_t> digest;
  bool has_trailer = false;     // false: the next PDU of this direction continues this one
  bool continuation = false;    // read as the continuation of a PDU without trailer (as asked)
  bool has_opcode = false;
  uint8_t opcode = 0;
  bool has_function = false;    // request / response / response2
  uint16_t function = 0;
  uint16_t sequence = 0;
  bool has_session = false;     // requests
  uint32_t session_id = 0;
  bool has_transport_flags = false;
  uint8_t transport_flags = 0;
  std::span<const uint8_t> body;  // the rest of the data part (objects, values, V1/V2 integrity)
};

// `continuation`: the previous PDU of this direction had no trailer, so this one's data part continues
// it (no opcode / function of its own).
PlusError parse_s7comm_plus(std::span<const uint8_t> tsdu, bool continuation, PlusPdu& p);

}  // namespace ots::s7
