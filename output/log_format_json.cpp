// Zeek's JSON formatter (src/threading/formatters/JSON.cc) with LogAscii's defaults: json_timestamps
// TS_EPOCH, json_include_unset_fields F, json_string_escape_policy HEX. Zeek builds each line with
// rapidjson's Writer; the number and string layouts below are that writer's.
#include <algorithm>
#include <cstring>

#include "output/log_format.hpp"
#include "output/record_pack.hpp"
#include "output/span_values.hpp"
#include "output/text_out.hpp"
#include "output/value_op.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

using text::TextOut;

// Input bytes escaped per room request: each becomes at most 5 bytes ("\\xHH"), and a UTF-8 character
// that starts in the chunk may run 3 bytes past it (copied as is).
constexpr size_t kChunk = 64;
static_assert(5 * (kChunk + 3) + 2 <= TextOut::kCap);

// util::escape_utf8(s, ESCAPE_UNPRINTABLE_CONTROLS) (the HEX policy) followed by rapidjson's string
// escaping: bytes that are not valid UTF-8 and control characters other than \b \f \n \r \t become the
// text \xHH, whose backslash JSON then doubles; '"' and '\' get their JSON escapes; valid UTF-8 passes.
void put_json_string(TextOut& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  // Most strings (uids, names, codes) have nothing to escape: checked a word at a time and copied whole
  // with their quotes, one room request for all of it.
  if (n <= kChunk && text::plain_run(p, n, '"', '\\')) {
    char* q = out.room(n + 2);
    q[0] = '"';
    text::copy_run(q + 1, p, n);
    q[n + 1] = '"';
    out.commit(q + n + 2);
    return;
  }
  out.put('"');
  size_t i = 0;
  while (i < n) {
    const size_t stop = i + std::min(n - i, kChunk);
    char* q = out.room(5 * (kChunk + 3));
    while (i < stop) {
      if (text::copy_passing(q, p, i, stop, n, '"', '\\')) continue;
      const unsigned c = p[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        *q++ = static_cast<char>(c);
        ++i;
        continue;
      }
      char esc = 0;
      switch (c) {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        default: break;
      }
      *q++ = '\\';
      if (esc) {
        *q++ = esc;
      } else {
        q = text::write_hex_escape(q, static_cast<uint8_t>(c));
      }
      ++i;
    }
    out.commit(q);
  }
  out.put('"');
}

template <size_t N, typename Fn>
void put_with(TextOut& out, Fn&& write) {
  char* q = out.room(N);
  out.commit(write(q));
}

// A value value_op did not call unset, as rapidjson's writer lays it out. Inlined into the record loop:
// as a call (one per field) its entry and exit cost more than most of its cases.
[[gnu::always_inline]] inline void put_json_value(TextOut& out, ValueOp op, const Value& v) {
  switch (op) {
    case ValueOp::Unset:
      return;  // not reached: format_json leaves unset fields out
    // Zeek writes times and intervals as double seconds (writer.Double); ours are nanosecond integers
    // rounded to the microsecond Zeek's timestamps carry.
    case ValueOp::TimeU: {
      const uint64_t u = held<uint64_t>(v);
      put_with<text::kMaxFixed6Text>(out, [u](char* q) { return text::write_shortest_us_ns(q, false, u); });
      return;
    }
    case ValueOp::TimeI: {
      const int64_t i = held<int64_t>(v);
      const bool neg = i < 0;
      const uint64_t mag = neg ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
      put_with<text::kMaxFixed6Text>(out, [neg, mag](char* q) { return text::write_shortest_us_ns(q, neg, mag); });
      return;
    }
    case ValueOp::CountU: {
      const uint64_t u = held<uint64_t>(v);
      put_with<text::kMaxU64Text>(out, [u](char* q) { return text::write_u64(q, u); });
      return;
    }
    case ValueOp::CountI: {
      const int64_t i = held<int64_t>(v);
      put_with<text::kMaxI64Text>(out, [i](char* q) { return text::write_i64(q, i); });
      return;
    }
    case ValueOp::Double: {
      std::string tmp;  // rare: a few logs' ratios
      text::append_json_double(tmp, held<double>(v));
      out.put(tmp);
      return;
    }
    case ValueOp::Bool:
      out.put(held<bool>(v) ? std::string_view("true") : std::string_view("false"));
      return;
    case ValueOp::Addr: {
      const IpAddr& a = held<IpAddr>(v);
      put_with<text::kMaxAddrText + 2>(out, [&a](char* q) {
        *q++ = '"';
        q = text::write_addr(q, a);
        *q++ = '"';
        return q;
      });
      return;
    }
    case ValueOp::String:
      put_json_string(out, held<std::string_view>(v));
      return;
    case ValueOp::Strings: {
      const auto xs = held<std::span<const std::string_view>>(v);
      out.put('[');
      for (size_t k = 0; k < xs.size(); ++k) {
        if (k) out.put(',');
        put_json_string(out, xs[k]);
      }
      out.put(']');
      return;
    }
    case ValueOp::Counts: {
      const auto xs = held<std::span<const uint64_t>>(v);
      out.put('[');
      for (size_t k = 0; k < xs.size(); ++k) {
        if (k) out.put(',');
        const uint64_t x = xs[k];
        put_with<text::kMaxU64Text>(out, [x](char* q) { return text::write_u64(q, x); });
      }
      out.put(']');
      return;
    }
  }
}

// The record's object onto `o`, from `values` (SpanValues or PackedValues: size(), next(), whole()) read
// once in field order: each field value_op does not call unset, after its key (put_key(out, k) writes
// `"name":`), comma-separated. A first field's time goes through `ts` when there is one: the seconds of
// consecutive records' ts. False, with nothing written, when `values` runs out before its size() or is
// not whole at the end.
template <typename Values, typename PutKey>
bool put_object(TextOut& o, const LogSchema& schema, Values& values, PutKey&& put_key, text::TimeText* ts) {
  const size_t start = o.size();
  o.put('{');
  bool first = true;
  const size_t n = std::min(schema.fields.size(), values.size());
  Value v;
  size_t k = 0;
  for (; k < n; ++k) {
    if (!values.next(v)) break;
    const ValueOp op = value_op(schema.fields[k].type, v);
    if (op == ValueOp::Unset) continue;
    if (!first) o.put(',');
    put_key(o, k);
    if (k == 0 && ts != nullptr && op == ValueOp::TimeU) {
      const uint64_t u = held<uint64_t>(v);
      put_with<text::kMaxFixed6Text>(o, [ts, u](char* q) { return ts->write_shortest(q, u); });
    } else {
      put_json_value(o, op, v);
    }
    first = false;
  }
  // Values past the schema's fields are not written, but a packed record is read to its end all the same.
  if (k == n) {
    for (; k < values.size(); ++k) {
      if (!values.next(v)) break;
    }
  }
  if (k < values.size() || !values.whole()) {
    o.truncate(start);
    return false;
  }
  o.put("}\n");
  return true;
}

// Each key as JsonKeys made it: nearly every key fits one fixed-size copy (no call for a variable
// length); what it writes past the key lies beyond the committed end and is overwritten by the value.
[[gnu::always_inline]] inline void put_prepared_key(TextOut& o, const JsonKeys& keys, size_t k) {
  const std::string_view key = keys.key(k);
  if (key.size() <= JsonKeys::kKeyCopy) {
    char* q = o.room(JsonKeys::kKeyCopy);
    std::memcpy(q, key.data(), JsonKeys::kKeyCopy);
    o.commit(q + key.size());
  } else if (key.size() <= TextOut::kCap) {
    char* q = o.room(key.size());
    std::memcpy(q, key.data(), key.size());
    o.commit(q + key.size());
  } else {
    o.put(key);
  }
}

}  // namespace

void format_json(const LogSchema& schema, std::span<const Value> values, std::string& out) {
  TextOut o(out);
  SpanValues v{values};
  put_object(o, schema, v, [&schema](TextOut& w, size_t k) {
    put_json_string(w, schema.fields[k].name);
    w.put(':');
  }, nullptr);
}

JsonKeys::JsonKeys(const LogSchema& schema) {
  starts_.reserve(schema.fields.size() + 1);
  std::string text;
  for (const FieldDef& f : schema.fields) {
    starts_.push_back(static_cast<uint32_t>(text.size()));
    TextOut o(text);
    put_json_string(o, f.name);
    o.put(':');
    o.finish();
  }
  starts_.push_back(static_cast<uint32_t>(text.size()));
  // Slack after the last key, so that every key can be read as a whole kKeyCopy block.
  text.append(kKeyCopy, '\0');
  text_ = std::move(text);
}

void format_json(const LogSchema& schema, const JsonKeys& keys, std::span<const Value> values, std::string& out,
                 text::TimeText& ts) {
  TextOut o(out);
  SpanValues v{values};
  put_object(o, schema, v, [&keys](TextOut& w, size_t k) { put_prepared_key(w, keys, k); }, &ts);
}

bool format_json(const LogSchema& schema, const JsonKeys& keys, PackedValues& rec, TextOut& out, text::TimeText& ts) {
  return put_object(out, schema, rec, [&keys](TextOut& w, size_t k) { put_prepared_key(w, keys, k); }, &ts);
}

}  // namespace ots
