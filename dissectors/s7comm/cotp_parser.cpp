#include "dissectors/s7comm/cotp_parser.hpp"

#include "capture/byte_reader.hpp"

namespace ots::s7 {

TpktStatus parse_tpkt(std::span<const uint8_t> in, TpktHeader& h) {
  ByteReader r(in);
  if (!r.u8(h.version) || !r.u8(h.reserved) || !r.u16be(h.length)) return TpktStatus::NeedMore;
  if (h.version != kTpktVersion || h.reserved != 0) return TpktStatus::BadVersion;
  if (h.length < kTpktMinLength) return TpktStatus::BadLength;
  return TpktStatus::Ok;
}

namespace {

// The smallest LI each TPDU's fixed part allows (ISO 8073 §13.3 - §13.12; class 0 DT has LI 2).
uint8_t min_li(uint8_t code) {
  switch (code) {
    case kCotpCR: case kCotpCC: case kCotpDR: return 6;
    case kCotpDC: return 5;
    case kCotpER: return 4;
    case kCotpDT: case kCotpED: case kCotpAK: case kCotpEA: case kCotpRJ: return 2;
    default: return 1;
  }
}

bool known_code(uint8_t code) {
  switch (code) {
    case kCotpED: case kCotpEA: case kCotpRJ: case kCotpAK: case kCotpER: case kCotpDR: case kCotpDC:
    case kCotpCC: case kCotpCR: case kCotpDT:
      return true;
    default:
      return false;
  }
}

}  // namespace

Plausible plausible_tpkt_start(std::span<const uint8_t> in) {
  TpktHeader h;
  const TpktStatus st = parse_tpkt(in, h);
  if (st == TpktStatus::NeedMore) {
    // Judge the bytes there are: a wrong version or reserved byte rules the offset out at once.
    if (!in.empty() && in[0] != kTpktVersion) return Plausible::No;
    if (in.size() > 1 && in[1] != 0) return Plausible::No;
    return Plausible::Maybe;
  }
  if (st != TpktStatus::Ok) return Plausible::No;
  if (in.size() < kTpktHeaderSize + 2) return Plausible::Maybe;
  const uint8_t li = in[4];
  const uint8_t code = in[5] >> 4;
  if (!known_code(code) || li < min_li(code) || size_t{li} + 1 > h.length - kTpktHeaderSize) return Plausible::No;
  // Class 0 DT, by far the most common TPDU after the handshake: LI 2, low nibble 0.
  if (code == kCotpDT && li == 2 && (in[5] & 0x0F) != 0) return Plausible::No;
  if (in.size() >= size_t{h.length} + 2) {
    // The TPKT after this one must start with version 3, reserved 0 as well.
    if (in[h.length] != kTpktVersion || in[h.length + 1u] != 0) return Plausible::No;
  }
  return Plausible::Yes;
}

bool CotpParams::next(uint8_t& code, std::span<const uint8_t>& value) {
  ByteReader r(p_);
  if (!r.skip(off_) || r.empty()) return false;
  uint8_t len = 0;
  if (!r.u8(code) || !r.u8(len) || !r.bytes(len, value)) return false;
  off_ = r.pos();
  return true;
}

CotpError parse_cotp(std::span<const uint8_t> payload, CotpTpdu& t) {
  t = CotpTpdu{};
  ByteReader r(payload);
  uint8_t b = 0;
  if (!r.u8(t.li) || !r.u8(b)) return t.error = CotpError::TooShort;
  t.code = b >> 4;
  t.low = b & 0x0F;
  // The header is LI + 1 bytes (the LI does not count itself); it must fit in the TPKT.
  std::span<const uint8_t> hdr;
  if (size_t{t.li} + 1 > payload.size() || t.li < min_li(t.code)) return t.error = CotpError::BadLength;
  hdr = payload.subspan(0, size_t{t.li} + 1);
  const auto after = payload.subspan(size_t{t.li} + 1);
  ByteReader h(hdr);
  h.skip(2);
  switch (t.code) {
    case kCotpDT:
    case kCotpED: {
      // Class 0/1 DT: LI 2, then NR + EOT. The normal format of classes 2-4 puts DST-REF first (§13.7.3).
      if (t.li >= 4) h.u16be(t.dst_ref);
      else if (t.li == 3) return t.error = CotpError::BadLength;
      uint8_t nr = 0;
      h.u8(nr);
      t.tpdu_nr = nr & 0x7F;
      t.eot = (nr & 0x80) != 0;
      t.user_data = after;
      return CotpError::None;
    }
    case kCotpCR:
    case kCotpCC:
    case kCotpDR: {
      h.u16be(t.dst_ref);
      h.u16be(t.src_ref);
      if (t.code == kCotpDR) h.u8(t.reason);
      else h.u8(t.class_option);
      t.params = h.rest();
      t.user_data = after;
      if (t.code == kCotpDR) break;
      CotpParams it(t.params);
      uint8_t code = 0;
      std::span<const uint8_t> v;
      size_t used = 0;
      while (it.next(code, v)) {
        used += 2 + v.size();
        if (code == kParamCallingTsap) t.calling_tsap = v;
        else if (code == kParamCalledTsap) t.called_tsap = v;
        else if (code == kParamTpduSize && v.size() == 1 && v[0] >= 7 && v[0] <= 13) t.tpdu_size = 1u << v[0];
      }
      if (used != t.params.size()) return t.error = CotpError::BadParameter;
      return CotpError::None;
    }
    case kCotpDC:
      h.u16be(t.dst_ref);
      h.u16be(t.src_ref);
      break;
    case kCotpER:
      h.u16be(t.dst_ref);
      h.u8(t.reason);
      t.params = h.rest();
      break;
    case kCotpAK:
    case kCotpEA:
    case kCotpRJ: {
      h.u16be(t.dst_ref);
      uint8_t nr = 0;
      if (h.u8(nr)) t.tpdu_nr = nr & 0x7F;
      break;
    }
    default:
      break;
  }
  return CotpError::None;
}

bool looks_like_tls_record(std::span<const uint8_t> tsdu) {
  // ContentType change_cipher_spec(20), alert(21), handshake(22), application_data(23); legacy record
  // version 0x0301-0x0304; a length of at most 2^14 + 2048 (RFC 8446 §5.2).
  if (tsdu.size() < 5) return false;
  if (tsdu[0] < 20 || tsdu[0] > 23 || tsdu[1] != 3 || tsdu[2] > 4) return false;
  const unsigned len = (unsigned{tsdu[3]} << 8) | tsdu[4];
  return len > 0 && len <= (1u << 14) + 2048;
}

}  // namespace ots::s7
