#include "dissectors/modbus/modbus_logs.hpp"

#include <array>

#include "dissectors/modbus/modbus_functions.hpp"

namespace ots::modbus {
namespace {

using FT = FieldType;

// Zeek >= 6.1 (tid, unit and pdu_type were added in 6.1.0).
const LogSchema kModbus{"modbus", conn_fields({{"tid", FT::Count},
                                               {"unit", FT::Count},
                                               {"func", FT::String},
                                               {"pdu_type", FT::String},
                                               {"exception", FT::String}})};

// ICSNPP's Modbus_Detailed record: the only ICSNPP log without the is_orig/source/destination columns.
const LogSchema kDetailed{"modbus_detailed", conn_fields({{"tid", FT::Count},
                                                          {"unit", FT::Count},
                                                          {"func", FT::String},
                                                          {"address", FT::Count},
                                                          {"quantity", FT::Count},
                                                          {"request_values", FT::VectorCount},
                                                          {"response_values", FT::VectorCount},
                                                          {"modbus_detailed_link_id", FT::String},
                                                          {"matched", FT::Bool},
                                                          {"request_subfunction_code", FT::String},
                                                          {"response_subfunction_code", FT::String},
                                                          {"request_data", FT::String},
                                                          {"response_data", FT::String},
                                                          {"exception_code", FT::String},
                                                          {"mei_type", FT::String}})};

// The columns ICSNPP's three function-specific Modbus logs start with, after the connection's.
std::vector<FieldDef> icsnpp_modbus_fields(std::initializer_list<FieldDef> own) {
  std::vector<FieldDef> f = icsnpp_fields({{"modbus_detailed_link_id", FT::String},
                                           {"tid", FT::Count},
                                           {"unit", FT::Count},
                                           {"func", FT::String},
                                           {"request_response", FT::String}});
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

const LogSchema kReadWriteMultiple{"modbus_read_write_multiple_registers",
                                   icsnpp_modbus_fields({{"write_start_address", FT::Count},
                                                         {"write_registers", FT::VectorCount},
                                                         {"read_start_address", FT::Count},
                                                         {"read_quantity", FT::Count},
                                                         {"read_registers", FT::VectorCount}})};

const LogSchema kMaskWrite{"modbus_mask_write_register", icsnpp_modbus_fields({{"address", FT::Count},
                                                                               {"and_mask", FT::Count},
                                                                               {"or_mask", FT::Count}})};

const LogSchema kDeviceId{"modbus_read_device_identification",
                          icsnpp_modbus_fields({{"mei_type", FT::String},
                                                {"conformity_level_code", FT::String},
                                                {"conformity_level", FT::String},
                                                {"device_id_code", FT::Count},
                                                {"object_id_code", FT::String},
                                                {"object_id", FT::String},
                                                {"object_value", FT::String}})};

template <typename T>
Value opt(const std::optional<T>& v) {
  if (!v) return Unset{};
  return Value(*v);
}

Value opt_count(int64_t v) { return v < 0 ? Value(Unset{}) : Value(static_cast<uint64_t>(v)); }

std::string_view request_response(bool is_orig) { return is_orig ? "REQUEST" : "RESPONSE"; }

// §6.21 conformity levels, in ICSNPP's wording. ICSNPP keys "Extended" on 0x04; the specification
// defines 0x03, which is what devices send.
std::string_view conformity_name(uint8_t c) {
  switch (c) {
    case 0x01: return "Basic Identification (Stream)";
    case 0x02: return "Regular Identification (Stream)";
    case 0x03: return "Extended Identification (Stream)";
    case 0x81: return "Basic Identification (Stream, Individual)";
    case 0x82: return "Regular Identification (Stream, Individual)";
    case 0x83: return "Extended Identification (Stream, Individual)";
    default: return "Unknown";
  }
}

// §6.21 object ids 0x00-0x06, in ICSNPP's wording.
std::string_view object_name(uint8_t id) {
  switch (id) {
    case 0x00: return "VendorName";
    case 0x01: return "ProductCode";
    case 0x02: return "MajorMinorVersion";
    case 0x03: return "VendorURL";
    case 0x04: return "ProductName";
    case 0x05: return "ModelName";
    case 0x06: return "UserApplicationName";
    default: return "Unknown";
  }
}

// ICSNPP names a request's object id with its table of read device id categories.
std::string_view read_object_name(uint8_t id) {
  switch (id) {
    case 0x00: return "Basic Device Identification";
    case 0x01: return "Regular Device Identification";
    case 0x02: return "Extended Device Identification";
    case 0x03: return "Specific Device Identification";
    default: return "Unknown";
  }
}

struct Hex2 {
  char text[5];
  explicit Hex2(uint8_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    text[0] = '0';
    text[1] = 'x';
    text[2] = kDigits[v >> 4];
    text[3] = kDigits[v & 0xF];
    text[4] = 0;
  }
  std::string_view view() const { return {text, 4}; }
};

}  // namespace

const LogSchema* const kLogSchemas[kLogCount] = {&kModbus, &kDetailed, &kReadWriteMultiple, &kMaskWrite,
                                                  &kDeviceId};

void LogWriter::modbus(const Conn& c, uint64_t ts_ns, uint16_t tid, uint8_t unit, uint8_t function, bool is_orig,
                       int exception_code) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogModbus])) return;
  std::array<Value, kConnColumns + 5>& v = modbus_row_;
  cols_.fill(c, ts_ns, v.data());
  v[6] = uint64_t{tid};
  v[7] = uint64_t{unit};
  v[8] = modbus_function_name(function);
  v[9] = std::string_view(is_orig ? "REQ" : "RESP");
  v[10] = exception_code >= 0 ? Value(modbus_exception_name(static_cast<uint8_t>(exception_code))) : Value(Unset{});
  sink_->write(ids_[kLogModbus], ts_ns, cols_.last_uid(), v);
}

void LogWriter::detailed(const Conn& c, const Detailed& d) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogDetailed])) return;
  std::array<Value, kConnColumns + 15>& v = detailed_row_;
  cols_.fill(c, d.ts_ns, v.data());
  size_t i = kConnColumns;
  v[i++] = uint64_t{d.tid};
  v[i++] = uint64_t{d.unit};
  v[i++] = d.func;
  v[i++] = opt_count(d.address);
  v[i++] = opt_count(d.quantity);
  v[i++] = opt(d.request_values);
  v[i++] = opt(d.response_values);
  v[i++] = opt(d.link_id);
  v[i++] = opt(d.matched);
  v[i++] = opt(d.request_subfunction);
  v[i++] = opt(d.response_subfunction);
  v[i++] = opt(d.request_data);
  v[i++] = opt(d.response_data);
  v[i++] = opt(d.exception_code);
  v[i++] = opt(d.mei_type);
  sink_->write(ids_[kLogDetailed], d.ts_ns, cols_.last_uid(), v);
}

// The connection's and ICSNPP's columns, then icsnpp_modbus_fields' own five; returns the next column.
size_t LogWriter::fill_common(const Conn& c, const Common& k, Value* v) {
  cols_.fill_icsnpp(c, k.ts_ns, k.is_orig, v);
  size_t i = kConnColumns + kIcsnppColumns;
  v[i++] = k.link_id;
  v[i++] = uint64_t{k.tid};
  v[i++] = uint64_t{k.unit};
  v[i++] = k.func;
  v[i++] = request_response(k.is_orig);
  return i;
}

void LogWriter::mask_write_register(const Conn& c, const Common& k, uint16_t address, uint16_t and_mask,
                                    uint16_t or_mask) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogMaskWriteRegister])) return;
  std::array<Value, kConnColumns + kIcsnppColumns + 8> v;
  size_t i = fill_common(c, k, v.data());
  v[i++] = uint64_t{address};
  v[i++] = uint64_t{and_mask};
  v[i++] = uint64_t{or_mask};
  sink_->write(ids_[kLogMaskWriteRegister], k.ts_ns, cols_.last_uid(), v);
}

void LogWriter::read_write_multiple_registers(const Conn& c, const Common& k, std::optional<uint16_t> write_start,
                                              std::optional<std::span<const uint64_t>> write_registers,
                                              std::optional<uint16_t> read_start,
                                              std::optional<uint16_t> read_quantity,
                                              std::optional<std::span<const uint64_t>> read_registers) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogReadWriteMultipleRegisters])) return;
  std::array<Value, kConnColumns + kIcsnppColumns + 10> v;
  size_t i = fill_common(c, k, v.data());
  v[i++] = write_start ? Value(uint64_t{*write_start}) : Value(Unset{});
  v[i++] = opt(write_registers);
  v[i++] = read_start ? Value(uint64_t{*read_start}) : Value(Unset{});
  v[i++] = read_quantity ? Value(uint64_t{*read_quantity}) : Value(Unset{});
  v[i++] = opt(read_registers);
  sink_->write(ids_[kLogReadWriteMultipleRegisters], k.ts_ns, cols_.last_uid(), v);
}

void LogWriter::read_device_identification(const Conn& c, const Common& k, const DeviceIdRow& row) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogReadDeviceIdentification])) return;
  std::array<Value, kConnColumns + kIcsnppColumns + 12> v;
  size_t i = fill_common(c, k, v.data());
  v[i++] = std::string_view("READ-DEVICE-IDENTIFICATION");
  const Hex2 conformity(row.conformity_level.value_or(0));
  if (row.conformity_level) {
    v[i++] = conformity.view();
    v[i++] = conformity_name(*row.conformity_level);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  v[i++] = uint64_t{row.device_id_code};
  const Hex2 object(row.object_id.value_or(0));
  if (row.object_id) {
    v[i++] = object.view();
    v[i++] = k.is_orig ? read_object_name(*row.object_id) : object_name(*row.object_id);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  v[i++] = opt(row.object_value);
  sink_->write(ids_[kLogReadDeviceIdentification], k.ts_ns, cols_.last_uid(), v);
}

}  // namespace ots::modbus
