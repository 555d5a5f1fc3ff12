// The logs the DNP3 analyzer owns: Zeek's dnp3.log and ICSNPP's dnp3_control.log and dnp3_objects.log,
// field for field as zeek/zeek base/protocols/dnp3/main.zeek and cisagov/icsnpp-dnp3 scripts/main.zeek
// define them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "capture/flow.hpp"
#include "dissectors/log_fields.hpp"
#include "output/log_manager.hpp"

namespace ots::dnp3 {

// Index of each log in DissectorModule::logs (and so in AnalyzerContext::log_ids).
enum LogIndex : uint8_t { kDnp3Log = 0, kControlLog = 1, kObjectsLog = 2, kLogCount = 3 };

const LogSchema& dnp3_log_schema();     // dnp3.log: ts uid id.* fc_request fc_reply iin
const LogSchema& control_log_schema();  // dnp3_control.log
const LogSchema& objects_log_schema();  // dnp3_objects.log

// One dnp3.log row: a request and its response, either alone.
struct Dnp3Row {
  uint64_t ts_ns = 0;
  std::optional<uint8_t> fc_request;
  std::optional<uint8_t> fc_reply;
  std::optional<uint16_t> iin;
};

// One dnp3_control.log row: a g12v1 CROB or g12v2 PCB object.
struct ControlRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  std::string_view block_type;
  uint8_t function = 0;
  std::optional<uint32_t> index;
  uint8_t control_code = 0;
  uint8_t count = 0;
  uint32_t on_time = 0;
  uint32_t off_time = 0;
  std::optional<uint8_t> status;  // responses only
};

// One dnp3_objects.log row: an object header of a READ request or a RESPONSE.
struct ObjectsRow {
  uint64_t ts_ns = 0;
  bool is_orig = true;
  uint8_t function = 0;
  std::string_view object_type;
  std::optional<uint64_t> count;
  std::optional<uint64_t> range_low;
  std::optional<uint64_t> range_high;
};

// Each writer formats the row at once; `cols` keeps the uid text the values view.
void write_dnp3_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const Dnp3Row& row);
void write_control_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const ControlRow& row);
void write_objects_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const ObjectsRow& row);

}  // namespace ots::dnp3
