// The DNP3 wire grammar, bytes → structs: data link frames, transport segments, application fragment
// headers and object headers. Pure: no state, no allocation, no exceptions; every field is read through a
// bounds check and every view points into the caller's bytes. Fuzzable on its own (dnp3_fuzz.cpp).
//
// Section numbers below are from IEEE Std 1815-2012 (DNP3): §9 data link layer, §8 transport function,
// §4 application layer, Annex A object library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::dnp3 {

// ---------------------------------------------------------------------------------------------------
// Data link layer (§9.2.4 frame format; §9.2.4.1.2 length)
// ---------------------------------------------------------------------------------------------------

// Header: start 0x05 0x64, length, control, destination (LE), source (LE), CRC (LE). The length counts
// control, destination, source and the user data, not the start bytes or any CRC, so it is 5..255.
inline constexpr uint8_t kStart0 = 0x05;
inline constexpr uint8_t kStart1 = 0x64;
inline constexpr size_t kLinkHeaderSize = 10;
inline constexpr uint8_t kMinLinkLength = 5;
inline constexpr size_t kBlockSize = 16;  // user data comes in blocks of up to 16 bytes, each + CRC
inline constexpr size_t kMaxUserData = 255 - kMinLinkLength;
inline constexpr size_t kMaxFrameSize = kLinkHeaderSize + kMaxUserData + 2 * ((kMaxUserData + 15) / 16);

// CRC-16/DNP (§9.2.4: header and every user data block carry one): polynomial 0x3D65 processed bit-reversed (0xA6BC), initial value
// 0, result complemented; sent least significant byte first.
uint16_t crc16(std::span<const uint8_t> bytes);

// Link control octet (§9.2.4.1.3).
struct LinkHeader {
  uint8_t length = 0;
  uint8_t control = 0;
  uint16_t destination = 0;
  uint16_t source = 0;

  bool dir() const { return (control & 0x80) != 0; }  // 1: sent by a master
  bool prm() const { return (control & 0x40) != 0; }  // 1: primary (initiating) frame
  bool fcb() const { return (control & 0x20) != 0; }  // frame count bit (primary) / reserved
  bool fcv() const { return (control & 0x10) != 0; }  // FCV (primary) / DFC (secondary)
  uint8_t function() const { return control & 0x0f; }
  size_t user_data_size() const { return length >= kMinLinkLength ? length - kMinLinkLength : 0; }
  size_t frame_size() const;  // header + user data + one CRC per started 16-byte block
};

// Primary (PRM=1) and secondary link function codes (§9.2.4.1.3.5, Tables 9-1 and 9-2).
enum LinkFunction : uint8_t {
  kLinkResetLinkStates = 0,
  kLinkTestLinkStates = 2,
  kLinkConfirmedUserData = 3,
  kLinkUnconfirmedUserData = 4,
  kLinkRequestLinkStatus = 9,
  kLinkAck = 0,
  kLinkNack = 1,
  kLinkStatus = 11,
  kLinkNotSupported = 15,
};

enum class LinkStatus : uint8_t {
  Ok,
  NeedMore,      // fewer bytes than the header (or the frame) needs
  NoMagic,       // does not start with 0x05 0x64
  BadHeaderCrc,  // the header CRC does not match: nothing in it (not even the length) can be trusted
  BadLength,     // length below 5 (the header CRC was right)
  BadDataCrc,    // a user data block's CRC does not match
};

// Reads and checks the 10-byte header at the start of `bytes`. `out` is filled only on Ok.
LinkStatus parse_link_header(std::span<const uint8_t> bytes, LinkHeader& out);

// Checks every user data block CRC of the frame at the start of `frame` (at least h.frame_size() bytes;
// NeedMore otherwise) and copies the user data, CRCs removed, to `out` (at least h.user_data_size()
// bytes). On BadDataCrc, `bad_block` (when given) receives the failing block's index.
LinkStatus extract_user_data(std::span<const uint8_t> frame, const LinkHeader& h, std::span<uint8_t> out,
                             size_t* bad_block = nullptr);

// ---------------------------------------------------------------------------------------------------
// Transport function (§8.2.1): one octet FIN, FIR, 6-bit sequence number ahead of each segment.
// ---------------------------------------------------------------------------------------------------

struct TransportHeader {
  bool fin = false;
  bool fir = false;
  uint8_t seq = 0;
};

inline TransportHeader parse_transport(uint8_t octet) {
  return TransportHeader{(octet & 0x80) != 0, (octet & 0x40) != 0, static_cast<uint8_t>(octet & 0x3f)};
}

// ---------------------------------------------------------------------------------------------------
// Application layer (§4.2.2)
// ---------------------------------------------------------------------------------------------------

// Function codes (§4.2.2.5, Table 4-2 requests, Table 4-3 responses).
enum Function : uint8_t {
  kConfirm = 0,
  kRead = 1,
  kWrite = 2,
  kSelect = 3,
  kOperate = 4,
  kDirectOperate = 5,
  kDirectOperateNr = 6,
  kImmedFreeze = 7,
  kImmedFreezeNr = 8,
  kFreezeClear = 9,
  kFreezeClearNr = 10,
  kFreezeAtTime = 11,
  kFreezeAtTimeNr = 12,
  kColdRestart = 13,
  kWarmRestart = 14,
  kInitializeData = 15,
  kInitializeAppl = 16,
  kStartAppl = 17,
  kStopAppl = 18,
  kSaveConfig = 19,
  kEnableUnsolicited = 20,
  kDisableUnsolicited = 21,
  kAssignClass = 22,
  kDelayMeasure = 23,
  kRecordCurrentTime = 24,
  kOpenFile = 25,
  kCloseFile = 26,
  kDeleteFile = 27,
  kGetFileInfo = 28,
  kAuthenticateFile = 29,
  kAbortFile = 30,
  kActivateConfig = 31,
  kAuthenticateReq = 32,
  kAuthenticateErr = 33,
  kResponse = 129,
  kUnsolicitedResponse = 130,
  kAuthenticateResp = 131,
};

// Response fragments (129-131) carry the two IIN octets after the function code (§4.2.2.2).
inline bool is_response_function(uint8_t fc) { return fc >= kResponse && fc <= kAuthenticateResp; }
// A code Table 4-2 or 4-3 defines.
inline bool is_known_function(uint8_t fc) { return fc <= kAuthenticateErr || is_response_function(fc); }

struct AppHeader {
  uint8_t control = 0;
  uint8_t function = 0;
  bool has_iin = false;
  uint8_t iin1 = 0;
  uint8_t iin2 = 0;

  // Application control (§4.2.2.4).
  bool fir() const { return (control & 0x80) != 0; }
  bool fin() const { return (control & 0x40) != 0; }
  bool con() const { return (control & 0x20) != 0; }
  bool uns() const { return (control & 0x10) != 0; }
  uint8_t seq() const { return control & 0x0f; }
  // Zeek's `iin` count: the two octets read as one big-endian number (IIN1 high, IIN2 low).
  uint16_t iin() const { return static_cast<uint16_t>((iin1 << 8) | iin2); }
  size_t size() const { return has_iin ? 4 : 2; }
};

// Parses the fragment's header; false when the fragment is shorter than its function needs.
bool parse_app_header(std::span<const uint8_t> fragment, AppHeader& out);

// ---------------------------------------------------------------------------------------------------
// Object headers (§4.2.2.7) and the object library (Annex A)
// ---------------------------------------------------------------------------------------------------

// How the objects under one header are laid out.
enum class SizeKind : uint8_t {
  None,         // header only: no object data (READ requests, class data, freeze requests)
  Fixed,        // `size` bytes per object
  Packed,       // `size` bits per object, packed from the low bit, padded to a whole octet (§A.2, A.4)
  PrefixSized,  // each object is preceded by its own size (object size prefix codes 4-6)
  Unknown,      // a group/variation we cannot size: the walk stops after this header
};

struct ObjectSize {
  SizeKind kind = SizeKind::Unknown;
  uint16_t size = 0;
};

// The size of one object of group/variation in a fragment with this function code (Annex A). Request
// functions that only name points (READ, freezes, unsolicited control, ASSIGN_CLASS) carry no data.
ObjectSize object_size(uint8_t group, uint8_t variation, uint8_t function);

struct ObjectHeader {
  uint8_t group = 0;
  uint8_t variation = 0;
  uint8_t qualifier = 0;
  // Range field (§4.2.2.7.3, Table 4-5): start/stop (codes 0-5), a count (7, 8, 9, 0xB) or nothing (6).
  bool has_range = false;
  bool has_count = false;
  uint32_t start = 0;
  uint32_t stop = 0;
  uint64_t count = 0;  // objects under this header (stop - start + 1 for ranges)
  ObjectSize size;
  // Prefixes and object data of every object under this header; empty when the size is Unknown.
  std::span<const uint8_t> body;

  uint8_t prefix_code() const { return (qualifier >> 4) & 0x07; }  // §4.2.2.7.2, Table 4-4
  uint8_t range_code() const { return qualifier & 0x0f; }
  // 1, 2 or 4 bytes of index (codes 1-3) or of object size (codes 4-6) ahead of each object.
  size_t prefix_size() const;
  bool index_prefixed() const { return prefix_code() >= 1 && prefix_code() <= 3; }
  uint16_t object_type() const { return static_cast<uint16_t>((group << 8) | variation); }
};

enum class WalkStatus : uint8_t {
  Ok,            // more headers may follow
  End,           // every byte was consumed
  Truncated,     // a header or its objects run past the fragment
  BadQualifier,  // a reserved prefix or range code
  BadRange,      // stop index below start index
  UnknownSize,   // the last header's objects cannot be sized; the rest of the fragment is unread
};

// Walks the object headers of one application fragment (the bytes after its header).
class ObjectWalker {
 public:
  ObjectWalker(std::span<const uint8_t> objects, uint8_t function) : data_(objects), function_(function) {}

  // The next object header and its objects. False at the end of the fragment or on an error
  // (status()). A header whose objects cannot be sized is still returned, with kind Unknown and an
  // empty body; the walk then ends with UnknownSize.
  bool next(ObjectHeader& h);
  WalkStatus status() const { return status_; }
  size_t offset() const { return pos_; }  // bytes consumed so far

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  uint8_t function_;
  WalkStatus status_ = WalkStatus::Ok;
};

// One object under a header: its index (from an index prefix, or start + position for ranges) and its
// data bytes. Packed objects are not split: the whole packed area is one item.
struct ObjectItem {
  bool has_index = false;
  uint32_t index = 0;
  std::span<const uint8_t> data;
};

class ObjectItems {
 public:
  explicit ObjectItems(const ObjectHeader& h) : h_(h) {}
  bool next(ObjectItem& out);

 private:
  const ObjectHeader& h_;
  size_t pos_ = 0;
  uint64_t n_ = 0;
};

// g12v1 Control Relay Output Block and g12v2 Pattern Control Block (§A.8.1, A.8.2): 11 bytes.
struct ControlBlock {
  uint8_t control_code = 0;
  uint8_t count = 0;
  uint32_t on_time = 0;   // ms
  uint32_t off_time = 0;  // ms
  uint8_t status = 0;

  uint8_t trip_close() const { return static_cast<uint8_t>(control_code >> 6); }  // TCC: Nul, Close, Trip
  bool clear() const { return (control_code & 0x20) != 0; }                        // CR
  bool queue() const { return (control_code & 0x10) != 0; }                        // obsolete Q bit
  uint8_t op_type() const { return control_code & 0x0f; }  // Nul, Pulse On/Off, Latch On/Off
};
bool parse_control_block(std::span<const uint8_t> data, ControlBlock& out);

// g41 Analog Output Block (§A.23): v1 int32, v2 int16, v3 float32, v4 float64, then a status octet.
struct AnalogOutput {
  bool is_float = false;
  int64_t int_value = 0;
  double float_value = 0;
  uint8_t status = 0;
};
bool parse_analog_output(uint8_t variation, std::span<const uint8_t> data, AnalogOutput& out);

}  // namespace ots::dnp3
