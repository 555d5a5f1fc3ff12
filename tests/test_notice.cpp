#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "output/log_manager.hpp"
#include "output/notice.hpp"
#include "tests/test_support.hpp"

using namespace ots;
using namespace ots::test;

namespace {

Notice make_notice(uint64_t ts_s, const char* op) {
  Notice n;
  n.ts_ns = ts_s * 1'000'000'000ull;
  n.note = "OT::Operation_Not_Allowed";
  n.msg = "Modbus write from mes into read-only conduit";
  n.sub = "write_single_register";
  n.severity = Severity::High;
  n.has_src = n.has_dst = true;
  IpAddr::parse("10.2.0.5", n.src);
  IpAddr::parse("192.168.10.7", n.dst);
  n.zone_orig = "mes";
  n.zone_resp = "control";
  n.conduit = "mes-to-control";
  n.protocol = "modbus";
  n.operation = op;
  return n;
}

}  // namespace

TEST_CASE("identical notices are suppressed within the window and counted in a summary", "[notice]") {
  const auto dir = scratch_dir("notice_suppress");
  {
    LogManager logs({dir.string(), false});
    const LogId id = logs.add(notice_schema());
    auto sink = logs.make_sink();
    NoticeWriter w(*sink, id, 3600'000'000'000ull);
    w.raise(make_notice(1000, "write_single_register"));   // written
    w.raise(make_notice(1010, "write_single_register"));   // suppressed
    w.raise(make_notice(1020, "write_single_register"));   // suppressed
    w.raise(make_notice(1030, "write_multiple_registers"));  // another operation: written
    w.advance((1000 + 3599) * 1'000'000'000ull);           // the window is still open: nothing written
    w.advance((1000 + 3601) * 1'000'000'000ull);           // the first window closed: summary with n=2
    w.raise(make_notice(5000, "write_single_register"));   // a new window: written
    w.flush();
    CHECK(w.raised() == 5);
    CHECK(w.written() == 4);
    sink->handoff();
    logs.close();
  }
  const auto rows = log_rows(dir / "notice.log");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].at("ts") == "1000.000000");
  CHECK(rows[0].at("note") == "OT::Operation_Not_Allowed");
  CHECK(rows[0].at("n") == "-");
  CHECK(rows[0].at("src") == "10.2.0.5");
  CHECK(rows[0].at("dst") == "192.168.10.7");
  CHECK(rows[0].at("conduit") == "mes-to-control");
  CHECK(rows[0].at("operation") == "write_single_register");
  CHECK(rows[0].at("severity") == "high");
  CHECK(rows[0].at("suppress_for") == "3600.000000");
  CHECK(rows[1].at("operation") == "write_multiple_registers");
  CHECK(rows[2].at("ts") == "4600.000000");
  CHECK(rows[2].at("n") == "2");
  CHECK(rows[2].at("msg") ==
        "Modbus write from mes into read-only conduit (2 identical notices suppressed in the window)");
  CHECK(rows[3].at("ts") == "5000.000000");
  CHECK(rows[3].at("n") == "-");
}

TEST_CASE("without suppression every notice is written", "[notice]") {
  const auto dir = scratch_dir("notice_nosuppress");
  {
    LogManager logs({dir.string(), false});
    const LogId id = logs.add(notice_schema());
    auto sink = logs.make_sink();
    NoticeWriter w(*sink, id, 0);
    for (int i = 0; i < 5; ++i) w.raise(make_notice(100 + i, "write_single_register"));
    w.flush();
    sink->handoff();
    logs.close();
  }
  CHECK(log_rows(dir / "notice.log").size() == 5);
}
