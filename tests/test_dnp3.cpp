// DNP3: CRC, link frames, transport reassembly, application parsing and objects (pure parser); the
// analyzer over a synthetic connection writing dnp3.log, dnp3_control.log and dnp3_objects.log through a
// real LogManager, and the operation events it emits; the generated pcaps/dnp3.pcap through otsensor.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dissectors/dnp3/dnp3_analyzer.hpp"
#include "dissectors/dnp3/dnp3_logs.hpp"
#include "dissectors/dnp3/dnp3_names.hpp"
#include "dissectors/dnp3/dnp3_parser.hpp"
#include "output/log_manager.hpp"
#include "tests/test_support.hpp"

using namespace ots;
using namespace ots::dnp3;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& s) {
  Bytes out;
  std::string digits;
  for (char ch : s) {
    if (std::isxdigit(static_cast<unsigned char>(ch))) digits.push_back(ch);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void put_crc(Bytes& b, size_t from) {
  const uint16_t crc = crc16(std::span<const uint8_t>(b.data() + from, b.size() - from));
  b.push_back(static_cast<uint8_t>(crc));
  b.push_back(static_cast<uint8_t>(crc >> 8));
}

// A link frame with correct CRCs: header, then the user data in 16-byte blocks each followed by its CRC.
Bytes link_frame(uint8_t control, uint16_t dst, uint16_t src, const Bytes& user) {
  Bytes f = {0x05, 0x64, static_cast<uint8_t>(5 + user.size()), control, static_cast<uint8_t>(dst),
             static_cast<uint8_t>(dst >> 8), static_cast<uint8_t>(src), static_cast<uint8_t>(src >> 8)};
  put_crc(f, 0);
  for (size_t i = 0; i < user.size(); i += 16) {
    const size_t at = f.size();
    f.insert(f.end(), user.begin() + static_cast<long>(i), user.begin() + static_cast<long>(std::min(i + 16, user.size())));
    put_crc(f, at);
  }
  return f;
}

constexpr uint16_t kMaster = 3;
constexpr uint16_t kOutstation = 4;

// Unconfirmed user data (link function 4), PRM set; DIR set when the master sends it.
Bytes request_frame(const Bytes& app, uint8_t transport = 0xC0, uint16_t dst = kOutstation, uint16_t src = kMaster) {
  return link_frame(0xC4, dst, src, cat({{transport}, app}));
}
Bytes response_frame(const Bytes& app, uint8_t transport = 0xC0, uint16_t dst = kMaster, uint16_t src = kOutstation) {
  return link_frame(0x44, dst, src, cat({{transport}, app}));
}

struct Ops final : OperationSink {
  struct Op {
    OperationEvent ev;
    Bytes pdu;
  };
  std::vector<Op> ops;
  void on_operation(const OperationEvent& ev) override {
    ops.push_back({ev, Bytes(ev.pdu.begin(), ev.pdu.end())});
    ops.back().ev.pdu = {};
  }
};

struct Weirds final : WeirdSink {
  std::vector<std::string> names;
  std::vector<std::string> addl;
  void weird(const WeirdEvent& ev) override {
    names.emplace_back(ev.name);
    addl.push_back(ev.addl);
  }
  size_t count(std::string_view n) const { return static_cast<size_t>(std::count(names.begin(), names.end(), n)); }
};

constexpr uint64_t kT0 = 1'600'000'000'000'000'000ull;  // 1600000000.000000
uint64_t at(int ms) { return kT0 + static_cast<uint64_t>(ms) * 1'000'000ull; }

// An analyzer on one synthetic connection 10.0.0.1:50000 -> 10.0.0.2:20000, logging into a scratch dir.
struct Harness {
  fs::path dir;
  std::unique_ptr<LogManager> logs;
  std::unique_ptr<LogSink> sink;
  LogId ids[kLogCount] = {};
  Weirds weirds;
  Ops ops;
  Conn conn;
  std::unique_ptr<Analyzer> a;
  bool ended = false;

  explicit Harness(const std::string& name, Transport t = Transport::Tcp, Options opts = {}) {
    dir = ots::test::scratch_dir("dnp3_" + name);
    logs = std::make_unique<LogManager>(LogManager::Options{dir.string(), false, 1u << 20});
    ids[kDnp3Log] = logs->add(dnp3_log_schema());
    ids[kControlLog] = logs->add(control_log_schema());
    ids[kObjectsLog] = logs->add(objects_log_schema());
    sink = logs->make_sink();
    conn.set_id(ConnId{IpAddr::v4(0x0A000001u), IpAddr::v4(0x0A000002u), 50000, 20000, t});
    AnalyzerContext ctx{sink.get(), &weirds, &ops, ids};
    a = make_analyzer(ctx, t, opts);
  }

  void orig(const Bytes& b, uint64_t ts) { a->data(conn, true, b, ts); }
  void resp(const Bytes& b, uint64_t ts) { a->data(conn, false, b, ts); }

  void finish(uint64_t ts = at(10'000)) {
    if (ended) return;
    ended = true;
    a->end(conn, ts);
    sink->handoff();
    logs->close();
  }
  std::vector<std::string> lines(const std::string& log) {
    finish();
    return ots::test::log_lines(dir / (log + ".log"));
  }
  std::string uid() const { return conn.uid().to_string(); }
  // The shared leading columns of a row.
  std::string conn_cols(const std::string& ts) const {
    return ts + "\t" + uid() + "\t10.0.0.1\t50000\t10.0.0.2\t20000";
  }
  std::string icsnpp_cols(const std::string& ts, bool is_orig) const {
    return conn_cols(ts) + (is_orig ? "\tT\t10.0.0.1\t50000\t10.0.0.2\t20000" : "\tF\t10.0.0.2\t20000\t10.0.0.1\t50000");
  }
};

// Application fragments used below (application control FIR|FIN, sequence 0 unless said otherwise).
const Bytes kReadClass0123 = hex("C0 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
// RESPONSE, IIN 0x9000 (device restart + need time): g1v2 0..3 (4 flag octets), g30v2 0..1 (2-octet range).
const Bytes kReadResponse = hex("C0 81 90 00  01 02 00 00 03 01 01 81 01  1E 02 01 00 00 01 00 01 0C 00 01 22 00");
// SELECT one CROB at index 8 (qualifier 0x28: 2-octet count, 2-octet index prefix): Close/Pulse On,
// count 1, on 500 ms, off 0.
const Bytes kSelectCrob = hex("C1 03 0C 01 28 01 00 08 00 41 01 F4 01 00 00 00 00 00 00 00");
const Bytes kSelectCrobResponse = hex("C1 81 00 00 0C 01 28 01 00 08 00 41 01 F4 01 00 00 00 00 00 00 00");

}  // namespace

// ---------------------------------------------------------------------------------------------------
// CRC and link layer
// ---------------------------------------------------------------------------------------------------

TEST_CASE("dnp3 CRC-16/DNP matches the catalogue check value and captured frames", "[dnp3]") {
  const std::string check = "123456789";
  CHECK(crc16(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(check.data()), check.size())) == 0xEA82);
  CHECK(crc16({}) == 0xFFFF);
  // zeek/zeek testing/btest/Traces/dnp3/dnp3_read.pcap, first request: header CRC 45 03, block CRC 42 AC.
  const Bytes hdr = hex("05 64 14 C4 02 00 03 00");
  CHECK(crc16(hdr) == 0x0345);
  const Bytes block = hex("C7 C8 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06");
  CHECK(crc16(block) == 0xAC42);
}

TEST_CASE("dnp3 CRC-16 four bytes at a time equals the bit-by-bit CRC at every length and alignment", "[dnp3]") {
  // The specification's definition, a bit at a time (reflected polynomial 0xA6BC, complemented).
  auto reference = [](std::span<const uint8_t> b) {
    unsigned crc = 0;
    for (uint8_t byte : b) {
      crc ^= byte;
      for (int k = 0; k < 8; ++k) crc = (crc & 1u) ? (crc >> 1) ^ 0xA6BCu : crc >> 1;
    }
    return static_cast<uint16_t>(~crc);
  };
  Bytes data(64);
  uint32_t x = 12345;
  for (uint8_t& b : data) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  for (size_t from = 0; from < 4; ++from) {
    for (size_t len = 0; from + len <= data.size(); ++len) {
      const std::span<const uint8_t> s(data.data() + from, len);
      CHECK(crc16(s) == reference(s));
    }
  }
}

TEST_CASE("dnp3 link header of a captured frame parses with its addresses and control bits", "[dnp3]") {
  const Bytes f = hex("05 64 14 C4 02 00 03 00 45 03 C7 C8 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06 42 AC");
  LinkHeader h;
  REQUIRE(parse_link_header(f, h) == LinkStatus::Ok);
  CHECK(h.length == 0x14);
  CHECK(h.destination == 2);
  CHECK(h.source == 3);
  CHECK(h.dir());
  CHECK(h.prm());
  CHECK(h.function() == kLinkUnconfirmedUserData);
  CHECK(h.user_data_size() == 15);
  CHECK(h.frame_size() == f.size());
  Bytes user(kMaxUserData);
  REQUIRE(extract_user_data(f, h, user) == LinkStatus::Ok);
  CHECK(Bytes(user.begin(), user.begin() + 15) == hex("C7 C8 01 3C 02 06 3C 03 06 3C 04 06 3C 01 06"));
}

TEST_CASE("dnp3 frame sizes count one CRC per started 16-byte block", "[dnp3]") {
  auto size_for = [](uint8_t len) {
    LinkHeader h;
    h.length = len;
    return h.frame_size();
  };
  CHECK(size_for(5) == 10);
  CHECK(size_for(6) == 13);
  CHECK(size_for(21) == 28);
  CHECK(size_for(22) == 31);
  CHECK(size_for(255) == kMaxFrameSize);
  CHECK(kMaxFrameSize == 292);
}

TEST_CASE("dnp3 link frame without user data (reset link, link status) is a valid frame", "[dnp3]") {
  const Bytes f = link_frame(0xC9, 1, 2, {});  // request link status
  LinkHeader h;
  REQUIRE(parse_link_header(f, h) == LinkStatus::Ok);
  CHECK(h.function() == kLinkRequestLinkStatus);
  CHECK(h.user_data_size() == 0);
  CHECK(h.frame_size() == 10);
  Bytes user(kMaxUserData);
  CHECK(extract_user_data(f, h, user) == LinkStatus::Ok);
}

TEST_CASE("dnp3 bad header CRC, bad data CRC, short length and missing magic are reported", "[dnp3]") {
  Bytes user(40);
  for (size_t i = 0; i < user.size(); ++i) user[i] = static_cast<uint8_t>(i);
  const Bytes good = link_frame(0xC4, 1, 2, user);
  LinkHeader h;

  Bytes bad_header = good;
  bad_header[9] ^= 0x01;
  CHECK(parse_link_header(bad_header, h) == LinkStatus::BadHeaderCrc);

  Bytes bad_data = good;
  bad_data[10 + 18 + 3] ^= 0xff;  // inside the second block
  REQUIRE(parse_link_header(bad_data, h) == LinkStatus::Ok);
  Bytes out(kMaxUserData);
  size_t block = 99;
  CHECK(extract_user_data(bad_data, h, out, &block) == LinkStatus::BadDataCrc);
  CHECK(block == 1);
  Bytes bad_last = good;
  bad_last.back() ^= 0x80;  // the CRC of the last (partial) block
  CHECK(extract_user_data(bad_last, h, out, &block) == LinkStatus::BadDataCrc);
  CHECK(block == 2);

  Bytes short_len = {0x05, 0x64, 0x04, 0xC4, 1, 0, 2, 0};  // length 4 < 5, with a correct CRC
  put_crc(short_len, 0);
  CHECK(parse_link_header(short_len, h) == LinkStatus::BadLength);

  CHECK(parse_link_header(hex("05 65 05 C4 01 00 02 00 00 00"), h) == LinkStatus::NoMagic);
  CHECK(parse_link_header(hex("06"), h) == LinkStatus::NoMagic);
  CHECK(parse_link_header(hex("05 64 05"), h) == LinkStatus::NeedMore);
  Bytes truncated(good.begin(), good.end() - 1);
  REQUIRE(parse_link_header(truncated, h) == LinkStatus::Ok);
  CHECK(extract_user_data(truncated, h, out) == LinkStatus::NeedMore);
}

// ---------------------------------------------------------------------------------------------------
// Application layer and objects
// ---------------------------------------------------------------------------------------------------

TEST_CASE("dnp3 transport and application control octets", "[dnp3]") {
  const TransportHeader t = parse_transport(0xC7);
  CHECK(t.fin);
  CHECK(t.fir);
  CHECK(t.seq == 7);
  const TransportHeader t2 = parse_transport(0x3F);
  CHECK(!t2.fin);
  CHECK(!t2.fir);
  CHECK(t2.seq == 63);

  AppHeader a;
  REQUIRE(parse_app_header(hex("F5 82 90 01"), a));
  CHECK(a.fir());
  CHECK(a.fin());
  CHECK(a.con());
  CHECK(a.uns());
  CHECK(a.seq() == 5);
  CHECK(a.function == kUnsolicitedResponse);
  CHECK(a.has_iin);
  CHECK(a.iin() == 0x9001);  // Zeek's count: IIN1 high octet
  CHECK(a.size() == 4);
  CHECK(!parse_app_header(hex("C0 81 00"), a));  // a response without its IIN
  CHECK(!parse_app_header(hex("C0"), a));
}

TEST_CASE("dnp3 every function code parses, with IIN exactly on responses, and has its names", "[dnp3]") {
  for (unsigned fc = 0; fc < 256; ++fc) {
    AppHeader a;
    REQUIRE(parse_app_header(Bytes{0xC0, static_cast<uint8_t>(fc), 0x12, 0x34}, a));
    CHECK(a.function == fc);
    const bool response = fc == 129 || fc == 130 || fc == 131;
    CHECK(a.has_iin == response);
    CHECK(is_response_function(static_cast<uint8_t>(fc)) == response);
    const std::string_view zeek = dnp3_function_name(static_cast<uint8_t>(fc));
    if (is_known_function(static_cast<uint8_t>(fc))) {
      CHECK(zeek.substr(0, 8) != "unknown-");
      CHECK(dnp3_function_snake_name(static_cast<uint8_t>(fc)) != "unknown");
      CHECK(dnp3_function_from_name(zeek) == fc);
      CHECK(dnp3_function_from_name(dnp3_function_snake_name(static_cast<uint8_t>(fc))) == fc);
    } else {
      CHECK(zeek == "unknown-" + std::to_string(fc));
      CHECK(dnp3_function_snake_name(static_cast<uint8_t>(fc)) == "unknown");
    }
    CHECK(dnp3_function_from_name(std::to_string(fc)) == fc);
  }
  CHECK(dnp3_function_name(0) == "CONFIRM");
  CHECK(dnp3_function_name(5) == "DIRECT_OPERATE");
  CHECK(dnp3_function_name(7) == "IMMED_FREEZE");
  CHECK(dnp3_function_name(16) == "INITIALIZE_APPL");
  CHECK(dnp3_function_name(33) == "AUTHENTICATE_REQ_NR");
  CHECK(dnp3_function_name(129) == "RESPONSE");
  CHECK(dnp3_function_name(130) == "UNSOLICITED_RESPONSE");
  CHECK(dnp3_function_name(131) == "AUTHENTICATE_RESP");
  CHECK(icsnpp_function_name(0x40) == "unknown-40");
  CHECK(dnp3_function_snake_name(7) == "immediate_freeze");
  CHECK(dnp3_function_snake_name(16) == "initialize_application");
  CHECK(dnp3_function_snake_name(19) == "save_configuration");
  CHECK(dnp3_function_snake_name(31) == "activate_configuration");
  CHECK(dnp3_function_snake_name(32) == "authentication_request");
  CHECK(dnp3_function_snake_name(33) == "authentication_error");
  CHECK(dnp3_function_snake_name(131) == "authentication_response");
}

TEST_CASE("dnp3 function lookup by name accepts Zeek's and snake_case names, any case, and numbers", "[dnp3]") {
  CHECK(dnp3_function_from_name("DIRECT_OPERATE") == 5);
  CHECK(dnp3_function_from_name("direct_operate") == 5);
  CHECK(dnp3_function_from_name("Direct_Operate") == 5);
  CHECK(dnp3_function_from_name(" select ") == 3);
  CHECK(dnp3_function_from_name("IMMED_FREEZE_NR") == 8);
  CHECK(dnp3_function_from_name("immediate_freeze_nr") == 8);
  CHECK(dnp3_function_from_name("AUTHENTICATE_ERR") == 33);
  CHECK(dnp3_function_from_name("authentication_error") == 33);
  CHECK(dnp3_function_from_name("0x81") == 129);
  CHECK(dnp3_function_from_name("0X0d") == 13);
  CHECK(dnp3_function_from_name("unknown-77") == 77);
  CHECK(dnp3_function_from_name("256") == std::nullopt);
  CHECK(dnp3_function_from_name("0x") == std::nullopt);
  CHECK(dnp3_function_from_name("") == std::nullopt);
  CHECK(dnp3_function_from_name("operate_everything") == std::nullopt);
  CHECK(dnp3_function_from_name("-1") == std::nullopt);
}

TEST_CASE("dnp3 operation classes and the read-only set", "[dnp3]") {
  CHECK(dnp3_op_class(kRead) == OpClass::Read);
  CHECK(dnp3_op_class(kDelayMeasure) == OpClass::Read);
  CHECK(dnp3_op_class(kWrite) == OpClass::Write);
  CHECK(dnp3_op_class(kEnableUnsolicited) == OpClass::Write);
  CHECK(dnp3_op_class(kRecordCurrentTime) == OpClass::Write);
  for (uint8_t fc : {kSelect, kOperate, kDirectOperate, kDirectOperateNr, kColdRestart, kWarmRestart,
                     kInitializeData, kInitializeAppl, kStartAppl, kStopAppl}) {
    CHECK(dnp3_op_class(fc) == OpClass::Control);
  }
  CHECK(dnp3_op_class(kConfirm) == OpClass::Other);
  CHECK(dnp3_op_class(kResponse) == OpClass::Other);
  for (unsigned fc = 0; fc < 256; ++fc) {
    CHECK(dnp3_read_only(static_cast<uint8_t>(fc)) == (fc == kRead || fc == kDelayMeasure));
  }
}

namespace {

// Walks `objects`; the headers' views point into a copy kept for the rest of the run.
std::vector<ObjectHeader> walk(const Bytes& objects, uint8_t fc, WalkStatus& status) {
  static std::vector<std::unique_ptr<Bytes>> keep;
  keep.push_back(std::make_unique<Bytes>(objects));
  ObjectWalker w(*keep.back(), fc);
  std::vector<ObjectHeader> out;
  ObjectHeader h;
  while (w.next(h)) out.push_back(h);
  status = w.status();
  return out;
}

}  // namespace

TEST_CASE("dnp3 READ request headers carry no data: class, all, ranges and index prefixes", "[dnp3]") {
  WalkStatus st;
  // class 1/2/3/0, then g1v0 all, g30v1 0..9, g32v0 count 5 (0x07), g2v0 indexes 3 and 9 (0x17)
  auto hs = walk(hex("3C 02 06 3C 03 06 3C 04 06 3C 01 06 01 00 06 1E 01 00 00 09 20 00 07 05 02 00 17 02 03 09"),
                 kRead, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(hs.size() == 8);
  CHECK(hs[0].object_type() == 0x3C02);
  CHECK(hs[0].size.kind == SizeKind::None);
  CHECK(hs[4].group == 1);
  CHECK(hs[4].range_code() == 6);
  CHECK(hs[4].count == 0);
  CHECK(hs[5].has_range);
  CHECK(hs[5].start == 0);
  CHECK(hs[5].stop == 9);
  CHECK(hs[5].count == 10);
  CHECK(hs[5].body.empty());
  CHECK(hs[6].has_count);
  CHECK(hs[6].count == 5);
  CHECK(hs[7].index_prefixed());
  CHECK(hs[7].body.size() == 2);
  ObjectItems items(hs[7]);
  ObjectItem it;
  REQUIRE(items.next(it));
  CHECK(it.index == 3);
  REQUIRE(items.next(it));
  CHECK(it.index == 9);
  CHECK(!items.next(it));
}

TEST_CASE("dnp3 response objects are sized for the common groups", "[dnp3]") {
  struct Case {
    uint8_t g, v;
    SizeKind kind;
    uint16_t size;
  };
  const Case cases[] = {
      {1, 1, SizeKind::Packed, 1},   {1, 2, SizeKind::Fixed, 1},   {2, 1, SizeKind::Fixed, 1},
      {2, 2, SizeKind::Fixed, 7},    {2, 3, SizeKind::Fixed, 3},   {3, 1, SizeKind::Packed, 2},
      {3, 2, SizeKind::Fixed, 1},    {4, 2, SizeKind::Fixed, 7},   {10, 1, SizeKind::Packed, 1},
      {10, 2, SizeKind::Fixed, 1},   {11, 2, SizeKind::Fixed, 7},  {12, 1, SizeKind::Fixed, 11},
      {12, 2, SizeKind::Fixed, 11},  {12, 3, SizeKind::Packed, 1}, {20, 1, SizeKind::Fixed, 5},
      {20, 6, SizeKind::Fixed, 2},   {21, 5, SizeKind::Fixed, 11}, {21, 10, SizeKind::Fixed, 2},
      {22, 1, SizeKind::Fixed, 5},   {22, 6, SizeKind::Fixed, 9},  {23, 5, SizeKind::Fixed, 11},
      {30, 1, SizeKind::Fixed, 5},   {30, 4, SizeKind::Fixed, 2},  {30, 6, SizeKind::Fixed, 9},
      {31, 3, SizeKind::Fixed, 11},  {32, 2, SizeKind::Fixed, 3},  {32, 8, SizeKind::Fixed, 15},
      {33, 7, SizeKind::Fixed, 11},  {34, 1, SizeKind::Fixed, 2},  {34, 3, SizeKind::Fixed, 4},
      {40, 2, SizeKind::Fixed, 3},   {40, 4, SizeKind::Fixed, 9},  {41, 1, SizeKind::Fixed, 5},
      {41, 2, SizeKind::Fixed, 3},   {41, 3, SizeKind::Fixed, 5},  {41, 4, SizeKind::Fixed, 9},
      {42, 1, SizeKind::Fixed, 5},   {42, 8, SizeKind::Fixed, 15}, {43, 3, SizeKind::Fixed, 11},
      {50, 1, SizeKind::Fixed, 6},   {50, 4, SizeKind::Fixed, 11}, {51, 1, SizeKind::Fixed, 6},
      {52, 2, SizeKind::Fixed, 2},   {60, 1, SizeKind::None, 0},   {80, 1, SizeKind::Packed, 1},
      {110, 7, SizeKind::Fixed, 7},  {111, 3, SizeKind::Fixed, 3}, {112, 9, SizeKind::Fixed, 9},
      {113, 1, SizeKind::Fixed, 1},  {120, 3, SizeKind::Fixed, 6}, {120, 4, SizeKind::Fixed, 2},
      {1, 0, SizeKind::Unknown, 0},  {0, 254, SizeKind::Unknown, 0}, {120, 1, SizeKind::Unknown, 0},
  };
  for (const Case& c : cases) {
    INFO("g" << int(c.g) << "v" << int(c.v));
    const ObjectSize s = object_size(c.g, c.v, kResponse);
    CHECK(s.kind == c.kind);
    CHECK(s.size == c.size);
  }
  // Headers only in requests that name points.
  CHECK(object_size(30, 1, kRead).kind == SizeKind::None);
  CHECK(object_size(20, 1, kImmedFreeze).kind == SizeKind::None);
  CHECK(object_size(1, 0, kAssignClass).kind == SizeKind::None);
  CHECK(object_size(50, 2, kFreezeAtTime).kind == SizeKind::Fixed);
  CHECK(object_size(20, 0, kFreezeAtTime).kind == SizeKind::None);
  CHECK(object_size(12, 1, kDirectOperate).size == 11);
}

TEST_CASE("dnp3 response walk: static data, events with index prefixes, packed bits", "[dnp3]") {
  WalkStatus st;
  // g1v1 0..9 packed (2 octets), g3v1 0..4 two bits each (2 octets), g2v2 count 2 with 1-octet index
  // prefixes (2 x (1 + 7)), g32v1 count 1 with 2-octet prefix (2 + 5), g30v5 0..0 float with flag.
  const Bytes objs = hex(
      "01 01 00 00 09 FF 03"
      "03 01 00 00 04 AA 02"
      "02 02 17 02 05 81 01 02 03 04 05 06 07 01 11 12 13 14 15 16"
      "20 01 28 01 00 0A 00 01 10 00 00 00"
      "1E 05 00 00 00 01 00 00 80 3F");
  auto hs = walk(objs, kResponse, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(hs.size() == 5);
  CHECK(hs[0].body.size() == 2);
  CHECK(hs[1].body.size() == 2);
  CHECK(hs[2].body.size() == 16);
  ObjectItems items(hs[2]);
  ObjectItem it;
  REQUIRE(items.next(it));
  CHECK(it.index == 5);
  CHECK(it.data.size() == 7);
  REQUIRE(items.next(it));
  CHECK(it.index == 7);
  CHECK(it.data[1] == 0x11);
  CHECK(!items.next(it));
  CHECK(hs[3].count == 1);
  CHECK(hs[3].body.size() == 7);
  CHECK(hs[4].object_type() == 0x1E05);
  CHECK(hs[4].body.size() == 5);
}

TEST_CASE("dnp3 write, freeze-at-time, delay measure, file and authentication objects", "[dnp3]") {
  WalkStatus st;
  // WRITE: clear IIN1.7 (g80v1 index 7, one packed octet), then time (g50v1 count 1, 6 octets).
  auto w = walk(hex("50 01 00 07 07 00 32 01 07 01 01 02 03 04 05 06"), kWrite, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(w.size() == 2);
  CHECK(w[0].body.size() == 1);
  CHECK(w[1].body.size() == 6);
  // FREEZE_AT_TIME: g50v2 (time + interval) with data, then g20v0 all (no data).
  auto f = walk(hex("32 02 07 01 01 02 03 04 05 06 10 27 00 00 14 00 06"), kFreezeAtTime, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(f.size() == 2);
  CHECK(f[0].body.size() == 10);
  // DELAY_MEASURE response: g52v2 count 1, 2 octets.
  auto d = walk(hex("34 02 07 01 2C 01"), kResponse, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(d.size() == 1);
  CHECK(d[0].body.size() == 2);
  // OPEN_FILE: g70v3 free-format, qualifier 0x5B (1-octet count, 2-octet size prefix).
  auto o = walk(hex("46 03 5B 01 04 00 AA BB CC DD"), kOpenFile, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(o.size() == 1);
  CHECK(o[0].size.kind == SizeKind::PrefixSized);
  ObjectItems items(o[0]);
  ObjectItem it;
  REQUIRE(items.next(it));
  CHECK(it.data.size() == 4);
  // SAv5 aggressive mode: g120v3 (count 1, 6 octets), a CROB, then g120v9 MAC (0x5B).
  auto s = walk(hex("78 03 07 01 01 00 00 00 01 00"
                    "0C 01 17 01 02 41 01 64 00 00 00 00 00 00 00 00"
                    "78 09 5B 01 03 00 01 02 03"),
                kDirectOperate, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(s.size() == 3);
  CHECK(s[1].object_type() == 0x0C01);
  CHECK(s[2].body.size() == 5);
}

TEST_CASE("dnp3 objects that cannot be sized end the walk after their header", "[dnp3]") {
  WalkStatus st;
  // g0v254 (device attributes) is not sized: its header is returned, the CROB after it is not walked.
  auto hs = walk(hex("00 FE 00 00 00 01 02 03 0C 01 17 01 02 41 01 64 00 00 00 00 00 00 00 00"), kResponse, st);
  CHECK(st == WalkStatus::UnknownSize);
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].group == 0);
  CHECK(hs[0].count == 1);
  CHECK(hs[0].size.kind == SizeKind::Unknown);
  CHECK(hs[0].body.empty());
}

TEST_CASE("dnp3 headers naming no objects need no size, whatever their type", "[dnp3]") {
  WalkStatus st;
  // STOP_APPL with g1v7 "all" (zeek's dnp3.pcap): no objects follow, so the walk goes on.
  auto hs = walk(hex("3C 02 06 01 07 06 3C 04 06"), kStopAppl, st);
  CHECK(st == WalkStatus::End);
  REQUIRE(hs.size() == 3);
  CHECK(hs[1].size.kind == SizeKind::None);
  auto zero = walk(hex("00 FE 07 00 1E 02 07 01 01 02 00"), kResponse, st);  // g0v254 with count 0
  CHECK(st == WalkStatus::End);
  CHECK(zero.size() == 2);
}

TEST_CASE("dnp3 malformed object headers: truncation, reserved qualifiers, inverted ranges", "[dnp3]") {
  WalkStatus st;
  CHECK(walk(hex("1E 01"), kResponse, st).empty());
  CHECK(st == WalkStatus::Truncated);
  CHECK(walk(hex("1E 01 01 00"), kResponse, st).empty());  // 2-octet range cut short
  CHECK(st == WalkStatus::Truncated);
  CHECK(walk(hex("1E 01 00 00 02 01 02 03 04 05"), kResponse, st).empty());  // 3 objects, 1 present
  CHECK(st == WalkStatus::Truncated);
  CHECK(walk(hex("1E 01 0A 00"), kResponse, st).empty());
  CHECK(st == WalkStatus::BadQualifier);
  CHECK(walk(hex("1E 01 70 00"), kResponse, st).empty());
  CHECK(st == WalkStatus::BadQualifier);
  CHECK(walk(hex("1E 01 00 05 02"), kResponse, st).empty());
  CHECK(st == WalkStatus::BadRange);
  // A 4-octet range of 2^32 objects cannot fit: truncated, not an overflow.
  CHECK(walk(hex("1E 01 02 00 00 00 00 FF FF FF FF 00"), kResponse, st).empty());
  CHECK(st == WalkStatus::Truncated);
  CHECK(walk(hex("46 03 5B 02 04 00 AA BB CC DD"), kOpenFile, st).empty());  // second object missing
  CHECK(st == WalkStatus::Truncated);
}

TEST_CASE("dnp3 CROB and analog output blocks decode", "[dnp3]") {
  ControlBlock b;
  REQUIRE(parse_control_block(hex("81 05 E8 03 00 00 D0 07 00 00 04"), b));
  CHECK(b.control_code == 0x81);
  CHECK(b.trip_close() == 2);
  CHECK(b.op_type() == 1);
  CHECK(!b.clear());
  CHECK(b.count == 5);
  CHECK(b.on_time == 1000);
  CHECK(b.off_time == 2000);
  CHECK(b.status == 4);
  CHECK(!parse_control_block(hex("81 05 E8 03 00 00 D0 07 00 00"), b));
  CHECK(trip_control_name(b.trip_close()) == "Trip");
  CHECK(operation_type_name(1) == "Pulse On");
  CHECK(operation_type_name(4) == "Latch Off");
  CHECK(operation_type_name(9) == "unknown-9");
  CHECK(trip_control_name(3) == "unknown-3");
  CHECK(control_status_name(4) == "Not Supported");
  CHECK(control_status_name(0x7e) == "Non Participating");
  CHECK(control_status_name(0x20) == "unknown-20");

  AnalogOutput ao;
  REQUIRE(parse_analog_output(1, hex("FE FF FF FF 00"), ao));
  CHECK(!ao.is_float);
  CHECK(ao.int_value == -2);
  REQUIRE(parse_analog_output(2, hex("D2 04 01"), ao));
  CHECK(ao.int_value == 1234);
  CHECK(ao.status == 1);
  REQUIRE(parse_analog_output(3, hex("00 00 C0 3F 00"), ao));
  CHECK(ao.is_float);
  CHECK(ao.float_value == 1.5);
  REQUIRE(parse_analog_output(4, hex("00 00 00 00 00 00 04 C0 00"), ao));
  CHECK(ao.float_value == -2.5);
  CHECK(!parse_analog_output(2, hex("D2 04"), ao));
  CHECK(!parse_analog_output(5, hex("00 00 00 00 00"), ao));
}

TEST_CASE("dnp3 ICSNPP object type names", "[dnp3]") {
  CHECK(icsnpp_object_type(0x0102) == "Binary Input With Status");
  CHECK(icsnpp_object_type(0x1E02) == "16-Bit Analog Input");
  CHECK(icsnpp_object_type(0x2802) == "16-Bit Analog Output Status");
  CHECK(icsnpp_object_type(0x3C01) == "Class 0 Data");
  CHECK(icsnpp_object_type(0x3C04) == "Class 3 Data");
  CHECK(icsnpp_object_type(0x0C01).empty());  // ICSNPP logs no objects row for CROBs
  CHECK(icsnpp_object_type(0x1F00).empty());
}

// ---------------------------------------------------------------------------------------------------
// Analyzer: logs, reassembly, streams and events
// ---------------------------------------------------------------------------------------------------

TEST_CASE("dnp3 read and response write one dnp3.log row and ICSNPP objects rows", "[dnp3]") {
  Harness h("read");
  h.orig(request_frame(kReadClass0123), at(0));
  h.resp(response_frame(kReadResponse), at(25));
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.025000") + "\tREAD\tRESPONSE\t36864");
  const auto objects = h.lines("dnp3_objects");
  // Rows of one time and uid in wire order: the integrity poll asks for classes 1, 2, 3, then 0.
  REQUIRE(objects.size() == 6);
  const int classes[4] = {1, 2, 3, 0};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(objects[i] == h.icsnpp_cols("1600000000.000000", true) + "\tREAD\tClass " + std::to_string(classes[i]) +
                            " Data\t-\t-\t-");
  }
  CHECK(objects[4] == h.icsnpp_cols("1600000000.025000", false) + "\tRESPONSE\tBinary Input With Status\t4\t0\t3");
  CHECK(objects[5] == h.icsnpp_cols("1600000000.025000", false) + "\tRESPONSE\t16-Bit Analog Input\t2\t0\t1");
  CHECK(h.weirds.names.empty());
  CHECK(!fs::exists(h.dir / "dnp3_control.log"));
}

TEST_CASE("dnp3 select of a CROB and its response go to dnp3_control.log", "[dnp3]") {
  Harness h("crob");
  h.orig(request_frame(kSelectCrob), at(0));
  h.resp(response_frame(kSelectCrobResponse), at(10));
  const auto control = h.lines("dnp3_control");
  REQUIRE(control.size() == 2);
  CHECK(control[0] == h.icsnpp_cols("1600000000.000000", true) +
                          "\tControl Relay Output Block\tSELECT\t8\tClose\tPulse On\tF\t1\t500\t0\t-");
  CHECK(control[1] == h.icsnpp_cols("1600000000.010000", false) +
                          "\tControl Relay Output Block\tRESPONSE\t8\tClose\tPulse On\tF\t1\t500\t0\tSuccess");
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.010000") + "\tSELECT\tRESPONSE\t0");
  REQUIRE(h.ops.ops.size() == 2);
  const OperationEvent& sel = h.ops.ops[0].ev;
  CHECK(sel.protocol == Protocol::Dnp3);
  CHECK(sel.code == 3);
  CHECK(sel.name == "select");
  CHECK(sel.op_class == OpClass::Control);
  CHECK(!sel.read_only);
  CHECK(sel.is_request);
  CHECK(sel.is_orig);
  CHECK(sel.unit == kOutstation);
  CHECK(sel.dnp3_object_group == 12);
  CHECK(sel.address == 8);
  CHECK(sel.quantity == 1);
  CHECK(h.ops.ops[0].pdu == kSelectCrob);
  const OperationEvent& rsp = h.ops.ops[1].ev;
  CHECK(rsp.name == "response");
  CHECK(!rsp.is_request);
  CHECK(rsp.op_class == OpClass::Other);
  CHECK(rsp.unit == kMaster);
  CHECK(rsp.exception == -1);
}

TEST_CASE("dnp3 CROBs under a range get their index from it, clear bit and trip code decode", "[dnp3]") {
  Harness h("crob_range");
  // DIRECT_OPERATE g12v1 indexes 2..3 (qualifier 0x00): Trip/Latch On with CR set, then Nul/Latch Off.
  h.orig(request_frame(hex("C2 05 0C 01 00 02 03 A3 01 00 00 00 00 00 00 00 00 00 04 01 00 00 00 00 00 00 00 00 00")),
         at(0));
  const auto control = h.lines("dnp3_control");
  REQUIRE(control.size() == 2);
  CHECK(control[0] == h.icsnpp_cols("1600000000.000000", true) +
                          "\tControl Relay Output Block\tDIRECT_OPERATE\t2\tTrip\tLatch On\tT\t1\t0\t0\t-");
  CHECK(control[1] == h.icsnpp_cols("1600000000.000000", true) +
                          "\tControl Relay Output Block\tDIRECT_OPERATE\t3\tNul\tLatch Off\tF\t1\t0\t0\t-");
  // Unanswered: written at the end of the connection.
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.000000") + "\tDIRECT_OPERATE\t-\t-");
}

TEST_CASE("dnp3 direct operate of an analog output is a control operation on group 41", "[dnp3]") {
  Harness h("analog_output");
  h.orig(request_frame(hex("C3 05 29 02 28 01 00 03 00 D2 04 00")), at(0));
  REQUIRE(h.ops.ops.size() == 1);
  const OperationEvent& ev = h.ops.ops[0].ev;
  CHECK(ev.name == "direct_operate");
  CHECK(ev.op_class == OpClass::Control);
  CHECK(ev.dnp3_object_group == 41);
  CHECK(ev.address == 3);
  CHECK(ev.quantity == 1);
  CHECK(h.weirds.names.empty());
  CHECK(!fs::exists(h.dir / "dnp3_control.log"));
}

TEST_CASE("dnp3 requests without answers, confirms and unsolicited responses each get a row", "[dnp3]") {
  Harness h("unanswered");
  h.orig(request_frame(hex("C0 06 0C 01 17 01 00 41 01 64 00 00 00 00 00 00 00 00")), at(0));  // DO_NR
  h.orig(request_frame(hex("C1 15 3C 02 06 3C 03 06 3C 04 06")), at(5));  // DISABLE_UNSOLICITED
  h.resp(response_frame(hex("C1 81 00 00")), at(6));
  h.resp(response_frame(hex("F2 82 00 00")), at(7));  // unsolicited, CON set
  h.orig(request_frame(hex("D2 00")), at(8));         // its CONFIRM (UNS echoed)
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 4);
  CHECK(dnp3[0] == h.conn_cols("1600000000.000000") + "\tDIRECT_OPERATE_NR\t-\t-");
  CHECK(dnp3[1] == h.conn_cols("1600000000.006000") + "\tDISABLE_UNSOLICITED\tRESPONSE\t0");
  CHECK(dnp3[2] == h.conn_cols("1600000000.007000") + "\t-\tUNSOLICITED_RESPONSE\t0");
  CHECK(dnp3[3] == h.conn_cols("1600000000.008000") + "\tCONFIRM\t-\t-");
  REQUIRE(h.ops.ops.size() == 5);
  CHECK(h.ops.ops[4].ev.name == "confirm");
  CHECK(h.ops.ops[4].ev.is_request);
  CHECK(h.ops.ops[4].ev.op_class == OpClass::Other);
  CHECK(h.ops.ops[2].ev.name == "response");
  CHECK(h.ops.ops[3].ev.name == "unsolicited_response");
  CHECK(h.ops.ops[1].ev.dnp3_object_group == 60);
  CHECK(h.ops.ops[1].ev.quantity == -1);  // class data, qualifier 0x06: all points
}

TEST_CASE("dnp3 IIN2 error bits become the response's exception", "[dnp3]") {
  Harness h("iin_error");
  h.orig(request_frame(hex("C0 11")), at(0));  // START_APPL without objects
  h.resp(response_frame(hex("C0 81 00 01")), at(1));  // IIN2.0: function code not supported
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[0].ev.name == "start_application");
  CHECK(h.ops.ops[0].ev.op_class == OpClass::Control);
  CHECK(h.ops.ops[1].ev.exception == 1);
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.001000") + "\tSTART_APPL\tRESPONSE\t1");
}

namespace {

// A response of g30v1 points 0..n-1 (5 octets each).
Bytes analog_response(uint8_t seq, uint8_t n) {
  Bytes app = {static_cast<uint8_t>(0xC0 | seq), 0x81, 0x00, 0x00, 0x1E, 0x01, 0x00, 0x00, static_cast<uint8_t>(n - 1)};
  for (uint8_t i = 0; i < n; ++i) {
    for (uint8_t b : {uint8_t{0x01}, i, uint8_t{0}, uint8_t{0}, uint8_t{0}}) app.push_back(b);
  }
  return app;
}

// Transport segments of an application fragment: at most 249 octets each, FIR on the first, FIN on the
// last, sequence numbers from `seq`.
std::vector<Bytes> segments(const Bytes& app, uint8_t seq, bool from_master, uint16_t src, uint16_t dst,
                            size_t max = 249) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < app.size(); i += max) {
    const size_t n = std::min(max, app.size() - i);
    uint8_t t = static_cast<uint8_t>(seq++ & 0x3f);
    if (i == 0) t |= 0x40;
    if (i + n == app.size()) t |= 0x80;
    const Bytes part(app.begin() + static_cast<long>(i), app.begin() + static_cast<long>(i + n));
    out.push_back(link_frame(from_master ? 0xC4 : 0x44, dst, src, cat({{t}, part})));
  }
  return out;
}

}  // namespace

TEST_CASE("dnp3 transport reassembly: a response over three segments is one fragment", "[dnp3]") {
  Harness h("reassembly");
  const Bytes app = analog_response(0, 110);  // 9 + 550 octets: 3 segments
  const auto segs = segments(app, 62, false, kOutstation, kMaster);  // sequence wraps 62, 63, 0
  REQUIRE(segs.size() == 3);
  h.orig(request_frame(hex("C0 01 1E 01 00 00 6D")), at(0));
  for (size_t i = 0; i < segs.size(); ++i) h.resp(segs[i], at(10 + static_cast<int>(i)));
  CHECK(h.weirds.names.empty());
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[1].pdu == app);
  const auto objects = h.lines("dnp3_objects");
  REQUIRE(objects.size() == 2);
  CHECK(objects[1] == h.icsnpp_cols("1600000000.012000", false) + "\tRESPONSE\t32-Bit Analog Input\t110\t0\t109");
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.012000") + "\tREAD\tRESPONSE\t0");
}

TEST_CASE("dnp3 transport: a continuation without FIR is a weird and is discarded", "[dnp3]") {
  Harness h("missing_fir");
  const auto segs = segments(analog_response(0, 110), 0, false, kOutstation, kMaster);
  h.resp(segs[1], at(0));
  h.resp(segs[2], at(1));
  CHECK(h.weirds.count("dnp3_first_application_layer_chunk_missing") == 2);
  CHECK(h.ops.ops.empty());
  h.finish();
  CHECK(!fs::exists(h.dir / "dnp3.log"));
}

TEST_CASE("dnp3 transport: an out-of-sequence segment discards the fragment", "[dnp3]") {
  Harness h("out_of_sequence");
  const auto segs = segments(analog_response(0, 110), 10, false, kOutstation, kMaster);
  h.orig(request_frame(hex("C0 01 1E 01 00 00 6D")), at(0));
  h.resp(segs[0], at(1));
  h.resp(segs[2], at(2));  // sequence 12 where 11 was due
  h.resp(segs[1], at(3));  // the fragment is gone: no FIR any more
  CHECK(h.weirds.count("dnp3_transport_out_of_sequence") == 1);
  CHECK(h.weirds.addl[0] == "expected 11, got 12");
  CHECK(h.weirds.count("dnp3_first_application_layer_chunk_missing") == 1);
  CHECK(h.ops.ops.size() == 1);
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.000000") + "\tREAD\t-\t-");
}

TEST_CASE("dnp3 transport: reassembly is per link address pair", "[dnp3]") {
  Harness h("address_pairs");
  // Two outstations (4 and 5) behind one connection, their segments interleaved.
  const Bytes app4 = analog_response(0, 60);
  const Bytes app5 = analog_response(1, 70);
  const auto a = segments(app4, 0, false, 4, kMaster);
  const auto b = segments(app5, 0, false, 5, kMaster);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  h.resp(cat({a[0], b[0]}), at(0));
  h.resp(cat({b[1], a[1]}), at(1));
  CHECK(h.weirds.names.empty());
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[0].pdu == app5);
  CHECK(h.ops.ops[0].ev.unit == kMaster);
  CHECK(h.ops.ops[1].pdu == app4);
}

TEST_CASE("dnp3 transport: a fragment above the configured maximum is a weird", "[dnp3]") {
  Options opts;
  opts.max_fragment = 300;
  Harness h("too_large", Transport::Tcp, opts);
  for (const Bytes& s : segments(analog_response(0, 110), 0, false, kOutstation, kMaster)) h.resp(s, at(0));
  CHECK(h.weirds.count("dnp3_fragment_too_large") == 1);
  CHECK(h.weirds.count("dnp3_first_application_layer_chunk_missing") == 1);
  CHECK(h.ops.ops.empty());
}

TEST_CASE("dnp3 TCP: frames split across segments and several per segment", "[dnp3]") {
  Harness h("tcp_split");
  const Bytes req = request_frame(kReadClass0123);
  for (uint8_t b : req) h.orig(Bytes{b}, at(0));  // one octet per segment
  const Bytes rsp = response_frame(kReadResponse);
  const Bytes two = cat({rsp, rsp});
  REQUIRE(rsp.size() == 41);
  h.resp(Bytes(two.begin(), two.begin() + 5), at(1));        // inside the first header
  h.resp(Bytes(two.begin() + 5, two.begin() + 45), at(2));   // the first frame, into the second header
  h.resp(Bytes(two.begin() + 45, two.end()), at(3));
  const Bytes link_status = link_frame(0xC9, kOutstation, kMaster, {});
  h.orig(cat({link_status, request_frame(kSelectCrob), link_status}), at(4));
  CHECK(h.weirds.names.empty());
  REQUIRE(h.ops.ops.size() == 4);
  CHECK(h.ops.ops[0].ev.name == "read");
  CHECK(h.ops.ops[1].ev.name == "response");
  CHECK(h.ops.ops[2].ev.name == "response");
  CHECK(h.ops.ops[3].ev.name == "select");
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 3);
  CHECK(dnp3[0] == h.conn_cols("1600000000.002000") + "\tREAD\tRESPONSE\t36864");
  CHECK(dnp3[1] == h.conn_cols("1600000000.003000") + "\t-\tRESPONSE\t36864");
  CHECK(dnp3[2] == h.conn_cols("1600000000.004000") + "\tSELECT\t-\t-");
}

TEST_CASE("dnp3 TCP: garbage before a frame is one weird, then the stream resynchronises", "[dnp3]") {
  Harness h("garbage");
  h.orig(request_frame(hex("C0 17")), at(0));  // DELAY_MEASURE confirms DNP3 first
  h.orig(cat({hex("01 02 05 03 05 64 FF"), request_frame(hex("C1 18"))}), at(1));
  CHECK(h.weirds.count("dnp3_header_lacks_magic") == 1);
  CHECK(h.weirds.count("dnp3_corrupt_header_checksum") == 1);  // the stray 05 64 in the garbage
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[1].ev.name == "record_current_time");
}

TEST_CASE("dnp3 TCP: after a content gap the rest of the lost frame is skipped quietly", "[dnp3]") {
  Harness h("gap");
  const Bytes first = response_frame(kReadResponse);
  const Bytes second = response_frame(kSelectCrobResponse);
  h.resp(second, at(0));
  h.resp(Bytes(first.begin(), first.begin() + 12), at(1));
  h.a->gap(h.conn, false, 7, at(2));
  h.resp(cat({Bytes(first.begin() + 19, first.end()), second}), at(3));
  CHECK(h.weirds.names.empty());
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[1].pdu == kSelectCrobResponse);
  // Without the gap the same bytes are garbage, reported once.
  h.resp(cat({Bytes(first.begin() + 19, first.end()), second}), at(4));
  CHECK(h.weirds.count("dnp3_header_lacks_magic") == 1);
  CHECK(h.ops.ops.size() == 3);
}

TEST_CASE("dnp3 a frame with a bad header CRC or a bad data CRC is a weird and is dropped", "[dnp3]") {
  Harness h("bad_crc");
  h.orig(request_frame(hex("C0 17")), at(0));
  Bytes bad_header = request_frame(kReadClass0123);
  bad_header[4] ^= 0x01;  // destination: the header CRC no longer matches
  Bytes bad_data = request_frame(kSelectCrob);
  bad_data[12] ^= 0x01;
  h.orig(cat({bad_header, bad_data, request_frame(hex("C3 0D"))}), at(1));
  CHECK(h.weirds.count("dnp3_corrupt_header_checksum") == 1);
  CHECK(h.weirds.count("dnp3_corrupt_app_chunk_checksum") == 1);
  CHECK(h.weirds.count("dnp3_header_lacks_magic") == 0);
  REQUIRE(h.ops.ops.size() == 2);
  CHECK(h.ops.ops[1].ev.name == "cold_restart");
}

TEST_CASE("dnp3 UDP: a datagram with several frames, and one that ends mid-frame", "[dnp3]") {
  Harness h("udp", Transport::Udp);
  const Bytes link_status = link_frame(0xC9, kOutstation, kMaster, {});
  h.orig(cat({link_status, request_frame(kReadClass0123)}), at(0));
  h.resp(cat({link_frame(0x0B, kMaster, kOutstation, {}), response_frame(kReadResponse)}), at(1));
  const Bytes cut = request_frame(kSelectCrob);
  h.orig(Bytes(cut.begin(), cut.begin() + 20), at(2));
  h.orig(Bytes(cut.begin() + 20, cut.end()), at(3));  // not joined with the previous datagram
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  CHECK(h.weirds.count("dnp3_truncated_frame") == 1);
  CHECK(h.weirds.count("dnp3_header_lacks_magic") == 1);
  const auto dnp3 = h.lines("dnp3");
  REQUIRE(dnp3.size() == 1);
  CHECK(dnp3[0] == h.conn_cols("1600000000.001000") + "\tREAD\tRESPONSE\t36864");
}

TEST_CASE("dnp3 a frame whose DIR bit disagrees with the flow direction is flagged once", "[dnp3]") {
  Harness h("direction");
  h.orig(response_frame(hex("C0 81 00 00")), at(0));
  h.orig(response_frame(hex("C1 81 00 00")), at(1));
  CHECK(h.weirds.count("dnp3_unexpected_flow_direction") == 1);
}

TEST_CASE("dnp3 traffic that never shows a valid header is rejected", "[dnp3]") {
  Harness h("reject");
  Bytes junk(700, 0x41);
  h.orig(junk, at(0));
  CHECK(h.a->verdict() == Analyzer::Verdict::Rejected);
  CHECK(h.weirds.names.empty());
  CHECK(h.ops.ops.empty());
}

TEST_CASE("dnp3 unsized objects and truncated fragments are weirds, not crashes", "[dnp3]") {
  Harness h("weird_objects");
  h.resp(response_frame(hex("C0 81 00 00 00 FE 00 00 00 01 02 03")), at(0));
  h.resp(response_frame(hex("C1 81 00 00 1E 01 00 00 05 01 02")), at(1));
  h.orig(request_frame(hex("C2")), at(2));
  CHECK(h.weirds.count("dnp3_unknown_object_size") == 1);
  CHECK(h.weirds.addl[0] == "g0v254 qualifier 0");
  CHECK(h.weirds.count("dnp3_truncated_objects") == 1);
  CHECK(h.weirds.count("dnp3_truncated_application_header") == 1);
  CHECK(h.ops.ops.size() == 2);
}

TEST_CASE("dnp3 the module serves TCP and UDP 20000 with its three logs", "[dnp3]") {
  CHECK(kDnp3Module.protocol == Protocol::Dnp3);
  CHECK(kDnp3Module.service == "dnp3");
  REQUIRE(kDnp3Module.tcp_ports.size() == 1);
  CHECK(kDnp3Module.tcp_ports[0] == 20000);
  REQUIRE(kDnp3Module.udp_ports.size() == 1);
  CHECK(kDnp3Module.udp_ports[0] == 20000);
  REQUIRE(kDnp3Module.logs.size() == 3);
  CHECK(kDnp3Module.logs[0]->path == "dnp3");
  CHECK(kDnp3Module.logs[1]->path == "dnp3_control");
  CHECK(kDnp3Module.logs[2]->path == "dnp3_objects");
  const auto mods = dissector_modules();
  CHECK(std::find(mods.begin(), mods.end(), &kDnp3Module) != mods.end());
}

TEST_CASE("dnp3 log headers are Zeek's and ICSNPP's", "[dnp3]") {
  Harness h("headers");
  h.orig(request_frame(kSelectCrob), at(0));
  h.orig(request_frame(kReadClass0123), at(1));
  h.finish();
  const std::string dnp3 = ots::test::read_file(h.dir / "dnp3.log");
  CHECK(dnp3.find("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tfc_request\tfc_reply\tiin\n") !=
        std::string::npos);
  CHECK(dnp3.find("#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tcount\n") != std::string::npos);
  const std::string control = ots::test::read_file(h.dir / "dnp3_control.log");
  CHECK(control.find("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tis_orig\tsource_h\tsource_p\t"
                     "destination_h\tdestination_p\tblock_type\tfunction_code\tindex_number\ttrip_control_code\t"
                     "operation_type\tclear_bit\texecute_count\ton_time\toff_time\tstatus_code\n") != std::string::npos);
  CHECK(control.find("#types\ttime\tstring\taddr\tport\taddr\tport\tbool\taddr\tport\taddr\tport\tstring\tstring\t"
                     "count\tstring\tstring\tbool\tcount\tcount\tcount\tstring\n") != std::string::npos);
  const std::string objects = ots::test::read_file(h.dir / "dnp3_objects.log");
  CHECK(objects.find("\tdestination_p\tfunction_code\tobject_type\tobject_count\trange_low\trange_high\n") !=
        std::string::npos);
  CHECK(objects.find("\tport\tstring\tstring\tcount\tcount\tcount\n") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------------
// The generated capture through the binary: pcaps/dnp3.pcap (tools/gen_pcap.py dnp3, see pcaps/README.md)
// ---------------------------------------------------------------------------------------------------

namespace {

// The capture's three connections, as their id columns: master 10.40.1.5 to outstation 10 on TCP (before
// and after its cold restart) and to outstation 20 on UDP.
const std::string kTcp = "10.40.1.5\t41000\t10.40.1.50\t20000";
const std::string kUdp = "10.40.1.5\t20000\t10.40.1.60\t20000";
const std::string kTcp2 = "10.40.1.5\t41001\t10.40.1.50\t20000";

// ICSNPP's is_orig, source and destination columns of a row sent by the originator or the responder.
std::string by_orig(const std::string& id) { return id + "\tT\t" + id; }
std::string by_resp(const std::string& id) {
  const size_t mid = id.find('\t', id.find('\t') + 1);
  return id + "\tF\t" + id.substr(mid + 1) + "\t" + id.substr(0, mid);
}

// Replays pcaps/dnp3.pcap into a fresh directory and returns it.
fs::path replay_dnp3_pcap(const std::string& name) {
  const fs::path pcap = ots::test::source_dir() / "pcaps" / "dnp3.pcap";
  REQUIRE(fs::exists(pcap));
  const fs::path out = ots::test::scratch_dir("dnp3_pcap_" + name);
  const auto r = ots::test::run("'" + ots::test::otsensor() + "' -r '" + pcap.string() + "' -l '" + out.string() + "'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return out;
}

// A log's rows without the uid column (hashed from the flow; the id columns say which connection it is).
std::vector<std::string> rows_without_uid(const fs::path& log) {
  std::vector<std::string> rows = ots::test::log_lines(log);
  for (std::string& r : rows) {
    const size_t a = r.find('\t');
    r.erase(a, r.find('\t', a + 1) - a);
  }
  return rows;
}

}  // namespace

TEST_CASE("dnp3 pcaps/dnp3.pcap: every connection is DNP3, over TCP and UDP", "[dnp3][pcap]") {
  const fs::path out = replay_dnp3_pcap("conn");
  std::vector<std::string> conns;
  for (const std::string& row : rows_without_uid(out / "conn.log")) {
    // id, proto, service (ts and the rest of the columns are conn.log's business).
    const size_t from = row.find('\t') + 1;
    size_t to = from;
    for (int i = 0; i < 6; ++i) to = row.find('\t', to) + 1;
    conns.push_back(row.substr(from, to - from - 1));
  }
  CHECK(conns == std::vector<std::string>{kTcp + "\ttcp\tdnp3", kUdp + "\tudp\tdnp3", kTcp2 + "\ttcp\tdnp3"});
}

TEST_CASE("dnp3 pcaps/dnp3.pcap: dnp3.log pairs requests and responses across fragments, retries, restarts and "
          "unsolicited responses",
          "[dnp3][pcap]") {
  const fs::path out = replay_dnp3_pcap("dnp3");
  CHECK(rows_without_uid(out / "dnp3.log") ==
        std::vector<std::string>{
            // Integrity poll answered by two fragments (the first over three transport segments), each
            // confirmed; the second fragment takes the pending CONFIRM, as in Zeek; IIN1.7 device restart.
            "1710144550.640080\t" + kTcp + "\tREAD\tRESPONSE\t32768",
            "1710144550.976362\t" + kTcp + "\tCONFIRM\tRESPONSE\t32768",
            "1710144551.286362\t" + kTcp + "\tCONFIRM\t-\t-",
            // Select-before-operate of a CROB, direct operate of an analog output.
            "1710144551.697926\t" + kTcp + "\tSELECT\tRESPONSE\t0",
            "1710144552.021208\t" + kTcp + "\tOPERATE\tRESPONSE\t0",
            "1710144552.301490\t" + kTcp + "\tDIRECT_OPERATE\tRESPONSE\t0",
            // UDP: a class 0 poll answered by two transport segments in one datagram.
            "1710144552.640178\t" + kUdp + "\tREAD\tRESPONSE\t0",
            // The request with the bad header CRC is never seen; its repeat is answered (IIN1.1 class 1
            // events). The response with the bad data CRC is dropped: its request stays unanswered, and
            // the repeat gets the answer.
            "1710144554.649054\t" + kTcp + "\tREAD\tRESPONSE\t512",
            "1710144554.939054\t" + kTcp + "\tREAD\t-\t-",
            "1710144556.611178\t" + kUdp + "\t-\tUNSOLICITED_RESPONSE\t512",
            "1710144556.615178\t" + kUdp + "\tCONFIRM\t-\t-",
            "1710144556.964900\t" + kTcp + "\tREAD\tRESPONSE\t0",
            "1710144557.343182\t" + kTcp + "\tCOLD_RESTART\tRESPONSE\t0",
            // After the restart: null unsolicited response with IIN1.7, cleared by a write of g80v1;
            // unsolicited responses enabled, then an event arrives unsolicited.
            "1710144563.696366\t" + kTcp2 + "\t-\tUNSOLICITED_RESPONSE\t32768",
            "1710144563.698648\t" + kTcp2 + "\tCONFIRM\t-\t-",
            "1710144563.812930\t" + kTcp2 + "\tWRITE\tRESPONSE\t0",
            "1710144564.042212\t" + kTcp2 + "\tENABLE_UNSOLICITED\tRESPONSE\t0",
            "1710144565.936212\t" + kTcp2 + "\t-\tUNSOLICITED_RESPONSE\t512",
            "1710144565.938494\t" + kTcp2 + "\tCONFIRM\t-\t-",
        });
}

TEST_CASE("dnp3 pcaps/dnp3.pcap: select and operate of a CROB are in dnp3_control.log, the g41 direct operate "
          "is not",
          "[dnp3][pcap]") {
  const fs::path out = replay_dnp3_pcap("control");
  const std::string crob = "\tControl Relay Output Block\t";
  const std::string close_pulse = "\t3\tClose\tPulse On\tF\t1\t1000\t0\t";
  CHECK(rows_without_uid(out / "dnp3_control.log") ==
        std::vector<std::string>{
            "1710144551.686644\t" + by_orig(kTcp) + crob + "SELECT" + close_pulse + "-",
            "1710144551.697926\t" + by_resp(kTcp) + crob + "RESPONSE" + close_pulse + "Success",
            "1710144551.992926\t" + by_orig(kTcp) + crob + "OPERATE" + close_pulse + "-",
            "1710144552.021208\t" + by_resp(kTcp) + crob + "RESPONSE" + close_pulse + "Success",
        });
}

TEST_CASE("dnp3 pcaps/dnp3.pcap: dnp3_objects.log has the READ requests' classes and the responses' objects, "
          "reassembled",
          "[dnp3][pcap]") {
  const fs::path out = replay_dnp3_pcap("objects");
  const auto read = [](const std::string& ts, const std::string& id, int cls) {
    return ts + "\t" + by_orig(id) + "\tREAD\tClass " + std::to_string(cls) + " Data\t-\t-\t-";
  };
  const auto resp = [](const std::string& ts, const std::string& id, const std::string& own) {
    return ts + "\t" + by_resp(id) + "\tRESPONSE\t" + own;
  };
  CHECK(rows_without_uid(out / "dnp3_objects.log") ==
        std::vector<std::string>{
            read("1710144550.611798", kTcp, 0),
            read("1710144550.611798", kTcp, 1),
            read("1710144550.611798", kTcp, 2),
            read("1710144550.611798", kTcp, 3),
            // The first fragment, reassembled from its three transport segments (rows of one time are in
            // text order), then the second fragment.
            resp("1710144550.640080", kTcp, "Binary Input With Status\t8\t0\t7"),
            resp("1710144550.640080", kTcp, "32-Bit Analog Input\t100\t0\t99"),
            resp("1710144550.976362", kTcp, "32-Bit Binary Counter\t4\t0\t3"),
            // Count qualifier: the count as range_low, 0 as range_high (Zeek's rf_value_low/high).
            resp("1710144552.301490", kTcp, "16-Bit Analog Output Block\t1\t1\t0"),
            read("1710144552.611178", kUdp, 0),
            resp("1710144552.640178", kUdp, "32-Bit Analog Input\t60\t0\t59"),
            read("1710144554.627772", kTcp, 1),
            read("1710144554.627772", kTcp, 2),
            read("1710144554.627772", kTcp, 3),
            resp("1710144554.649054", kTcp, "Binary Input Change With Time\t1\t1\t0"),
            read("1710144554.939054", kTcp, 0),
            read("1710144556.954618", kTcp, 0),
            resp("1710144556.964900", kTcp, "32-Bit Analog Input\t6\t0\t5"),
        });
}

TEST_CASE("dnp3 pcaps/dnp3.pcap: the bad header CRC and the bad data-block CRC are the only weirds", "[dnp3][pcap]") {
  const fs::path out = replay_dnp3_pcap("weird");
  CHECK(rows_without_uid(out / "weird.log") ==
        std::vector<std::string>{
            "1710144552.627490\t" + kTcp + "\tdnp3_corrupt_header_checksum\t-\tF\totsensor\tdnp3",
            "1710144554.954336\t" + kTcp + "\tdnp3_corrupt_app_chunk_checksum\tblock 1\tF\totsensor\tdnp3",
        });
}
