#include "dissectors/dnp3/dnp3_parser.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "capture/byte_reader.hpp"

namespace ots::dnp3 {

namespace {

// Table k gives a byte's effect on the CRC register with k zero bytes after it, so that four bytes are
// folded in with four lookups (slicing-by-4): every byte of a frame goes through the CRC (a header's 8,
// each data block's 16), and one lookup chained on the last a byte was most of a DNP3 frame's cost.
using CrcTables = std::array<std::array<uint16_t, 256>, 4>;

constexpr CrcTables make_crc_tables() {
  CrcTables t{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned crc = i;
    for (int b = 0; b < 8; ++b) crc = (crc & 1u) ? (crc >> 1) ^ 0xA6BCu : crc >> 1;
    t[0][i] = static_cast<uint16_t>(crc);
  }
  for (size_t k = 1; k < t.size(); ++k) {
    for (unsigned i = 0; i < 256; ++i) t[k][i] = static_cast<uint16_t>((t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff]);
  }
  return t;
}

constexpr CrcTables kCrcTables = make_crc_tables();

// The CRC follows its data least significant octet first.
bool crc_matches(std::span<const uint8_t> data, uint8_t lo, uint8_t hi) {
  const uint16_t crc = crc16(data);
  return lo == (crc & 0xff) && hi == (crc >> 8);
}

}  // namespace

uint16_t crc16(std::span<const uint8_t> bytes) {
  const auto& t = kCrcTables;
  const uint8_t* p = bytes.data();
  const size_t n = bytes.size();
  uint32_t crc = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    // The four bytes as a little-endian word, the register over the first two (the CRC is reflected:
    // low byte first).
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    w ^= crc;
    crc = t[3][w & 0xff] ^ t[2][(w >> 8) & 0xff] ^ t[1][(w >> 16) & 0xff] ^ t[0][w >> 24];
  }
  for (; i < n; ++i) crc = (crc >> 8) ^ t[0][(crc ^ p[i]) & 0xff];
  return static_cast<uint16_t>(~crc);
}

size_t LinkHeader::frame_size() const {
  const size_t n = user_data_size();
  return kLinkHeaderSize + n + 2 * ((n + kBlockSize - 1) / kBlockSize);
}

LinkStatus parse_link_header(std::span<const uint8_t> bytes, LinkHeader& out) {
  if (bytes.size() >= 1 && bytes[0] != kStart0) return LinkStatus::NoMagic;
  if (bytes.size() >= 2 && bytes[1] != kStart1) return LinkStatus::NoMagic;
  if (bytes.size() < kLinkHeaderSize) return LinkStatus::NeedMore;
  if (!crc_matches(bytes.first(8), bytes[8], bytes[9])) return LinkStatus::BadHeaderCrc;
  ByteReader r(bytes.subspan(2, 6));
  LinkHeader h;
  r.u8(h.length);
  r.u8(h.control);
  r.u16le(h.destination);
  r.u16le(h.source);
  if (h.length < kMinLinkLength) return LinkStatus::BadLength;
  out = h;
  return LinkStatus::Ok;
}

LinkStatus extract_user_data(std::span<const uint8_t> frame, const LinkHeader& h, std::span<uint8_t> out,
                             size_t* bad_block) {
  const size_t n = h.user_data_size();
  if (frame.size() < h.frame_size() || out.size() < n) return LinkStatus::NeedMore;
  size_t in = kLinkHeaderSize;
  size_t copied = 0;
  for (size_t block = 0; copied < n; ++block) {
    const size_t len = n - copied < kBlockSize ? n - copied : kBlockSize;
    const std::span<const uint8_t> data = frame.subspan(in, len);
    if (!crc_matches(data, frame[in + len], frame[in + len + 1])) {
      if (bad_block) *bad_block = block;
      return LinkStatus::BadDataCrc;
    }
    std::memcpy(out.data() + copied, data.data(), len);
    copied += len;
    in += len + 2;
  }
  return LinkStatus::Ok;
}

bool parse_app_header(std::span<const uint8_t> fragment, AppHeader& out) {
  ByteReader r(fragment);
  AppHeader h;
  if (!r.u8(h.control) || !r.u8(h.function)) return false;
  if (is_response_function(h.function)) {
    // IIN follows the function code in responses only (§4.2.2.6).
    if (!r.u8(h.iin1) || !r.u8(h.iin2)) return false;
    h.has_iin = true;
  }
  out = h;
  return true;
}

namespace {

// Whether the objects of a request with this function carry data, or only name points (§4.4: READ and
// the freeze, unsolicited-control and ASSIGN_CLASS requests list points by header alone).
bool function_carries_data(uint8_t function, uint8_t group) {
  if (is_response_function(function)) return true;
  switch (function) {
    case kWrite:
    case kSelect:
    case kOperate:
    case kDirectOperate:
    case kDirectOperateNr:
    case kInitializeAppl:
    case kStartAppl:
    case kStopAppl:
    case kOpenFile:
    case kCloseFile:
    case kDeleteFile:
    case kGetFileInfo:
    case kAuthenticateFile:
    case kAbortFile:
    case kActivateConfig:
    case kAuthenticateReq:
    case kAuthenticateErr:
      return true;
    // FREEZE_AT_TIME: a g50 time-and-interval object, then the counters to freeze by header (§4.4.5).
    case kFreezeAtTime:
    case kFreezeAtTimeNr:
      return group == 50;
    default:
      return false;
  }
}

constexpr ObjectSize fixed(uint16_t n) { return {SizeKind::Fixed, n}; }
constexpr ObjectSize packed(uint16_t bits) { return {SizeKind::Packed, bits}; }
constexpr ObjectSize unknown() { return {SizeKind::Unknown, 0}; }

// Sizes per variation, index 0 = variation 1 (Annex A).
template <size_t N>
ObjectSize by_variation(const uint8_t (&sizes)[N], uint8_t variation) {
  if (variation == 0 || variation > N) return unknown();
  return fixed(sizes[variation - 1]);
}

// Counters and their events: flag + 32/16-bit value (+ 48-bit time for the "with time" variations).
constexpr uint8_t kCounter[] = {5, 3, 5, 3, 4, 2, 4, 2};                     // g20 (A.10)
constexpr uint8_t kFrozenCounter[] = {5, 3, 5, 3, 11, 9, 11, 9, 4, 2, 4, 2};  // g21 (A.11)
constexpr uint8_t kCounterEvent[] = {5, 3, 5, 3, 11, 9, 11, 9};               // g22, g23 (A.12, A.13)
constexpr uint8_t kAnalogInput[] = {5, 3, 4, 2, 5, 9};                        // g30 (A.14)
constexpr uint8_t kFrozenAnalog[] = {5, 3, 11, 9, 4, 2, 5, 9};                // g31 (A.15)
constexpr uint8_t kAnalogEvent[] = {5, 3, 11, 9, 5, 9, 11, 15};               // g32, g33, g42, g43
constexpr uint8_t kDeadband[] = {2, 4, 4};                                    // g34 (A.18)
constexpr uint8_t kAnalogOutputStatus[] = {5, 3, 5, 9};                       // g40 (A.22)
constexpr uint8_t kAnalogOutputBlock[] = {5, 3, 5, 9};                        // g41 (A.23)
constexpr uint8_t kTime[] = {6, 10, 6, 11};                                   // g50 (A.27)

}  // namespace

ObjectSize object_size(uint8_t group, uint8_t variation, uint8_t function) {
  if (group == 60) return {SizeKind::None, 0};  // class data is named, never carried (A.31)
  if (!function_carries_data(function, group)) return {SizeKind::None, 0};
  switch (group) {
    case 1:  // binary input: packed, or one flags octet
    case 10:  // binary output status
      return variation == 1 ? packed(1) : variation == 2 ? fixed(1) : unknown();
    case 3:  // double-bit binary input: two bits per point, or flags
      return variation == 1 ? packed(2) : variation == 2 ? fixed(1) : unknown();
    case 2:  // binary input event: flags, + 48-bit absolute time, + 16-bit relative time
    case 4:  // double-bit binary input event
      return variation == 1 ? fixed(1) : variation == 2 ? fixed(7) : variation == 3 ? fixed(3) : unknown();
    case 11:  // binary output event
    case 13:  // binary output command event
      return variation == 1 ? fixed(1) : variation == 2 ? fixed(7) : unknown();
    case 12:  // CROB / PCB (11 octets), pattern mask (packed)
      return variation == 1 || variation == 2 ? fixed(11) : variation == 3 ? packed(1) : unknown();
    case 20: return by_variation(kCounter, variation);
    case 21: return by_variation(kFrozenCounter, variation);
    case 22:
    case 23: return by_variation(kCounterEvent, variation);
    case 30: return by_variation(kAnalogInput, variation);
    case 31: return by_variation(kFrozenAnalog, variation);
    case 32:
    case 33:
    case 42:
    case 43: return by_variation(kAnalogEvent, variation);
    case 34: return by_variation(kDeadband, variation);
    case 40: return by_variation(kAnalogOutputStatus, variation);
    case 41: return by_variation(kAnalogOutputBlock, variation);
    case 50: return by_variation(kTime, variation);
    case 51: return variation == 1 || variation == 2 ? fixed(6) : unknown();  // common time of occurrence
    case 52: return variation == 1 || variation == 2 ? fixed(2) : unknown();  // time delay, s or ms
    case 80: return variation == 1 ? packed(1) : unknown();                   // internal indications
    // Octet strings and virtual terminal data: the variation is the object's length (A.35-A.38).
    case 110:
    case 111:
    case 112:
    case 113: return variation == 0 ? unknown() : fixed(variation);
    // Secure authentication (A.45): most variations are free-format (size prefixed, qualifier 0x5B);
    // the aggressive-mode request (v3: CSQ + user) and session key status request (v4: user) are fixed.
    case 120: return variation == 3 ? fixed(6) : variation == 4 ? fixed(2) : unknown();
    default: return unknown();
  }
}

size_t ObjectHeader::prefix_size() const {
  switch (prefix_code()) {
    case 1: case 4: return 1;
    case 2: case 5: return 2;
    case 3: case 6: return 4;
    default: return 0;
  }
}

namespace {

bool read_le(ByteReader& r, size_t n, uint32_t& v) {
  uint8_t b8 = 0;
  uint16_t b16 = 0;
  switch (n) {
    case 1:
      if (!r.u8(b8)) return false;
      v = b8;
      return true;
    case 2:
      if (!r.u16le(b16)) return false;
      v = b16;
      return true;
    case 4: return r.u32le(v);
    default: v = 0; return true;
  }
}

}  // namespace

bool ObjectWalker::next(ObjectHeader& h) {
  if (status_ != WalkStatus::Ok) return false;
  ByteReader r(data_.subspan(pos_));
  if (r.empty()) {
    status_ = WalkStatus::End;
    return false;
  }
  ObjectHeader out;
  if (!r.u8(out.group) || !r.u8(out.variation) || !r.u8(out.qualifier)) {
    status_ = WalkStatus::Truncated;
    return false;
  }
  // Qualifier bit 7 is reserved (§4.2.2.7.2); prefix code 7 and range codes 0xA, 0xC-0xF are reserved.
  const uint8_t range = out.range_code();
  if ((out.qualifier & 0x80) || out.prefix_code() == 7 || range == 0x0a || range > 0x0b) {
    status_ = WalkStatus::BadQualifier;
    return false;
  }
  // Range field (§4.2.2.7.3): codes 0-2 start/stop indexes, 3-5 start/stop virtual addresses, each 1, 2
  // or 4 octets; 6 no range; 7-9 a count of 1, 2 or 4 octets; 0xB a 1-octet count of free-format objects.
  static constexpr uint8_t kWidth[] = {1, 2, 4, 1, 2, 4, 0, 1, 2, 4, 0, 1};
  const size_t width = kWidth[range];
  if (range <= 5) {
    if (!read_le(r, width, out.start) || !read_le(r, width, out.stop)) {
      status_ = WalkStatus::Truncated;
      return false;
    }
    if (out.stop < out.start) {
      status_ = WalkStatus::BadRange;
      return false;
    }
    out.has_range = true;
    out.count = uint64_t{out.stop} - out.start + 1;
  } else if (range != 6) {
    uint32_t n = 0;
    if (!read_le(r, width, n)) {
      status_ = WalkStatus::Truncated;
      return false;
    }
    out.has_count = true;
    out.count = n;
  }

  const size_t prefix = out.prefix_size();
  out.size = out.prefix_code() >= 4 ? ObjectSize{SizeKind::PrefixSized, 0} : object_size(out.group, out.variation, function_);
  // Packed points are addressed by range alone; an index prefix on them has no defined layout.
  if (out.size.kind == SizeKind::Packed && prefix != 0) out.size = unknown();
  // No objects (qualifier 0x06 "all", or a zero count): nothing to size, whatever the type.
  if (out.count == 0 && out.size.kind == SizeKind::Unknown) out.size = ObjectSize{SizeKind::None, 0};

  const size_t body_at = r.pos();
  uint64_t body = 0;
  switch (out.size.kind) {
    case SizeKind::None: body = out.count * prefix; break;
    case SizeKind::Fixed: body = out.count * (prefix + out.size.size); break;
    case SizeKind::Packed: body = (out.count * out.size.size + 7) / 8; break;
    case SizeKind::PrefixSized: {
      // Each object: its size, then that many octets. Walk them to find the end.
      for (uint64_t i = 0; i < out.count; ++i) {
        uint32_t len = 0;
        if (!read_le(r, prefix, len) || !r.skip(len)) {
          status_ = WalkStatus::Truncated;
          return false;
        }
      }
      body = r.pos() - body_at;
      break;
    }
    case SizeKind::Unknown:
      pos_ += body_at;
      status_ = WalkStatus::UnknownSize;
      h = out;
      return true;
  }
  // `count` may be up to 2^32 and the sizes small, so the product fits in 64 bits.
  if (body > r.size() - body_at) {
    status_ = WalkStatus::Truncated;
    return false;
  }
  out.body = data_.subspan(pos_ + body_at, static_cast<size_t>(body));
  pos_ += body_at + static_cast<size_t>(body);
  h = out;
  return true;
}

bool ObjectItems::next(ObjectItem& out) {
  const ObjectHeader& h = h_;
  // Header-only objects without prefixes have nothing to iterate (and their count is unbounded).
  if (h.size.kind == SizeKind::Unknown || (h.size.kind == SizeKind::None && h.prefix_size() == 0)) return false;
  if (h.size.kind == SizeKind::Packed) {
    if (n_ > 0 || h.body.empty()) return false;
    n_ = 1;
    out = ObjectItem{h.has_range, h.start, h.body};
    return true;
  }
  if (n_ >= h.count) return false;
  ByteReader r(h.body.subspan(pos_));
  ObjectItem item;
  const size_t prefix = h.prefix_size();
  uint32_t p = 0;
  if (prefix && !read_le(r, prefix, p)) return false;
  size_t len = 0;
  if (h.index_prefixed()) {
    item.has_index = true;
    item.index = p;
  } else if (h.has_range) {
    item.has_index = true;
    item.index = static_cast<uint32_t>(h.start + n_);
  }
  if (h.size.kind == SizeKind::Fixed) len = h.size.size;
  if (h.size.kind == SizeKind::PrefixSized) len = p;
  if (!r.bytes(len, item.data)) return false;
  pos_ += r.pos();
  ++n_;
  out = item;
  return true;
}

bool parse_control_block(std::span<const uint8_t> data, ControlBlock& out) {
  ByteReader r(data);
  ControlBlock b;
  if (!r.u8(b.control_code) || !r.u8(b.count) || !r.u32le(b.on_time) || !r.u32le(b.off_time) ||
      !r.u8(b.status)) {
    return false;
  }
  out = b;
  return true;
}

bool parse_analog_output(uint8_t variation, std::span<const uint8_t> data, AnalogOutput& out) {
  ByteReader r(data);
  AnalogOutput a;
  switch (variation) {
    case 1: {
      uint32_t v = 0;
      if (!r.u32le(v)) return false;
      a.int_value = static_cast<int32_t>(v);
      break;
    }
    case 2: {
      uint16_t v = 0;
      if (!r.u16le(v)) return false;
      a.int_value = static_cast<int16_t>(v);
      break;
    }
    case 3: {
      uint32_t v = 0;
      if (!r.u32le(v)) return false;
      float f;
      std::memcpy(&f, &v, sizeof f);
      a.is_float = true;
      a.float_value = f;
      break;
    }
    case 4: {
      uint32_t lo = 0, hi = 0;
      if (!r.u32le(lo) || !r.u32le(hi)) return false;
      const uint64_t v = (uint64_t{hi} << 32) | lo;
      double d;
      std::memcpy(&d, &v, sizeof d);
      a.is_float = true;
      a.float_value = d;
      break;
    }
    default: return false;
  }
  if (!r.u8(a.status)) return false;
  out = a;
  return true;
}

}  // namespace ots::dnp3
