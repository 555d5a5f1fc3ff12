#include "dissectors/enip/enip_logs.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "dissectors/enip/cip_names.hpp"

namespace ots::enip {
namespace {

using FT = FieldType;

const LogSchema kEnip{"enip", icsnpp_fields({{"packet_correlation_id", FT::String},
                                             {"enip_command_code", FT::String},
                                             {"enip_command", FT::String},
                                             {"length", FT::Count},
                                             {"session_handle", FT::String},
                                             {"enip_status", FT::String},
                                             {"sender_context", FT::String},
                                             {"options", FT::String}})};

const LogSchema kCip{"cip", icsnpp_fields({{"packet_correlation_id", FT::String},
                                           {"cip_sequence_count", FT::Count},
                                           {"direction", FT::String},
                                           {"cip_service_code", FT::String},
                                           {"cip_service", FT::String},
                                           {"cip_status_code", FT::String},
                                           {"cip_status", FT::String},
                                           {"cip_extended_status_code", FT::String},
                                           {"cip_extended_status", FT::String},
                                           {"class_id", FT::String},
                                           {"class_name", FT::String},
                                           {"instance_id", FT::String},
                                           {"attribute_id", FT::String}})};

const LogSchema kCipIo{"cip_io", icsnpp_fields({{"packet_correlation_id", FT::String},
                                                {"connection_id", FT::String},
                                                {"sequence_number", FT::Count},
                                                {"data_length", FT::Count},
                                                {"io_data", FT::String}})};

const LogSchema kCipIdentity{"cip_identity", icsnpp_fields({{"packet_correlation_id", FT::String},
                                                            {"encapsulation_version", FT::Count},
                                                            {"socket_address", FT::Addr},
                                                            {"socket_port", FT::Count},
                                                            {"vendor_id", FT::Count},
                                                            {"vendor_name", FT::String},
                                                            {"device_type_id", FT::Count},
                                                            {"device_type_name", FT::String},
                                                            {"product_code", FT::Count},
                                                            {"revision", FT::String},
                                                            {"device_status", FT::String},
                                                            {"serial_number", FT::String},
                                                            {"product_name", FT::String},
                                                            {"device_state", FT::String}})};

constexpr char kHex[] = "0123456789abcdef";

// Zeek's fmt("0x%0Nx", v): at least `width` digits, more when the value needs them.
std::string hex(uint64_t v, int width) { return std::string(hex_text(v, width).view()); }

// A byte's two hex digits, low nibble first (the correlation id's order).
constexpr auto kDigitPairs = [] {
  std::array<std::array<char, 2>, 256> t{};
  for (size_t b = 0; b < t.size(); ++b) t[b] = {kHex[b & 0xF], kHex[b >> 4]};
  return t;
}();

// fmt("0x%02x", v): a byte's text from the constant table; a wider value's (a 16-bit class id) is made
// in `wide`, which must outlive the view.
std::string_view hex2(uint64_t v, HexText& wide) {
  if (v <= 0xFF) return hex_byte_text(static_cast<uint8_t>(v));
  wide = hex_text(v, 2);
  return wide.view();
}

// ICSNPP's hex(bytes): two lowercase digits a byte, appended to `out`.
void append_hex_bytes(std::span<const uint8_t> b, std::string& out) {
  for (uint8_t x : b) {
    out += kHex[x >> 4];
    out += kHex[x & 0xF];
  }
}

// main.zeek's fmt("0x%s", hex(sender_context)) of the header's eight bytes, in a buffer of its own: a
// std::string of 18 characters is past the short-string buffer, an allocation per enip.log row.
struct ContextText {
  char buf[2 + 2 * kSenderContextSize];
  explicit ContextText(const std::array<uint8_t, kSenderContextSize>& b) {
    buf[0] = '0';
    buf[1] = 'x';
    for (size_t i = 0; i < b.size(); ++i) std::memcpy(buf + 2 + 2 * i, hex_byte_text(b[i]).data() + 2, 2);
  }
  std::string_view view() const { return {buf, sizeof buf}; }
};

}  // namespace

const LogSchema* const kLogSchemas[kLogCount] = {&kEnip, &kCip, &kCipIdentity};
const LogSchema* const kIoLogSchemas[kIoLogCount] = {&kCipIo};

CorrelationId make_correlation_id(const Uid& uid, uint64_t counter) {
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  const uint64_t a = mix(uid.hi ^ (uint64_t{uid.lo} << 32) ^ counter);
  const uint64_t b = mix(a ^ counter);
  CorrelationId id;
  // Sixteen digits of `a`, its lowest nibble first: a byte's two at a time.
  for (size_t i = 0; i < 8; ++i) std::memcpy(id.text + 2 * i, kDigitPairs[(a >> (8 * i)) & 0xFF].data(), 2);
  id.text[16] = kHex[b & 0xF];
  id.text[17] = kHex[(b >> 4) & 0xF];
  return id;
}

const MessageColumns& LogWriter::columns(const Conn& c, uint64_t ts_ns, bool is_orig) {
  cols_.fill_icsnpp(c, ts_ns, is_orig, message_.v.data());
  message_.ts_ns = ts_ns;
  message_.uid = cols_.last_uid();
  ++message_.serial;
  return message_;
}

void LogWriter::enip(const MessageColumns& m, const EnipRow& r) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogEnip])) return;
  auto& v = enip_row_;
  std::copy(m.v.begin(), m.v.end(), v.begin());
  size_t i = kConnColumns + kIcsnppColumns;
  // main.zeek: fmt("0x%02x", command), fmt("0x%08x", session_handle), fmt("0x%s", hex(sender_context)),
  // fmt("0x%08x", options).
  HexText code;
  const HexText session = hex_text(r.session, 8), options = hex_text(r.options, 8);
  const ContextText context(r.sender_context);
  v[i++] = r.correlation;
  v[i++] = hex2(r.command, code);
  v[i++] = enip_command_name(r.command);
  v[i++] = uint64_t{r.length};
  v[i++] = session.view();
  v[i++] = enip_status_name(r.status, scratch_);
  v[i++] = context.view();
  v[i++] = options.view();
  sink_->write(ids_[kLogEnip], m.ts_ns, m.uid, v);
}

void LogWriter::cip(const MessageColumns& m, const CipRow& r) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogCip])) return;
  auto& v = cip_row_;
  if (&m != &message_ || m.serial != cip_row_serial_) {
    std::copy(m.v.begin(), m.v.end(), v.begin());
    cip_row_serial_ = &m == &message_ ? m.serial : 0;
  }
  size_t i = kConnColumns + kIcsnppColumns;
  // Texts of codes past a byte live here until the write has copied the row.
  HexText ext_code, cls, inst, attr;
  v[i++] = r.correlation;
  v[i++] = r.sequence_count > 0 ? Value(uint64_t(r.sequence_count)) : Value(Unset{});
  v[i++] = std::string_view(r.response ? "response" : "request");
  v[i++] = hex_byte_text(r.service);
  v[i++] = r.service_name;
  if (r.response && r.status >= 0) {
    v[i++] = hex_byte_text(static_cast<uint8_t>(r.status));
    v[i++] = cip_status_name(static_cast<uint8_t>(r.status), scratch_);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  if (r.response && r.extended_status >= 0) {
    ext_code = hex_text(static_cast<uint64_t>(r.extended_status), 4);
    v[i++] = ext_code.view();
    v[i++] = cip_extended_status_name(static_cast<uint16_t>(r.extended_status), scratch2_);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  // ICSNPP fills the request path's ids on requests only, as fmt("0x%02x").
  if (!r.response && r.class_id >= 0) {
    v[i++] = hex2(static_cast<uint64_t>(r.class_id), cls);
    v[i++] = cip_class_name(static_cast<uint32_t>(r.class_id));
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  if (!r.response && r.instance_id >= 0) {
    v[i++] = hex2(static_cast<uint64_t>(r.instance_id), inst);
  } else {
    v[i++] = Unset{};
  }
  if (!r.response && r.attribute_id >= 0) {
    v[i++] = hex2(static_cast<uint64_t>(r.attribute_id), attr);
  } else {
    v[i++] = Unset{};
  }
  sink_->write(ids_[kLogCip], m.ts_ns, m.uid, v);
}

void LogWriter::cip_io(const MessageColumns& m, const CipIoRow& r) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogCipIo])) return;
  std::array<Value, kConnColumns + kIcsnppColumns + 5> v;
  std::copy(m.v.begin(), m.v.end(), v.begin());
  size_t i = kConnColumns + kIcsnppColumns;
  const HexText id = hex_text(r.connection_id, 8);
  scratch_.clear();  // kept between rows: its buffer is allocated once, not per datagram
  append_hex_bytes(r.data, scratch_);
  v[i++] = r.correlation;
  v[i++] = id.view();
  v[i++] = uint64_t{r.sequence};
  v[i++] = uint64_t{r.data.size()};
  v[i++] = std::string_view(scratch_);
  sink_->write(ids_[kLogCipIo], m.ts_ns, m.uid, v);
}

void LogWriter::cip_identity(const MessageColumns& m, const IdentityRow& r) {
  if (!sink_ || !ids_ || !sink_->enabled(ids_[kLogCipIdentity])) return;
  std::array<Value, kConnColumns + kIcsnppColumns + 15> v;
  std::copy(m.v.begin(), m.v.end(), v.begin());
  size_t i = kConnColumns + kIcsnppColumns;
  std::string vendor(cip_vendor_name(r.vendor_id));
  if (vendor.empty()) vendor = "Unknown Vendor-" + hex(r.vendor_id, 2);  // ICSNPP's &default
  std::string device(cip_device_type_name(r.device_type));
  if (device.empty()) device = "Unknown Device-" + hex(r.device_type, 2);
  const std::string revision = std::to_string(r.revision_major) + "." + std::to_string(r.revision_minor);
  const std::string status = hex(r.status, 4), serial = hex(r.serial_number, 8), state = hex(r.state, 4);
  v[i++] = r.correlation;
  v[i++] = uint64_t{r.encapsulation_version};
  v[i++] = IpAddr::v4(r.socket_addr);
  v[i++] = uint64_t{r.socket_port};
  v[i++] = uint64_t{r.vendor_id};
  v[i++] = std::string_view(vendor);
  v[i++] = uint64_t{r.device_type};
  v[i++] = std::string_view(device);
  v[i++] = uint64_t{r.product_code};
  v[i++] = std::string_view(revision);
  v[i++] = std::string_view(status);
  v[i++] = std::string_view(serial);
  v[i++] = std::string_view(reinterpret_cast<const char*>(r.product_name.data()), r.product_name.size());
  v[i++] = std::string_view(state);
  sink_->write(ids_[kLogCipIdentity], m.ts_ns, m.uid, v);
}

}  // namespace ots::enip
