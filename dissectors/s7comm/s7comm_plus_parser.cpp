#include "dissectors/s7comm/s7comm_plus_parser.hpp"

#include <algorithm>

#include "capture/byte_reader.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"

namespace ots::s7 {

PlusError parse_s7comm_plus(std::span<const uint8_t> tsdu, bool continuation, PlusPdu& p) {
  p = PlusPdu{};
  p.continuation = continuation;
  ByteReader r(tsdu);
  uint8_t id = 0;
  if (!r.u8(id)) return PlusError::TooShort;
  if (id != kS7commPlusId) return PlusError::BadProtocolId;
  if (!r.u8(p.version)) return PlusError::TooShort;
  if (p.version == kPlusKeepAlive) {
    // 4 bytes: id, version, sequence number, reserved. It is never fragmented.
    if (!r.u8(p.keepalive_seq) || !r.skip(1)) return PlusError::TooShort;
    p.has_trailer = true;
    return PlusError::None;
  }
  if (!r.u16be(p.data_length)) return PlusError::TooShort;
  // The trailer follows the data part; without it the PDU is a fragment.
  const auto rest = r.rest();
  PlusError err = PlusError::None;
  std::span<const uint8_t> data = rest;
  if (rest.size() >= p.data_length) {
    // The plugin's test: any byte after the data part is the trailer.
    data = rest.first(p.data_length);
    p.has_trailer = rest.size() > p.data_length;
  } else {
    err = PlusError::Truncated;
  }
  if (p.version == kPlusExtKeepAlive) {
    p.body = data;
    return err;
  }
  ByteReader d(data);
  if (p.version == kPlusV3) {
    // Firmware >= V1.5 (TIA V14 on) moved the integrity part to the front of every PDU, fragments too.
    p.has_integrity = d.u8(p.digest_length);
    if (p.has_integrity) {
      if (!d.bytes(std::min<size_t>(p.digest_length, d.remaining()), p.digest) ||
          p.digest_length != kPlusDigestSize)
        err = err == PlusError::None ? PlusError::BadDigest : err;
    }
  }
  if (continuation) {
    p.body = d.rest();
    return err;
  }
  p.has_opcode = d.u8(p.opcode);
  if (p.has_opcode && (p.opcode == kPlusRequest || p.opcode == kPlusResponse || p.opcode == kPlusResponse2)) {
    if (d.skip(2) && d.u16be(p.function) && d.skip(2) && d.u16be(p.sequence)) {
      p.has_function = true;
      if (p.opcode == kPlusRequest) p.has_session = d.u32be(p.session_id);
      p.has_transport_flags = d.u8(p.transport_flags);
    }
  }
  p.body = d.rest();
  return err;
}

}  // namespace ots::s7
