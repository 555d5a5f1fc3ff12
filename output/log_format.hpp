// Zeek's ASCII (TSV) and JSON renderings of one record, and the TSV header and footer.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "output/log_schema.hpp"
#include "output/value_text.hpp"

namespace ots {

class PackedValues;  // record_pack.hpp
namespace text {
class TextOut;  // text_out.hpp
}

// Appends one record as a TSV data line (with its '\n') exactly as Zeek's Ascii writer does: escaping of
// separators and non-printable bytes as \xHH, "(empty)" for empty strings and containers, "-" for unset,
// 6-decimal times and intervals, T/F, a leading '#' written as \x23.
void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out);

// What consecutive TSV records repeat, kept between them by a sink: the text of each connection's columns
// (uid and id.*, and ICSNPP's is_orig, source_h/p and destination_h/p where the log has them), the same on
// every record of a connection and about half of a protocol log's row; and the seconds of the last ts.
// A connection's text is reused only while the values are exactly those it was made from (compared on
// every record, not assumed from the uid); slots are direct-mapped by uid, so the records of interleaved
// connections mostly find theirs. Thread-confined (one per sink); allocated once.
class TsvRecordCache {
 public:
  TsvRecordCache();
  ~TsvRecordCache();
  TsvRecordCache(const TsvRecordCache&) = delete;
  TsvRecordCache& operator=(const TsvRecordCache&) = delete;

  // How many columns after ts this cache can stand for in a log of this schema: 10 (the conn and ICSNPP
  // columns), 5 (the conn columns) or 0.
  static uint8_t columns_of(const LogSchema& schema);

  struct Slot;

 private:
  template <typename Values>
  friend bool put_tsv_record(text::TextOut&, const LogSchema&, Values&, TsvRecordCache*, uint8_t);
  std::unique_ptr<Slot[]> slots_;
  text::TimeText ts_;
  // ts and the covered columns of the record being written, read ahead of the rest: here rather than a
  // local array, whose values would be constructed on every record (36 instructions a record on mb100k).
  Value head_[11];
};

// format_tsv, with the `columns` (TsvRecordCache::columns_of(schema)) after ts copied from `cache` when it
// holds them and the ts seconds kept from the last record: the same bytes as format_tsv.
void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out, TsvRecordCache& cache,
                uint8_t columns);

// The packed record `rec` (opened, no value read yet) as the format_tsv above writes its values, onto
// `out`: the log thread's way, reading the packed bytes in place. False, with nothing written, when the
// bytes are not one whole packed record.
bool format_tsv(const LogSchema& schema, PackedValues& rec, text::TextOut& out, TsvRecordCache& cache,
                uint8_t columns);

// Appends one record as a JSON object line (with its '\n') as Zeek's LogAscii::use_json=T writes it:
// flattened keys, unset fields omitted, times as epoch seconds with 6 decimals, Zeek's HEX string escape
// policy for bytes that are not valid UTF-8.
void format_json(const LogSchema& schema, std::span<const Value> values, std::string& out);

// Every field's key text (`"name":`, JSON-escaped) of one schema, made once instead of on every record.
class JsonKeys {
 public:
  // Bytes readable from the start of every key (the text has that much slack after its last key).
  static constexpr size_t kKeyCopy = 32;

  explicit JsonKeys(const LogSchema& schema);
  // Field k's key; k < the schema's field count.
  std::string_view key(size_t k) const { return {text_.data() + starts_[k], starts_[k + 1] - starts_[k]}; }

 private:
  std::string text_;
  std::vector<uint32_t> starts_;  // field k's key is text_[starts_[k], starts_[k + 1])
};

// format_json with the keys of `keys` (made from this schema) and the seconds of a first ts field kept in
// `ts` from the last record (thread-confined, as the caller): the same bytes.
void format_json(const LogSchema& schema, const JsonKeys& keys, std::span<const Value> values, std::string& out,
                 text::TimeText& ts);

// The packed record `rec` (opened, no value read yet) as the format_json above writes its values, onto
// `out`. False, with nothing written, when the bytes are not one whole packed record.
bool format_json(const LogSchema& schema, const JsonKeys& keys, PackedValues& rec, text::TextOut& out,
                 text::TimeText& ts);

// The eight header lines (#separator ... #types) with #open at `open_time` (wall clock, local time,
// "%Y-%m-%d-%H-%M-%S"), and the #close footer line.
std::string tsv_header(const LogSchema& schema, int64_t open_time_unix_s);
std::string tsv_footer(int64_t close_time_unix_s);

}  // namespace ots
