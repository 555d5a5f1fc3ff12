// The EtherNet/IP encapsulation wire grammar, bytes → structs: the 24-byte encapsulation header, the
// command-specific data of every command, Common Packet Format items, the ListIdentity, ListServices and
// socket address items, and the UDP class 0/1 I/O packet. Pure: no state, no allocation, no exceptions;
// every read is bounds checked (ByteReader) and every view points into the caller's bytes. CIP itself (the
// message router PDUs carried in the data items) is cip_parser.hpp's.
//
// Section numbers are from The CIP Networks Library, Volume 2: EtherNet/IP Adaptation of CIP (ODVA),
// chapter 2 "Encapsulation Protocol" (§2-3 header, §2-4 commands, §2-6 Common Packet Format) and
// chapter 3 for the class 0/1 I/O framing over UDP (§3-2.2). Everything is little endian except the
// socket address items, which are big endian (network order, §2-6.3.2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::enip {

// ---------------------------------------------------------------------------------------------------
// Encapsulation header (§2-3.1)
// ---------------------------------------------------------------------------------------------------

inline constexpr size_t kHeaderSize = 24;
// The length field counts the command-specific data after the header; §2-3.1 caps a message at 65535
// bytes in all, so the data is at most 65511 bytes.
inline constexpr size_t kMaxDataLength = 65535 - kHeaderSize;
inline constexpr size_t kMaxMessageSize = kHeaderSize + kMaxDataLength;

// Commands (§2-3.2, Table 2-3.2). 0x0001-0x0003, 0x0005-0x0062, 0x0067-0x006E, 0x0071 and
// 0x0074-0x00C7 are reserved for legacy (pre-ODVA) use; 0x00C8 and above are reserved for the future.
enum Command : uint16_t {
  kNop = 0x0000,
  kListServices = 0x0004,
  kListIdentity = 0x0063,
  kListInterfaces = 0x0064,
  kRegisterSession = 0x0065,
  kUnRegisterSession = 0x0066,
  kSendRRData = 0x006F,
  kSendUnitData = 0x0070,
  kIndicateStatus = 0x0072,
  kCancel = 0x0073,
};
inline constexpr Command kCommands[] = {kNop, kListServices, kListIdentity, kListInterfaces, kRegisterSession,
                                        kUnRegisterSession, kSendRRData, kSendUnitData, kIndicateStatus, kCancel};
// Every command is below 0x100 (Table 2-3.2): a table of low bytes answers is_known_command, and the resync
// scan (next_command_candidate) looks for a zero high byte after a low byte the table marks.
static_assert([] {
  for (Command c : kCommands) {
    if (c > 0xFF) return false;
  }
  return true;
}(), "a command past 0x00FF: is_known_command's table and next_command_candidate's high-byte test no longer hold");
inline constexpr auto kKnownCommandLow = [] {
  std::array<bool, 256> t{};
  for (Command c : kCommands) t[c] = true;
  return t;
}();
// One of the commands above.
constexpr bool is_known_command(uint16_t command) { return command <= 0xFF && kKnownCommandLow[command]; }
// Below 0x00C8: a defined or legacy command (what an in-step stream may carry).
inline bool is_defined_range(uint16_t command) { return command < 0x00C8; }

// Encapsulation status codes (§2-3.3, Table 2-3.3).
enum Status : uint32_t {
  kSuccess = 0x0000,
  kInvalidCommand = 0x0001,
  kInsufficientMemory = 0x0002,
  kIncorrectData = 0x0003,
  kInvalidSessionHandle = 0x0064,
  kInvalidLength = 0x0065,
  kUnsupportedProtocolRevision = 0x0069,
  kCipServiceNotAllowed = 0x006A,
};
bool is_known_status(uint32_t status);

// The header's sender context (Vol 2 §2-3.1): opaque bytes the target echoes in its reply.
inline constexpr size_t kSenderContextSize = 8;

struct Header {
  uint16_t command = 0;
  uint16_t length = 0;  // bytes of command-specific data after the header
  uint32_t session = 0;
  uint32_t status = 0;
  std::span<const uint8_t> sender_context;  // kSenderContextSize bytes
  uint32_t options = 0;                     // "shall be zero" (§2-3.1); a receiver drops the message otherwise
  size_t message_size() const { return kHeaderSize + length; }
};

// Reads the header at the start of `bytes`; false when fewer than kHeaderSize bytes are there.
bool parse_header(std::span<const uint8_t> bytes, Header& out);

// Could a message start at `bytes`? Used to find the next header after a gap or garbage, and to decide
// whether a flow on the EtherNet/IP ports is EtherNet/IP at all: a known command other than NOP (24
// zero bytes would be a NOP), a known status, zero options, and the command's fixed fields where it has
// them (RegisterSession carries 4 bytes,
// UnRegisterSession none, SendRRData/SendUnitData an interface handle of 0 for CIP and a short item
// count). `needed` receives the bytes it must see to decide when the answer is NeedMore.
enum class Plausible : uint8_t { No, NeedMore, Yes };
Plausible plausible_message_start(std::span<const uint8_t> bytes, size_t& needed);
// The first offset from `from` on where plausible_message_start can say other than No (a known command
// other than NOP starts there, or fewer than two bytes are left), or bytes.size(). A resync scan asks
// plausible_message_start only there: most offsets fail on their command, and a call for each was 2% of
// the worker's instructions on CIP-heavy traffic.
size_t next_command_candidate(std::span<const uint8_t> bytes, size_t from);

// ---------------------------------------------------------------------------------------------------
// Common Packet Format (§2-6): item count, then items of type id, length, data.
// ---------------------------------------------------------------------------------------------------

enum ItemType : uint16_t {
  kItemNullAddress = 0x0000,        // §2-6.2.1: unconnected messages
  kItemListIdentity = 0x000C,       // §2-4.2.3: CIP Identity item of a ListIdentity reply
  kItemCipSecurity = 0x0086,        // CIP Security information (ListIdentity reply)
  kItemEnipCapability = 0x0087,     // EtherNet/IP capability (ListIdentity reply)
  kItemConnectedAddress = 0x00A1,   // §2-6.2.2: connection identifier
  kItemConnectedData = 0x00B1,      // §2-6.3.1: connected transport packet
  kItemUnconnectedData = 0x00B2,    // §2-6.3.1: unconnected message
  kItemListServices = 0x0100,       // §2-4.6.3: communications service of a ListServices reply
  kItemSockaddrOT = 0x8000,         // §2-6.3.2: socket address info, originator → target
  kItemSockaddrTO = 0x8001,         // §2-6.3.2: socket address info, target → originator
  kItemSequencedAddress = 0x8002,   // §2-6.2.3: connection identifier and sequence number
  kItemUnconnectedDtls = 0x8003,    // unconnected message over UDP/DTLS
};
bool is_known_item(uint16_t type);

struct CpfItem {
  uint16_t type = 0;
  std::span<const uint8_t> data;
};

// Walks the items of a Common Packet Format block. next() fails at the end and on truncation; error()
// tells the two apart. Items beyond the bytes the count promised, and bytes after the last item, are
// errors too (trailing()).
class CpfItems {
 public:
  explicit CpfItems(std::span<const uint8_t> cpf);
  bool next(CpfItem& out);
  uint16_t count() const { return count_; }
  bool error() const { return error_; }
  // Bytes left after the last item (once next() returned false without error).
  size_t trailing() const { return rest_.size(); }

 private:
  std::span<const uint8_t> rest_;
  uint16_t count_ = 0;
  uint16_t seen_ = 0;
  bool error_ = false;
};

// SendRRData and SendUnitData data (§2-4.7.1, §2-4.8.1): interface handle (0 for CIP), timeout, CPF.
struct SendData {
  uint32_t interface_handle = 0;
  uint16_t timeout = 0;
  std::span<const uint8_t> cpf;
};
bool parse_send_data(std::span<const uint8_t> data, SendData& out);

// RegisterSession data (§2-4.4.1): protocol version (1) and options flags (0). Exactly 4 bytes.
struct RegisterSession {
  uint16_t protocol_version = 0;
  uint16_t options = 0;
};
bool parse_register_session(std::span<const uint8_t> data, RegisterSession& out);

// Socket address info (§2-6.3.2): sin_family, sin_port, sin_addr, sin_zero[8], all big endian.
inline constexpr size_t kSockaddrSize = 16;
struct Sockaddr {
  int16_t family = 0;   // AF_INET = 2
  uint16_t port = 0;
  uint32_t addr = 0;    // host order after the big-endian read
};
bool parse_sockaddr(std::span<const uint8_t> data, Sockaddr& out);

// The CIP Identity item of a ListIdentity reply (§2-4.2.3, Table 2-4.4): encapsulation version, socket
// address, then the Identity object's attributes 1-7 (CIP Vol 1 §5A-2.2) and its state (attribute 8).
struct Identity {
  uint16_t encapsulation_version = 0;
  Sockaddr socket;
  uint16_t vendor_id = 0;
  uint16_t device_type = 0;
  uint16_t product_code = 0;
  uint8_t revision_major = 0;
  uint8_t revision_minor = 0;
  uint16_t status = 0;
  uint32_t serial_number = 0;
  std::span<const uint8_t> product_name;  // SHORT_STRING: length byte then characters
  uint8_t state = 0;
  bool has_state = false;  // some devices end the item after the product name
};
bool parse_identity(std::span<const uint8_t> data, Identity& out);

// A ListServices reply's service item (§2-4.6.3): version, capability flags, 16-byte NUL-padded name.
struct ServiceItem {
  uint16_t version = 0;
  uint16_t capability = 0;
  std::span<const uint8_t> name;  // up to the first NUL
};
bool parse_service_item(std::span<const uint8_t> data, ServiceItem& out);

// Connected address item (§2-6.2.2): 4-byte connection identifier.
bool parse_connected_address(std::span<const uint8_t> data, uint32_t& connection_id);

// Sequenced address item (§2-6.2.3): connection identifier and encapsulation sequence number.
struct SequencedAddress {
  uint32_t connection_id = 0;
  uint32_t sequence = 0;
};
bool parse_sequenced_address(std::span<const uint8_t> data, SequencedAddress& out);

// Connected data item of a SendUnitData message (§2-6.3.1 with CIP Vol 1 §3-4.4.2): the transport
// class 3 sequence count, then the CIP message.
struct ConnectedData {
  uint16_t sequence_count = 0;
  std::span<const uint8_t> message;
};
bool parse_connected_data(std::span<const uint8_t> data, ConnectedData& out);

// ---------------------------------------------------------------------------------------------------
// Class 0/1 I/O over UDP 2222 (Vol 2 §3-2.2): a CPF block without an encapsulation header, holding a
// sequenced address item and a connected data item (sockaddr items may come along).
// ---------------------------------------------------------------------------------------------------

struct IoPacket {
  uint32_t connection_id = 0;
  uint32_t sequence = 0;
  std::span<const uint8_t> data;  // the connected data item (class 1: 16-bit sequence count first)
};
enum class IoStatus : uint8_t {
  Ok,
  Truncated,       // the CPF block or an item runs past the datagram
  NoSequenced,     // no sequenced address item
  NoData,          // no connected data item
};
IoStatus parse_io_packet(std::span<const uint8_t> datagram, IoPacket& out);

}  // namespace ots::enip
