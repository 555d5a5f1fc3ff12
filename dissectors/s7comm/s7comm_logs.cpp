#include "dissectors/s7comm/s7comm_logs.hpp"

#include <array>
#include <cstdio>
#include <string>

#include "dissectors/s7comm/s7comm_names.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"

namespace ots::s7 {
namespace {

using FT = FieldType;

const LogSchema kCotp{"cotp", icsnpp_fields({{"pdu_code", FT::String}, {"pdu_name", FT::String}})};

const LogSchema kS7comm{"s7comm", icsnpp_fields({{"rosctr_code", FT::Count},
                                                 {"rosctr_name", FT::String},
                                                 {"pdu_reference", FT::Count},
                                                 {"function_code", FT::String},
                                                 {"function_name", FT::String},
                                                 {"subfunction_code", FT::String},
                                                 {"subfunction_name", FT::String},
                                                 {"error_class", FT::String},
                                                 {"error_code", FT::String}})};

const LogSchema kReadSzl{"s7comm_read_szl", icsnpp_fields({{"pdu_reference", FT::Count},
                                                          {"method", FT::String},
                                                          {"szl_id", FT::String},
                                                          {"szl_id_name", FT::String},
                                                          {"szl_index", FT::String},
                                                          {"return_code", FT::String},
                                                          {"return_code_name", FT::String}})};

const LogSchema kUploadDownload{"s7comm_upload_download", icsnpp_fields({{"rosctr", FT::String},
                                                                         {"pdu_reference", FT::Count},
                                                                         {"function_name", FT::String},
                                                                         {"function_status", FT::String},
                                                                         {"session_id", FT::Count},
                                                                         {"blocklength", FT::Count},
                                                                         {"filename", FT::String},
                                                                         {"block_type", FT::String},
                                                                         {"block_number", FT::String},
                                                                         {"destination_filesystem", FT::String}})};

const LogSchema kPlus{"s7comm_plus", icsnpp_fields({{"version", FT::Count},
                                                    {"opcode", FT::String},
                                                    {"opcode_name", FT::String},
                                                    {"function_code", FT::String},
                                                    {"function_name", FT::String}})};

constexpr size_t kPrefix = kConnColumns + kIcsnppColumns;

Value opt(const std::optional<std::string_view>& v) { return v ? Value(*v) : Value(Unset{}); }


std::string_view as_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// ICSNPP byte-swaps the PDU reference ("PDU Reference is little endian", s7comm-analyzer.pac): its
// baselines log 1 where Wireshark shows 256. The logs keep its values so the two can be joined; the
// parser and the operation events keep the wire's big-endian value.
uint64_t icsnpp_pdu_reference(uint16_t ref) { return static_cast<uint16_t>((ref >> 8) | (ref << 8)); }

}  // namespace

const LogSchema* const kLogSchemas[kLogCount] = {&kCotp, &kS7comm, &kReadSzl, &kUploadDownload, &kPlus};

void LogWriter::cotp(const Conn& c, uint64_t ts_ns, bool is_orig, uint8_t pdu_code) {
  if (!sink_->enabled(ids_[kLogCotp])) return;
  std::array<Value, kPrefix + 2>& v = cotp_row_;
  cols_.fill_icsnpp(c, ts_ns, is_orig, v.data());
  v[kPrefix] = hex_byte_text(pdu_code);
  v[kPrefix + 1] = icsnpp_cotp_pdu_name(pdu_code);
  sink_->write(ids_[kLogCotp], ts_ns, cols_.last_uid(), v);
}

void LogWriter::s7comm(const Conn& c, const S7commRow& r) {
  if (!sink_->enabled(ids_[kLogS7comm])) return;
  std::array<Value, kPrefix + 9>& v = s7comm_row_;
  cols_.fill_icsnpp(c, r.ts_ns, r.is_orig, v.data());
  size_t i = kPrefix;
  v[i++] = uint64_t{r.rosctr};
  v[i++] = icsnpp_rosctr_name(r.rosctr);
  v[i++] = icsnpp_pdu_reference(r.pdu_ref);
  v[i++] = opt(r.function_code);
  v[i++] = opt(r.function_name);
  v[i++] = opt(r.subfunction_code);
  v[i++] = opt(r.subfunction_name);
  v[i++] = opt(r.error_class);
  v[i++] = opt(r.error_code);
  sink_->write(ids_[kLogS7comm], r.ts_ns, cols_.last_uid(), v);
}

void LogWriter::read_szl(const Conn& c, const ReadSzlRow& r) {
  if (!sink_->enabled(ids_[kLogReadSzl])) return;
  std::array<Value, kPrefix + 7> v;
  cols_.fill_icsnpp(c, r.ts_ns, r.is_orig, v.data());
  const HexText id = hex_text(r.szl_id, 4), index = hex_text(r.szl_index, 4);
  size_t i = kPrefix;
  v[i++] = icsnpp_pdu_reference(r.pdu_ref);
  v[i++] = icsnpp_userdata_method_name(r.method);
  v[i++] = id.view();
  v[i++] = icsnpp_szl_id_name(r.szl_id);
  v[i++] = index.view();
  v[i++] = hex_byte_text(r.return_code);
  v[i++] = icsnpp_return_code_name(r.return_code);
  sink_->write(ids_[kLogReadSzl], r.ts_ns, cols_.last_uid(), v);
}

void LogWriter::upload_download(const Conn& c, const UploadDownloadRow& r) {
  if (!sink_->enabled(ids_[kLogUploadDownload])) return;
  std::array<Value, kPrefix + 10> v;
  cols_.fill_icsnpp(c, r.ts_ns, r.is_orig, v.data());
  size_t i = kPrefix;
  v[i++] = icsnpp_rosctr_name(r.rosctr);
  v[i++] = icsnpp_pdu_reference(r.pdu_ref);
  v[i++] = icsnpp_function_name(r.function);
  v[i++] = r.function_status ? Value(hex_byte_text(*r.function_status)) : Value(Unset{});
  v[i++] = r.session_id ? Value(uint64_t{*r.session_id}) : Value(Unset{});
  v[i++] = r.blocklength ? Value(uint64_t{*r.blocklength}) : Value(Unset{});
  if (r.filename && !r.filename->empty()) {
    // ICSNPP splits the name by position: "_0A00001P" -> type "0A", number "00001", file system "P".
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(r.filename->data()), r.filename->size());
    const BlockFilename parts = split_block_filename(bytes);
    v[i++] = *r.filename;
    v[i++] = icsnpp_block_type_name(as_text(parts.block_type));
    v[i++] = as_text(parts.block_number);
    v[i++] = icsnpp_filesystem_name(as_text(parts.filesystem));
  } else {
    for (int k = 0; k < 4; ++k) v[i++] = Unset{};
  }
  sink_->write(ids_[kLogUploadDownload], r.ts_ns, cols_.last_uid(), v);
}

void LogWriter::plus(const Conn& c, const PlusRow& r) {
  if (!sink_->enabled(ids_[kLogPlus])) return;
  std::array<Value, kPrefix + 5>& v = plus_row_;
  cols_.fill_icsnpp(c, r.ts_ns, r.is_orig, v.data());
  HexText fn;
  std::string scratch;
  size_t i = kPrefix;
  v[i++] = uint64_t{r.version};
  if (r.opcode) {
    v[i++] = hex_byte_text(*r.opcode);
    v[i++] = icsnpp_plus_opcode_name(*r.opcode);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  if (r.function) {
    fn = hex_text(*r.function, 4);
    v[i++] = fn.view();
    v[i++] = icsnpp_plus_function_name(*r.function, scratch);
  } else {
    v[i++] = Unset{};
    v[i++] = Unset{};
  }
  sink_->write(ids_[kLogPlus], r.ts_ns, cols_.last_uid(), v);
}

}  // namespace ots::s7
