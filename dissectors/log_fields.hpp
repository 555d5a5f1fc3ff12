// The columns protocol logs share: Zeek's ts/uid/id.* and ICSNPP's is_orig/source/destination prefix.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "capture/flow.hpp"
#include "output/log_schema.hpp"

namespace ots {

// Zeek's leading columns: ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p.
inline constexpr size_t kConnColumns = 6;
// ICSNPP's: is_orig, source_h, source_p, destination_h, destination_p (after the id.* columns).
inline constexpr size_t kIcsnppColumns = 5;

// Schema builders: the shared columns followed by the log's own.
std::vector<FieldDef> conn_fields(std::initializer_list<FieldDef> own);
std::vector<FieldDef> icsnpp_fields(std::initializer_list<FieldDef> own);

// Fills the shared columns of one record; the values view this object, which must outlive the write.
// The columns are built once per connection (the uid's text was the costliest column of every row, the
// conn_id's addresses next): a row copies them.
struct ConnColumns {
  // The connection the columns were built for: its conn_id and what its uid is a hash of besides
  // (Conn::uid: the key and the first packet's time). Compared field by field with Conn's accessors, as a
  // writer may serve several connections (and a connection's roles may flip).
  ConnId for_id;
  uint64_t for_first_ts = 0;
  uint16_t for_vlan = 0, for_inner_vlan = 0;
  uint8_t for_ip_proto = 0;
  bool for_one_way = false;
  bool built = false;
  Uid for_uid;
  UidText uid;
  // id.orig_h, id.orig_p, id.resp_h, id.resp_p as values (columns 2-5), built with the uid. The uid's
  // view is taken at each fill, not kept here: a kept view of `uid` would dangle in a copy.
  std::array<Value, kConnColumns - 2> built_cols;
  // The uid of the connection the last fill() was for (a row's LogSink::write takes it too).
  const Uid& last_uid() const { return for_uid; }
  void fill(const Conn& c, uint64_t ts_ns, Value* out);                  // kConnColumns values
  void fill_icsnpp(const Conn& c, uint64_t ts_ns, bool is_orig, Value* out);  // kConnColumns + kIcsnppColumns

 private:
  bool is_for(const Conn& c) const;
  void build(const Conn& c);
};

// "0x" and `width` or more lowercase hex digits (ICSNPP's fmt("0x%02x")), without printf or allocation.
// Only the first `len` characters are ever read, so the buffer is left unfilled (a row's texts are made
// per record: zeroing 20 bytes each time cost more than the digits).
struct HexText {
  char buf[20];
  uint8_t len = 0;
  std::string_view view() const { return {buf, len}; }
  operator std::string_view() const { return view(); }
};
// Inline: most calls have a constant width, and the digit count then folds.
inline HexText hex_text(uint64_t v, int width) {
  constexpr char kHex[] = "0123456789abcdef";
  const int significant = v == 0 ? 1 : (67 - __builtin_clzll(v)) / 4;  // hex digits of v
  const int digits = significant > width ? significant : (width < 1 ? 1 : width > 16 ? 16 : width);
  HexText t;
  t.buf[0] = '0';
  t.buf[1] = 'x';
  for (int i = 0; i < digits; ++i) t.buf[2 + i] = kHex[(v >> (4 * (digits - 1 - i))) & 0xF];
  t.len = static_cast<uint8_t>(2 + digits);
  return t;
}

// A short constant text built at compile time, for the tables of names a dissector's rows view (one per
// code value) where a switch, a search or a string built per row cost more than the row's other columns.
template <size_t N>
struct FixedText {
  std::array<char, N> text{};
  uint8_t len = 0;
  constexpr void append(std::string_view s) {
    for (const char ch : s) text[len++] = ch;
  }
  constexpr std::string_view view() const { return {text.data(), len}; }
};

// hex_text(v, 2) of every byte, "0x00" to "0xff", as constant texts: a row's one-byte codes are views of
// this table instead of texts built and kept per row.
inline constexpr auto kHexByteTexts = [] {
  constexpr char kDigits[] = "0123456789abcdef";
  std::array<std::array<char, 4>, 256> t{};
  for (size_t v = 0; v < t.size(); ++v) t[v] = {'0', 'x', kDigits[v >> 4], kDigits[v & 0xF]};
  return t;
}();
inline std::string_view hex_byte_text(uint8_t v) { return {kHexByteTexts[v].data(), kHexByteTexts[v].size()}; }

}  // namespace ots
