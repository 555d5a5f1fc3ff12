// Packed log records (output/record_pack.hpp): what a worker packs is what the log thread formats, value
// for value, for every alternative a field can hold; bytes that are not one whole record do not unpack.
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "output/log_format.hpp"
#include "output/record_pack.hpp"

using namespace ots;
using F = FieldType;

namespace {

// Every alternative, with edge values: empty and long strings (longer than the packer's 1 KiB staging
// buffer), bytes that need escaping, NaN-free extremes, empty containers.
std::vector<Value> every_kind(const std::string& long_text, const std::vector<std::string_view>& names,
                              const std::vector<uint64_t>& counts) {
  IpAddr v6;
  for (size_t i = 0; i < 16; ++i) v6.bytes[i] = static_cast<uint8_t>(0x20 + i);
  return {Value{Unset{}},
          Value{uint64_t{1362692526869344000ull}},
          Value{std::numeric_limits<uint64_t>::max()},
          Value{std::numeric_limits<int64_t>::min()},
          Value{-1.5},
          Value{true},
          Value{false},
          Value{std::string_view{}},
          Value{std::string_view("tab\there,\\ \x01\xff")},
          Value{std::string_view(long_text)},
          Value{IpAddr::v4(0xc0a80001u)},
          Value{v6},
          Value{std::span<const std::string_view>(names)},
          Value{std::span<const std::string_view>()},
          Value{std::span<const uint64_t>(counts)},
          Value{std::span<const uint64_t>()}};
}

}  // namespace

TEST_CASE("packed records unpack to the same values for every alternative", "[logwriter][pack]") {
  const std::string long_text(3000, 'x');
  const std::vector<std::string_view> names = {"READ", "", "a,b", std::string_view(long_text)};
  const std::vector<uint64_t> counts = {0, 1, std::numeric_limits<uint64_t>::max()};
  const std::vector<Value> in = every_kind(long_text, names, counts);

  std::string packed = "prefix";  // appended after what is there
  pack_record(in, packed);
  REQUIRE(packed.compare(0, 6, "prefix") == 0);
  RecordUnpacker u;
  std::span<const Value> out;
  REQUIRE(u.unpack(std::string_view(packed).substr(6), out));
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("field " << i);
    REQUIRE(out[i].index() == in[i].index());
    if (const auto* s = std::get_if<std::string_view>(&in[i])) {
      CHECK(std::get<std::string_view>(out[i]) == *s);
    } else if (const auto* xs = std::get_if<std::span<const std::string_view>>(&in[i])) {
      const auto ys = std::get<std::span<const std::string_view>>(out[i]);
      CHECK(std::vector<std::string_view>(ys.begin(), ys.end()) == std::vector<std::string_view>(xs->begin(), xs->end()));
    } else if (const auto* cs = std::get_if<std::span<const uint64_t>>(&in[i])) {
      const auto ys = std::get<std::span<const uint64_t>>(out[i]);
      CHECK(std::vector<uint64_t>(ys.begin(), ys.end()) == std::vector<uint64_t>(cs->begin(), cs->end()));
    } else if (const auto* a = std::get_if<IpAddr>(&in[i])) {
      CHECK(std::get<IpAddr>(out[i]).bytes == a->bytes);
    } else if (const auto* d = std::get_if<double>(&in[i])) {
      CHECK(std::get<double>(out[i]) == *d);
    } else if (const auto* b = std::get_if<bool>(&in[i])) {
      CHECK(std::get<bool>(out[i]) == *b);
    } else if (const auto* n = std::get_if<uint64_t>(&in[i])) {
      CHECK(std::get<uint64_t>(out[i]) == *n);
    } else if (const auto* k = std::get_if<int64_t>(&in[i])) {
      CHECK(std::get<int64_t>(out[i]) == *k);
    }
  }
}

TEST_CASE("a packed record formats to the same TSV and JSON as its values", "[logwriter][pack]") {
  const std::string long_text(1500, 'y');
  const std::vector<std::string_view> names = {"x", "", "a,b"};
  const std::vector<uint64_t> counts = {7, 8};
  const std::vector<Value> in = every_kind(long_text, names, counts);
  static const LogSchema schema{
      "pack",
      {{"a", F::String}, {"ts", F::Time},     {"c", F::Count},    {"i", F::Int},          {"d", F::Double},
       {"t", F::Bool},   {"f", F::Bool},      {"e", F::String},   {"s", F::String},       {"l", F::String},
       {"h4", F::Addr},  {"h6", F::Addr},     {"n", F::SetString}, {"n0", F::VectorString}, {"v", F::VectorCount},
       {"v0", F::VectorCount}}};
  REQUIRE(schema.fields.size() == in.size());
  std::string packed;
  pack_record(in, packed);
  RecordUnpacker u;
  std::span<const Value> out;
  REQUIRE(u.unpack(packed, out));
  std::string direct, via;
  format_tsv(schema, in, direct);
  format_tsv(schema, out, via);
  CHECK(via == direct);
  direct.clear();
  via.clear();
  format_json(schema, in, direct);
  format_json(schema, out, via);
  CHECK(via == direct);
}

TEST_CASE("bytes that are not one whole packed record do not unpack", "[logwriter][pack]") {
  const std::vector<std::string_view> names = {"abc", "de"};
  const std::vector<uint64_t> counts = {1, 2};
  const std::vector<Value> in = {Value{uint64_t{5}}, Value{std::string_view("hello")},
                                 Value{std::span<const std::string_view>(names)},
                                 Value{std::span<const uint64_t>(counts)}};
  std::string packed;
  pack_record(in, packed);
  RecordUnpacker u;
  std::span<const Value> out;
  REQUIRE(u.unpack(packed, out));
  CHECK(out.size() == 4);
  // Every cut short of the whole record leaves a value without its bytes.
  for (size_t n = 0; n < packed.size(); ++n) {
    INFO("first " << n << " bytes");
    CHECK_FALSE(u.unpack(std::string_view(packed).substr(0, n), out));
  }
  CHECK_FALSE(u.unpack(packed + "x", out));  // bytes after the record
  std::string many = packed;
  const uint32_t huge = 1000;
  std::memcpy(many.data(), &huge, 4);  // more values than the bytes hold
  CHECK_FALSE(u.unpack(many, out));
  // A record of no values is one.
  std::string none;
  pack_record({}, none);
  REQUIRE(u.unpack(none, out));
  CHECK(out.empty());
}
