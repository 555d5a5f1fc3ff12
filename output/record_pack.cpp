#include "output/record_pack.hpp"

#include <cstring>
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

// Reads from a packed record's tail with a bounds check at every read.
bool get_u32(const char*& p, const char* end, uint32_t& v) {
  if (end - p < 4) return false;
  std::memcpy(&v, p, 4);
  p += 4;
  return true;
}

// Copies n bytes to q: most strings of a record (names, codes, uids) are short, and fixed-size moves cost
// less than a call to memcpy.
inline void copy_bytes(char* q, const char* p, size_t n) {
  if (n <= 64) {
    text::copy_run(q, reinterpret_cast<const unsigned char*>(p), n);
  } else {
    std::memcpy(q, p, n);
  }
}

}  // namespace

size_t packed_size(std::span<const Value> values) {
  size_t n = 4 + values.size_bytes();
  for (const Value& v : values) {
    if (const auto* s = std::get_if<kString>(&v)) {
      n += s->size();
    } else if (const auto* xs = std::get_if<kStrings>(&v)) {
      for (std::string_view x : *xs) n += 4 + x.size();
    } else if (const auto* cs = std::get_if<kCounts>(&v)) {
      n += cs->size_bytes();
    }
  }
  return n;
}

size_t pack_record(std::span<const Value> values, char* out, size_t room) {
  const size_t array = values.size_bytes();
  if (room < 4 + array) return 0;
  char* q = out;
  char* const end = out + room;
  const auto count = static_cast<uint32_t>(values.size());
  std::memcpy(q, &count, 4);
  q += 4;
  if (array != 0) std::memcpy(q, values.data(), array);
  q += array;
  // Strings first, then everything the array holds whole, then the containers: tested in the order of
  // how often they come (a switch tested the two containers before a string, and every scalar against
  // all three).
  for (const Value& v : values) {
    const size_t kind = v.index();
    if (kind == kString) {
      const std::string_view s = *std::get_if<kString>(&v);
      if (static_cast<size_t>(end - q) < s.size()) return 0;
      copy_bytes(q, s.data(), s.size());
      q += s.size();
    } else if (kind < kStrings) {
      continue;  // unset, numbers, bools, addresses: no bytes past the array
    } else if (kind == kStrings) {
      for (std::string_view x : *std::get_if<kStrings>(&v)) {
        if (static_cast<size_t>(end - q) < 4 + x.size()) return 0;
        const auto len = static_cast<uint32_t>(x.size());
        std::memcpy(q, &len, 4);
        copy_bytes(q + 4, x.data(), x.size());
        q += 4 + x.size();
      }
    } else if (kind == kCounts) {
      const auto xs = *std::get_if<kCounts>(&v);
      if (static_cast<size_t>(end - q) < xs.size_bytes()) return 0;
      if (!xs.empty()) std::memcpy(q, xs.data(), xs.size_bytes());
      q += xs.size_bytes();
    }
  }
  return static_cast<size_t>(q - out);
}

void pack_record(std::span<const Value> values, std::string& out) {
  const size_t at = out.size();
  const size_t n = packed_size(values);
  out.resize(at + n);
  pack_record(values, out.data() + at, n);
}

bool PackedValues::open(std::string_view packed) {
  const char* p = packed.data();
  end_ = p + packed.size();
  uint32_t n = 0;
  if (!get_u32(p, end_, n) || static_cast<size_t>(end_ - p) / sizeof(Value) < n) {
    count_ = 0;
    slot_ = slots_end_ = tail_ = end_;
    return false;
  }
  count_ = n;
  slot_ = p;
  slots_end_ = tail_ = p + size_t{n} * sizeof(Value);
  return true;
}

bool PackedValues::container(Value& v) {
  if (v.index() == kStrings) {
    const size_t count = std::get_if<kStrings>(&v)->size();
    strings_.clear();
    for (size_t k = 0; k < count; ++k) {
      uint32_t len = 0;
      if (!get_u32(tail_, end_, len) || static_cast<size_t>(end_ - tail_) < len) return false;
      strings_.emplace_back(tail_, len);
      tail_ += len;
    }
    v = std::span<const std::string_view>(strings_);
    return true;
  }
  if (v.index() == kCounts) {
    const size_t count = std::get_if<kCounts>(&v)->size();
    if (static_cast<size_t>(end_ - tail_) / 8 < count) return false;
    counts_.resize(count);
    if (count != 0) std::memcpy(counts_.data(), tail_, 8 * count);  // unaligned in the packed bytes
    tail_ += 8 * count;
    v = std::span<const uint64_t>(counts_);
    return true;
  }
  return false;  // not one of Value's alternatives
}

}  // namespace ots
