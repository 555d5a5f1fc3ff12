// Modbus/TCP: the pure parser on bytes, the function names, and the analyzer over a synthetic connection
// writing real log files.
#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dissectors/modbus/modbus.hpp"
#include "dissectors/modbus/modbus_functions.hpp"
#include "dissectors/modbus/modbus_logs.hpp"
#include "output/log_manager.hpp"
#include "test_support.hpp"

using namespace ots;
using namespace ots::modbus;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

// A Pdu views its bytes: keep every parsed buffer alive until the test binary exits.
Pdu parse(const Bytes& b, bool is_request) {
  static std::deque<Bytes> kept;
  kept.push_back(b);
  Pdu p;
  parse_pdu(kept.back(), is_request, p);
  return p;
}

// An ADU: MBAP header (protocol id 0, length from the PDU) then the PDU.
Bytes adu(uint16_t tid, uint8_t unit, const Bytes& pdu) {
  const size_t len = pdu.size() + 1;
  Bytes out = {uint8_t(tid >> 8), uint8_t(tid), 0, 0, uint8_t(len >> 8), uint8_t(len), unit};
  out.insert(out.end(), pdu.begin(), pdu.end());
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::string> data_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l[0] != '#') out.push_back(l);
  }
  return out;
}

std::vector<std::string> split_tab(const std::string& l) {
  std::vector<std::string> out;
  std::stringstream ss(l);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  return out;
}

struct Weirds : WeirdSink {
  std::vector<WeirdEvent> seen;
  void weird(const WeirdEvent& ev) override { seen.push_back(ev); }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& w : seen) n += w.name == name;
    return n;
  }
};

struct Ops : OperationSink {
  struct Op {
    OperationEvent ev;
    Bytes pdu;
  };
  std::vector<Op> seen;
  void want_events(bool w) { wants_events_ = w; }
  void on_operation(const OperationEvent& ev) override {
    seen.push_back({ev, Bytes(ev.pdu.begin(), ev.pdu.end())});
    seen.back().ev.pdu = {};
  }
};

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

// One connection 10.0.0.9:3082 -> 10.0.0.3:502 through the analyzer, with its logs in a scratch dir.
struct Harness {
  fs::path dir;
  std::unique_ptr<LogManager> mgr;
  std::vector<LogId> ids;
  std::unique_ptr<LogSink> sink;
  Weirds weirds;
  Ops ops;
  ModbusOptions opts;
  std::vector<ModbusDeviceIdentification> ids_seen;
  std::vector<std::vector<std::pair<uint8_t, std::string>>> objects_seen;
  Conn conn;
  std::unique_ptr<Analyzer> a;
  std::string uid;
  bool closed = false;

  explicit Harness(const std::string& name) {
    dir = test::scratch_dir("modbus/" + name);
    mgr = std::make_unique<LogManager>(LogManager::Options{dir.string()});
    for (const LogSchema* s : kModbusModule.logs) ids.push_back(mgr->add(*s));
    sink = mgr->make_sink();
    opts.on_device_identification = [this](const ModbusDeviceIdentification& d) {
      ids_seen.push_back(d);
      std::vector<std::pair<uint8_t, std::string>> objs;
      for (const auto& o : d.objects) objs.emplace_back(o.id, std::string(o.value.begin(), o.value.end()));
      objects_seen.push_back(std::move(objs));
      ids_seen.back().objects = {};
    };
    conn.set_id(ConnId{IpAddr::v4(0x0A000009), IpAddr::v4(0x0A000003), 3082, 502, Transport::Tcp});
    uid = conn.uid().to_string();
    AnalyzerContext ctx{sink.get(), &weirds, &ops, ids.data()};
    a = make_modbus_analyzer(ctx, opts);
  }

  void orig(const Bytes& b, uint64_t t_us) { a->data(conn, true, b, kT0 + t_us * 1000); }
  void resp(const Bytes& b, uint64_t t_us) { a->data(conn, false, b, kT0 + t_us * 1000); }

  void close(uint64_t t_us = 1'000'000) {
    if (closed) return;
    closed = true;
    a->end(conn, kT0 + t_us * 1000);
    sink->handoff();
    mgr->close();
  }

  std::vector<std::string> lines(const std::string& log) {
    close();
    return data_lines(dir / (log + ".log"));
  }

  // A modbus.log row as Zeek writes it for this connection.
  std::string row(uint64_t t_us, unsigned tid, unsigned unit, const std::string& func, const std::string& type,
                  const std::string& exc = "-") const {
    char ts[32];
    std::snprintf(ts, sizeof ts, "1700000000.%06u", static_cast<unsigned>(t_us));
    return std::string(ts) + "\t" + uid + "\t10.0.0.9\t3082\t10.0.0.3\t502\t" + std::to_string(tid) + "\t" +
           std::to_string(unit) + "\t" + func + "\t" + type + "\t" + exc;
  }
};

const Bytes kReadCoilsReq = {0x01, 0x00, 0x13, 0x00, 0x13};
const Bytes kReadCoilsResp = {0x01, 0x03, 0xCD, 0x6B, 0x05};
const Bytes kReadHoldingReq = {0x03, 0x00, 0x6B, 0x00, 0x03};
const Bytes kReadHoldingResp = {0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// MBAP header

TEST_CASE("modbus MBAP header: protocol id 0 and length 2..254 are required", "[modbus]") {
  MbapHeader h;
  const Bytes ok = {0x12, 0x34, 0, 0, 0, 6, 0x0A};
  REQUIRE(parse_mbap(ok, h) == HeaderStatus::Ok);
  CHECK(h.tid == 0x1234);
  CHECK(h.length == 6);
  CHECK(h.unit == 0x0A);
  CHECK(h.adu_size() == 12);
  CHECK(parse_mbap(Bytes{0, 1, 0, 0, 0, 6}, h) == HeaderStatus::NeedMore);
  CHECK(parse_mbap(Bytes{0, 1, 0, 1, 0, 6, 1}, h) == HeaderStatus::BadProtocolId);
  CHECK(parse_mbap(Bytes{0, 1, 0, 0, 0, 1, 1}, h) == HeaderStatus::BadLength);
  CHECK(parse_mbap(Bytes{0, 1, 0, 0, 0, 255, 1}, h) == HeaderStatus::BadLength);
  CHECK(parse_mbap(Bytes{0, 1, 0, 0, 0, 254, 1}, h) == HeaderStatus::Ok);
  CHECK(parse_mbap(Bytes{0, 1, 0, 0, 0, 2, 1}, h) == HeaderStatus::Ok);
}

TEST_CASE("modbus resync candidate needs a known function and a following header with protocol id 0", "[modbus]") {
  CHECK(plausible_adu_start(adu(1, 1, kReadCoilsReq)) == Plausible::Yes);
  CHECK(plausible_adu_start(cat({adu(1, 1, kReadCoilsReq), adu(2, 1, kReadCoilsReq)})) == Plausible::Yes);
  CHECK(plausible_adu_start(cat({adu(1, 1, kReadCoilsReq), Bytes{0, 2, 0, 9}})) == Plausible::No);
  CHECK(plausible_adu_start(adu(1, 1, {0x00, 0x01})) == Plausible::No);           // function 0
  CHECK(plausible_adu_start(adu(1, 1, {0x41})) == Plausible::Yes);                // user-defined 65
  CHECK(plausible_adu_start(adu(1, 1, {0x83, 0x02})) == Plausible::Yes);          // exception of FC 3
  CHECK(plausible_adu_start(Bytes{0, 1, 0, 0, 0, 6, 1}) == Plausible::NeedMore);  // no function yet
  CHECK(plausible_adu_start(Bytes{0, 1, 0}) == Plausible::NeedMore);
  CHECK(plausible_adu_start(Bytes{0, 1, 7}) == Plausible::No);
}

// ---------------------------------------------------------------------------------------------------
// PDUs, function by function (Application Protocol V1.1b3 §6 examples where it gives them)

TEST_CASE("modbus FC 1/2 read coils and discrete inputs", "[modbus]") {
  for (uint8_t fc : {uint8_t{1}, uint8_t{2}}) {
    auto q = parse({fc, 0x00, 0x13, 0x00, 0x13}, true);
    CHECK(q.error == PduError::None);
    CHECK(q.function == fc);
    CHECK(q.address == 19);
    CHECK(q.quantity == 19);
    auto r = parse({fc, 0x03, 0xCD, 0x6B, 0x05}, false);
    CHECK(r.error == PduError::None);
    CHECK(r.values_kind == ValueKind::Coils);
    CHECK(r.value_count == 24);
    CHECK(r.coil_at(0));
    CHECK_FALSE(r.coil_at(1));
    CHECK(r.coil_at(2));
    CHECK(r.coil_at(16));
    CHECK_FALSE(r.coil_at(17));
    CHECK(parse({fc, 0x00, 0x13, 0x00, 0x00}, true).error == PduError::BadQuantity);
    CHECK(parse({fc, 0x00, 0x13, 0x07, 0xD1}, true).error == PduError::BadQuantity);
    CHECK(parse({fc, 0x00, 0x13, 0x07, 0xD0}, true).error == PduError::None);
    CHECK(parse({fc, 0x00, 0x13}, true).error == PduError::TooShort);
    CHECK(parse({fc, 0x00, 0x13, 0x00, 0x01, 0x00}, true).error == PduError::TrailingBytes);
    CHECK(parse({fc, 0x03, 0xCD}, false).error == PduError::BadByteCount);
    CHECK(parse({fc}, false).error == PduError::TooShort);
  }
}

TEST_CASE("modbus FC 3/4 read registers", "[modbus]") {
  for (uint8_t fc : {uint8_t{3}, uint8_t{4}}) {
    auto q = parse({fc, 0x00, 0x6B, 0x00, 0x03}, true);
    CHECK(q.error == PduError::None);
    CHECK(q.address == 107);
    CHECK(q.quantity == 3);
    auto r = parse({fc, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64}, false);
    CHECK(r.error == PduError::None);
    REQUIRE(r.register_count() == 3);
    CHECK(r.register_at(0) == 555);
    CHECK(r.register_at(1) == 0);
    CHECK(r.register_at(2) == 100);
    CHECK(parse({fc, 0x00, 0x6B, 0x00, 0x7E}, true).error == PduError::BadQuantity);
    CHECK(parse({fc, 0x03, 0x00, 0x01, 0x00}, false).error == PduError::BadByteCount);
    CHECK(parse({fc, 0x04, 0x00, 0x01}, false).error == PduError::BadByteCount);
  }
}

TEST_CASE("modbus FC 5/6 write single coil and register", "[modbus]") {
  auto q = parse({0x05, 0x00, 0xAC, 0xFF, 0x00}, true);
  CHECK(q.error == PduError::None);
  CHECK(q.address == 172);
  CHECK(q.value == 0xFF00);
  CHECK(q.quantity == 1);
  auto r = parse({0x05, 0x00, 0xAC, 0xFF, 0x00}, false);
  CHECK(r.error == PduError::None);
  CHECK(r.address == 172);
  CHECK(parse({0x05, 0x00, 0xAC, 0x12, 0x34}, true).error == PduError::BadCoilValue);
  CHECK(parse({0x05, 0x00, 0xAC, 0x12, 0x34}, false).error == PduError::BadCoilValue);
  auto w = parse({0x06, 0x00, 0x01, 0x00, 0x03}, true);
  CHECK(w.error == PduError::None);
  CHECK(w.address == 1);
  CHECK(w.value == 3);
  CHECK(parse({0x06, 0x00, 0x01, 0x00, 0x03}, false).value == 3);
  CHECK(parse({0x06, 0x00, 0x01}, true).error == PduError::TooShort);
}

TEST_CASE("modbus FC 7/11/12/17: requests without data, status responses", "[modbus]") {
  for (uint8_t fc : {uint8_t{7}, uint8_t{11}, uint8_t{12}, uint8_t{17}}) {
    CHECK(parse({fc}, true).error == PduError::None);
    CHECK(parse({fc, 0x00}, true).error == PduError::TrailingBytes);
  }
  auto s = parse({0x07, 0x6D}, false);
  CHECK(s.error == PduError::None);
  CHECK(s.value == 0x6D);
  CHECK(parse({0x07}, false).error == PduError::TooShort);
  auto c = parse({0x0B, 0xFF, 0xFF, 0x01, 0x08}, false);
  CHECK(c.error == PduError::None);
  CHECK(c.value == 0xFFFF);
  CHECK(c.quantity == 264);
  auto l = parse({0x0C, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00}, false);
  CHECK(l.error == PduError::None);
  CHECK(l.data.size() == 8);
  CHECK(parse({0x0C, 0x04, 0x00, 0x00, 0x01, 0x08}, false).error == PduError::BadByteCount);
  auto id = parse({0x11, 0x03, 0x42, 0xFF, 0x01}, false);
  CHECK(id.error == PduError::None);
  CHECK(id.data.size() == 3);
  CHECK(parse({0x11, 0x05, 0x42}, false).error == PduError::BadByteCount);
}

TEST_CASE("modbus FC 8 diagnostics sub-functions", "[modbus]") {
  auto q = parse({0x08, 0x00, 0x00, 0xA5, 0x37}, true);
  CHECK(q.error == PduError::None);
  CHECK(q.subfunction == 0);
  CHECK(q.data.size() == 2);
  CHECK(parse({0x08, 0x00, 0x00, 0xA5, 0x37, 0x11, 0x22}, true).error == PduError::None);  // echo any length
  CHECK(parse({0x08, 0x00, 0x01, 0xFF, 0x00}, true).error == PduError::None);
  CHECK(parse({0x08, 0x00, 0x04, 0x00, 0x00}, true).subfunction == 4);
  CHECK(parse({0x08, 0x00, 0x02, 0x00, 0x01}, true).error == PduError::DiagInvalidData);
  CHECK(parse({0x08, 0x00, 0x02, 0x00}, true).error == PduError::DiagInvalidData);
  CHECK(parse({0x08, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00}, true).error == PduError::DiagInvalidData);
  CHECK(parse({0x08, 0x00, 0x15, 0x00, 0x00}, true).error == PduError::DiagUnknownSubfunction);
  CHECK(parse({0x08, 0x00}, true).error == PduError::TooShort);
  auto r = parse({0x08, 0x00, 0x02, 0x12, 0x34}, false);
  CHECK(r.error == PduError::None);
  CHECK(r.subfunction == 2);
}

TEST_CASE("modbus FC 15/16 write multiple coils and registers", "[modbus]") {
  auto c = parse({0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01}, true);
  CHECK(c.error == PduError::None);
  CHECK(c.address == 19);
  CHECK(c.quantity == 10);
  CHECK(c.value_count == 10);
  CHECK(c.coil_at(0));
  CHECK(c.coil_at(8));
  CHECK_FALSE(c.coil_at(9));
  CHECK(parse({0x0F, 0x00, 0x13, 0x00, 0x0A, 0x03, 0xCD, 0x01, 0x00}, true).error == PduError::BadByteCount);
  CHECK(parse({0x0F, 0x00, 0x13, 0x07, 0xB1, 0x00}, true).error == PduError::BadQuantity);
  CHECK(parse({0x0F, 0x00, 0x13, 0x00, 0x0A}, false).quantity == 10);
  auto r = parse({0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02}, true);
  CHECK(r.error == PduError::None);
  REQUIRE(r.register_count() == 2);
  CHECK(r.register_at(0) == 10);
  CHECK(r.register_at(1) == 258);
  CHECK(parse({0x10, 0x00, 0x01, 0x00, 0x02, 0x02, 0x00, 0x0A}, true).error == PduError::BadByteCount);
  CHECK(parse({0x10, 0x00, 0x01, 0x00, 0x7C, 0x00}, true).error == PduError::BadQuantity);
  auto a = parse({0x10, 0x00, 0x01, 0x00, 0x02}, false);
  CHECK(a.address == 1);
  CHECK(a.quantity == 2);
}

TEST_CASE("modbus FC 20/21 file records", "[modbus]") {
  auto q = parse({0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02}, true);
  CHECK(q.error == PduError::None);
  CHECK(q.quantity == 2);
  CHECK(parse({0x14, 0x07, 0x05, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02}, true).error == PduError::BadFileRecord);
  CHECK(parse({0x14, 0x00}, true).error == PduError::BadByteCount);
  auto r = parse({0x14, 0x0C, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00, 0x40}, false);
  CHECK(r.error == PduError::None);
  CHECK(r.quantity == 2);
  FileRecords recs(r.data, false);
  FileRecord rec;
  REQUIRE(recs.next(rec));
  CHECK(rec.ref_type == 6);
  CHECK(rec.data.size() == 4);
  const Bytes w = {0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D};
  auto wq = parse(w, true);
  CHECK(wq.error == PduError::None);
  CHECK(wq.quantity == 1);
  FileRecords wr(wq.data, true);
  REQUIRE(wr.next(rec));
  CHECK(rec.file_number == 4);
  CHECK(rec.record_number == 7);
  CHECK(rec.record_length == 3);
  CHECK(rec.data.size() == 6);
  CHECK(parse(w, false).error == PduError::None);
  CHECK(parse({0x15, 0x09, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF}, true).error ==
        PduError::BadFileRecord);
}

TEST_CASE("modbus FC 22 mask write register, FC 23 read/write multiple, FC 24 FIFO", "[modbus]") {
  auto m = parse({0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25}, true);
  CHECK(m.error == PduError::None);
  CHECK(m.address == 4);
  CHECK(m.and_mask == 0xF2);
  CHECK(m.or_mask == 0x25);
  CHECK(parse({0x16, 0x00, 0x04, 0x00, 0xF2}, false).error == PduError::TooShort);
  auto rw = parse({0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF},
                  true);
  CHECK(rw.error == PduError::None);
  CHECK(rw.address == 3);
  CHECK(rw.quantity == 6);
  CHECK(rw.write_address == 14);
  CHECK(rw.write_quantity == 3);
  CHECK(rw.register_count() == 3);
  CHECK(rw.register_at(2) == 0xFF);
  CHECK(parse({0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x04, 0x00, 0xFF, 0x00, 0xFF}, true).error ==
        PduError::BadByteCount);
  CHECK(parse({0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E}, true).error == PduError::TooShort);
  auto rr = parse({0x17, 0x04, 0x00, 0xFE, 0x0A, 0xCD}, false);
  CHECK(rr.error == PduError::None);
  CHECK(rr.register_count() == 2);
  auto f = parse({0x18, 0x04, 0xDE}, true);
  CHECK(f.error == PduError::None);
  CHECK(f.address == 0x04DE);
  auto fr = parse({0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84}, false);
  CHECK(fr.error == PduError::None);
  CHECK(fr.quantity == 2);
  CHECK(fr.register_at(1) == 0x1284);
  CHECK(parse({0x18, 0x00, 0x42, 0x00, 0x20}, false).error == PduError::BadFifoCount);
  CHECK(parse({0x18, 0x00, 0x08, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84}, false).error == PduError::BadByteCount);
}

TEST_CASE("modbus FC 43 MEI 14 read device identification objects", "[modbus]") {
  auto q = parse({0x2B, 0x0E, 0x01, 0x00}, true);
  CHECK(q.error == PduError::None);
  CHECK(q.subfunction == 14);
  DeviceIdRequest dq;
  REQUIRE(parse_device_id_request(q.data, dq));
  CHECK(dq.read_code == 1);
  CHECK(dq.object_id == 0);
  CHECK(parse({0x2B, 0x0E, 0x07, 0x00}, true).error == PduError::BadDeviceId);
  CHECK(parse({0x2B, 0x0E, 0x01}, true).error == PduError::BadDeviceId);
  const Bytes resp = {0x2B, 0x0E, 0x03, 0x83, 0x00, 0x00, 0x04,      // extended, 4 objects
                      0x00, 0x04, 'A', 'c', 'm', 'e',                 // VendorName
                      0x01, 0x03, 'P', '-', '1',                      // ProductCode
                      0x02, 0x03, '1', '.', '2',                      // MajorMinorRevision
                      0x80, 0x02, 0xDE, 0xAD};                        // extended, private
  auto r = parse(resp, false);
  CHECK(r.error == PduError::None);
  CHECK(r.quantity == 4);
  DeviceIdResponse d;
  REQUIRE(parse_device_id_response(r.data, d));
  CHECK(d.read_code == 3);
  CHECK(d.conformity_level == 0x83);
  CHECK(d.object_count == 4);
  DeviceIdObjects it(d);
  DeviceIdObject o;
  std::vector<std::pair<uint8_t, std::string>> got;
  while (it.next(o)) got.emplace_back(o.id, std::string(o.value.begin(), o.value.end()));
  REQUIRE(got.size() == 4);
  CHECK(got[0] == std::make_pair(uint8_t{0}, std::string("Acme")));
  CHECK(got[2] == std::make_pair(uint8_t{2}, std::string("1.2")));
  CHECK(got[3].first == 0x80);
  Bytes truncated = resp;
  truncated.pop_back();
  CHECK(parse(truncated, false).error == PduError::BadDeviceId);
  Bytes more = resp;
  more[6] = 5;  // announces an object that is not there
  CHECK(parse(more, false).error == PduError::BadDeviceId);
  CHECK(parse({0x2B, 0x0D, 0x00, 0x01, 0x02}, true).error == PduError::None);  // CANopen: opaque
  CHECK(parse({0x2B, 0x0D, 0x00, 0x01, 0x02}, true).subfunction == 13);
  CHECK(parse({0x2B, 0x05}, true).error == PduError::UnknownMeiType);
  CHECK(parse({0x2B}, true).error == PduError::TooShort);
}

TEST_CASE("modbus exception responses and user-defined codes", "[modbus]") {
  auto e = parse({0x81, 0x02}, false);
  CHECK(e.exception);
  CHECK(e.exception_code == 2);
  CHECK(e.error == PduError::None);
  CHECK(parse({0x81}, false).error == PduError::TooShort);
  CHECK(parse({0x81}, false).exception_code == -1);
  CHECK(parse({0x81, 0x07}, false).error == PduError::UnknownException);
  CHECK(parse({0x81, 0x02, 0x00}, false).error == PduError::TrailingBytes);
  CHECK(parse({0x81, 0x02}, true).error == PduError::ExceptionInRequest);
  auto u = parse({0x41, 0x01, 0x02, 0x03}, true);
  CHECK(u.error == PduError::None);
  CHECK(u.data.size() == 3);
  CHECK(parse({}, true).error == PduError::Empty);
  CHECK(pdu_error_weird(PduError::TooShort) == "modbus_pdu_too_short");
  CHECK(pdu_error_weird(PduError::DiagInvalidData) == "modbus_diag_invalid_request_data");
}

// ---------------------------------------------------------------------------------------------------
// Names

TEST_CASE("modbus function names: Zeek's, snake_case, and lookup by name or number", "[modbus]") {
  CHECK(modbus_function_name(3) == "READ_HOLDING_REGISTERS");
  CHECK(modbus_function_name(0x83) == "READ_HOLDING_REGISTERS_EXCEPTION");
  CHECK(modbus_function_name(0x11) == "REPORT_SLAVE_ID");
  CHECK(modbus_function_name(0x2B) == "ENCAP_INTERFACE_TRANSPORT");
  CHECK(modbus_function_name(65) == "unknown-65");
  CHECK(modbus_function_name(0x9C) == "unknown-156");  // Zeek's exception_handling baseline
  CHECK(modbus_function_name(0) == "unknown-0");
  CHECK(modbus_function_name(9) == "PROGRAM_484");
  CHECK(modbus_zeek_function_codes(0x81) == "unknown-129");
  CHECK(modbus_function_snake_name(0x2B) == "encapsulated_interface_transport");
  CHECK(modbus_function_snake_name(0x11) == "report_server_id");
  CHECK(modbus_function_snake_name(0x83) == "read_holding_registers");
  CHECK(modbus_function_snake_name(100) == "user_defined");
  CHECK(modbus_function_snake_name(0x30) == "unknown");
  CHECK(modbus_function_from_name("READ_HOLDING_REGISTERS") == 3);
  CHECK(modbus_function_from_name("read_holding_registers") == 3);
  CHECK(modbus_function_from_name("Read_Holding_Registers") == 3);
  CHECK(modbus_function_from_name("REPORT_SLAVE_ID") == 17);
  CHECK(modbus_function_from_name("report_server_id") == 17);
  CHECK(modbus_function_from_name("ENCAP_INTERFACE_TRANSPORT") == 43);
  CHECK(modbus_function_from_name("encapsulated_interface_transport") == 43);
  CHECK(modbus_function_from_name("16") == 16);
  CHECK(modbus_function_from_name("0x10") == 16);
  CHECK(modbus_function_from_name(" 5 ") == 5);
  CHECK(modbus_function_from_name("unknown-65") == 65);
  CHECK_FALSE(modbus_function_from_name("256"));
  CHECK_FALSE(modbus_function_from_name("read_everything"));
  CHECK_FALSE(modbus_function_from_name(""));
  for (unsigned fc = 1; fc < 128; ++fc) {
    // Every name Zeek writes maps back to its code.
    CHECK(modbus_function_from_name(modbus_function_name(static_cast<uint8_t>(fc))) == fc);
  }
  CHECK(modbus_exception_name(2) == "ILLEGAL_DATA_ADDRESS");
  CHECK(modbus_exception_name(11) == "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND");
  CHECK(modbus_exception_name(7) == "unknown-7");
}

TEST_CASE("modbus operation classes and the read-only set", "[modbus]") {
  for (int fc : {1, 2, 3, 4, 7, 11, 12, 17, 20, 24}) CHECK(modbus_read_only(static_cast<uint8_t>(fc), -1));
  for (int fc : {5, 6, 8, 15, 16, 21, 22, 23, 65}) CHECK_FALSE(modbus_read_only(static_cast<uint8_t>(fc), -1));
  CHECK(modbus_read_only(43, 14));
  CHECK_FALSE(modbus_read_only(43, 13));
  CHECK(modbus_op_class(3, -1) == OpClass::Read);
  CHECK(modbus_op_class(16, -1) == OpClass::Write);
  CHECK(modbus_op_class(23, -1) == OpClass::Write);
  CHECK(modbus_op_class(8, 1) == OpClass::Control);
  CHECK(modbus_op_class(8, 4) == OpClass::Control);
  CHECK(modbus_op_class(8, 0) == OpClass::Read);
  CHECK(modbus_op_class(8, 10) == OpClass::Write);
  CHECK(modbus_op_class(43, 14) == OpClass::Read);
  CHECK(modbus_op_class(90, -1) == OpClass::Other);
}

// ---------------------------------------------------------------------------------------------------
// Analyzer

TEST_CASE("modbus module: service, port and logs", "[modbus]") {
  CHECK(kModbusModule.service == "modbus");
  REQUIRE(kModbusModule.tcp_ports.size() == 1);
  CHECK(kModbusModule.tcp_ports[0] == 502);
  REQUIRE(kModbusModule.logs.size() == kLogCount);
  CHECK(kModbusModule.logs[kLogModbus]->path == "modbus");
  CHECK(kModbusModule.logs[kLogDetailed]->path == "modbus_detailed");
  CHECK(kModbusModule.logs[kLogReadWriteMultipleRegisters]->path == "modbus_read_write_multiple_registers");
  bool first = !dissector_modules().empty() && dissector_modules()[0] == &kModbusModule;
  CHECK(first);
}

TEST_CASE("modbus.log: one PDU split over many segments, several PDUs in one", "[modbus]") {
  Harness h("split");
  const Bytes req = adu(1, 10, kReadCoilsReq);
  // Byte by byte: each data() call carries one byte; the row takes the last one's time.
  for (size_t i = 0; i < req.size(); ++i) h.orig({req[i]}, i);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  // Two responses' worth in one segment, the second request split 5 + rest.
  const Bytes req2 = adu(2, 10, kReadHoldingReq);
  h.resp(adu(1, 10, kReadCoilsResp), 20);
  h.orig(Bytes(req2.begin(), req2.begin() + 5), 30);
  h.orig(cat({Bytes(req2.begin() + 5, req2.end()), adu(3, 10, {0x07})}), 31);
  h.resp(cat({adu(2, 10, kReadHoldingResp), adu(3, 10, {0x07, 0x6D})}), 40);
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == h.row(11, 1, 10, "READ_COILS", "REQ"));
  CHECK(lines[1] == h.row(20, 1, 10, "READ_COILS", "RESP"));
  CHECK(lines[2] == h.row(31, 2, 10, "READ_HOLDING_REGISTERS", "REQ"));
  CHECK(lines[3] == h.row(31, 3, 10, "READ_EXCEPTION_STATUS", "REQ"));
  CHECK(lines[4] == h.row(40, 2, 10, "READ_HOLDING_REGISTERS", "RESP"));
  CHECK(lines[5] == h.row(40, 3, 10, "READ_EXCEPTION_STATUS", "RESP"));
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("modbus operations are only counted while the sink wants no events and the logs stay the same",
          "[modbus]") {
  auto run = [](Harness& h) {
    h.orig(adu(1, 10, kReadCoilsReq), 1);
    h.resp(adu(1, 10, kReadCoilsResp), 2);
    h.orig(adu(2, 10, kReadHoldingReq), 3);
    h.resp(adu(2, 10, kReadHoldingResp), 4);
  };
  Harness sent("ops_sent"), counted("ops_counted");
  counted.ops.want_events(false);
  run(sent);
  run(counted);
  CHECK(sent.ops.seen.size() == 4);
  CHECK(sent.ops.counted_operations() == 0);
  CHECK(counted.ops.seen.empty());
  CHECK(counted.ops.counted_operations() == 4);
  CHECK(sent.lines("modbus").size() == counted.lines("modbus").size());
  CHECK(sent.lines("modbus_detailed").size() == counted.lines("modbus_detailed").size());
}

TEST_CASE("modbus names of every byte: Zeek's function names and ICSNPP's codes and the exceptions", "[modbus]") {
  for (unsigned v = 0; v < 256; ++v) {
    const auto fc = static_cast<uint8_t>(v);
    const std::string unknown = "unknown-" + std::to_string(v);
    CHECK((modbus_function_name(fc).starts_with("unknown-") ? std::string(modbus_function_name(fc)) == unknown : true));
    CHECK((modbus_zeek_function_codes(fc).starts_with("unknown-") ? std::string(modbus_zeek_function_codes(fc)) == unknown
                                                                  : true));
    if (v >= 0x80 && !modbus_function_name(fc & 0x7F).starts_with("unknown-")) {
      CHECK(std::string(modbus_function_name(fc)) == std::string(modbus_function_name(fc & 0x7F)) + "_EXCEPTION");
      CHECK(std::string(modbus_zeek_function_codes(fc)) == unknown);
    }
  }
  CHECK(modbus_function_name(3) == "READ_HOLDING_REGISTERS");
  CHECK(modbus_zeek_function_codes(0x2B) == "ENCAP_INTERFACE_TRANSPORT");
  CHECK(modbus_exception_name(0x0B) == "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND");
  CHECK(modbus_exception_name(0x07) == "unknown-7");
  CHECK(modbus_exception_name(0xFF) == "unknown-255");
}

TEST_CASE("modbus.log: exception responses as Zeek writes them", "[modbus]") {
  Harness h("exception");
  h.orig(adu(7, 1, kReadHoldingReq), 1);
  h.resp(adu(7, 1, {0x83, 0x02}), 2);
  h.orig(adu(8, 1, {0x1C}), 3);
  h.resp(adu(8, 1, {0x9C, 0x01}), 4);
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 4);
  CHECK(lines[1] == h.row(2, 7, 1, "READ_HOLDING_REGISTERS_EXCEPTION", "RESP", "ILLEGAL_DATA_ADDRESS"));
  CHECK(lines[2] == h.row(3, 8, 1, "unknown-28", "REQ"));
  CHECK(lines[3] == h.row(4, 8, 1, "unknown-156", "RESP", "ILLEGAL_FUNCTION"));
  const auto det = h.lines("modbus_detailed");
  REQUIRE(det.size() == 3);
  auto f = split_tab(det[0]);
  CHECK(f[8] == "READ_HOLDING_REGISTERS");
  CHECK(f[9] == "107");
  CHECK(f[10] == "3");
  CHECK(f[14] == "T");
  CHECK(f[19] == "ILLEGAL_DATA_ADDRESS");
  CHECK(split_tab(det[2])[8] == "unknown-156");  // a lone exception keeps Zeek's name
}

TEST_CASE("modbus non-Modbus traffic on 502 is rejected and not logged", "[modbus]") {
  Harness h("reject");
  // A TLS ClientHello and an HTTP request: protocol id bytes are not zero.
  h.orig({0x16, 0x03, 0x01, 0x00, 0x85, 0x01, 0x00, 0x00, 0x81, 0x03, 0x03}, 1);
  CHECK(h.a->verdict() == Analyzer::Verdict::Rejected);
  CHECK(h.weirds.count("modbus_bad_protocol_id") == 1);
  h.orig(adu(1, 1, kReadCoilsReq), 2);  // ignored once rejected
  CHECK(h.lines("modbus").empty());
  CHECK_FALSE(fs::exists(h.dir / "modbus.log"));

  Harness g("reject_length");
  g.orig({0x00, 0x01, 0x00, 0x00, 0x88, 0x04, 0x05, 0x07, 0x08}, 1);
  CHECK(g.a->verdict() == Analyzer::Verdict::Rejected);
  CHECK(g.weirds.count("modbus_bad_length") == 1);
  CHECK(g.weirds.seen[0].source == "modbus");
  CHECK(g.weirds.seen[0].uid == g.conn.uid());
  CHECK(g.weirds.seen[0].id == g.conn.id());
  CHECK(g.weirds.seen[0].has_addrs);
  CHECK(g.weirds.seen[0].is_orig);
  CHECK(g.lines("modbus").empty());

  Harness p("probing");
  p.orig({0x00, 0x01, 0x00}, 1);
  CHECK(p.a->verdict() == Analyzer::Verdict::Probing);
}

TEST_CASE("modbus after a gap resynchronises on the next plausible header", "[modbus]") {
  Harness h("gap");
  h.orig(adu(1, 1, kReadCoilsReq), 1);
  h.resp(adu(1, 1, kReadCoilsResp), 2);
  // Inside a PDU: the rest of it is skipped exactly, the next one is read in step.
  const Bytes r2 = adu(2, 1, kReadHoldingReq);
  h.orig(Bytes(r2.begin(), r2.begin() + 8), 3);
  h.a->gap(h.conn, true, 2, kT0 + 4000);
  h.orig(cat({Bytes(r2.begin() + 10, r2.end()), adu(3, 1, kReadHoldingReq)}), 5);
  // At a boundary with whole PDUs lost: junk then a header is found by scanning.
  h.a->gap(h.conn, false, 40, kT0 + 6000);
  const Bytes tail = {0x03, 0x00, 0x11, 0x22, 0xFF, 0x00, 0x07};  // the end of some lost response
  h.resp(cat({tail, adu(3, 1, kReadHoldingResp)}), 7);
  // A scan that must wait for more bytes across data() calls.
  h.a->gap(h.conn, true, 100, kT0 + 8000);
  const Bytes r4 = adu(4, 1, kReadCoilsReq);
  h.orig({0x99, 0x98, r4[0], r4[1], r4[2]}, 9);
  h.orig(Bytes(r4.begin() + 3, r4.end()), 10);
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == h.row(1, 1, 1, "READ_COILS", "REQ"));
  CHECK(lines[1] == h.row(2, 1, 1, "READ_COILS", "RESP"));
  CHECK(lines[2] == h.row(5, 3, 1, "READ_HOLDING_REGISTERS", "REQ"));
  CHECK(lines[3] == h.row(7, 3, 1, "READ_HOLDING_REGISTERS", "RESP"));
  CHECK(lines[4] == h.row(10, 4, 1, "READ_COILS", "REQ"));
  CHECK(h.weirds.count("modbus_response_without_request") == 0);
}

TEST_CASE("modbus resync scans zero-filled junk in segments of any size and finds the next header", "[modbus]") {
  // Register data is mostly zeros: near misses of a header (protocol id and length high byte zero, the
  // length's low byte 0, 1 or 255) at every alignment, which the scan's word-at-a-time test must refuse
  // exactly as the offset-by-offset one does, and a header it must find wherever a segment ends.
  Bytes junk(37, 0x00);
  for (const Bytes& miss : {Bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0xFF}, Bytes{0x07, 0x00, 0x00, 0x00, 0x01, 0x00},
                            Bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, Bytes{0x12, 0x34, 0x00, 0x00, 0x00}}) {
    junk.insert(junk.end(), miss.begin(), miss.end());
  }
  const Bytes stream = cat({junk, adu(4, 1, kReadCoilsReq), adu(5, 1, kReadCoilsReq)});
  for (size_t seg = 1; seg <= 24; ++seg) {
    Harness h("resync_seg" + std::to_string(seg));
    h.orig(adu(1, 1, kReadCoilsReq), 1);
    h.a->gap(h.conn, true, 100, kT0 + 2000);
    for (size_t at = 0; at < stream.size(); at += seg) {
      h.orig(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(at),
                   stream.begin() + static_cast<std::ptrdiff_t>(std::min(stream.size(), at + seg))),
             3);
    }
    const auto lines = h.lines("modbus");
    REQUIRE(lines.size() == 3);
    CHECK(lines[1] == h.row(3, 4, 1, "READ_COILS", "REQ"));
    CHECK(lines[2] == h.row(3, 5, 1, "READ_COILS", "REQ"));
  }
}

TEST_CASE("modbus resync short path writes what the general loop writes on random streams with gaps",
          "[modbus]") {
  // Requests and responses, junk that is mostly zeros with near misses of a header, and gaps that lose
  // the framing, cut into segments of random sizes (most fit the buffer, a few do not): the same calls
  // through the short path and through the general loop.
  std::mt19937_64 rng(2026);
  const auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  const Bytes reqs[] = {kReadCoilsReq, kReadHoldingReq, {0x07}, {0x06, 0x00, 0x01, 0x00, 0x03}};
  const Bytes resps[] = {kReadCoilsResp, kReadHoldingResp, {0x07, 0x6D}, {0x83, 0x02}};
  size_t rows = 0, short_segments = 0;
  for (int round = 0; round < 40; ++round) {
    Harness fast("resync_diff_fast" + std::to_string(round));
    Harness general("resync_diff_general" + std::to_string(round));
    general.opts.resync_short_path = false;
    uint64_t t = 1;
    uint16_t tid = 0;
    for (int step = 0; step < 60; ++step) {
      const bool is_orig = pick(2) == 0;
      Bytes stream;
      for (uint64_t k = 1 + pick(4); k-- > 0;) {
        const uint64_t what = pick(10);
        if (what < 5) {
          const size_t f = pick(4);
          stream = cat({stream, adu(++tid, 1, is_orig ? reqs[f] : resps[f])});
        } else {
          Bytes junk(1 + pick(what == 9 ? 300 : 30), 0x00);
          for (uint8_t& b : junk) {
            if (pick(4) == 0) b = static_cast<uint8_t>(pick(3) == 0 ? pick(256) : pick(8));
          }
          stream = cat({stream, junk});
        }
      }
      for (size_t at = 0; at < stream.size();) {
        const size_t n = std::min(stream.size() - at, static_cast<size_t>(pick(8) == 0 ? 1 + pick(400) : 1 + pick(12)));
        short_segments += n <= 12;
        const Bytes seg(stream.begin() + static_cast<std::ptrdiff_t>(at),
                        stream.begin() + static_cast<std::ptrdiff_t>(at + n));
        for (Harness* h : {&fast, &general}) is_orig ? h->orig(seg, t) : h->resp(seg, t);
        at += n;
        ++t;
      }
      if (pick(4) == 0) {
        const uint64_t len = 1 + pick(50);
        for (Harness* h : {&fast, &general}) h->a->gap(h->conn, is_orig, len, kT0 + t * 1000);
      }
    }
    for (const char* log : {"modbus", "modbus_detailed"}) {
      INFO("round " << round << " " << log);
      const auto a = fast.lines(log), b = general.lines(log);
      CHECK(a == b);
      rows += a.size();
    }
    REQUIRE(fast.weirds.seen.size() == general.weirds.seen.size());
    for (size_t i = 0; i < fast.weirds.seen.size(); ++i) {
      CHECK(fast.weirds.seen[i].name == general.weirds.seen[i].name);
      CHECK(fast.weirds.seen[i].addl == general.weirds.seen[i].addl);
      CHECK(fast.weirds.seen[i].ts_ns == general.weirds.seen[i].ts_ns);
    }
  }
  CHECK(rows > 1000);
  CHECK(short_segments > 1000);
}

TEST_CASE("modbus bad header in a confirmed flow is a weird, then logging goes on", "[modbus]") {
  Harness h("bad_header_confirmed");
  h.orig(adu(1, 1, kReadCoilsReq), 1);
  h.orig(cat({Bytes{0x00, 0x02, 0x00, 0x07, 0x00, 0x06, 0x01, 0x01}, adu(2, 1, kReadCoilsReq)}), 2);
  CHECK(h.weirds.count("modbus_bad_protocol_id") == 1);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == h.row(2, 2, 1, "READ_COILS", "REQ"));
}

TEST_CASE("modbus response without request and malformed values are weirds that do not stop logging",
          "[modbus]") {
  Harness h("orphan");
  h.resp(adu(9, 1, kReadCoilsResp), 1);
  h.orig(adu(10, 1, {0x05, 0x00, 0x01, 0x12, 0x34}), 2);  // bad coil value
  h.orig(adu(11, 1, {0x03, 0x00}), 3);                    // too short
  h.orig(adu(12, 1, kReadCoilsReq), 4);
  h.resp(adu(12, 1, {0x03, 0x00}), 5);                    // answered with another function
  CHECK(h.weirds.count("modbus_response_without_request") == 1);
  CHECK(h.weirds.count("modbus_bad_coil_value") == 1);
  CHECK(h.weirds.count("modbus_pdu_too_short") == 1);
  CHECK(h.weirds.count("modbus_response_function_mismatch") == 1);
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == h.row(1, 9, 1, "READ_COILS", "RESP"));
  CHECK(lines[1] == h.row(2, 10, 1, "WRITE_SINGLE_COIL", "REQ"));
  CHECK(lines[2] == h.row(3, 11, 1, "READ_HOLDING_REGISTERS", "REQ"));
  CHECK(lines[4] == h.row(5, 12, 1, "READ_HOLDING_REGISTERS", "RESP"));
}

TEST_CASE("modbus function-code scan 1..127 logs every request and response", "[modbus]") {
  Harness h("scan");
  for (unsigned fc = 1; fc < 128; ++fc) {
    const uint8_t f = static_cast<uint8_t>(fc);
    h.orig(adu(0, 1, {f, 0x00, 0x00, 0x00, 0x00}), fc * 10);
    // The device answers ILLEGAL_FUNCTION to everything but FC 3.
    if (fc == 3) h.resp(adu(0, 1, {0x03, 0x02, 0x00, 0x2A}), fc * 10 + 1);
    else h.resp(adu(0, 1, {uint8_t(f | 0x80), 0x01}), fc * 10 + 1);
  }
  const auto lines = h.lines("modbus");
  REQUIRE(lines.size() == 254);
  for (unsigned fc = 1; fc < 128; ++fc) {
    const uint8_t f = static_cast<uint8_t>(fc);
    CHECK(lines[2 * (fc - 1)] == h.row(fc * 10, 0, 1, std::string(modbus_function_name(f)), "REQ"));
    if (fc == 3) {
      CHECK(lines[2 * (fc - 1) + 1] == h.row(fc * 10 + 1, 0, 1, "READ_HOLDING_REGISTERS", "RESP"));
    } else {
      CHECK(lines[2 * (fc - 1) + 1] == h.row(fc * 10 + 1, 0, 1, std::string(modbus_function_name(uint8_t(f | 0x80))),
                                             "RESP", "ILLEGAL_FUNCTION"));
    }
  }
  CHECK(h.ops.seen.size() == 254);
  CHECK(h.weirds.count("modbus_response_without_request") == 0);
}

TEST_CASE("modbus MEI 14 device identification reaches the hook and its log", "[modbus]") {
  Harness h("device_id");
  h.orig(adu(5, 1, {0x2B, 0x0E, 0x01, 0x00}), 1);
  const Bytes resp = {0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00, 0x07, 'S', 'i', 'e', 'm', 'e', 'n', 's',
                      0x01, 0x06, '6', 'E', 'S', '7', '-', '1', 0x02, 0x06, 'V', '4', '.', '2', '.', '1'};
  h.resp(adu(5, 1, resp), 2);
  REQUIRE(h.ids_seen.size() == 1);
  CHECK(h.ids_seen[0].unit == 1);
  CHECK(h.ids_seen[0].tid == 5);
  CHECK(h.ids_seen[0].read_code == 1);
  CHECK(h.ids_seen[0].conformity_level == 1);
  CHECK_FALSE(h.ids_seen[0].more_follows);
  CHECK(h.ids_seen[0].conn == &h.conn);
  REQUIRE(h.objects_seen[0].size() == 3);
  CHECK(h.objects_seen[0][0].second == "Siemens");
  CHECK(h.objects_seen[0][1].second == "6ES7-1");
  CHECK(h.objects_seen[0][2].second == "V4.2.1");
  const auto rows = h.lines("modbus_read_device_identification");
  REQUIRE(rows.size() == 4);  // the request and one row per object
  auto q = split_tab(rows[0]);
  REQUIRE(q.size() == 23);
  CHECK(q[6] == "T");
  CHECK(q[15] == "REQUEST");
  CHECK(q[16] == "READ-DEVICE-IDENTIFICATION");
  CHECK(q[19] == "1");
  CHECK(q[20] == "0x00");
  auto r = split_tab(rows[3]);
  CHECK(r[6] == "F");
  CHECK(r[7] == "10.0.0.3");
  CHECK(r[8] == "502");
  CHECK(r[11] == q[11]);  // the same link id
  CHECK(r[15] == "RESPONSE");
  CHECK(r[17] == "0x01");
  CHECK(r[18] == "Basic Identification (Stream)");
  CHECK(r[20] == "0x02");
  CHECK(r[21] == "MajorMinorVersion");
  CHECK(r[22] == "V4.2.1");
  const auto det = h.lines("modbus_detailed");
  REQUIRE(det.size() == 1);
  CHECK(split_tab(det[0])[20] == "Read Device Identification");
  CHECK(split_tab(det[0])[13] == q[11]);
}

TEST_CASE("modbus operation events for requests and responses", "[modbus]") {
  Harness h("ops");
  h.orig(adu(1, 7, {0x10, 0x00, 0x64, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02}), 1);
  h.resp(adu(1, 7, {0x10, 0x00, 0x64, 0x00, 0x02}), 2);
  h.orig(adu(2, 7, {0x08, 0x00, 0x04, 0x00, 0x00}), 3);
  h.orig(adu(3, 7, kReadHoldingReq), 4);
  h.resp(adu(3, 7, {0x83, 0x02}), 5);
  h.orig(adu(4, 7, {0x2B, 0x0E, 0x01, 0x00}), 6);
  REQUIRE(h.ops.seen.size() == 6);
  const auto& w = h.ops.seen[0].ev;
  CHECK(w.protocol == Protocol::Modbus);
  CHECK(w.is_request);
  CHECK(w.is_orig);
  CHECK(w.code == 16);
  CHECK(w.name == "write_multiple_registers");
  CHECK(w.op_class == OpClass::Write);
  CHECK_FALSE(w.read_only);
  CHECK(w.unit == 7);
  CHECK(w.address == 100);
  CHECK(w.quantity == 2);
  CHECK(w.exception == -1);
  CHECK(w.conn == &h.conn);
  CHECK(w.ts_ns == kT0 + 1000);
  CHECK(h.ops.seen[0].pdu == Bytes{0x10, 0x00, 0x64, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02});
  const auto& wr = h.ops.seen[1].ev;
  CHECK_FALSE(wr.is_request);
  CHECK(wr.code == 16);
  CHECK(wr.address == 100);
  const auto& d = h.ops.seen[2].ev;
  CHECK(d.name == "diagnostics");
  CHECK(d.subfunction == 4);
  CHECK(d.op_class == OpClass::Control);
  const auto& e = h.ops.seen[4].ev;
  CHECK_FALSE(e.is_request);
  CHECK(e.code == 3);
  CHECK(e.name == "read_holding_registers");
  CHECK(e.exception == 2);
  CHECK(e.address == 107);
  CHECK(e.quantity == 3);
  CHECK(e.read_only);
  const auto& m = h.ops.seen[5].ev;
  CHECK(m.code == 43);
  CHECK(m.subfunction == 14);
  CHECK(m.read_only);
  CHECK(m.op_class == OpClass::Read);
}

TEST_CASE("modbus outstanding requests are bounded and time out", "[modbus]") {
  Harness h("outstanding");
  for (unsigned i = 0; i < 65; ++i) h.orig(adu(static_cast<uint16_t>(100 + i), 1, kReadCoilsReq), i);
  CHECK(h.weirds.count("modbus_too_many_outstanding_requests") == 1);
  // The oldest (tid 100) was given up; 101 is still matched.
  h.resp(adu(101, 1, kReadCoilsResp), 100);
  h.resp(adu(100, 1, kReadCoilsResp), 101);
  CHECK(h.weirds.count("modbus_response_without_request") == 1);
  // 61 s later every other request has expired: its response is an orphan.
  h.resp(adu(102, 1, kReadCoilsResp), 61'000'200);
  CHECK(h.weirds.count("modbus_response_without_request") == 2);
  const auto det = h.lines("modbus_detailed");
  size_t matched = 0, unmatched = 0;
  for (const auto& l : det) {
    const auto f = split_tab(l);
    matched += f[14] == "T";
    unmatched += f[14] == "F";
  }
  CHECK(matched == 1);
  CHECK(unmatched == 66);  // 64 given up or expired requests + 2 orphan responses
}

TEST_CASE("modbus_read_write_multiple_registers.log and modbus_mask_write_register.log rows", "[modbus]") {
  Harness h("rw_mask");
  h.orig(adu(20, 6, {0x17, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x02, 0x00, 0xFF}), 1);
  h.resp(adu(20, 6, {0x17, 0x02, 0x00, 0xAA}), 2);
  h.orig(adu(18, 4, {0x16, 0x00, 0x0A, 0xDE, 0xAD, 0x00, 0x00}), 3);
  h.resp(adu(18, 4, {0x16, 0x00, 0x0A, 0xDE, 0xAD, 0x00, 0x00}), 4);
  const auto rw = h.lines("modbus_read_write_multiple_registers");
  REQUIRE(rw.size() == 2);
  auto a = split_tab(rw[0]);
  REQUIRE(a.size() == 21);
  CHECK(std::vector<std::string>(a.begin() + 6, a.end()) ==
        std::vector<std::string>{"T", "10.0.0.9", "3082", "10.0.0.3", "502", a[11], "20", "6",
                                 "READ_WRITE_MULTIPLE_REGISTERS", "REQUEST", "2", "255", "1", "1", "-"});
  CHECK(a[11].size() == 16);
  auto b = split_tab(rw[1]);
  CHECK(std::vector<std::string>(b.begin() + 6, b.end()) ==
        std::vector<std::string>{"F", "10.0.0.3", "502", "10.0.0.9", "3082", a[11], "20", "6",
                                 "READ_WRITE_MULTIPLE_REGISTERS", "RESPONSE", "-", "-", "-", "-", "170"});
  const auto mw = h.lines("modbus_mask_write_register");
  REQUIRE(mw.size() == 2);
  auto m = split_tab(mw[0]);
  CHECK(std::vector<std::string>(m.begin() + 12, m.end()) ==
        std::vector<std::string>{"18", "4", "MASK_WRITE_REGISTER", "REQUEST", "10", "57005", "0"});
  CHECK(split_tab(mw[1])[11] == m[11]);
}

TEST_CASE("modbus end of connection: partial PDU is a weird, unanswered requests are logged unmatched",
          "[modbus]") {
  Harness h("end");
  h.orig(adu(1, 1, kReadHoldingReq), 1);
  const Bytes r = adu(2, 1, kReadCoilsReq);
  h.orig(Bytes(r.begin(), r.begin() + 9), 2);
  h.close(3);
  CHECK(h.weirds.count("modbus_partial_pdu_at_end") == 1);
  const auto det = data_lines(h.dir / "modbus_detailed.log");
  REQUIRE(det.size() == 1);
  auto f = split_tab(det[0]);
  CHECK(f[8] == "READ_HOLDING_REGISTERS");
  CHECK(f[14] == "F");
}

TEST_CASE("modbus lone responses: unmatched detailed rows and their link ids", "[modbus]") {
  Harness h("lone");
  const Bytes resp = {0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x02, 'A', 'B'};
  h.resp(adu(9, 1, resp), 1);
  h.resp(adu(10, 1, {0x16, 0x00, 0x0A, 0xDE, 0xAD, 0x00, 0x00}), 2);
  const auto det = h.lines("modbus_detailed");
  REQUIRE(det.size() == 2);
  const auto mei = split_tab(det[0]);
  CHECK(mei[14] == "F");
  CHECK(mei[13].size() == 16);
  const auto rows = h.lines("modbus_read_device_identification");
  REQUIRE(rows.size() == 1);
  CHECK(split_tab(rows[0])[11] == mei[13]);  // ICSNPP: a fresh id shared by the response's rows
  const auto mask = split_tab(det[1]);
  CHECK(mask[9] == "10");
  CHECK(mask[13] == "(empty)");  // ICSNPP leaves a lone mask-write response's id empty
  CHECK(h.weirds.count("modbus_response_without_request") == 2);
}
