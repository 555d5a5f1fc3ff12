// S7comm (protocol id 0x32), the classic S7-300/400/1200 protocol inside COTP DT TSDUs. Pure: bytes in,
// views out; no state, no allocation.
//
// Siemens never published S7comm; the layouts here are the ones Wireshark's packet-s7comm.c (Thomas
// Wiens) and Snap7 document from observation, which ICSNPP-S7comm follows too:
//   header   0x32, ROSCTR, redundancy id (2), PDU reference (2), parameter length (2), data length (2),
//            and for Ack (2) / Ack_Data (3) error class (1) + error code (1): 10 or 12 bytes, big-endian;
//   then the parameter block (its first byte is the function for Job / Ack_Data) and the data block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ots::s7 {

inline constexpr uint8_t kS7commId = 0x32;
inline constexpr uint8_t kS7commPlusId = 0x72;

// ROSCTR: remote operating service control.
enum Rosctr : uint8_t { kJob = 0x01, kAck = 0x02, kAckData = 0x03, kUserdata = 0x07 };

// Parameter functions of Job / Ack_Data.
enum Function : uint8_t {
  kCpuServices = 0x00,
  kReadVar = 0x04,
  kWriteVar = 0x05,
  kRequestDownload = 0x1A,
  kDownloadBlock = 0x1B,
  kDownloadEnded = 0x1C,
  kStartUpload = 0x1D,
  kUpload = 0x1E,
  kEndUpload = 0x1F,
  kPlcControl = 0x28,
  kPlcStop = 0x29,
  kSetupCommunication = 0xF0,
};

enum class HeaderError : uint8_t {
  None,
  TooShort,        // fewer bytes than the ROSCTR's fixed header
  BadProtocolId,   // not 0x32
  BadRosctr,       // not 1, 2, 3 or 7 (the header is read as a 10-byte one)
  Truncated,       // parameter + data lengths run past the TSDU (what is there is still viewed)
};

struct S7Header {
  uint8_t rosctr = 0;
  uint16_t redundancy_id = 0;
  uint16_t pdu_ref = 0;
  uint16_t param_length = 0;
  uint16_t data_length = 0;
  bool has_error = false;  // Ack / Ack_Data carry error class and code
  uint8_t error_class = 0;
  uint8_t error_code = 0;
  size_t header_size = 0;
  std::span<const uint8_t> param;  // clipped to the TSDU
  std::span<const uint8_t> data;
  size_t trailing = 0;  // bytes after parameter and data (COTP padding or garbage)
};

HeaderError parse_header(std::span<const uint8_t> tsdu, S7Header& h);

// ---------------------------------------------------------------------------------------------------
// Job / Ack_Data parameters

// Setup communication (0xF0): reserved, max AMQ calling, max AMQ called, PDU length.
struct SetupCommunication {
  uint16_t max_amq_calling = 0;
  uint16_t max_amq_called = 0;
  uint16_t pdu_length = 0;
};
bool parse_setup_communication(std::span<const uint8_t> param, SetupCommunication& s);

// Read / write var (0x04 / 0x05): function, item count, then one variable specification per item
// (0x12, its length, syntax id, ...). Syntax id 0x10 (S7ANY) addresses memory by area, DB, byte.bit.
inline constexpr uint8_t kSyntaxS7Any = 0x10;

// Memory areas of S7ANY.
enum Area : uint8_t {
  kAreaSystemInfo = 0x03,   // 200 family system info
  kAreaSystemFlags = 0x05,
  kAreaAnalogInputs = 0x06,
  kAreaAnalogOutputs = 0x07,
  kAreaCounter = 0x1C,      // S7 counters
  kAreaTimer = 0x1D,        // S7 timers
  kAreaIecCounter = 0x1E,
  kAreaIecTimer = 0x1F,
  kAreaPeripheral = 0x80,   // direct peripheral access
  kAreaInputs = 0x81,
  kAreaOutputs = 0x82,
  kAreaFlags = 0x83,        // flags (merker)
  kAreaDataBlock = 0x84,
  kAreaInstanceDb = 0x85,
  kAreaLocal = 0x86,
  kAreaPreviousLocal = 0x87,
};

struct VarItem {
  uint8_t spec_type = 0;      // 0x12
  uint8_t spec_length = 0;    // bytes after this length byte
  uint8_t syntax_id = 0;
  bool s7any = false;         // the fields below are set
  uint8_t transport_size = 0;
  uint16_t count = 0;         // number of elements of transport_size
  uint16_t db = 0;
  uint8_t area = 0;
  uint32_t byte_address = 0;  // the 24-bit address is byte << 3 | bit
  uint8_t bit = 0;
};

// Item count and an iterator over the variable specifications of a read/write var parameter block.
class VarItems {
 public:
  explicit VarItems(std::span<const uint8_t> param);
  uint8_t declared_count() const { return count_; }
  // False after the last item or at one that runs past the block.
  bool next(VarItem& item);
  bool truncated() const { return truncated_; }  // an item ran past the block

 private:
  std::span<const uint8_t> p_;
  size_t off_ = 2;
  uint8_t count_ = 0;
  uint8_t seen_ = 0;
  bool truncated_ = false;
};

// The data block of a write var request or read var response: per item a return code (0xFF success in
// responses, 0x00 in requests), a transport size and a length, then the value padded to an even length
// except after the last item. Transport sizes 0x03 (bit), 0x04 (byte/word/dword) and 0x05 (integer) count
// the length in bits; the others in bytes.
struct DataItem {
  uint8_t return_code = 0;
  uint8_t transport_size = 0;
  uint16_t length = 0;  // as sent
  std::span<const uint8_t> value;
};
class DataItems {
 public:
  explicit DataItems(std::span<const uint8_t> data) : d_(data) {}
  bool next(DataItem& item);
  bool truncated() const { return truncated_; }

 private:
  std::span<const uint8_t> d_;
  size_t off_ = 0;
  bool truncated_ = false;
};

// Write var response data: one return code per item.

// Upload and download (0x1A-0x1F). Job parameters: function, function status, 2 reserved bytes, the
// upload/download session id (4), and for request download / download block / download ended / start
// upload a length-prefixed file name such as "_0A00001P" ('_', block type "0A", block number "00001",
// destination file system 'P' passive / 'A' active / 'B'). Ack_Data: start upload answers with the
// session id and the block length as a length-prefixed ASCII number; upload and download block carry the
// block data in the data block (length (2), 0x00FB, bytes).
struct BlockTransfer {
  uint8_t function = 0;
  bool has_status = false;
  uint8_t status = 0;
  bool has_session = false;
  uint32_t session_id = 0;
  std::span<const uint8_t> filename;
  bool has_blocklength = false;
  uint32_t blocklength = 0;
};
// `is_job`: Job parameter layout, else Ack_Data. `data`: the PDU's data block (block length of upload /
// download block Ack_Data).
bool parse_block_transfer(std::span<const uint8_t> param, std::span<const uint8_t> data, bool is_job,
                          BlockTransfer& out);

// The parts of a block file name ("_0A00001P"): ICSNPP's split, characters 1-2, 3-7 and 8.
struct BlockFilename {
  std::span<const uint8_t> block_type;    // "08" OB, "0A" DB, "0B" SDB, "0C" FC, "0D" SFC, "0E" FB, "0F" SFB
  std::span<const uint8_t> block_number;  // five digits
  std::span<const uint8_t> filesystem;    // "P" or "A"
};
BlockFilename split_block_filename(std::span<const uint8_t> filename);

// PLC control (0x28): function, 7 reserved bytes, parameter block length (2) and block, PI service name
// length (1) and name ("_INSE", "_DELE", "P_PROGRAM" (start), "_MODU" (copy RAM to ROM), "_GARB"
// (compress memory), ...). PLC stop (0x29): function, 5 reserved bytes, PI service length and name.
struct PiService {
  std::span<const uint8_t> parameter;  // PLC control's argument block (e.g. "C" cold / "" hot start)
  std::span<const uint8_t> service;
};
bool parse_plc_control(std::span<const uint8_t> param, PiService& out);
bool parse_plc_stop(std::span<const uint8_t> param, PiService& out);

// ---------------------------------------------------------------------------------------------------
// Userdata (ROSCTR 7)

// Parameter: head 0x00 0x01 0x12, length (4 or 8), method (0x11 request, 0x12 response), type (high
// nibble: 0 push, 4 request, 8 response) and function group (low nibble), sub-function, sequence number;
// with length 8 also data unit reference, last data unit (0x00 yes, 0x01 more follow) and error code.
enum UserdataType : uint8_t { kUdPush = 0x0, kUdRequest = 0x4, kUdResponse = 0x8 };
enum UserdataGroup : uint8_t {
  kUdModeTransition = 0x0,
  kUdProgrammer = 0x1,
  kUdCyclic = 0x2,
  kUdBlock = 0x3,
  kUdCpu = 0x4,
  kUdSecurity = 0x5,
  kUdPbc = 0x6,
  kUdTime = 0x7,
  kUdNcProgramming = 0xF,
};
// Sub-functions used below.
inline constexpr uint8_t kUdCpuReadSzl = 0x01;
inline constexpr uint8_t kUdBlockList = 0x01;
inline constexpr uint8_t kUdBlockListType = 0x02;
inline constexpr uint8_t kUdBlockInfo = 0x03;
inline constexpr uint8_t kUdTimeReadClock = 0x01;
inline constexpr uint8_t kUdTimeSetClock = 0x02;
inline constexpr uint8_t kUdTimeReadClockFollowing = 0x03;
inline constexpr uint8_t kUdTimeSetClock2 = 0x04;

struct UserdataParam {
  uint8_t head[3] = {};
  uint8_t length = 0;
  uint8_t method = 0;
  uint8_t type_group = 0;  // the raw byte ICSNPP logs as function_code
  uint8_t type = 0;
  uint8_t group = 0;
  uint8_t subfunction = 0;
  uint8_t sequence = 0;
  bool has_extension = false;  // length 8: the fields below
  uint8_t data_unit_ref = 0;
  uint8_t last_data_unit = 0;
  uint16_t error_code = 0;
};
bool parse_userdata_param(std::span<const uint8_t> param, UserdataParam& u);

// Userdata data block: return code (0xFF success, 0x0A object does not exist, ...), transport size,
// length, payload.
struct UserdataData {
  uint8_t return_code = 0;
  uint8_t transport_size = 0;
  uint16_t length = 0;
  std::span<const uint8_t> payload;  // clipped to the block
};
bool parse_userdata_data(std::span<const uint8_t> data, UserdataData& d);

// Read SZL (CPU functions / 0x01). Request payload: SZL id, SZL index. First (or only) response
// payload: id, index, record length, record count, records; follow-on fragments carry records only.
struct SzlHeader {
  uint16_t id = 0;
  uint16_t index = 0;
  bool has_list = false;  // response: record length and count follow
  uint16_t record_length = 0;
  uint16_t record_count = 0;
  std::span<const uint8_t> records;
};
bool parse_szl(std::span<const uint8_t> payload, bool response, SzlHeader& s);

// SZL ids with module identification: 0x0011 / 0x0111 (all / one record of xy11), 0x001C / 0x011C
// (component identification). The low byte names the partial list; the high byte the extract.
inline constexpr uint16_t kSzlModuleIdentification = 0x0011;
inline constexpr uint16_t kSzlComponentIdentification = 0x001C;
inline bool is_module_identification(uint16_t id) { return (id & 0x00FF) == 0x11 && (id >> 8) <= 0x0F; }
inline bool is_component_identification(uint16_t id) { return (id & 0x00FF) == 0x1C && (id >> 8) <= 0x0F; }

// One SZL xy11 record (28 bytes): index (0x0001 module, 0x0006 basic hardware, 0x0007 basic firmware,
// 0x0081 firmware extension, ...), MLFB order number (20 ASCII), module type id, Ausbg, Ausbe. For
// firmware records Ausbg is 'V' and the major version, Ausbe the minor and patch versions.
inline constexpr size_t kSzlXy11RecordSize = 28;
struct SzlModuleRecord {
  uint16_t index = 0;
  std::span<const uint8_t> order_number;  // 20 bytes, space padded
  uint16_t module_type = 0;
  uint16_t ausbg = 0;
  uint16_t ausbe = 0;
};
bool parse_szl_xy11_record(std::span<const uint8_t> rec, SzlModuleRecord& out);

// One SZL xy1C record (34 bytes): index and 32 bytes of text: 0x0001 automation system name, 0x0002
// module name, 0x0003 plant identification, 0x0004 copyright, 0x0005 serial number, 0x0007 module type
// name, 0x0008 memory card serial number, ...
inline constexpr size_t kSzlXy1cRecordSize = 34;
struct SzlComponentRecord {
  uint16_t index = 0;
  std::span<const uint8_t> text;  // NUL / space padded
};
bool parse_szl_xy1c_record(std::span<const uint8_t> rec, SzlComponentRecord& out);

// The text of a fixed-width SZL field without its NUL and space padding.
std::span<const uint8_t> trim_szl_text(std::span<const uint8_t> text);

}  // namespace ots::s7
