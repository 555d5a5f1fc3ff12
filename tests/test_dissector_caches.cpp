// What the dissectors keep from one record or weird to the next (dissectors/log_fields.hpp's ConnColumns,
// dissectors/analyzer.hpp's ConnWeirdMemo) must never outlive the connection it was made for: a flow
// slot reused by another connection, or roles that flip, give new columns and new weirds.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dissectors/analyzer.hpp"
#include "dissectors/log_fields.hpp"
#include "sensor/weird_filter.hpp"

using namespace ots;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

void open_conn(Conn& c, uint32_t client, uint16_t sport, uint64_t first_ts_ns) {
  c.set_id(ConnId{IpAddr::v4(client), IpAddr::v4(0x0A000001u), sport, 502, Transport::Tcp});
  c.ip_proto = 6;
  c.first_ts_ns = first_ts_ns;
}

// The columns as they would be built afresh for `c`.
void check_columns(const std::vector<Value>& v, const Conn& c, uint64_t ts) {
  const ConnId id = c.id();
  CHECK(std::get<uint64_t>(v[0]) == ts);
  CHECK(std::get<std::string_view>(v[1]) == c.uid().to_string());
  CHECK(std::get<IpAddr>(v[2]) == id.orig_h);
  CHECK(std::get<uint64_t>(v[3]) == id.orig_p);
  CHECK(std::get<IpAddr>(v[4]) == id.resp_h);
  CHECK(std::get<uint64_t>(v[5]) == id.resp_p);
}

// The worker's weird path in small: the filter decides, the built events are kept.
class FilterSink final : public WeirdSink {
 public:
  void weird(const WeirdEvent& ev) override { weird_hinted(ev); }
  RepeatHint weird_hinted(const WeirdEvent& ev) override {
    built.push_back(ev);
    const WeirdFilter::Verdict v = filter.admit_hinted(ev);
    logged += v.logged;
    return v.hint;
  }
  bool weird_repeated(const RepeatHint& h, std::string_view name, uint64_t ts_ns) override {
    return filter.repeated(h, name, ts_ns);
  }
  WeirdFilter filter;
  std::vector<WeirdEvent> built;
  int logged = 0;
};

}  // namespace

TEST_CASE("conn columns follow a reused flow slot and flipped roles", "[log_fields]") {
  ConnColumns cols;
  std::vector<Value> v(kConnColumns + kIcsnppColumns);
  Conn c;
  open_conn(c, 0x0A000005u, 40000, 100 * kSec);
  cols.fill(c, 101 * kSec, v.data());
  check_columns(v, c, 101 * kSec);
  const std::string first_uid(std::get<std::string_view>(v[1]));

  // The same slot, another connection: another client, then the same 4-tuple opened again later.
  c = Conn{};
  open_conn(c, 0x0A000006u, 40000, 200 * kSec);
  cols.fill(c, 201 * kSec, v.data());
  check_columns(v, c, 201 * kSec);
  c = Conn{};
  open_conn(c, 0x0A000005u, 40000, 300 * kSec);
  cols.fill(c, 301 * kSec, v.data());
  check_columns(v, c, 301 * kSec);
  CHECK(std::get<std::string_view>(v[1]) != first_uid);
  CHECK(cols.last_uid() == c.uid());

  // Roles flip: the id columns swap, and ICSNPP's source/destination follow is_orig.
  c.flip_id();
  cols.fill_icsnpp(c, 302 * kSec, false, v.data());
  check_columns(v, c, 302 * kSec);
  CHECK(std::get<bool>(v[6]) == false);
  CHECK(std::get<IpAddr>(v[7]) == c.id().resp_h);
  CHECK(std::get<uint64_t>(v[8]) == c.id().resp_p);
  CHECK(std::get<IpAddr>(v[9]) == c.id().orig_h);
  CHECK(std::get<uint64_t>(v[10]) == c.id().orig_p);

  // A copy's rows view the copy's own uid text.
  ConnColumns copy = cols;
  cols = ConnColumns{};
  copy.fill(c, 303 * kSec, v.data());
  check_columns(v, c, 303 * kSec);
}

TEST_CASE("dissector weird repeats are counted unbuilt and log as without the memo", "[weird]") {
  FilterSink sink;
  AnalyzerContext ctx;
  ctx.weirds = &sink;
  ConnWeirdMemo memo;
  Conn c;
  open_conn(c, 0x0A000005u, 40000, 100 * kSec);

  for (uint64_t t = 100; t < 110; ++t) conn_weird(ctx, memo, c, true, t * kSec, "dnp3_header_lacks_magic", {}, "dnp3");
  CHECK(sink.built.size() == 1);
  CHECK(sink.logged == 1);
  CHECK(sink.filter.seen() == 10);  // every repeat counted

  // Another name builds its own; the first name's hint still holds beside it.
  conn_weird(ctx, memo, c, false, 111 * kSec, "dnp3_corrupt_header_checksum", {}, "dnp3");
  conn_weird(ctx, memo, c, true, 112 * kSec, "dnp3_header_lacks_magic", {}, "dnp3");
  CHECK(sink.built.size() == 2);
  CHECK(sink.logged == 2);

  // Flipped roles are another conn_id for the filter: built and logged again.
  c.flip_id();
  conn_weird(ctx, memo, c, true, 113 * kSec, "dnp3_header_lacks_magic", {}, "dnp3");
  CHECK(sink.built.size() == 3);
  CHECK(sink.built.back().id == c.id());
  CHECK(sink.built.back().uid == c.uid());
  CHECK(sink.logged == 3);

  // Past the filter's 10 minutes the hint runs out: built and logged again.
  conn_weird(ctx, memo, c, true, 800 * kSec, "dnp3_header_lacks_magic", {}, "dnp3");
  CHECK(sink.built.size() == 4);
  CHECK(sink.logged == 4);
  CHECK(sink.filter.seen() == 14);
}
