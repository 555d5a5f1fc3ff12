// Packed log records (output/record_pack.hpp): what a worker packs is what the log thread reads and
// formats, value for value, for every alternative a field can hold, whether packed into a string or into
// a buffer's free room; bytes that are not one whole record are not read as one.
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "output/log_format.hpp"
#include "output/record_pack.hpp"
#include "output/text_out.hpp"

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

// Every value of the packed record `packed` through `r`, copied out (a container's span is good only until
// the next read, so each is kept as the test's own vector); false when it does not read as one whole record.
struct ReadBack {
  std::vector<Value> values;
  std::vector<std::vector<std::string_view>> strings;
  std::vector<std::vector<uint64_t>> counts;
};

bool read_all(PackedValues& r, std::string_view packed, ReadBack& out) {
  out = ReadBack{};
  if (!r.open(packed)) return false;
  out.strings.reserve(r.size());
  out.counts.reserve(r.size());
  Value v;
  for (size_t i = 0; i < r.size(); ++i) {
    if (!r.next(v)) return false;
    if (const auto* xs = std::get_if<std::span<const std::string_view>>(&v)) {
      out.strings.emplace_back(xs->begin(), xs->end());
      v = std::span<const std::string_view>(out.strings.back());
    } else if (const auto* cs = std::get_if<std::span<const uint64_t>>(&v)) {
      out.counts.emplace_back(cs->begin(), cs->end());
      v = std::span<const uint64_t>(out.counts.back());
    }
    out.values.push_back(v);
  }
  return !r.next(v) && r.whole();
}

}  // namespace

TEST_CASE("packed records read back as the same values for every alternative", "[logwriter][pack]") {
  const std::string long_text(3000, 'x');
  const std::vector<std::string_view> names = {"READ", "", "a,b", std::string_view(long_text)};
  const std::vector<uint64_t> counts = {0, 1, std::numeric_limits<uint64_t>::max()};
  const std::vector<Value> in = every_kind(long_text, names, counts);

  std::string packed = "prefix";  // appended after what is there
  pack_record(in, packed);
  REQUIRE(packed.compare(0, 6, "prefix") == 0);
  REQUIRE(packed.size() == 6 + packed_size(in));
  PackedValues r;
  ReadBack back;
  REQUIRE(read_all(r, std::string_view(packed).substr(6), back));
  const std::vector<Value>& out = back.values;
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
  PackedValues r;
  ReadBack back;
  REQUIRE(read_all(r, packed, back));
  std::string direct, via;
  format_tsv(schema, in, direct);
  format_tsv(schema, back.values, via);
  CHECK(via == direct);
  // And straight from the packed bytes, as the log thread writes them (after what the string holds).
  TsvRecordCache cache;
  std::string inplace = "kept";
  {
    text::TextOut o(inplace);
    REQUIRE(r.open(packed));
    REQUIRE(format_tsv(schema, r, o, cache, TsvRecordCache::columns_of(schema)));
  }
  CHECK(inplace == "kept" + direct);
  direct.clear();
  via.clear();
  format_json(schema, in, direct);
  format_json(schema, back.values, via);
  CHECK(via == direct);
  const JsonKeys keys(schema);
  text::TimeText ts;
  inplace = "kept";
  {
    text::TextOut o(inplace);
    REQUIRE(r.open(packed));
    REQUIRE(format_json(schema, keys, r, o, ts));
  }
  CHECK(inplace == "kept" + direct);
}

TEST_CASE("bytes that are not one whole packed record do not read as one", "[logwriter][pack]") {
  const std::vector<std::string_view> names = {"abc", "de"};
  const std::vector<uint64_t> counts = {1, 2};
  const std::vector<Value> in = {Value{uint64_t{5}}, Value{std::string_view("hello")},
                                 Value{std::span<const std::string_view>(names)},
                                 Value{std::span<const uint64_t>(counts)}};
  std::string packed;
  pack_record(in, packed);
  PackedValues r;
  ReadBack back;
  REQUIRE(read_all(r, packed, back));
  CHECK(back.values.size() == 4);
  // Every cut short of the whole record leaves a value without its bytes.
  for (size_t n = 0; n < packed.size(); ++n) {
    INFO("first " << n << " bytes");
    CHECK_FALSE(read_all(r, std::string_view(packed).substr(0, n), back));
  }
  CHECK_FALSE(read_all(r, packed + "x", back));  // bytes after the record
  std::string many = packed;
  const uint32_t huge = 1000;
  std::memcpy(many.data(), &huge, 4);  // more values than the bytes hold
  CHECK_FALSE(r.open(many));
  // A record of no values is one.
  std::string none;
  pack_record({}, none);
  REQUIRE(read_all(r, none, back));
  CHECK(back.values.empty());
}

TEST_CASE("a packed record that is not whole formats to nothing and keeps the text before it", "[logwriter][pack]") {
  // The whole schema, and one of two fields: the values past it are not written but read all the same.
  static const LogSchema full{"cut", {{"ts", F::Time}, {"s", F::String}, {"n", F::SetString}, {"c", F::Count}}};
  static const LogSchema part{"cut", {{"ts", F::Time}, {"s", F::String}}};
  const std::vector<std::string_view> names = {"abc", "de"};
  const std::vector<Value> in = {Value{uint64_t{1'700'000'000'000'000'000ull}}, Value{std::string_view("hello")},
                                 Value{std::span<const std::string_view>(names)}, Value{uint64_t{7}}};
  std::string packed;
  pack_record(in, packed);
  TsvRecordCache cache;
  text::TimeText ts;
  PackedValues r;
  for (const LogSchema* schema : {&full, &part}) {
    const JsonKeys keys(*schema);
    for (size_t n = 4; n <= packed.size() + 1; ++n) {
      const std::string cut = n <= packed.size() ? packed.substr(0, n) : packed + "x";
      const bool whole = n == packed.size();
      INFO("first " << n << " bytes");
      for (const bool json : {false, true}) {
        std::string out = "before\n";
        {
          text::TextOut o(out);
          if (!r.open(cut)) {
            CHECK_FALSE(whole);
            continue;
          }
          const bool ok = json ? format_json(*schema, keys, r, o, ts) : format_tsv(*schema, r, o, cache, 0);
          CHECK(ok == whole);
        }
        std::string want = "before\n";
        if (whole && json) format_json(*schema, in, want);
        if (whole && !json) format_tsv(*schema, in, want);
        CHECK(out == want);
      }
    }
  }
}

TEST_CASE("packing into a buffer's room writes what packing onto a string does or says it does not fit", "[logwriter][pack]") {
  const std::string long_text(200, 'z');
  const std::vector<std::string_view> names = {"READ", "", std::string_view(long_text)};
  const std::vector<uint64_t> counts = {3, 4};
  const std::vector<Value> in = every_kind(long_text, names, counts);
  std::string appended;
  pack_record(in, appended);
  REQUIRE(appended.size() == packed_size(in));
  for (size_t room = 0; room <= appended.size() + 8; ++room) {
    INFO("room " << room);
    std::string buf(room + 1, '\x5a');  // one guard byte past the room
    const size_t n = pack_record(in, buf.data(), room);
    if (room < appended.size()) {
      CHECK(n == 0);
    } else {
      REQUIRE(n == appended.size());
      CHECK(buf.compare(0, n, appended) == 0);
    }
    CHECK(buf[room] == '\x5a');
  }
}
