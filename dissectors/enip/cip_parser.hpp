// The CIP wire grammar as EtherNet/IP carries it, bytes → structs: message router requests and
// responses, EPATHs, Multiple Service Packet, the Connection Manager's Unconnected Send, Forward Open,
// Large Forward Open and Forward Close. Pure: no state, no allocation, no exceptions; every read is
// bounds checked (ByteReader, little endian) and every view points into the caller's bytes.
//
// Section numbers are from The CIP Networks Library, Volume 1: Common Industrial Protocol (ODVA):
// §2-4 message router request/response format, Appendix A (A-4.10 Multiple_Service_Packet), Appendix C
// (C-1 segment types of the EPATH), §3-5.5 Connection Manager object-specific services (Forward_Open,
// Large_Forward_Open, Forward_Close, Unconnected_Send) and their reply formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::cip {

inline constexpr uint8_t kReplyBit = 0x80;  // §2-4.2: a reply's service is the request's with bit 7 set

// Services the parser and analyzer act on (Vol 1 Appendix A Table; §3-5.5 for the Connection
// Manager's object-specific ones).
enum Service : uint8_t {
  kGetAttributesAll = 0x01,
  kSetAttributesAll = 0x02,
  kGetAttributeList = 0x03,
  kSetAttributeList = 0x04,
  kReset = 0x05,
  kStart = 0x06,
  kStop = 0x07,
  kCreate = 0x08,
  kDelete = 0x09,
  kMultipleServicePacket = 0x0A,
  kApplyAttributes = 0x0D,
  kGetAttributeSingle = 0x0E,
  kSetAttributeSingle = 0x10,
  kFindNextObjectInstance = 0x11,
  // Connection Manager (class 0x06), §3-5.5.
  kForwardClose = 0x4E,
  kUnconnectedSend = 0x52,
  kForwardOpen = 0x54,
  kLargeForwardOpen = 0x5B,
};

// Object classes the analyzer treats specially (Vol 1 Table 5-1.1; 0x67 and 0x6B are Rockwell's).
inline constexpr uint32_t kClassIdentity = 0x01;
inline constexpr uint32_t kClassMessageRouter = 0x02;
inline constexpr uint32_t kClassConnectionManager = 0x06;
inline constexpr uint32_t kClassPccc = 0x67;
inline constexpr uint32_t kClassSymbol = 0x6B;
inline constexpr uint32_t kClassTemplate = 0x6C;

// ---------------------------------------------------------------------------------------------------
// EPATH (Appendix C)
// ---------------------------------------------------------------------------------------------------

// The electronic key segment (C-1.4.2, logical type "special", key format 4).
struct ElectronicKey {
  uint16_t vendor_id = 0;
  uint16_t device_type = 0;
  uint16_t product_code = 0;
  uint8_t major_revision = 0;  // bit 7: compatibility
  uint8_t minor_revision = 0;
};

// What a path addresses. The first segment of each logical kind wins (a request addresses one class,
// instance and attribute; later ones in a connection path name further application paths). -1: absent.
struct Path {
  int64_t class_id = -1;
  int64_t instance_id = -1;
  int64_t attribute_id = -1;
  int64_t member_id = -1;          // Logix: the array element index after a tag name
  int64_t connection_point = -1;
  int64_t service_id = -1;         // logical service id segment
  int32_t port = -1;               // first port segment (C-1.3): port number and its link address
  std::span<const uint8_t> link_address;
  std::span<const uint8_t> symbol;  // first symbolic (0x6x) or ANSI extended symbol (0x91) segment: a tag name
  uint8_t symbols = 0;             // symbolic segments seen
  bool has_key = false;
  ElectronicKey key;
  uint16_t segments = 0;
};

enum class PathStatus : uint8_t {
  Ok,
  Truncated,    // a segment runs past the path
  BadSegment,   // a reserved segment type or format
};

// Walks every segment of `epath`. Padded EPATHs (what EtherNet/IP uses: §2-4.1 "padded EPATH") have a
// pad byte after the segment type of 16- and 32-bit logical segments and pad symbols and port link
// addresses to an even length; packed ones (DeviceNet) do not. `out` holds what was read before an error.
PathStatus parse_path(std::span<const uint8_t> epath, Path& out, bool padded = true);

// ---------------------------------------------------------------------------------------------------
// Message router request / response (§2-4.1, §2-4.2)
// ---------------------------------------------------------------------------------------------------

struct Request {
  uint8_t service = 0;
  std::span<const uint8_t> path_bytes;  // the request path, 2 * path size bytes
  Path path;
  PathStatus path_status = PathStatus::Ok;
  std::span<const uint8_t> data;
};

struct Response {
  uint8_t service = 0;          // with kReplyBit
  uint8_t general_status = 0;   // 0 success (Vol 1 Appendix B)
  std::span<const uint8_t> additional_status;  // 2 * size words
  std::span<const uint8_t> data;
  // The first additional status word, the "extended status" of Appendix B (the Connection Manager's
  // extended status codes, §3-5.6); -1 if none.
  int32_t extended_status() const;
};

struct Message {
  bool is_response = false;
  Request request;
  Response response;
  uint8_t service() const { return is_response ? response.service : request.service; }
};

enum class MessageStatus : uint8_t {
  Ok,
  Empty,        // no bytes at all
  Truncated,    // the service byte is valid; the path (request) or status (response) is cut short
  BadPath,      // request whose path has a reserved segment (the message is otherwise complete)
};

// Request or response by the service's reply bit. Filled as far as the bytes go.
MessageStatus parse_message(std::span<const uint8_t> bytes, Message& out);

// ---------------------------------------------------------------------------------------------------
// Multiple_Service_Packet: service count, offsets from the start of the count, the services.
// The same layout carries the embedded requests and, in the reply's data, the embedded replies.
// ---------------------------------------------------------------------------------------------------

class MultipleServices {
 public:
  explicit MultipleServices(std::span<const uint8_t> data);
  // The next embedded service's bytes. Fails at the end and on a bad offset (error()).
  bool next(std::span<const uint8_t>& service);
  uint16_t count() const { return count_; }
  uint16_t index() const { return index_; }
  bool error() const { return error_; }

 private:
  uint16_t offset_at(uint16_t i) const;
  std::span<const uint8_t> data_;
  uint16_t count_ = 0;
  uint16_t index_ = 0;
  bool error_ = false;
};

// ---------------------------------------------------------------------------------------------------
// Connection Manager (§3-5.5)
// ---------------------------------------------------------------------------------------------------

// The connection triad (§3-5.5, Forward_Open): connection serial number, originator vendor id and originator
// serial number identify a connection across Forward Open, its I/O and Forward Close.
struct ConnectionTriad {
  uint16_t connection_serial = 0;
  uint16_t vendor_id = 0;
  uint32_t originator_serial = 0;
  bool operator==(const ConnectionTriad&) const = default;
};

// Unconnected_Send request (§3-5.5, Unconnected_Send): the embedded message router request and the route path.
struct UnconnectedSend {
  uint8_t priority_tick = 0;
  uint8_t timeout_ticks = 0;
  std::span<const uint8_t> request;     // message request size bytes
  std::span<const uint8_t> route_path_bytes;
  Path route;
  PathStatus route_status = PathStatus::Ok;
};
bool parse_unconnected_send(std::span<const uint8_t> data, UnconnectedSend& out);

// Forward_Open and Large_Forward_Open requests (§3-5.5; the large one has 32-bit network connection
// parameters).
struct ForwardOpenRequest {
  bool large = false;
  uint8_t priority_tick = 0;
  uint8_t timeout_ticks = 0;
  uint32_t ot_connection_id = 0;  // chosen by the target; originators usually send 0
  uint32_t to_connection_id = 0;  // chosen by the originator
  ConnectionTriad triad;
  uint8_t timeout_multiplier = 0;
  uint32_t ot_rpi_us = 0;
  uint32_t ot_parameters = 0;
  uint32_t to_rpi_us = 0;
  uint32_t to_parameters = 0;
  uint8_t transport_trigger = 0;  // bit 7 direction, bits 6-4 trigger, bits 3-0 transport class
  std::span<const uint8_t> connection_path_bytes;
  Path connection_path;
  PathStatus path_status = PathStatus::Ok;

  uint8_t transport_class() const { return transport_trigger & 0x0F; }
};
bool parse_forward_open_request(std::span<const uint8_t> data, bool large, ForwardOpenRequest& out);

// Network connection parameters (§3-5.5, Forward_Open): connection size and type, 16-bit or (large) 32-bit.
uint32_t connection_size(uint32_t parameters, bool large);
// 0 null, 1 multicast, 2 point to point, 3 reserved.
uint8_t connection_type(uint32_t parameters, bool large);

// Successful Forward_Open / Large_Forward_Open reply (§3-5.5).
struct ForwardOpenReply {
  uint32_t ot_connection_id = 0;
  uint32_t to_connection_id = 0;
  ConnectionTriad triad;
  uint32_t ot_api_us = 0;  // actual packet intervals
  uint32_t to_api_us = 0;
  std::span<const uint8_t> application_reply;
};
bool parse_forward_open_reply(std::span<const uint8_t> data, ForwardOpenReply& out);

// Unsuccessful Forward_Open / Forward_Close reply data (§3-5.5): the triad and the remaining path size.
struct ConnectionFailure {
  ConnectionTriad triad;
  uint8_t remaining_path_size = 0;
  bool has_remaining_path_size = false;
};
bool parse_connection_failure(std::span<const uint8_t> data, ConnectionFailure& out);

// Forward_Close request and successful reply (§3-5.5).
struct ForwardCloseRequest {
  uint8_t priority_tick = 0;
  uint8_t timeout_ticks = 0;
  ConnectionTriad triad;
  std::span<const uint8_t> connection_path_bytes;
  Path connection_path;
  PathStatus path_status = PathStatus::Ok;
};
bool parse_forward_close_request(std::span<const uint8_t> data, ForwardCloseRequest& out);

struct ForwardCloseReply {
  ConnectionTriad triad;
  std::span<const uint8_t> application_reply;
};
bool parse_forward_close_reply(std::span<const uint8_t> data, ForwardCloseReply& out);

}  // namespace ots::cip
