#include "dissectors/dnp3/dnp3_logs.hpp"

#include <array>

#include "dissectors/dnp3/dnp3_names.hpp"
#include "dissectors/dnp3/dnp3_parser.hpp"

namespace ots::dnp3 {

using F = FieldType;

const LogSchema& dnp3_log_schema() {
  static const LogSchema s{"dnp3",
                           conn_fields({{"fc_request", F::String}, {"fc_reply", F::String}, {"iin", F::Count}})};
  return s;
}

const LogSchema& control_log_schema() {
  static const LogSchema s{"dnp3_control", icsnpp_fields({{"block_type", F::String},
                                                          {"function_code", F::String},
                                                          {"index_number", F::Count},
                                                          {"trip_control_code", F::String},
                                                          {"operation_type", F::String},
                                                          {"clear_bit", F::Bool},
                                                          {"execute_count", F::Count},
                                                          {"on_time", F::Count},
                                                          {"off_time", F::Count},
                                                          {"status_code", F::String}})};
  return s;
}

const LogSchema& objects_log_schema() {
  static const LogSchema s{"dnp3_objects", icsnpp_fields({{"function_code", F::String},
                                                          {"object_type", F::String},
                                                          {"object_count", F::Count},
                                                          {"range_low", F::Count},
                                                          {"range_high", F::Count}})};
  return s;
}

namespace {

template <typename T>
Value opt_count(const std::optional<T>& v) {
  return v ? Value{uint64_t{*v}} : Value{Unset{}};
}

}  // namespace

void write_dnp3_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const Dnp3Row& row) {
  if (!sink.enabled(log)) return;
  std::array<Value, kConnColumns + 3> v;
  cols.fill(c, row.ts_ns, v.data());
  v[kConnColumns + 0] = row.fc_request ? Value{dnp3_function_name(*row.fc_request)} : Value{Unset{}};
  v[kConnColumns + 1] = row.fc_reply ? Value{dnp3_function_name(*row.fc_reply)} : Value{Unset{}};
  v[kConnColumns + 2] = opt_count(row.iin);
  sink.write(log, row.ts_ns, cols.last_uid(), v);
}

void write_control_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const ControlRow& row) {
  if (!sink.enabled(log)) return;
  constexpr size_t k = kConnColumns + kIcsnppColumns;
  std::array<Value, k + 10> v;
  cols.fill_icsnpp(c, row.ts_ns, row.is_orig, v.data());
  // icsnpp-dnp3 main.zeek, dnp3_crob/dnp3_pcb: trip code from bits 7-6, operation type from bits 3-0.
  const ControlBlock b{row.control_code, row.count, row.on_time, row.off_time, row.status.value_or(0)};
  v[k + 0] = row.block_type;
  v[k + 1] = icsnpp_function_name(row.function);
  v[k + 2] = opt_count(row.index);
  v[k + 3] = trip_control_name(b.trip_close());
  v[k + 4] = operation_type_name(b.op_type());
  v[k + 5] = b.clear();
  v[k + 6] = uint64_t{row.count};
  v[k + 7] = uint64_t{row.on_time};
  v[k + 8] = uint64_t{row.off_time};
  v[k + 9] = row.status ? Value{control_status_name(*row.status)} : Value{Unset{}};
  sink.write(log, row.ts_ns, cols.last_uid(), v);
}

void write_objects_row(LogSink& sink, LogId log, const Conn& c, ConnColumns& cols, const ObjectsRow& row) {
  if (!sink.enabled(log)) return;
  constexpr size_t k = kConnColumns + kIcsnppColumns;
  std::array<Value, k + 5> v;
  cols.fill_icsnpp(c, row.ts_ns, row.is_orig, v.data());
  v[k + 0] = icsnpp_function_name(row.function);
  v[k + 1] = row.object_type;
  v[k + 2] = opt_count(row.count);
  v[k + 3] = opt_count(row.range_low);
  v[k + 4] = opt_count(row.range_high);
  sink.write(log, row.ts_ns, cols.last_uid(), v);
}

}  // namespace ots::dnp3
