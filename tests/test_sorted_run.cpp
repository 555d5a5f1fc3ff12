// sort_records: the order of a log's records in a run and in the final merge.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "output/sorted_run.hpp"

using ots::RecordRef;

namespace {

// `n` records over few times and uids, so that every tie-break of record_less is reached: equal times,
// equal uids (write order), no uid (the line's bytes), lines that are prefixes of others.
std::vector<RecordRef> tied_records(size_t n, uint32_t seed, std::vector<std::string>& lines) {
  std::mt19937 rng(seed);
  lines.clear();
  lines.reserve(n);
  std::vector<RecordRef> v;
  for (size_t i = 0; i < n; ++i) {
    lines.push_back(std::string(1 + rng() % 3, static_cast<char>('a' + rng() % 3)));
    RecordRef r;
    r.ts_ns = 1'000 + rng() % 20;
    const bool uid = rng() % 3 != 0;
    r.uid_hi = uid ? rng() % 4 : 0;
    r.uid_lo = uid ? 1 + rng() % 2 : 0;
    r.seq = rng() % 50;
    r.line = lines.back().data();
    r.len = static_cast<uint32_t>(lines.back().size());
    v.push_back(r);
  }
  return v;
}

bool same(const RecordRef& a, const RecordRef& b) {
  return a.ts_ns == b.ts_ns && a.uid_hi == b.uid_hi && a.uid_lo == b.uid_lo &&
         ((a.uid_hi | a.uid_lo) == 0 || a.seq == b.seq) && std::string_view(a.line, a.len) == std::string_view(b.line, b.len);
}

}  // namespace

TEST_CASE("sort_records orders a log's records as record_less does", "[logwriter]") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> lines;
    std::vector<RecordRef> v = tied_records(2000, seed, lines);
    std::vector<RecordRef> want = v;
    std::sort(want.begin(), want.end(), [](const RecordRef& a, const RecordRef& b) { return ots::record_less(a, b); });
    ots::sort_records(v);
    REQUIRE(v.size() == want.size());
    size_t differ = 0;
    for (size_t i = 0; i < v.size(); ++i) differ += !same(v[i], want[i]);
    INFO("seed " << seed);
    CHECK(differ == 0);
  }
}

TEST_CASE("sort_records leaves records already in order where they are", "[logwriter]") {
  std::vector<std::string> lines;
  std::vector<RecordRef> v = tied_records(500, 7, lines);
  std::sort(v.begin(), v.end(), [](const RecordRef& a, const RecordRef& b) { return ots::record_less(a, b); });
  std::vector<const char*> before;
  for (const RecordRef& r : v) before.push_back(r.line);
  ots::sort_records(v);
  std::vector<const char*> after;
  for (const RecordRef& r : v) after.push_back(r.line);
  CHECK(after == before);
  std::vector<RecordRef> none;
  ots::sort_records(none);
  CHECK(none.empty());
}
