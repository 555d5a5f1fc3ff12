#include "output/record_pack.hpp"

#include <cstring>
#include <memory>
#include <type_traits>

#include "output/text_out.hpp"

namespace ots {

namespace {

// Value's alternatives, by index (what Value::index() says of a value packed as bytes).
enum Tag : uint8_t { kUnset, kCount, kInt, kDouble, kBool, kString, kAddr, kStrings, kCounts, kTags };
static_assert(std::variant_size_v<Value> == kTags, "a Value alternative without a packed form");
static_assert(std::is_same_v<std::variant_alternative_t<kCount, Value>, uint64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<kInt, Value>, int64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<kDouble, Value>, double>);
static_assert(std::is_same_v<std::variant_alternative_t<kBool, Value>, bool>);
static_assert(std::is_same_v<std::variant_alternative_t<kString, Value>, std::string_view>);
static_assert(std::is_same_v<std::variant_alternative_t<kAddr, Value>, IpAddr>);
static_assert(std::is_same_v<std::variant_alternative_t<kStrings, Value>, std::span<const std::string_view>>);
static_assert(std::is_same_v<std::variant_alternative_t<kCounts, Value>, std::span<const uint64_t>>);
static_assert(std::is_trivially_copyable_v<Value> && std::is_trivially_destructible_v<Value>,
              "values are packed and unpacked as bytes");

template <typename T>
void put(text::TextOut& out, const T& v) {
  char* p = out.room(sizeof v);
  std::memcpy(p, &v, sizeof v);
  out.commit(p + sizeof v);
}

// Reads from a packed record with a bounds check at every read.
struct Reader {
  const char* p;
  const char* end;
  size_t left() const { return static_cast<size_t>(end - p); }
  template <typename T>
  bool get(T& v) {
    if (left() < sizeof v) return false;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return true;
  }
  bool bytes(size_t n, std::string_view& s) {
    if (left() < n) return false;
    s = std::string_view(p, n);
    p += n;
    return true;
  }
};

}  // namespace

void pack_record(std::span<const Value> values, std::string& out) {
  text::TextOut o(out);
  put(o, static_cast<uint32_t>(values.size()));
  o.put(std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
  for (const Value& v : values) {
    switch (v.index()) {
      case kString:
        o.put(*std::get_if<kString>(&v));
        break;
      case kStrings:
        for (std::string_view x : *std::get_if<kStrings>(&v)) {
          put(o, static_cast<uint32_t>(x.size()));
          o.put(x);
        }
        break;
      case kCounts: {
        const auto xs = *std::get_if<kCounts>(&v);
        o.put(std::string_view(reinterpret_cast<const char*>(xs.data()), xs.size_bytes()));
        break;
      }
      default:
        break;
    }
  }
  o.finish();
}

bool RecordUnpacker::unpack(std::string_view packed, std::span<const Value>& out) {
  Reader r{packed.data(), packed.data() + packed.size()};
  uint32_t n = 0;
  if (!r.get(n) || r.left() / sizeof(Value) < n) return false;
  if (values_.size() < n) values_.resize(n);
  // The values as they were, pointers and all: only the views are wrong, and each is pointed at its
  // bytes below before anything reads it.
  if (n != 0) std::memcpy(static_cast<void*>(values_.data()), r.p, n * sizeof(Value));
  r.p += n * sizeof(Value);
  strings_.clear();
  counts_.clear();
  fixups_.clear();
  for (uint32_t i = 0; i < n; ++i) {
    Value& v = values_[i];
    const size_t tag = v.index();
    if (tag >= kTags) return false;
    if (tag == kString) {
      std::string_view s;
      if (!r.bytes(std::get_if<kString>(&v)->size(), s)) return false;
      std::construct_at(&v, std::in_place_index<kString>, s);
    } else if (tag == kStrings) {
      const size_t count = std::get_if<kStrings>(&v)->size();
      fixups_.push_back(Fixup{i, static_cast<uint32_t>(strings_.size()), static_cast<uint32_t>(count), true});
      for (size_t k = 0; k < count; ++k) {
        uint32_t len = 0;
        std::string_view s;
        if (!r.get(len) || !r.bytes(len, s)) return false;
        strings_.push_back(s);
      }
      std::construct_at(&v, std::in_place_index<kUnset>);  // pointed at the scratch below
    } else if (tag == kCounts) {
      const size_t count = std::get_if<kCounts>(&v)->size();
      if (r.left() / 8 < count) return false;
      fixups_.push_back(Fixup{i, static_cast<uint32_t>(counts_.size()), static_cast<uint32_t>(count), false});
      const size_t at = counts_.size();
      counts_.resize(at + count);
      if (count != 0) std::memcpy(counts_.data() + at, r.p, 8 * count);  // unaligned in the packed bytes
      r.p += 8 * count;
      std::construct_at(&v, std::in_place_index<kUnset>);
    }
  }
  if (r.p != r.end) return false;
  for (const Fixup& f : fixups_) {
    if (f.strings) {
      values_[f.field] = std::span<const std::string_view>(strings_.data() + f.start, f.count);
    } else {
      values_[f.field] = std::span<const uint64_t>(counts_.data() + f.start, f.count);
    }
  }
  out = std::span<const Value>(values_.data(), n);
  return true;
}

}  // namespace ots
