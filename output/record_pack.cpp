#include "output/record_pack.hpp"

#include <cstring>
#include <memory>
#include <type_traits>

#include "output/text_out.hpp"

namespace ots {

namespace {

// Value's alternatives, by index (the tag byte).
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
static_assert(sizeof(IpAddr) == 16 && std::is_trivially_copyable_v<IpAddr>);

template <typename T>
void put(text::TextOut& out, const T& v) {
  char* p = out.room(sizeof v);
  std::memcpy(p, &v, sizeof v);
  out.commit(p + sizeof v);
}

void put_bytes(text::TextOut& out, std::string_view s) {
  put(out, static_cast<uint32_t>(s.size()));
  out.put(s);
}

// One value's tag and payload. Through std::visit: one jump on the alternative, with no index checks
// after it (std::get would check again).
struct Packer {
  text::TextOut& out;
  void tag(Tag t) const { out.put(static_cast<char>(t)); }
  void operator()(Unset) const { tag(kUnset); }
  void operator()(uint64_t v) const { fixed(kCount, v); }
  void operator()(int64_t v) const { fixed(kInt, v); }
  void operator()(double v) const { fixed(kDouble, v); }
  void operator()(bool v) const {
    char* p = out.room(2);
    p[0] = static_cast<char>(kBool);
    p[1] = v ? 1 : 0;
    out.commit(p + 2);
  }
  void operator()(std::string_view s) const {
    tag(kString);
    put_bytes(out, s);
  }
  void operator()(const IpAddr& a) const { fixed(kAddr, a.bytes); }
  void operator()(std::span<const std::string_view> xs) const {
    tag(kStrings);
    put(out, static_cast<uint32_t>(xs.size()));
    for (std::string_view s : xs) put_bytes(out, s);
  }
  void operator()(std::span<const uint64_t> xs) const {
    tag(kCounts);
    put(out, static_cast<uint32_t>(xs.size()));
    out.put(std::string_view(reinterpret_cast<const char*>(xs.data()), 8 * xs.size()));
  }
  template <typename T>
  void fixed(Tag t, const T& v) const {
    char* p = out.room(1 + sizeof v);
    *p = static_cast<char>(t);
    std::memcpy(p + 1, &v, sizeof v);
    out.commit(p + 1 + sizeof v);
  }
};

// Reads from a packed record with a bounds check at every read.
struct Reader {
  const char* p;
  const char* end;
  template <typename T>
  bool get(T& v) {
    if (static_cast<size_t>(end - p) < sizeof v) return false;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return true;
  }
  bool bytes(std::string_view& s) {
    uint32_t n = 0;
    if (!get(n) || static_cast<size_t>(end - p) < n) return false;
    s = std::string_view(p, n);
    p += n;
    return true;
  }
};

}  // namespace

void pack_record(std::span<const Value> values, std::string& out) {
  text::TextOut o(out);
  const Packer packer{o};
  for (const Value& v : values) std::visit(packer, v);
  o.finish();
}

std::span<const Value> RecordUnpacker::unpack(std::string_view packed) {
  strings_.clear();
  counts_.clear();
  fixups_.clear();
  // Values are written in place over the last record's (Value is trivially destructible), into room made
  // ahead: a push_back per value was a third of this function.
  static_assert(std::is_trivially_destructible_v<Value>);
  if (values_.size() < 64) values_.resize(64);
  // In locals: the stores through `out` could alias the vector's own members for all the compiler
  // knows, and it reloaded and divided them on every value.
  Value* out = values_.data();
  size_t room = values_.size();
  size_t n = 0;
  Reader r{packed.data(), packed.data() + packed.size()};
  while (r.p != r.end) {
    if (n == room) {
      values_.resize(2 * n);
      out = values_.data();
      room = values_.size();
    }
    const auto tag = static_cast<uint8_t>(*r.p++);
    Value* v = out + n++;
    bool ok = true;
    switch (tag) {
      case kUnset:
        std::construct_at(v, std::in_place_index<kUnset>);
        break;
      case kCount: {
        uint64_t x = 0;
        ok = r.get(x);
        std::construct_at(v, std::in_place_index<kCount>, x);
        break;
      }
      case kInt: {
        int64_t x = 0;
        ok = r.get(x);
        std::construct_at(v, std::in_place_index<kInt>, x);
        break;
      }
      case kDouble: {
        double x = 0;
        ok = r.get(x);
        std::construct_at(v, std::in_place_index<kDouble>, x);
        break;
      }
      case kBool: {
        uint8_t x = 0;
        ok = r.get(x);
        std::construct_at(v, std::in_place_index<kBool>, x != 0);
        break;
      }
      case kString: {
        std::string_view s;
        ok = r.bytes(s);
        std::construct_at(v, std::in_place_index<kString>, s);
        break;
      }
      case kAddr: {
        IpAddr a;
        ok = r.get(a.bytes);
        std::construct_at(v, std::in_place_index<kAddr>, a);
        break;
      }
      case kStrings:
      case kCounts: {
        uint32_t count = 0;
        ok = r.get(count);
        const bool strings = tag == kStrings;
        const Fixup f{static_cast<uint32_t>(n - 1), static_cast<uint32_t>(strings ? strings_.size() : counts_.size()),
                      count, strings};
        for (uint32_t i = 0; ok && i < count; ++i) {
          if (strings) {
            std::string_view s;
            ok = r.bytes(s);
            strings_.push_back(s);
          } else {
            uint64_t x = 0;
            ok = r.get(x);
            counts_.push_back(x);
          }
        }
        fixups_.push_back(f);
        std::construct_at(v, std::in_place_index<kUnset>);  // pointed at the scratch below
        break;
      }
      default:
        ok = false;
        break;
    }
    if (!ok) return {};
  }
  for (const Fixup& f : fixups_) {
    if (f.strings) {
      values_[f.field] = std::span<const std::string_view>(strings_.data() + f.start, f.count);
    } else {
      values_[f.field] = std::span<const uint64_t>(counts_.data() + f.start, f.count);
    }
  }
  return {values_.data(), n};
}

}  // namespace ots
