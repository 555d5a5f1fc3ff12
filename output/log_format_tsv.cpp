// Zeek's ASCII writer (src/logging/writers/ascii/Ascii.cc) with its default options, and the value rules of
// its formatter (src/threading/formatters/Ascii.cc) and ODesc escaping (src/Desc.cc) with enable_utf_8=T.
#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>

#include "output/log_format.hpp"
#include "output/record_pack.hpp"
#include "output/span_values.hpp"
#include "output/text_out.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

using text::append_hex_escape;
using text::TextOut;

// Bit 0: passes as is in a plain field; bit 1: passes as is inside a set or vector. One table lookup
// per byte instead of four comparisons: string columns are most of every log's bytes.
constexpr auto kPass = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned c = 0x20; c < 0x7f; ++c) t[c] = c == '\\' ? 0 : c == ',' ? 1 : 3;
  return t;
}();

// Input bytes escaped per room request: each becomes at most 4 bytes ("\xHH"), and a UTF-8 character
// that starts in the chunk may run 3 bytes past it (copied as is).
constexpr size_t kChunk = 64;
static_assert(4 * (kChunk + 3) <= TextOut::kCap);

// ODesc::AddBytes with escaping and UTF-8 on: a backslash becomes "\\" (get_escaped_string writes it
// doubled), the separator (and, inside a set or vector, the set separator) becomes \xHH, valid UTF-8
// passes through, and every other byte that is not printable ASCII becomes \xHH.
void put_escaped(TextOut& out, std::string_view s, bool in_container) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const uint8_t want = in_container ? 2 : 1;
  // The tab separator is a control byte, which plain8 already refuses.
  const unsigned char also = in_container ? ',' : '\\';
  size_t i = 0;
  while (i < n) {
    const size_t stop = i + std::min(n - i, kChunk);
    char* q = out.room(4 * (kChunk + 3));
    while (i < stop) {
      if (text::copy_passing(q, p, i, stop, n, '\\', also)) continue;
      const unsigned c = p[i];
      if (kPass[c] & want) {
        *q++ = static_cast<char>(c);
        ++i;
        continue;
      }
      if (c == '\\') {
        q[0] = '\\';
        q[1] = '\\';
        q += 2;
      } else {
        q = text::write_hex_escape(q, static_cast<uint8_t>(c));
      }
      ++i;
    }
    out.commit(q);
  }
}

// Ascii::Describe for strings and enums: "(empty)" for zero length; a value equal to the unset or empty
// marker gets its first byte hex-escaped so that it reads back as itself.
// Inlined into the record loop with put_value: its plain path is a few instructions beside the call.
[[gnu::always_inline]] inline void put_string(TextOut& out, std::string_view s, bool in_container) {
  // Most strings are names, codes and uids with nothing to escape: checked a word at a time (two
  // overlapping halves under eight bytes) and copied whole. A string of two bytes or more is not "-",
  // and only one of seven can be "(empty)".
  if (const size_t n = s.size(); n >= 2 && n <= kChunk && !(n == 7 && s == "(empty)")) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char also = in_container ? ',' : '\\';
    if (text::plain_run(p, n, '\\', also)) {
      char* q = out.room(n);
      text::copy_run(q, p, n);
      out.commit(q + n);
      return;
    }
  }
  if (s.empty()) {
    out.put("(empty)");
  } else if (s.size() == 1 && s[0] == '-') {
    out.put("\\x2d");
  } else if (s == "(empty)") {
    out.put("\\x28empty)");
  } else {
    put_escaped(out, s, in_container);
  }
}

void put_unset(TextOut& out) { out.put('-'); }

template <size_t N, typename Fn>
void put_with(TextOut& out, Fn&& write) {
  char* q = out.room(N);
  out.commit(write(q));
}

// Inlined into the record loop: as a call (one per field) its entry and exit cost some 13 instructions.
[[gnu::always_inline]] inline void put_value(TextOut& out, FieldType t, const Value& v) {
  if (std::holds_alternative<Unset>(v)) {
    put_unset(out);
    return;
  }
  const auto* u = std::get_if<uint64_t>(&v);
  const auto* i = std::get_if<int64_t>(&v);
  switch (t) {
    case FieldType::Time:
    case FieldType::Interval:
      if (u) {
        put_with<text::kMaxFixed6Text>(out, [u](char* q) { return text::write_fixed6_ns(q, false, *u); });
      } else if (i) {
        const bool neg = *i < 0;
        const uint64_t mag = neg ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i);
        put_with<text::kMaxFixed6Text>(out, [neg, mag](char* q) { return text::write_fixed6_ns(q, neg, mag); });
      } else {
        put_unset(out);
      }
      return;
    case FieldType::Port:
    case FieldType::Count:
    case FieldType::Int:
      if (u) {
        put_with<text::kMaxU64Text>(out, [u](char* q) { return text::write_u64(q, *u); });
      } else if (i) {
        put_with<text::kMaxI64Text>(out, [i](char* q) { return text::write_i64(q, *i); });
      } else {
        put_unset(out);
      }
      return;
    case FieldType::Double:
      if (const auto* d = std::get_if<double>(&v)) {
        // Rare (a few logs' ratios): through a string, as before.
        std::string tmp;
        text::append_tsv_double(tmp, *d);
        out.put(tmp);
      } else {
        put_unset(out);
      }
      return;
    case FieldType::Bool:
      if (const auto* b = std::get_if<bool>(&v)) {
        out.put(*b ? 'T' : 'F');
      } else {
        put_unset(out);
      }
      return;
    case FieldType::Addr:
      if (const auto* a = std::get_if<IpAddr>(&v)) {
        put_with<text::kMaxAddrText>(out, [a](char* q) { return text::write_addr(q, *a); });
      } else {
        put_unset(out);
      }
      return;
    case FieldType::String:
    case FieldType::Enum:
    case FieldType::Subnet:
      if (const auto* s = std::get_if<std::string_view>(&v)) {
        put_string(out, *s, false);
      } else {
        put_unset(out);
      }
      return;
    case FieldType::SetString:
    case FieldType::SetEnum:
    case FieldType::VectorString:
      if (const auto* xs = std::get_if<std::span<const std::string_view>>(&v)) {
        if (xs->empty()) {
          out.put("(empty)");
          return;
        }
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.put(',');
          put_string(out, (*xs)[k], true);
        }
      } else {
        put_unset(out);
      }
      return;
    case FieldType::VectorCount:
      if (const auto* xs = std::get_if<std::span<const uint64_t>>(&v)) {
        if (xs->empty()) {
          out.put("(empty)");
          return;
        }
        for (size_t k = 0; k < xs->size(); ++k) {
          if (k) out.put(',');
          const uint64_t x = (*xs)[k];
          put_with<text::kMaxU64Text>(out, [x](char* q) { return text::write_u64(q, x); });
        }
      } else {
        put_unset(out);
      }
      return;
  }
  put_unset(out);
}

// Ascii::Timestamp: the wall clock in local time.
void append_meta_time(std::string& out, int64_t unix_s) {
  const auto t = static_cast<time_t>(unix_s);
  struct tm tm {};
  char b[64];
  size_t n = 0;
  if (localtime_r(&t, &tm)) n = strftime(b, sizeof b, "%Y-%m-%d-%H-%M-%S", &tm);
  out.append(b, n);
}

// get_escaped_string(path, escape_all=false): whitespace and bytes that are not printable ASCII.
void append_meta_escaped(std::string& out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c > 0x20 && c < 0x7f) {
      out.push_back(ch);
    } else {
      append_hex_escape(out, c);
    }
  }
}

}  // namespace

// ---- the connection columns' text, kept per connection ----

namespace {

constexpr unsigned kConnSlotBits = 10;
constexpr size_t kConnSlots = size_t{1} << kConnSlotBits;
constexpr size_t kMaxUid = 23;       // Uid::text is "C" and at most 17 base62 digits
constexpr size_t kMaxConnText = 192;
// The longest text write_conn_columns writes: the uid, four addresses and ports, the bool, nine tabs.
constexpr size_t kMaxCoveredText = kMaxUid + 4 * text::kMaxAddrText + 4 * text::kMaxU64Text + 1 + 9;
static_assert(kMaxCoveredText <= TextOut::kCap);

// The values of a record's covered columns, when they are of the kinds the cache keeps; a record with
// anything else there (an unset uid, a port held as int64) is written field by field.
struct ConnKey {
  std::string_view uid;
  const IpAddr* addr[4] = {};
  uint64_t port[4] = {};
  bool is_orig = false;
  int pairs = 0;
};

// Columns 1..5 are uid, (addr, port) x 2; columns 6..10 are is_orig, (addr, port) x 2.
bool conn_key(std::span<const Value> v, uint8_t columns, ConnKey& k) {
  if (v.size() <= columns) return false;
  const auto* uid = std::get_if<std::string_view>(&v[1]);
  if (uid == nullptr || uid->size() < 8 || uid->size() > kMaxUid) return false;
  k.uid = *uid;
  k.pairs = columns == 10 ? 4 : 2;
  // Each address's column; its port follows it.
  static constexpr size_t kAddrColumn[4] = {2, 4, 7, 9};
  for (int j = 0; j < k.pairs; ++j) {
    const size_t at = kAddrColumn[j];
    const auto* a = std::get_if<IpAddr>(&v[at]);
    const auto* p = std::get_if<uint64_t>(&v[at + 1]);
    if (a == nullptr || p == nullptr) return false;
    k.addr[j] = a;
    k.port[j] = *p;
  }
  if (columns == 10) {
    const auto* b = std::get_if<bool>(&v[6]);
    if (b == nullptr) return false;
    k.is_orig = *b;
  }
  return true;
}

// Whether the n (8..kMaxUid) bytes at a and b are the same, as two overlapping fixed-size compares (which
// the compiler turns into loads) instead of a call to memcmp for a length it does not know.
bool same_uid(const char* a, const char* b, size_t n) {
  static_assert(kMaxUid <= 32);
  if (n >= 16) return std::memcmp(a, b, 16) == 0 && std::memcmp(a + n - 16, b + n - 16, 16) == 0;
  return std::memcmp(a, b, 8) == 0 && std::memcmp(a + n - 8, b + n - 8, 8) == 0;
}

// A uid that the string rule writes unchanged: letters and digits only (so neither "-" nor "(empty)",
// and nothing to escape). Uid::text always is; anything else takes the field-by-field path.
bool verbatim_uid(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

// The covered columns exactly as put_value writes them, tab-separated, for a verbatim uid.
char* write_conn_columns(char* q, const ConnKey& k) {
  std::memcpy(q, k.uid.data(), k.uid.size());
  q += k.uid.size();
  for (int j = 0; j < k.pairs; ++j) {
    *q++ = '\t';
    if (j == 2) {
      *q++ = k.is_orig ? 'T' : 'F';
      *q++ = '\t';
    }
    q = text::write_addr(q, *k.addr[j]);
    *q++ = '\t';
    q = text::write_u64(q, k.port[j]);
  }
  return q;
}

}  // namespace

struct TsvRecordCache::Slot {
  IpAddr addr[4];
  uint64_t port[4] = {};
  char uid[kMaxUid] = {};
  uint8_t uid_len = 0;  // 0: nothing kept
  uint8_t columns = 0;
  bool is_orig = false;
  uint8_t text_len = 0;
  char text[kMaxConnText] = {};

  bool holds(const ConnKey& k, uint8_t cols) const {
    if (uid_len != k.uid.size() || columns != cols || is_orig != k.is_orig) return false;
    if (!same_uid(uid, k.uid.data(), uid_len)) return false;
    for (int j = 0; j < k.pairs; ++j) {
      if (!(addr[j] == *k.addr[j]) || port[j] != k.port[j]) return false;
    }
    return true;
  }

  void keep(const ConnKey& k, uint8_t cols, const char* t, size_t len) {
    for (int j = 0; j < k.pairs; ++j) {
      addr[j] = *k.addr[j];
      port[j] = k.port[j];
    }
    std::memcpy(uid, k.uid.data(), k.uid.size());
    uid_len = static_cast<uint8_t>(k.uid.size());
    columns = cols;
    is_orig = k.is_orig;
    std::memcpy(text, t, len);
    text_len = static_cast<uint8_t>(len);
  }
};
static_assert(kMaxConnText <= 255, "Slot::text_len is a byte");

TsvRecordCache::TsvRecordCache() : slots_(std::make_unique<Slot[]>(kConnSlots)) {}
TsvRecordCache::~TsvRecordCache() = default;

uint8_t TsvRecordCache::columns_of(const LogSchema& schema) {
  static constexpr FieldType kConn[] = {FieldType::String, FieldType::Addr, FieldType::Port, FieldType::Addr,
                                        FieldType::Port};
  static constexpr FieldType kIcsnpp[] = {FieldType::Bool, FieldType::Addr, FieldType::Port, FieldType::Addr,
                                          FieldType::Port};
  const auto& f = schema.fields;
  const auto matches = [&f](size_t from, const FieldType(&types)[5]) {
    for (size_t i = 0; i < 5; ++i) {
      if (f[from + i].type != types[i]) return false;
    }
    return true;
  };
  // At least one column after the covered ones, so that a record is never only ts and cached text.
  if (f.size() < 7 || !matches(1, kConn)) return 0;
  if (f.size() >= 12 && matches(6, kIcsnpp)) return 10;
  return 5;
}

// One record's line onto `o`, from `values` (SpanValues or PackedValues: size(), next(), whole()) read
// once in field order; with `cache`, the `columns` after ts from it when it holds them and the ts
// seconds kept from the last record. False, with nothing written, when `values` runs out before its
// size() or is not whole at the end (a packed record that is not what pack_record wrote).
template <typename Values>
bool put_tsv_record(TextOut& o, const LogSchema& schema, Values& values, TsvRecordCache* cache, uint8_t columns) {
  const size_t start = o.size();
  const size_t fields = schema.fields.size();
  const size_t n = values.size();
  size_t k = 0;  // the next field to write
  Value v;
  if (cache != nullptr && columns != 0 && n > columns) {
    // The covered columns and ts are read first: the cache compares them before any is written.
    Value* head = cache->head_;
    static_assert(sizeof cache->head_ / sizeof(Value) > 10, "ts and the ten covered columns");
    for (size_t i = 0; i <= columns; ++i) {
      if (!values.next(head[i])) {
        o.truncate(start);
        return false;
      }
    }
    ConnKey key;
    if (conn_key(std::span<const Value>(head, size_t{columns} + 1), columns, key)) {
      if (const auto* ts = std::get_if<uint64_t>(&head[0]); ts && schema.fields[0].type == FieldType::Time) {
        char* q = o.room(text::kMaxFixed6Text);
        o.commit(cache->ts_.write(q, *ts));
      } else {
        put_value(o, schema.fields[0].type, head[0]);
      }
      o.put('\t');
      // The uid's last eight characters are its low base62 digits: well spread.
      const uint64_t h = (text::load8(reinterpret_cast<const unsigned char*>(key.uid.data() + key.uid.size() - 8)) ^
                          (key.is_orig ? 0x5555 : 0)) *
                         0x9e3779b97f4a7c15ull;
      TsvRecordCache::Slot& s = cache->slots_[h >> (64 - kConnSlotBits)];
      if (s.holds(key, columns)) {
        char* q = o.room(s.text_len);
        std::memcpy(q, s.text, s.text_len);
        o.commit(q + s.text_len);
      } else if (verbatim_uid(key.uid)) {
        char* q = o.room(kMaxCoveredText);
        char* e = write_conn_columns(q, key);
        if (static_cast<size_t>(e - q) <= kMaxConnText) s.keep(key, columns, q, static_cast<size_t>(e - q));
        o.commit(e);
      } else {
        for (size_t f = 1; f <= columns; ++f) {
          if (f > 1) o.put('\t');
          put_value(o, schema.fields[f].type, head[f]);
        }
      }
    } else {
      for (size_t f = 0; f <= columns; ++f) {
        if (f > 0) o.put('\t');
        put_value(o, schema.fields[f].type, head[f]);
      }
    }
    k = size_t{columns} + 1;
  }
  for (; k < fields; ++k) {
    if (k != 0) o.put('\t');
    if (k < n) {
      if (!values.next(v)) {
        o.truncate(start);
        return false;
      }
      put_value(o, schema.fields[k].type, v);
    } else {
      put_unset(o);
    }
  }
  // Values past the schema's fields are not written, but a packed record is read to its end all the same.
  for (; k < n; ++k) {
    if (!values.next(v)) break;
  }
  if (!values.whole() || k < n) {
    o.truncate(start);
    return false;
  }
  o.put('\n');
  // As Ascii::DoWrite leaves a line: a data line must not read as a meta line.
  if (o.at(start) == '#') o.replace_byte(start, "\\x23");
  return true;
}

void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out) {
  TextOut o(out);
  SpanValues v{values};
  put_tsv_record(o, schema, v, nullptr, 0);
}

void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out, TsvRecordCache& cache,
                uint8_t columns) {
  TextOut o(out);
  SpanValues v{values};
  put_tsv_record(o, schema, v, &cache, columns);
}

bool format_tsv(const LogSchema& schema, PackedValues& rec, TextOut& out, TsvRecordCache& cache, uint8_t columns) {
  return put_tsv_record(out, schema, rec, &cache, columns);
}

std::string tsv_header(const LogSchema& schema, int64_t open_time_unix_s) {
  std::string h;
  h.reserve(256 + schema.fields.size() * 24);
  // "Always use space as separator here": the one meta line whose key and value a space divides.
  h.append("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t");
  append_meta_escaped(h, schema.path);
  h.append("\n#open\t");
  append_meta_time(h, open_time_unix_s);
  h.append("\n#fields");
  for (const FieldDef& f : schema.fields) {
    h.push_back('\t');
    h.append(f.name);
  }
  h.append("\n#types");
  for (const FieldDef& f : schema.fields) {
    h.push_back('\t');
    h.append(zeek_type_name(f.type));
  }
  h.push_back('\n');
  return h;
}

std::string tsv_footer(int64_t close_time_unix_s) {
  std::string f = "#close\t";
  append_meta_time(f, close_time_unix_s);
  f.push_back('\n');
  return f;
}

}  // namespace ots
