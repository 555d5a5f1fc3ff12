#include "dissectors/enip/enip_parser.hpp"

#include <array>

#include "capture/byte_reader.hpp"

namespace ots::enip {

bool is_known_status(uint32_t status) {
  switch (status) {
    case kSuccess: case kInvalidCommand: case kInsufficientMemory: case kIncorrectData:
    case kInvalidSessionHandle: case kInvalidLength: case kUnsupportedProtocolRevision: case kCipServiceNotAllowed:
      return true;
    default:
      return false;
  }
}

bool is_known_item(uint16_t type) {
  switch (type) {
    case kItemNullAddress: case kItemListIdentity: case kItemCipSecurity: case kItemEnipCapability:
    case kItemConnectedAddress: case kItemConnectedData: case kItemUnconnectedData: case kItemListServices:
    case kItemSockaddrOT: case kItemSockaddrTO: case kItemSequencedAddress: case kItemUnconnectedDtls:
      return true;
    default:
      return false;
  }
}

bool parse_header(std::span<const uint8_t> bytes, Header& out) {
  ByteReader r(bytes);
  Header h;
  if (!r.u16le(h.command) || !r.u16le(h.length) || !r.u32le(h.session) || !r.u32le(h.status) ||
      !r.bytes(kSenderContextSize, h.sender_context) || !r.u32le(h.options))
    return false;
  out = h;
  return true;
}

namespace {

// A plausible start is a zero high byte after a low byte this table marks: the known commands but NOP.
constexpr auto kCandidateLowBytes = [] {
  std::array<bool, 256> t = kKnownCommandLow;
  t[kNop] = false;
  return t;
}();

}  // namespace

size_t next_command_candidate(std::span<const uint8_t> bytes, size_t from) {
  const size_t n = bytes.size();
  if (from >= n) return n;
  for (size_t i = from; i + 1 < n; ++i) {
    if (bytes[i + 1] == 0 && kCandidateLowBytes[bytes[i]]) return i;
  }
  return n - 1;  // one byte left: too few to refuse
}

Plausible plausible_message_start(std::span<const uint8_t> bytes, size_t& needed) {
  needed = kHeaderSize;
  // Reject as early as the bytes allow, so a scan over garbage moves on without waiting for more data.
  if (bytes.size() >= 2) {
    const uint16_t command = static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
    // NOP is no resynchronisation point: any 24 zero bytes would be one.
    if (!is_known_command(command) || command == kNop) return Plausible::No;
  }
  if (bytes.size() >= 12) {
    const uint32_t status = uint32_t{bytes[8]} | (uint32_t{bytes[9]} << 8) | (uint32_t{bytes[10]} << 16) |
                            (uint32_t{bytes[11]} << 24);
    if (!is_known_status(status)) return Plausible::No;
  }
  Header h;
  if (!parse_header(bytes, h)) {
    // Options (bytes 20-23) are checked once they are all there.
    return Plausible::NeedMore;
  }
  if (h.options != 0) return Plausible::No;
  switch (h.command) {
    case kRegisterSession:
      return h.length == 4 ? Plausible::Yes : Plausible::No;
    case kUnRegisterSession:
      return h.length == 0 ? Plausible::Yes : Plausible::No;
    case kSendRRData:
    case kSendUnitData: {
      // An error reply may carry no data at all (§2-3.3); a successful message has at least the
      // interface handle, timeout and item count, the handle is 0 for CIP (§2-4.7.1), and real traffic
      // carries two items (address and data), a few more with sockaddr items.
      if (h.status != kSuccess && h.length == 0) return Plausible::Yes;
      if (h.length < 8) return Plausible::No;
      needed = kHeaderSize + 8;
      if (bytes.size() < needed) return Plausible::NeedMore;
      ByteReader r(bytes.subspan(kHeaderSize, 8));
      uint32_t handle = 0;
      uint16_t timeout = 0, count = 0;
      r.u32le(handle);
      r.u16le(timeout);
      r.u16le(count);
      return handle == 0 && count >= 1 && count <= 8 ? Plausible::Yes : Plausible::No;
    }
    default:
      return Plausible::Yes;
  }
}

CpfItems::CpfItems(std::span<const uint8_t> cpf) {
  ByteReader r(cpf);
  if (!r.u16le(count_)) {
    error_ = true;
    return;
  }
  rest_ = r.rest();
}

bool CpfItems::next(CpfItem& out) {
  if (error_ || seen_ >= count_) return false;
  ByteReader r(rest_);
  uint16_t type = 0, len = 0;
  std::span<const uint8_t> data;
  if (!r.u16le(type) || !r.u16le(len) || !r.bytes(len, data)) {
    error_ = true;
    return false;
  }
  ++seen_;
  rest_ = r.rest();
  out.type = type;
  out.data = data;
  return true;
}

bool parse_send_data(std::span<const uint8_t> data, SendData& out) {
  ByteReader r(data);
  SendData s;
  if (!r.u32le(s.interface_handle) || !r.u16le(s.timeout) || r.remaining() < 2) return false;
  s.cpf = r.rest();
  out = s;
  return true;
}

bool parse_register_session(std::span<const uint8_t> data, RegisterSession& out) {
  ByteReader r(data);
  RegisterSession s;
  if (!r.u16le(s.protocol_version) || !r.u16le(s.options)) return false;
  out = s;
  return r.empty();
}

bool parse_sockaddr(std::span<const uint8_t> data, Sockaddr& out) {
  ByteReader r(data);
  uint16_t family = 0;
  Sockaddr s;
  if (!r.u16be(family) || !r.u16be(s.port) || !r.u32be(s.addr) || !r.skip(8)) return false;
  s.family = static_cast<int16_t>(family);
  out = s;
  return true;
}

bool parse_identity(std::span<const uint8_t> data, Identity& out) {
  ByteReader r(data);
  Identity id;
  std::span<const uint8_t> sock;
  uint8_t name_len = 0;
  if (!r.u16le(id.encapsulation_version) || !r.bytes(kSockaddrSize, sock) || !parse_sockaddr(sock, id.socket) ||
      !r.u16le(id.vendor_id) || !r.u16le(id.device_type) || !r.u16le(id.product_code) ||
      !r.u8(id.revision_major) || !r.u8(id.revision_minor) || !r.u16le(id.status) || !r.u32le(id.serial_number) ||
      !r.u8(name_len) || !r.bytes(name_len, id.product_name))
    return false;
  id.has_state = r.u8(id.state);
  out = id;
  return true;
}

bool parse_service_item(std::span<const uint8_t> data, ServiceItem& out) {
  ByteReader r(data);
  ServiceItem s;
  std::span<const uint8_t> name;
  if (!r.u16le(s.version) || !r.u16le(s.capability) || !r.bytes(16, name)) return false;
  size_t n = 0;
  while (n < name.size() && name[n] != 0) ++n;
  s.name = name.first(n);
  out = s;
  return true;
}

bool parse_connected_address(std::span<const uint8_t> data, uint32_t& connection_id) {
  ByteReader r(data);
  return data.size() == 4 && r.u32le(connection_id);
}

bool parse_sequenced_address(std::span<const uint8_t> data, SequencedAddress& out) {
  ByteReader r(data);
  SequencedAddress s;
  if (data.size() != 8 || !r.u32le(s.connection_id) || !r.u32le(s.sequence)) return false;
  out = s;
  return true;
}

bool parse_connected_data(std::span<const uint8_t> data, ConnectedData& out) {
  ByteReader r(data);
  ConnectedData d;
  if (!r.u16le(d.sequence_count)) return false;
  d.message = r.rest();
  out = d;
  return true;
}

IoStatus parse_io_packet(std::span<const uint8_t> datagram, IoPacket& out) {
  CpfItems items(datagram);
  CpfItem it;
  bool have_address = false, have_data = false;
  IoPacket p;
  while (items.next(it)) {
    if (it.type == kItemSequencedAddress && !have_address) {
      SequencedAddress a;
      if (!parse_sequenced_address(it.data, a)) return IoStatus::Truncated;
      p.connection_id = a.connection_id;
      p.sequence = a.sequence;
      have_address = true;
    } else if (it.type == kItemConnectedData && !have_data) {
      p.data = it.data;
      have_data = true;
    }
  }
  if (items.error()) return IoStatus::Truncated;
  if (!have_address) return IoStatus::NoSequenced;
  if (!have_data) return IoStatus::NoData;
  out = p;
  return IoStatus::Ok;
}

}  // namespace ots::enip
