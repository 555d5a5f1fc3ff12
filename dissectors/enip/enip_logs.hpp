// The logs the EtherNet/IP and CIP analyzers own: ICSNPP-ENIP's enip.log, cip.log, cip_io.log and
// cip_identity.log, with the field layouts and value formats of cisagov/icsnpp-enip
// scripts/icsnpp/enip/main.zeek (the is_orig/source/destination prefix, then packet_correlation_id).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "capture/flow.hpp"
#include "dissectors/enip/enip_parser.hpp"
#include "dissectors/log_fields.hpp"
#include "output/log_manager.hpp"

namespace ots::enip {

// Order of kEnipModule's DissectorModule::logs, hence of its AnalyzerContext::log_ids.
enum LogIndex : size_t {
  kLogEnip,
  kLogCip,
  kLogCipIdentity,
  kLogCount,
};
extern const LogSchema* const kLogSchemas[kLogCount];

// kCipIoModule owns cip_io.log alone (a log has one owner: the two modules cannot both declare it).
enum IoLogIndex : size_t {
  kLogCipIo,
  kIoLogCount,
};
extern const LogSchema* const kIoLogSchemas[kIoLogCount];

// ICSNPP ties the enip.log row of a message to its cip.log, cip_io.log and cip_identity.log rows with a
// random 18-hex-digit id; ours is derived from the connection uid and a per-connection counter so a replay
// writes the same logs.
struct CorrelationId {
  char text[18];
  std::string_view view() const { return {text, sizeof text}; }
};
CorrelationId make_correlation_id(const Uid& uid, uint64_t counter);

// The first columns of every row one message writes (ts, uid, id.*, is_orig, source_*, destination_*),
// built once per message: a Multiple Service Packet writes a cip.log row per service (five a message on
// CIP-heavy traffic), and each row filled them again. The values view the writer that built them.
struct MessageColumns {
  uint64_t ts_ns = 0;
  Uid uid;
  std::array<Value, kConnColumns + kIcsnppColumns> v;
  uint64_t serial = 0;  // the writer's count of messages: which one these columns are
};

struct EnipRow {
  std::string_view correlation;
  uint16_t command = 0;
  uint16_t length = 0;
  uint32_t session = 0;
  uint32_t status = 0;
  std::array<uint8_t, kSenderContextSize> sender_context{};
  uint32_t options = 0;
};

struct CipRow {
  std::string_view correlation;
  int32_t sequence_count = -1;        // connected (SendUnitData) messages; unset when absent or 0 (ICSNPP)
  bool response = false;
  uint8_t service = 0;                // without the reply bit, as ICSNPP writes cip_service_code
  std::string_view service_name;
  int32_t status = -1;                // responses
  int32_t extended_status = -1;
  int64_t class_id = -1;              // requests
  int64_t instance_id = -1;
  int64_t attribute_id = -1;
};

struct CipIoRow {
  std::string_view correlation;
  uint32_t connection_id = 0;
  uint32_t sequence = 0;
  std::span<const uint8_t> data;
};

struct IdentityRow {
  std::string_view correlation;
  uint16_t encapsulation_version = 0;
  uint32_t socket_addr = 0;  // host order
  uint16_t socket_port = 0;
  uint16_t vendor_id = 0;
  uint16_t device_type = 0;
  uint16_t product_code = 0;
  uint8_t revision_major = 0;
  uint8_t revision_minor = 0;
  uint16_t status = 0;
  uint32_t serial_number = 0;
  std::span<const uint8_t> product_name;
  uint8_t state = 0;
};

// Writes records for one connection.
class LogWriter {
 public:
  LogWriter(LogSink* sink, const LogId* ids) : sink_(sink), ids_(ids) {}
  // Whether the run writes log `k` (kLogEnip...): callers skip building rows nobody reads.
  bool wants(size_t k) const { return sink_ && ids_ && sink_->enabled(ids_[k]); }
  // The shared columns of the rows of one message sent at ts_ns by the originator (is_orig) or the
  // responder; good until the next call.
  const MessageColumns& columns(const Conn& c, uint64_t ts_ns, bool is_orig);
  void enip(const MessageColumns& m, const EnipRow& r);
  void cip(const MessageColumns& m, const CipRow& r);
  // Only for kCipIoModule's writer (its log ids are kIoLogSchemas').
  void cip_io(const MessageColumns& m, const CipIoRow& r);
  void cip_identity(const MessageColumns& m, const IdentityRow& r);

 private:
  LogSink* sink_;
  const LogId* ids_;
  ConnColumns cols_;
  MessageColumns message_;
  // The rows are built in place, every field set each time: constructing a fresh array of two dozen
  // values per row cost cip() about 75 instructions a row.
  std::array<Value, kConnColumns + kIcsnppColumns + 8> enip_row_;
  std::array<Value, kConnColumns + kIcsnppColumns + 13> cip_row_;
  uint64_t cip_row_serial_ = 0;  // the message whose columns cip_row_ holds: its next rows keep them
  // Texts made on the rare path (an unknown status's name) or of any length (cip_io's data): kept, so
  // their buffers are allocated once.
  std::string scratch_, scratch2_;
};

}  // namespace ots::enip
