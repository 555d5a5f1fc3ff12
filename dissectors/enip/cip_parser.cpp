#include "dissectors/enip/cip_parser.hpp"

#include "capture/byte_reader.hpp"

namespace ots::cip {

namespace {

// A logical value of format 0 (8-bit), 1 (16-bit) or 2 (32-bit) (C-1.4.2); padded paths put a pad byte
// between the segment type and a 16- or 32-bit value.
bool logical_value(ByteReader& r, uint8_t format, bool padded, int64_t& v) {
  if (format == 0) {
    uint8_t b = 0;
    if (!r.u8(b)) return false;
    v = b;
    return true;
  }
  if (padded && !r.skip(1)) return false;
  if (format == 1) {
    uint16_t w = 0;
    if (!r.u16le(w)) return false;
    v = w;
    return true;
  }
  uint32_t d = 0;
  if (!r.u32le(d)) return false;
  v = d;
  return true;
}

void first(int64_t& slot, int64_t v) {
  if (slot < 0) slot = v;
}

void note_symbol(Path& p, std::span<const uint8_t> name) {
  if (p.symbols == 0) p.symbol = name;
  if (p.symbols < 255) ++p.symbols;
}

// One segment at the reader's position. Returns Ok and advances, or an error.
PathStatus segment(ByteReader& r, Path& p, bool padded) {
  uint8_t seg = 0;
  if (!r.u8(seg)) return PathStatus::Truncated;
  const uint8_t type = seg >> 5;
  switch (type) {
    case 0: {  // port segment (C-1.3)
      const bool extended_size = (seg & 0x10) != 0;
      uint16_t port = seg & 0x0F;
      uint8_t size = 1;
      if (extended_size && !r.u8(size)) return PathStatus::Truncated;
      if (port == 15 && !r.u16le(port)) return PathStatus::Truncated;
      std::span<const uint8_t> link;
      if (!r.bytes(size, link)) return PathStatus::Truncated;
      // Padded: the segment (type, [size], [port], address) is padded to an even length.
      const size_t seg_len = 1 + (extended_size ? 1 : 0) + ((seg & 0x0F) == 15 ? 2 : 0) + size;
      if (padded && (seg_len & 1) && !r.skip(1)) return PathStatus::Truncated;
      if (p.port < 0) {
        p.port = port;
        p.link_address = link;
      }
      return PathStatus::Ok;
    }
    case 1: {  // logical segment (C-1.4.2)
      const uint8_t logical = (seg >> 2) & 0x07;
      const uint8_t format = seg & 0x03;
      if (logical == 5) {
        // Special: format 0 is the electronic key, key format 4 (C-1.4.2, Table C-1.5).
        uint8_t key_format = 0;
        if (format != 0) return PathStatus::BadSegment;
        if (!r.u8(key_format)) return PathStatus::Truncated;
        if (key_format != 4) return PathStatus::BadSegment;
        ElectronicKey k;
        if (!r.u16le(k.vendor_id) || !r.u16le(k.device_type) || !r.u16le(k.product_code) ||
            !r.u8(k.major_revision) || !r.u8(k.minor_revision))
          return PathStatus::Truncated;
        if (!p.has_key) {
          p.has_key = true;
          p.key = k;
        }
        return PathStatus::Ok;
      }
      if (logical == 6) {  // service id: 8-bit only
        int64_t v = 0;
        if (format != 0) return PathStatus::BadSegment;
        if (!logical_value(r, 0, padded, v)) return PathStatus::Truncated;
        first(p.service_id, v);
        return PathStatus::Ok;
      }
      if (logical == 7 || format == 3) return PathStatus::BadSegment;  // extended logical / reserved format
      int64_t v = 0;
      if (!logical_value(r, format, padded, v)) return PathStatus::Truncated;
      switch (logical) {
        case 0: first(p.class_id, v); break;
        case 1: first(p.instance_id, v); break;
        case 2: first(p.member_id, v); break;
        case 3: first(p.connection_point, v); break;
        case 4: first(p.attribute_id, v); break;
        default: break;
      }
      return PathStatus::Ok;
    }
    case 2: {  // network segment (C-1.4.3): 0x4X one data byte; 0x5X a word count then the words
      if ((seg & 0x10) == 0) return r.skip(1) ? PathStatus::Ok : PathStatus::Truncated;
      uint8_t words = 0;
      if (!r.u8(words)) return PathStatus::Truncated;
      return r.skip(size_t{words} * 2) ? PathStatus::Ok : PathStatus::Truncated;
    }
    case 3: {  // symbolic segment (C-1.4.4)
      size_t len = seg & 0x1F;
      size_t header = 1;
      if (len == 0) {
        // Extended format: a second byte gives the character width (double/triple byte) or a numeric
        // symbol's size.
        uint8_t ext = 0;
        if (!r.u8(ext)) return PathStatus::Truncated;
        ++header;
        const uint8_t kind = ext >> 5;
        const uint8_t n = ext & 0x1F;
        if (kind == 1) len = size_t{n} * 2;
        else if (kind == 2) len = size_t{n} * 3;
        else if (kind == 6 && n == 6) len = 1;
        else if (kind == 6 && n == 7) len = 2;
        else if (kind == 6 && n == 8) len = 4;
        else return PathStatus::BadSegment;
      }
      std::span<const uint8_t> name;
      if (!r.bytes(len, name)) return PathStatus::Truncated;
      if (padded && ((header + len) & 1) && !r.skip(1)) return PathStatus::Truncated;
      note_symbol(p, name);
      return PathStatus::Ok;
    }
    case 4: {  // data segment (C-1.5)
      if (seg == 0x80) {  // simple data: a word count then the words
        uint8_t words = 0;
        if (!r.u8(words)) return PathStatus::Truncated;
        return r.skip(size_t{words} * 2) ? PathStatus::Ok : PathStatus::Truncated;
      }
      if (seg == 0x91) {  // ANSI extended symbol: length, characters, pad to even
        uint8_t len = 0;
        std::span<const uint8_t> name;
        if (!r.u8(len)) return PathStatus::Truncated;
        if (!r.bytes(len, name)) return PathStatus::Truncated;
        if (padded && (len & 1) && !r.skip(1)) return PathStatus::Truncated;
        note_symbol(p, name);
        return PathStatus::Ok;
      }
      return PathStatus::BadSegment;
    }
    default:  // data type segments (5, 6) do not address anything; 7 is reserved
      return PathStatus::BadSegment;
  }
}

}  // namespace

PathStatus parse_path(std::span<const uint8_t> epath, Path& out, bool padded) {
  ByteReader r(epath);
  out = Path{};  // read into in place: a local path copied out cost a third of the walk
  PathStatus st = PathStatus::Ok;
  while (!r.empty()) {
    st = segment(r, out, padded);
    if (st != PathStatus::Ok) break;
    ++out.segments;
  }
  return st;
}

int32_t Response::extended_status() const {
  ByteReader r(additional_status);
  uint16_t w = 0;
  return r.u16le(w) ? int32_t{w} : -1;
}

MessageStatus parse_message(std::span<const uint8_t> bytes, Message& out) {
  out = Message{};
  ByteReader r(bytes);
  uint8_t service = 0;
  if (!r.u8(service)) return MessageStatus::Empty;
  if (service & kReplyBit) {
    out.is_response = true;
    Response& rsp = out.response;
    rsp.service = service;
    uint8_t reserved = 0, words = 0;
    if (!r.u8(reserved) || !r.u8(rsp.general_status) || !r.u8(words) ||
        !r.bytes(size_t{words} * 2, rsp.additional_status))
      return MessageStatus::Truncated;
    rsp.data = r.rest();
    return MessageStatus::Ok;
  }
  Request& req = out.request;
  req.service = service;
  uint8_t words = 0;
  if (!r.u8(words) || !r.bytes(size_t{words} * 2, req.path_bytes)) return MessageStatus::Truncated;
  req.path_status = parse_path(req.path_bytes, req.path);
  req.data = r.rest();
  if (req.path_status == PathStatus::Truncated) return MessageStatus::Truncated;
  if (req.path_status == PathStatus::BadSegment) return MessageStatus::BadPath;
  return MessageStatus::Ok;
}

MultipleServices::MultipleServices(std::span<const uint8_t> data) : data_(data) {
  ByteReader r(data);
  if (!r.u16le(count_) || r.remaining() < size_t{count_} * 2) {
    error_ = true;
    count_ = 0;
  }
}

uint16_t MultipleServices::offset_at(uint16_t i) const {
  const size_t at = 2 + size_t{i} * 2;
  return static_cast<uint16_t>(data_[at] | (data_[at + 1] << 8));
}

bool MultipleServices::next(std::span<const uint8_t>& service) {
  if (error_ || index_ >= count_) return false;
  // Offsets count from the start of the service count and must point past the offset table.
  const size_t table_end = 2 + size_t{count_} * 2;
  const size_t begin = offset_at(index_);
  const size_t end = index_ + 1 < count_ ? offset_at(static_cast<uint16_t>(index_ + 1)) : data_.size();
  if (begin < table_end || begin > end || end > data_.size()) {
    error_ = true;
    return false;
  }
  service = data_.subspan(begin, end - begin);
  ++index_;
  return true;
}

namespace {

bool read_triad(ByteReader& r, ConnectionTriad& t) {
  return r.u16le(t.connection_serial) && r.u16le(t.vendor_id) && r.u32le(t.originator_serial);
}

// A path given as a word count byte, (for some services) a reserved byte, then the words.
bool read_sized_path(ByteReader& r, bool reserved_byte, std::span<const uint8_t>& bytes, Path& path,
                     PathStatus& status) {
  uint8_t words = 0;
  if (!r.u8(words)) return false;
  if (reserved_byte && !r.skip(1)) return false;
  if (!r.bytes(size_t{words} * 2, bytes)) return false;
  status = parse_path(bytes, path);
  return true;
}

}  // namespace

bool parse_unconnected_send(std::span<const uint8_t> data, UnconnectedSend& out) {
  ByteReader r(data);
  UnconnectedSend u;
  uint16_t size = 0;
  if (!r.u8(u.priority_tick) || !r.u8(u.timeout_ticks) || !r.u16le(size) || !r.bytes(size, u.request))
    return false;
  // A pad byte keeps the route path word aligned after an odd-sized request.
  if ((size & 1) && !r.skip(1)) return false;
  if (!read_sized_path(r, true, u.route_path_bytes, u.route, u.route_status)) return false;
  out = u;
  return true;
}

bool parse_forward_open_request(std::span<const uint8_t> data, bool large, ForwardOpenRequest& out) {
  ByteReader r(data);
  ForwardOpenRequest f;
  f.large = large;
  if (!r.u8(f.priority_tick) || !r.u8(f.timeout_ticks) || !r.u32le(f.ot_connection_id) ||
      !r.u32le(f.to_connection_id) || !read_triad(r, f.triad) || !r.u8(f.timeout_multiplier) || !r.skip(3) ||
      !r.u32le(f.ot_rpi_us))
    return false;
  if (large) {
    if (!r.u32le(f.ot_parameters) || !r.u32le(f.to_rpi_us) || !r.u32le(f.to_parameters)) return false;
  } else {
    uint16_t ot = 0, to = 0;
    if (!r.u16le(ot) || !r.u32le(f.to_rpi_us) || !r.u16le(to)) return false;
    f.ot_parameters = ot;
    f.to_parameters = to;
  }
  if (!r.u8(f.transport_trigger)) return false;
  if (!read_sized_path(r, false, f.connection_path_bytes, f.connection_path, f.path_status)) return false;
  out = f;
  return true;
}

uint32_t connection_size(uint32_t parameters, bool large) {
  return large ? (parameters & 0xFFFF) : (parameters & 0x01FF);
}

uint8_t connection_type(uint32_t parameters, bool large) {
  return static_cast<uint8_t>(large ? (parameters >> 29) & 0x3 : (parameters >> 13) & 0x3);
}

bool parse_forward_open_reply(std::span<const uint8_t> data, ForwardOpenReply& out) {
  ByteReader r(data);
  ForwardOpenReply f;
  uint8_t words = 0;
  if (!r.u32le(f.ot_connection_id) || !r.u32le(f.to_connection_id) || !read_triad(r, f.triad) ||
      !r.u32le(f.ot_api_us) || !r.u32le(f.to_api_us) || !r.u8(words) || !r.skip(1) ||
      !r.bytes(size_t{words} * 2, f.application_reply))
    return false;
  out = f;
  return true;
}

bool parse_connection_failure(std::span<const uint8_t> data, ConnectionFailure& out) {
  ByteReader r(data);
  ConnectionFailure f;
  if (!read_triad(r, f.triad)) return false;
  f.has_remaining_path_size = r.u8(f.remaining_path_size);
  out = f;
  return true;
}

bool parse_forward_close_request(std::span<const uint8_t> data, ForwardCloseRequest& out) {
  ByteReader r(data);
  ForwardCloseRequest f;
  if (!r.u8(f.priority_tick) || !r.u8(f.timeout_ticks) || !read_triad(r, f.triad)) return false;
  if (!read_sized_path(r, true, f.connection_path_bytes, f.connection_path, f.path_status)) return false;
  out = f;
  return true;
}

bool parse_forward_close_reply(std::span<const uint8_t> data, ForwardCloseReply& out) {
  ByteReader r(data);
  ForwardCloseReply f;
  uint8_t words = 0;
  if (!read_triad(r, f.triad) || !r.u8(words) || !r.skip(1) || !r.bytes(size_t{words} * 2, f.application_reply))
    return false;
  out = f;
  return true;
}

}  // namespace ots::cip
