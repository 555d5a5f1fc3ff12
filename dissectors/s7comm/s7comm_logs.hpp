// The logs the S7comm analyzer owns: ICSNPP-S7comm's cotp.log, s7comm.log, s7comm_read_szl.log,
// s7comm_upload_download.log and s7comm_plus.log, field for field as cisagov/icsnpp-s7comm
// scripts/icsnpp/s7comm/main.zeek declares them (with the is_orig / source / destination columns of its
// current release). Values are formatted as that script formats them ("0x%02x" codes, its name tables).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "capture/flow.hpp"
#include "dissectors/log_fields.hpp"
#include "output/log_manager.hpp"

namespace ots::s7 {

// Order of DissectorModule::logs, hence of AnalyzerContext::log_ids.
enum LogIndex : size_t {
  kLogCotp,
  kLogS7comm,
  kLogReadSzl,
  kLogUploadDownload,
  kLogPlus,
  kLogCount,
};

extern const LogSchema* const kLogSchemas[kLogCount];

// The values of one row; unset columns are nullopt. Strings are views that must outlive the write.
// pdu_ref is the wire's (big-endian) value; the logs write it byte-swapped, as ICSNPP does.
struct S7commRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  uint8_t rosctr = 0;
  uint16_t pdu_ref = 0;
  std::optional<std::string_view> function_code;
  std::optional<std::string_view> function_name;
  std::optional<std::string_view> subfunction_code;
  std::optional<std::string_view> subfunction_name;
  std::optional<std::string_view> error_class;
  std::optional<std::string_view> error_code;
};

struct ReadSzlRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  uint16_t pdu_ref = 0;
  uint8_t method = 0;
  uint16_t szl_id = 0;
  uint16_t szl_index = 0;
  uint8_t return_code = 0;
};

struct UploadDownloadRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  uint8_t rosctr = 0;
  uint16_t pdu_ref = 0;
  uint8_t function = 0;
  std::optional<uint8_t> function_status;
  std::optional<uint32_t> session_id;
  std::optional<uint32_t> blocklength;
  std::optional<std::string_view> filename;  // block type / number / file system are split from it
};

struct PlusRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  uint8_t version = 0;
  std::optional<uint8_t> opcode;
  std::optional<uint16_t> function;
};

// Writes records for one connection; holds the connection's uid text while a record is written.
class LogWriter {
 public:
  LogWriter(LogSink* sink, const LogId* ids) : sink_(sink), ids_(ids) {}

  void cotp(const Conn& c, uint64_t ts_ns, bool is_orig, uint8_t pdu_code);
  void s7comm(const Conn& c, const S7commRow& row);
  void read_szl(const Conn& c, const ReadSzlRow& row);
  void upload_download(const Conn& c, const UploadDownloadRow& row);
  void plus(const Conn& c, const PlusRow& row);

 private:
  LogSink* sink_;
  const LogId* ids_;
  ConnColumns cols_;
  // The rows of the logs written for nearly every PDU, kept from one record to the next (each record sets
  // every value): not default-constructed afresh for each record.
  std::array<Value, kConnColumns + kIcsnppColumns + 2> cotp_row_;
  std::array<Value, kConnColumns + kIcsnppColumns + 9> s7comm_row_;
  std::array<Value, kConnColumns + kIcsnppColumns + 5> plus_row_;
};

}  // namespace ots::s7
