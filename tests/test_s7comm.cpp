// S7comm / S7comm-plus over TPKT + COTP: the pure parsers on bytes, the names, the analyzer over a
// synthetic connection writing real log files, and pcaps/s7comm.pcap through the otsensor binary.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dissectors/s7comm/cotp_parser.hpp"
#include "dissectors/s7comm/s7comm.hpp"
#include "dissectors/s7comm/s7comm_logs.hpp"
#include "dissectors/s7comm/s7comm_names.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"
#include "dissectors/s7comm/s7comm_plus_parser.hpp"
#include "output/log_manager.hpp"
#include "test_support.hpp"

using namespace ots;
using namespace ots::s7;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes be16(size_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }
Bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }
Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes padded(const std::string& s, size_t n, uint8_t pad) {
  Bytes b = text(s);
  b.resize(n, pad);
  return b;
}

// RFC 1006 TPKT around a TPDU.
Bytes tpkt(const Bytes& tpdu) { return cat({{3, 0}, be16(tpdu.size() + 4), tpdu}); }
// A class 0 DT TPDU in its TPKT.
Bytes dt(const Bytes& data, bool eot = true) { return tpkt(cat({{2, 0xF0, uint8_t(eot ? 0x80 : 0x00)}, data})); }
// CR (0xE0) / CC (0xD0) with TPDU size 1024 and the TSAPs.
Bytes connect_tpdu(uint8_t code, const Bytes& calling, const Bytes& called) {
  Bytes params = cat({{0xC0, 1, 0x0A, 0xC1, uint8_t(calling.size())}, calling, {0xC2, uint8_t(called.size())}, called});
  return tpkt(cat({{uint8_t(6 + params.size()), code, 0, 0, 0x12, 0x34, 0x00}, params}));
}
Bytes s7pdu(uint8_t rosctr, uint16_t ref, const Bytes& param, const Bytes& data = {}, bool ack = false,
         uint8_t ec = 0, uint8_t eco = 0) {
  Bytes h = cat({{0x32, rosctr, 0, 0}, be16(ref), be16(param.size()), be16(data.size())});
  if (ack) h.insert(h.end(), {ec, eco});
  return cat({h, param, data});
}
Bytes job(uint16_t ref, const Bytes& param, const Bytes& data = {}) { return s7pdu(kJob, ref, param, data); }
Bytes ack_data(uint16_t ref, const Bytes& param, const Bytes& data = {}, uint8_t ec = 0, uint8_t eco = 0) {
  return s7pdu(kAckData, ref, param, data, true, ec, eco);
}
// S7ANY item.
Bytes item(uint8_t area, uint16_t db, uint32_t byte, uint8_t bit, uint8_t tsize, uint16_t count) {
  const uint32_t a = (byte << 3) | bit;
  return cat({{0x12, 0x0A, 0x10, tsize}, be16(count), be16(db), {area, uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)}});
}
Bytes userdata(uint16_t ref, uint8_t type_group, uint8_t sub, uint8_t seq, const Bytes& data,
               int unit_ref = -1, uint8_t last = 0, uint16_t err = 0) {
  Bytes p = unit_ref < 0 ? Bytes{0x00, 0x01, 0x12, 0x04, 0x11, type_group, sub, seq}
                         : cat({{0x00, 0x01, 0x12, 0x08, 0x12, type_group, sub, seq, uint8_t(unit_ref), last}, be16(err)});
  return s7pdu(kUserdata, ref, p, data);
}
Bytes szl_data(const Bytes& payload, uint8_t rc = 0xFF) { return cat({{rc, 0x09}, be16(payload.size()), payload}); }
// S7comm-plus PDU: header, [V3 digest], opcode, reserved, function, reserved, seq, [session], flags, body, [trailer].
Bytes plus(uint8_t version, uint8_t opcode, uint16_t function, uint16_t seq, const Bytes& body,
           std::optional<uint32_t> session = std::nullopt, bool digest = false, bool trailer = true) {
  Bytes d;
  if (digest) {
    d.push_back(32);
    for (int i = 0; i < 32; ++i) d.push_back(uint8_t(0xA0 + i));
  }
  d = cat({d, {opcode, 0, 0}, be16(function), {0, 0}, be16(seq)});
  if (session) d = cat({d, be32(*session)});
  d = cat({d, {0x34}, body});
  Bytes out = cat({{0x72, version}, be16(d.size()), d});
  if (trailer) out = cat({out, {0x72, version, 0, 0}});
  return out;
}

std::vector<std::string> split_tab(const std::string& l) {
  std::vector<std::string> out;
  std::stringstream ss(l);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  return out;
}

// A log's data lines without ts and uid: what the tests compare.
std::vector<std::string> rows_without_ts(const fs::path& p) {
  std::vector<std::string> out;
  for (const auto& l : test::log_lines(p)) {
    auto f = split_tab(l);
    std::string s;
    for (size_t i = 2; i < f.size(); ++i) s += (i > 2 ? "\t" : "") + f[i];
    out.push_back(s);
  }
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
  std::vector<OperationEvent> seen;
  void on_operation(const OperationEvent& ev) override {
    seen.push_back(ev);
    seen.back().pdu = {};
    seen.back().conn = nullptr;
  }
};

struct Ident {
  std::map<std::string, std::string> f;
  bool plc_is_responder = false;
  uint16_t szl_id = 0;
};

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

// One connection 10.0.0.9:3082 -> 10.0.0.3:102 through the analyzer, with its logs in a scratch dir.
struct Harness {
  fs::path dir;
  std::unique_ptr<LogManager> mgr;
  std::vector<LogId> ids;
  std::unique_ptr<LogSink> sink;
  Weirds weirds;
  Ops ops;
  S7commOptions opts;
  std::vector<Ident> idents;
  Conn conn;
  std::unique_ptr<Analyzer> a;
  std::string uid;
  bool closed = false;

  explicit Harness(const std::string& name) {
    dir = test::scratch_dir("s7comm/" + name);
    mgr = std::make_unique<LogManager>(LogManager::Options{dir.string()});
    for (const LogSchema* s : kS7commModule.logs) ids.push_back(mgr->add(*s));
    sink = mgr->make_sink();
    opts.on_module_identification = [this](const S7ModuleIdentification& d) {
      Ident i;
      i.plc_is_responder = d.plc_is_responder;
      i.szl_id = d.szl_id;
      i.f["order_number"] = d.order_number;
      i.f["firmware"] = d.firmware_version;
      i.f["system_name"] = d.system_name;
      i.f["module_name"] = d.module_name;
      i.f["plant_id"] = d.plant_id;
      i.f["copyright"] = d.copyright;
      i.f["serial"] = d.serial_number;
      i.f["type_name"] = d.module_type_name;
      i.f["card_serial"] = d.memory_card_serial;
      i.f["called_tsap"] = std::string(d.called_tsap.begin(), d.called_tsap.end());
      i.f["module_type"] = std::to_string(d.module_type_id);
      idents.push_back(i);
    };
    conn.set_id(ConnId{IpAddr::v4(0x0A000009), IpAddr::v4(0x0A000003), 3082, 102, Transport::Tcp});
    uid = conn.uid().to_string();
    AnalyzerContext ctx{sink.get(), &weirds, &ops, ids.data()};
    a = make_s7comm_analyzer(ctx, opts);
  }

  // Each call is 10 us after the previous one unless a time is given: logs are sorted by time.
  uint64_t clock_us = 0;
  uint64_t at(int64_t t_us) {
    clock_us = t_us >= 0 ? static_cast<uint64_t>(t_us) : clock_us + 10;
    return kT0 + clock_us * 1000;
  }
  void orig(const Bytes& b, int64_t t_us = -1) { a->data(conn, true, b, at(t_us)); }
  void resp(const Bytes& b, int64_t t_us = -1) { a->data(conn, false, b, at(t_us)); }
  void handshake() {
    orig(connect_tpdu(0xE0, {0x01, 0x00}, {0x01, 0x02}));
    resp(connect_tpdu(0xD0, {0x01, 0x00}, {0x01, 0x02}));
  }

  void close(uint64_t t_us = 1'000'000) {
    if (closed) return;
    closed = true;
    a->end(conn, kT0 + t_us * 1000);
    sink->handoff();
    mgr->close();
  }
  std::vector<std::string> rows(const std::string& log) {
    close();
    return rows_without_ts(dir / (log + ".log"));
  }
  // The is_orig / source / destination columns of this connection, then the log's own.
  static std::string row(bool is_orig, const std::string& own) {
    return std::string("10.0.0.9\t3082\t10.0.0.3\t102\t") +
           (is_orig ? "T\t10.0.0.9\t3082\t10.0.0.3\t102\t" : "F\t10.0.0.3\t102\t10.0.0.9\t3082\t") + own;
  }
};

const Bytes kSetupReq = {0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xE0};
const Bytes kSetupResp = {0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xF0};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// TPKT and COTP

TEST_CASE("s7comm TPKT header: version 3, reserved 0, length of at least 7", "[s7comm]") {
  TpktHeader h;
  CHECK(parse_tpkt(Bytes{3, 0, 0, 7}, h) == TpktStatus::Ok);
  CHECK(h.length == 7);
  CHECK(parse_tpkt(Bytes{3, 0, 0xFF, 0xFF}, h) == TpktStatus::Ok);
  CHECK(h.length == 65535);
  CHECK(parse_tpkt(Bytes{3, 0, 0}, h) == TpktStatus::NeedMore);
  CHECK(parse_tpkt(Bytes{2, 0, 0, 7}, h) == TpktStatus::BadVersion);
  CHECK(parse_tpkt(Bytes{3, 1, 0, 7}, h) == TpktStatus::BadVersion);
  CHECK(parse_tpkt(Bytes{3, 0, 0, 6}, h) == TpktStatus::BadLength);
}

TEST_CASE("s7comm resync candidate: a TPKT with a class 0 TPDU, followed by another TPKT", "[s7comm]") {
  const Bytes one = dt(job(1, kSetupReq));
  CHECK(plausible_tpkt_start(one) == Plausible::Yes);
  CHECK(plausible_tpkt_start(cat({one, one})) == Plausible::Yes);
  CHECK(plausible_tpkt_start(cat({one, Bytes{3, 1}})) == Plausible::No);  // the next header is bad
  CHECK(plausible_tpkt_start(cat({one, Bytes{3}})) == Plausible::Yes);    // not enough of it to judge
  CHECK(plausible_tpkt_start(Bytes{3, 0, 0, 10, 2}) == Plausible::Maybe);
  CHECK(plausible_tpkt_start(Bytes{3, 0}) == Plausible::Maybe);
  CHECK(plausible_tpkt_start(Bytes{4}) == Plausible::No);
  CHECK(plausible_tpkt_start(Bytes{3, 0, 0, 10, 2, 0x30, 0x80}) == Plausible::No);  // TPDU code 3
  CHECK(plausible_tpkt_start(Bytes{3, 0, 0, 7, 9, 0xF0, 0x80}) == Plausible::No);   // LI past the TPKT
  CHECK(plausible_tpkt_start(Bytes{3, 0, 0, 7, 2, 0xF1, 0x80}) == Plausible::No);   // class 0 DT, credit 1
}

TEST_CASE("s7comm COTP CR and CC: references, class, TSAPs and TPDU size", "[s7comm]") {
  const Bytes cr = connect_tpdu(0xE0, {0x01, 0x00}, {0x01, 0x02});
  CotpTpdu t;
  const Bytes crp(cr.begin() + 4, cr.end());  // views into it must outlive the checks
  REQUIRE(parse_cotp(crp, t) == CotpError::None);
  CHECK(t.code == kCotpCR);
  CHECK(t.li == 17);
  CHECK(t.dst_ref == 0);
  CHECK(t.src_ref == 0x1234);
  CHECK(t.class_option == 0);
  CHECK(t.tpdu_size == 1024);
  CHECK(Bytes(t.calling_tsap.begin(), t.calling_tsap.end()) == Bytes{0x01, 0x00});
  CHECK(Bytes(t.called_tsap.begin(), t.called_tsap.end()) == Bytes{0x01, 0x02});
  const Bytes cc = connect_tpdu(0xD0, {0x01, 0x00}, text("SIMATIC-ROOT-HMI"));
  const Bytes ccp(cc.begin() + 4, cc.end());
  REQUIRE(parse_cotp(ccp, t) == CotpError::None);
  CHECK(t.code == kCotpCC);
  CHECK(std::string(t.called_tsap.begin(), t.called_tsap.end()) == "SIMATIC-ROOT-HMI");
  // A parameter running past the header.
  Bytes bad = {6 + 3, 0xE0, 0, 0, 0, 1, 0, 0xC1, 5, 1};
  CHECK(parse_cotp(bad, t) == CotpError::BadParameter);
}

TEST_CASE("s7comm COTP DT, DR, DC, ER and malformed TPDUs", "[s7comm]") {
  CotpTpdu t;
  REQUIRE(parse_cotp(Bytes{2, 0xF0, 0x80, 0x32, 0x01}, t) == CotpError::None);
  CHECK(t.code == kCotpDT);
  CHECK(t.eot);
  CHECK(t.tpdu_nr == 0);
  CHECK(t.user_data.size() == 2);
  REQUIRE(parse_cotp(Bytes{2, 0xF0, 0x05}, t) == CotpError::None);
  CHECK_FALSE(t.eot);
  CHECK(t.tpdu_nr == 5);
  CHECK(t.user_data.empty());
  // Normal format (classes 2-4): DST-REF before NR/EOT.
  REQUIRE(parse_cotp(Bytes{4, 0xF0, 0x12, 0x34, 0x81, 0xAA}, t) == CotpError::None);
  CHECK(t.dst_ref == 0x1234);
  CHECK(t.eot);
  CHECK(t.tpdu_nr == 1);
  REQUIRE(parse_cotp(Bytes{6, 0x80, 0x00, 0x01, 0x00, 0x02, 0x80}, t) == CotpError::None);
  CHECK(t.code == kCotpDR);
  CHECK(t.reason == 0x80);
  CHECK(t.src_ref == 2);
  REQUIRE(parse_cotp(Bytes{5, 0xC0, 0x00, 0x01, 0x00, 0x02}, t) == CotpError::None);
  CHECK(t.code == kCotpDC);
  REQUIRE(parse_cotp(Bytes{4, 0x70, 0x00, 0x01, 0x02}, t) == CotpError::None);
  CHECK(t.code == kCotpER);
  CHECK(t.reason == 2);
  CHECK(parse_cotp(Bytes{2}, t) == CotpError::TooShort);
  CHECK(parse_cotp(Bytes{9, 0xF0, 0x80}, t) == CotpError::BadLength);  // LI past the TPKT
  CHECK(parse_cotp(Bytes{3, 0xF0, 0x80, 0}, t) == CotpError::BadLength);
  CHECK(parse_cotp(Bytes{4, 0xE0, 0, 0, 0}, t) == CotpError::BadLength);  // CR shorter than its fixed part
}

TEST_CASE("s7comm TLS records are told from S7 TSDUs", "[s7comm]") {
  CHECK(looks_like_tls_record(Bytes{0x16, 0x03, 0x01, 0x00, 0x20}));
  CHECK(looks_like_tls_record(Bytes{0x17, 0x03, 0x03, 0x40, 0x00}));
  CHECK_FALSE(looks_like_tls_record(Bytes{0x17, 0x03, 0x03, 0x48, 0x01}));  // longer than 2^14 + 2048
  CHECK_FALSE(looks_like_tls_record(Bytes{0x32, 0x01, 0x00, 0x00, 0x01}));
  CHECK_FALSE(looks_like_tls_record(Bytes{0x16, 0x03}));
  CHECK_FALSE(looks_like_tls_record(Bytes{0x16, 0x02, 0x00, 0x00, 0x20}));
}

// ---------------------------------------------------------------------------------------------------
// S7comm

TEST_CASE("s7comm header: 10 bytes for Job and Userdata, 12 with error class and code for the acks", "[s7comm]") {
  S7Header h;
  const Bytes j = job(0x1234, kSetupReq);
  REQUIRE(parse_header(j, h) == HeaderError::None);
  CHECK(h.rosctr == kJob);
  CHECK(h.pdu_ref == 0x1234);
  CHECK(h.param_length == 8);
  CHECK(h.data_length == 0);
  CHECK(h.header_size == 10);
  CHECK_FALSE(h.has_error);
  CHECK(h.param.size() == 8);
  const Bytes ad = ack_data(7, kSetupResp, {}, 0x81, 0x04);
  REQUIRE(parse_header(ad, h) == HeaderError::None);
  CHECK(h.header_size == 12);
  CHECK(h.has_error);
  CHECK(h.error_class == 0x81);
  CHECK(h.error_code == 0x04);
  CHECK(h.param[0] == 0xF0);
  REQUIRE(parse_header(s7pdu(kAck, 9, {}, {}, true, 0, 0), h) == HeaderError::None);
  CHECK(h.param.empty());
  // Truncated: the lengths promise more than there is; what is there is viewed.
  Bytes t = job(1, kSetupReq);
  t.resize(t.size() - 3);
  REQUIRE(parse_header(t, h) == HeaderError::Truncated);
  CHECK(h.param.size() == 5);
  // Trailing bytes after parameter and data.
  REQUIRE(parse_header(cat({job(1, kSetupReq), {0, 0}}), h) == HeaderError::None);
  CHECK(h.trailing == 2);
  CHECK(parse_header(Bytes{0x32, 0x01, 0, 0, 0, 1, 0, 0}, h) == HeaderError::TooShort);
  CHECK(parse_header(Bytes{0x32, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0x81}, h) == HeaderError::TooShort);
  CHECK(parse_header(Bytes{0x33, 0x01, 0, 0, 0, 1, 0, 0, 0, 0}, h) == HeaderError::BadProtocolId);
  CHECK(parse_header(Bytes{0x32, 0x08, 0, 0, 0, 1, 0, 0, 0, 0}, h) == HeaderError::BadRosctr);
}

TEST_CASE("s7comm setup communication: max AMQ calling and called, PDU length", "[s7comm]") {
  SetupCommunication s;
  REQUIRE(parse_setup_communication(kSetupReq, s));
  CHECK(s.max_amq_calling == 1);
  CHECK(s.max_amq_called == 1);
  CHECK(s.pdu_length == 480);
  CHECK_FALSE(parse_setup_communication(Bytes{0xF0, 0, 0, 1}, s));
  CHECK_FALSE(parse_setup_communication(Bytes{0x04, 0, 0, 1, 0, 1, 1, 0xE0}, s));
}

TEST_CASE("s7comm read/write var items: S7ANY area, DB, byte.bit, transport size, count", "[s7comm]") {
  const Bytes p = cat({{0x04, 3}, item(0x84, 1, 0, 0, 0x02, 10), item(0x83, 0, 10, 0, 0x02, 4),
                       item(0x81, 0, 5, 3, 0x01, 1)});
  VarItems items(p);
  CHECK(items.declared_count() == 3);
  VarItem it;
  REQUIRE(items.next(it));
  CHECK(it.s7any);
  CHECK(it.area == kAreaDataBlock);
  CHECK(it.db == 1);
  CHECK(it.byte_address == 0);
  CHECK(it.count == 10);
  CHECK(it.transport_size == 0x02);
  REQUIRE(items.next(it));
  CHECK(it.area == kAreaFlags);
  CHECK(it.byte_address == 10);
  REQUIRE(items.next(it));
  CHECK(it.area == kAreaInputs);
  CHECK(it.byte_address == 5);
  CHECK(it.bit == 3);
  CHECK_FALSE(items.next(it));
  CHECK_FALSE(items.truncated());
  // A DBREAD (syntax 0xB0) item is skipped by its length; a cut item is reported.
  const Bytes other = cat({{0x04, 2, 0x12, 0x07, 0xB0, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00}, item(0x1D, 0, 3, 0, 0x1D, 2)});
  VarItems o(other);
  REQUIRE(o.next(it));
  CHECK(it.syntax_id == 0xB0);
  CHECK_FALSE(it.s7any);
  REQUIRE(o.next(it));
  CHECK(it.area == kAreaTimer);
  Bytes cut = cat({{0x04, 2}, item(0x84, 1, 0, 0, 2, 1)});
  cut.insert(cut.end(), {0x12, 0x0A, 0x10});
  VarItems c(cut);
  REQUIRE(c.next(it));
  CHECK_FALSE(c.next(it));
  CHECK(c.truncated());
}

TEST_CASE("s7comm data items: bit lengths for transport sizes 3-5, padding between items", "[s7comm]") {
  const Bytes d = {0xFF, 0x04, 0x00, 0x18, 1, 2, 3, 0x00,  // 24 bits = 3 bytes, then a fill byte
                   0xFF, 0x09, 0x00, 0x02, 7, 8,           // octet string: 2 bytes
                   0x0A, 0x00, 0x00, 0x00};                // failed item: no value
  DataItems items(d);
  DataItem it;
  REQUIRE(items.next(it));
  CHECK(it.return_code == 0xFF);
  CHECK(it.value.size() == 3);
  REQUIRE(items.next(it));
  CHECK(it.transport_size == 0x09);
  CHECK(Bytes(it.value.begin(), it.value.end()) == Bytes{7, 8});
  REQUIRE(items.next(it));
  CHECK(it.return_code == 0x0A);
  CHECK(it.value.empty());
  CHECK_FALSE(items.next(it));
  CHECK_FALSE(items.truncated());
}

TEST_CASE("s7comm upload and download parameters, and block file names", "[s7comm]") {
  BlockTransfer b;
  const Bytes start = cat({{0x1D, 0x00, 0x00, 0x00}, be32(0), {9}, text("_0A00001A")});
  REQUIRE(parse_block_transfer(start, {}, true, b));
  CHECK(b.function == kStartUpload);
  CHECK(b.has_status);
  CHECK(b.has_session);
  CHECK(std::string(b.filename.begin(), b.filename.end()) == "_0A00001A");
  const Bytes start_ack = cat({{0x1D, 0x00, 0x01, 0x00}, be32(7), {7}, text("0000216")});
  REQUIRE(parse_block_transfer(start_ack, {}, false, b));
  CHECK(b.session_id == 7);
  CHECK(b.has_blocklength);
  CHECK(b.blocklength == 216);
  REQUIRE(parse_block_transfer(Bytes{0x1E, 0x01}, cat({be16(42), be16(0xFB)}), false, b));
  CHECK(b.status == 1);
  CHECK(b.blocklength == 42);
  REQUIRE(parse_block_transfer(cat({{0x1F, 0x00, 0x00, 0x00}, be32(7)}), {}, true, b));
  CHECK(b.session_id == 7);
  CHECK(b.filename.empty());
  const Bytes req = cat({{0x1A, 0x00, 0x01, 0x00}, be32(0), {9}, text("_0800001P"), {13}, text("1000176000048")});
  REQUIRE(parse_block_transfer(req, {}, true, b));
  CHECK(std::string(b.filename.begin(), b.filename.end()) == "_0800001P");
  REQUIRE(parse_block_transfer(Bytes{0x1C}, {}, false, b));
  CHECK_FALSE(b.has_status);
  CHECK_FALSE(parse_block_transfer(Bytes{0x04, 0x00}, {}, true, b));
  CHECK_FALSE(parse_block_transfer(Bytes{0x1D}, {}, true, b));
  const Bytes name = text("_0800001P");
  const BlockFilename f = split_block_filename(name);
  CHECK(std::string(f.block_type.begin(), f.block_type.end()) == "08");
  CHECK(std::string(f.block_number.begin(), f.block_number.end()) == "00001");
  CHECK(std::string(f.filesystem.begin(), f.filesystem.end()) == "P");
  const Bytes shorter = text("_0A01");
  const BlockFilename g = split_block_filename(shorter);
  CHECK(std::string(g.block_number.begin(), g.block_number.end()) == "01");
  CHECK(g.filesystem.empty());
}

TEST_CASE("s7comm PLC control and PLC stop: the PI service", "[s7comm]") {
  PiService pi;
  const Bytes hot = cat({{0x28, 0, 0, 0, 0, 0, 0, 0xFD, 0x00, 0x00, 9}, text("P_PROGRAM")});
  REQUIRE(parse_plc_control(hot, pi));
  CHECK(pi.parameter.empty());
  CHECK(std::string(pi.service.begin(), pi.service.end()) == "P_PROGRAM");
  const Bytes cold = cat({{0x28, 0, 0, 0, 0, 0, 0, 0xFD, 0x00, 0x02}, text("C "), {9}, text("P_PROGRAM")});
  REQUIRE(parse_plc_control(cold, pi));
  CHECK(std::string(pi.parameter.begin(), pi.parameter.end()) == "C ");
  const Bytes stop = cat({{0x29, 0, 0, 0, 0, 0, 9}, text("P_PROGRAM")});
  REQUIRE(parse_plc_stop(stop, pi));
  CHECK(std::string(pi.service.begin(), pi.service.end()) == "P_PROGRAM");
  CHECK_FALSE(parse_plc_control(Bytes{0x28, 0, 0}, pi));
  CHECK_FALSE(parse_plc_stop(cat({{0x29, 0, 0, 0, 0, 0, 12}, text("P_PROGRAM")}), pi));
}

TEST_CASE("s7comm userdata parameter: request, response with error code, old mode-transition push", "[s7comm]") {
  UserdataParam u;
  REQUIRE(parse_userdata_param(Bytes{0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00}, u));
  CHECK(u.method == 0x11);
  CHECK(u.type == kUdRequest);
  CHECK(u.group == kUdCpu);
  CHECK(u.subfunction == kUdCpuReadSzl);
  CHECK_FALSE(u.has_extension);
  REQUIRE(parse_userdata_param(Bytes{0x00, 0x01, 0x12, 0x08, 0x12, 0x83, 0x03, 0x02, 0x05, 0x01, 0xD2, 0x09}, u));
  CHECK(u.type == kUdResponse);
  CHECK(u.group == kUdBlock);
  CHECK(u.sequence == 2);
  CHECK(u.has_extension);
  CHECK(u.data_unit_ref == 5);
  CHECK(u.last_data_unit == 1);
  CHECK(u.error_code == 0xD209);
  // Older CPUs' mode-transition push: head 01 00 10, length 16, no extension bytes.
  REQUIRE(parse_userdata_param(Bytes{0x01, 0x00, 0x10, 0x10, 0x00, 0x00, 0x00, 0x00}, u));
  CHECK(u.type == kUdPush);
  CHECK(u.group == kUdModeTransition);
  CHECK_FALSE(u.has_extension);
  CHECK_FALSE(parse_userdata_param(Bytes{0x00, 0x01, 0x12, 0x04, 0x11}, u));
}

TEST_CASE("s7comm read SZL: request id and index, response list, xy11 and xy1C records", "[s7comm]") {
  UserdataData d;
  const Bytes sd = szl_data(cat({be16(0x0011), be16(0)}));
  REQUIRE(parse_userdata_data(sd, d));
  CHECK(d.return_code == 0xFF);
  CHECK(d.transport_size == 0x09);
  SzlHeader z;
  REQUIRE(parse_szl(d.payload, false, z));
  CHECK(z.id == 0x0011);
  CHECK_FALSE(z.has_list);
  const Bytes rec = cat({be16(1), padded("6ES7 315-2EH14-0AB0", 20, ' '), be16(0xC0), be16(4), be16(1)});
  const Bytes fw = cat({be16(7), padded("", 20, ' '), be16(0xC0), be16(0x5603), be16(0x0206)});
  const Bytes list = cat({be16(0x0011), be16(0), be16(28), be16(2), rec, fw});
  REQUIRE(parse_szl(list, true, z));
  CHECK(z.has_list);
  CHECK(z.record_length == 28);
  CHECK(z.record_count == 2);
  CHECK(z.records.size() == 56);
  SzlModuleRecord m;
  REQUIRE(parse_szl_xy11_record(rec, m));
  CHECK(m.index == 1);
  const auto mlfb = trim_szl_text(m.order_number);
  CHECK(std::string(mlfb.begin(), mlfb.end()) == "6ES7 315-2EH14-0AB0");
  CHECK(m.module_type == 0xC0);
  REQUIRE(parse_szl_xy11_record(fw, m));
  CHECK(m.ausbg == 0x5603);
  CHECK(m.ausbe == 0x0206);
  CHECK(trim_szl_text(m.order_number).empty());
  SzlComponentRecord c;
  const Bytes serial = cat({be16(5), padded("S C-X4U421302012", 32, 0)});
  REQUIRE(parse_szl_xy1c_record(serial, c));
  CHECK(c.index == 5);
  const auto s = trim_szl_text(c.text);
  CHECK(std::string(s.begin(), s.end()) == "S C-X4U421302012");
  CHECK(is_module_identification(0x0011));
  CHECK(is_module_identification(0x0111));
  CHECK(is_component_identification(0x011C));
  CHECK_FALSE(is_module_identification(0x0131));
  CHECK_FALSE(parse_szl(Bytes{0x00, 0x11, 0x00}, false, z));
}

// ---------------------------------------------------------------------------------------------------
// S7comm-plus envelope

TEST_CASE("s7comm-plus V1 request: opcode, function, sequence, session id, trailer", "[s7comm]") {
  PlusPdu p;
  const Bytes pdu = plus(1, 0x31, 0x04CA, 1, {1, 2, 3, 4}, 0x120);
  REQUIRE(parse_s7comm_plus(pdu, false, p) == PlusError::None);
  CHECK(p.version == 1);
  CHECK_FALSE(p.has_integrity);
  CHECK(p.has_trailer);
  CHECK(p.opcode == kPlusRequest);
  CHECK(p.has_function);
  CHECK(p.function == 0x04CA);
  CHECK(p.sequence == 1);
  CHECK(p.has_session);
  CHECK(p.session_id == 0x120);
  CHECK(p.transport_flags == 0x34);
  CHECK(p.body.size() == 4);
  REQUIRE(parse_s7comm_plus(plus(1, 0x32, 0x04CA, 1, {9}), false, p) == PlusError::None);
  CHECK(p.opcode == kPlusResponse);
  CHECK_FALSE(p.has_session);
  CHECK(p.has_transport_flags);
}

TEST_CASE("s7comm-plus V3: the integrity part leads the data part", "[s7comm]") {
  PlusPdu p;
  const Bytes v3 = plus(3, 0x31, 0x054C, 7, {1, 2}, 0x389, true);
  REQUIRE(parse_s7comm_plus(v3, false, p) == PlusError::None);
  CHECK(p.version == 3);
  CHECK(p.has_integrity);
  CHECK(p.digest_length == 32);
  CHECK(p.digest.size() == 32);
  CHECK(p.digest[0] == 0xA0);
  CHECK(p.function == 0x054C);
  CHECK(p.sequence == 7);
  CHECK(p.session_id == 0x389);
  // A digest length other than 32 is reported; the envelope is still read.
  Bytes bad = plus(3, 0x31, 0x054C, 7, {}, 0x389, true);
  bad[4] = 16;
  CHECK(parse_s7comm_plus(bad, false, p) == PlusError::BadDigest);
}

TEST_CASE("s7comm-plus keep-alives, fragments without trailer, continuation, truncation", "[s7comm]") {
  PlusPdu p;
  REQUIRE(parse_s7comm_plus(Bytes{0x72, 0xFF, 0x05, 0x00}, false, p) == PlusError::None);
  CHECK(p.version == kPlusKeepAlive);
  CHECK(p.keepalive_seq == 5);
  CHECK_FALSE(p.has_opcode);
  const Bytes ext = cat({{0x72, 0xFE}, be16(16), Bytes(16, 0), {0x72, 0xFE, 0, 0}});
  REQUIRE(parse_s7comm_plus(ext, false, p) == PlusError::None);
  CHECK(p.version == kPlusExtKeepAlive);
  CHECK_FALSE(p.has_opcode);
  // First fragment: no trailer.
  REQUIRE(parse_s7comm_plus(plus(3, 0x32, 0x054C, 4, Bytes(50, 1), std::nullopt, true, false), false, p) ==
          PlusError::None);
  CHECK_FALSE(p.has_trailer);
  CHECK(p.has_function);
  // Continuation: header and integrity only, the data is the previous PDU's.
  const Bytes cont = cat({{0x72, 0x03}, be16(33 + 5), {32}, Bytes(32, 7), {1, 2, 3, 4, 5}, {0x72, 0x03, 0, 0}});
  REQUIRE(parse_s7comm_plus(cont, true, p) == PlusError::None);
  CHECK(p.continuation);
  CHECK(p.has_integrity);
  CHECK_FALSE(p.has_opcode);
  CHECK(p.has_trailer);
  CHECK(p.body.size() == 5);
  // Truncated: the data length runs past the TSDU.
  REQUIRE(parse_s7comm_plus(Bytes{0x72, 0x01, 0x00, 0x40, 0x31}, false, p) == PlusError::Truncated);
  CHECK(p.opcode == 0x31);
  CHECK(parse_s7comm_plus(Bytes{0x72, 0x01, 0x00}, false, p) == PlusError::TooShort);
  CHECK(parse_s7comm_plus(Bytes{0x73, 0x01, 0x00, 0x00}, false, p) == PlusError::BadProtocolId);
}

// ---------------------------------------------------------------------------------------------------
// Names

TEST_CASE("s7comm function names, lookup by name or number, op classes, read-only set", "[s7comm]") {
  CHECK(s7_function_name(0x04) == "read_var");
  CHECK(s7_function_name(0x1B) == "download_block");
  CHECK(s7_function_name(0x29) == "plc_stop");
  CHECK(s7_function_name(0xF0) == "setup_communication");
  CHECK(s7_function_name(0x100) == "userdata");
  CHECK(s7_function_name(0x77) == "unknown");
  CHECK(s7_function_from_name("read_var") == 0x04u);
  CHECK(s7_function_from_name("Read Variable") == 0x04u);
  CHECK(s7_function_from_name("WRITE-VAR") == 0x05u);
  CHECK(s7_function_from_name("Setup Communication") == 0xF0u);
  CHECK(s7_function_from_name("PLC Stop") == 0x29u);
  CHECK(s7_function_from_name("userdata") == 0x100u);
  CHECK(s7_function_from_name("User-Data") == 0x100u);
  CHECK(s7_function_from_name("0x1a") == 0x1Au);
  CHECK(s7_function_from_name("41") == 0x29u);
  CHECK(s7_function_from_name("256") == 0x100u);
  CHECK_FALSE(s7_function_from_name("257").has_value());
  CHECK_FALSE(s7_function_from_name("plc_stopp").has_value());
  CHECK_FALSE(s7_function_from_name("").has_value());
  for (uint32_t code : {0x00u, 0x04u, 0x05u, 0x1Au, 0x1Bu, 0x1Cu, 0x1Du, 0x1Eu, 0x1Fu, 0x28u, 0x29u, 0xF0u, 0x100u})
    CHECK(s7_function_from_name(s7_function_name(code)) == code);
  CHECK(s7_userdata_function_name(4, 1) == "read_szl");
  CHECK(s7_userdata_function_name(7, 2) == "set_clock");
  CHECK(s7_userdata_function_name(3, 1) == "userdata");

  CHECK(s7_op_class(0x04, -1) == OpClass::Read);
  CHECK(s7_op_class(0x05, -1) == OpClass::Write);
  CHECK(s7_op_class(0x1A, -1) == OpClass::Write);
  CHECK(s7_op_class(0x1D, -1) == OpClass::Read);
  CHECK(s7_op_class(0x28, -1) == OpClass::Control);
  CHECK(s7_op_class(0x29, -1) == OpClass::Control);
  CHECK(s7_op_class(0xF0, -1) == OpClass::Other);
  CHECK(s7_op_class(0x100, 0x0401) == OpClass::Read);
  CHECK(s7_op_class(0x100, 0x0702) == OpClass::Write);
  CHECK(s7_op_class(0x100, 0x0108) == OpClass::Write);  // modify variable
  CHECK(s7_op_class(0x100, 0x0116) == OpClass::Control);  // flash LED
  CHECK(s7_op_class(0x100, 0x0501) == OpClass::Other);    // PLC password
  CHECK(s7_read_only(0xF0, -1));
  CHECK(s7_read_only(0x04, -1));
  CHECK_FALSE(s7_read_only(0x05, -1));
  CHECK_FALSE(s7_read_only(0x1D, -1));
  CHECK(s7_read_only(0x100, 0x0401));
  CHECK(s7_read_only(0x100, 0x0701));
  CHECK(s7_read_only(0x100, 0x0703));
  CHECK_FALSE(s7_read_only(0x100, 0x0702));
  CHECK_FALSE(s7_read_only(0x100, 0x0301));
  CHECK_FALSE(s7_read_only(0x100, -1));

  CHECK(s7commplus_function_name(0x04CA) == "create_object");
  CHECK(s7commplus_function_name(0x054C) == "get_multi_variables");
  CHECK(s7commplus_function_name(0x1234) == "unknown");
  CHECK(s7commplus_function_from_name("GetMultiVariables") == uint16_t{0x054C});
  CHECK(s7commplus_function_from_name("Set Variable") == uint16_t{0x04F2});
  CHECK(s7commplus_function_from_name("0x056b") == uint16_t{0x056B});
  CHECK(s7commplus_op_class(0x054C) == OpClass::Read);
  CHECK(s7commplus_op_class(0x0542) == OpClass::Write);
  CHECK(s7commplus_op_class(0x056B) == OpClass::Control);
}

TEST_CASE("s7comm one-byte code names: every unnamed code is ICSNPP's formatted default", "[s7comm]") {
  for (unsigned v = 0; v < 256; ++v) {
    const auto b = static_cast<uint8_t>(v);
    const std::string_view cotp = icsnpp_cotp_pdu_name(b), op = icsnpp_plus_opcode_name(b);
    if (cotp.starts_with("Unknown")) CHECK(std::string(cotp) == fmt::format("Unknown COTP PDU-0x{:02x}", v));
    if (op.starts_with("Unknown")) CHECK(std::string(op) == fmt::format("Unknown s7comm-plus opcode-0x{:02x}", v));
    CHECK(icsnpp_userdata_function_name(b).ends_with(std::string(icsnpp_userdata_function_name(b & 0x0F)).substr(6)));
  }
  CHECK(icsnpp_cotp_pdu_name(0xE) == "CR Connection Request");
  CHECK(icsnpp_plus_opcode_name(0x31) == "Request");
}

TEST_CASE("s7comm ICSNPP strings", "[s7comm]") {
  std::string scratch;
  CHECK(icsnpp_cotp_pdu_name(0xF) == "DT Data");
  CHECK(icsnpp_cotp_pdu_name(0x3) == "Unknown COTP PDU-0x03");
  CHECK(icsnpp_rosctr_name(3) == "ACK-Data");
  CHECK(icsnpp_rosctr_name(9) == "unknown");
  CHECK(icsnpp_function_name(0x1D) == "Start Upload");
  CHECK(icsnpp_userdata_function_name(0x44) == "Request: CPU Functions");
  CHECK(icsnpp_userdata_function_name(0x83) == "Response: Block Functions");
  CHECK(icsnpp_userdata_function_name(0x02) == "Push: Cyclic Services");
  CHECK(icsnpp_userdata_function_name(0x7A) == "Unknown: unknown");
  CHECK(icsnpp_userdata_subfunction_name(4, 1) == std::string_view("Read SZL"));
  CHECK(icsnpp_userdata_subfunction_name(4, 0x55) == std::string_view("unknown"));
  CHECK_FALSE(icsnpp_userdata_subfunction_name(6, 1).has_value());
  CHECK(icsnpp_error_class_name(0x85, scratch) == "Error on supplies");
  CHECK(icsnpp_error_class_name(0xD2, scratch) == "Unknown error class-0xd2");
  CHECK(icsnpp_plc_control_service_name("_INSE") == "Activates a PLC module");
  CHECK(icsnpp_plc_control_service_name("_FOO") == "unknown");
  CHECK(icsnpp_szl_id_name(0x0F1C) == "Component Identification");
  CHECK(icsnpp_block_type_name("0E") == "Function Block");
  CHECK(icsnpp_filesystem_name("B") == "Unknown");
  CHECK(icsnpp_plus_opcode_name(0x33) == "Notification");
  CHECK(icsnpp_plus_opcode_name(0x44) == "Unknown s7comm-plus opcode-0x44");
  CHECK(icsnpp_plus_function_name(0x0586, scratch) == "Get Variable Sub Streamed");
  CHECK(icsnpp_plus_function_name(0x0123, scratch) == "Unknown s7comm-plus function-0x0123");
}

TEST_CASE("s7comm module: service, port, logs, registered", "[s7comm]") {
  CHECK(kS7commModule.protocol == Protocol::S7comm);
  CHECK(kS7commModule.service == "s7comm");
  REQUIRE(kS7commModule.tcp_ports.size() == 1);
  CHECK(kS7commModule.tcp_ports[0] == 102);
  CHECK(kS7commModule.udp_ports.empty());
  REQUIRE(kS7commModule.logs.size() == 5);
  CHECK(kS7commModule.logs[0]->path == "cotp");
  CHECK(kS7commModule.logs[1]->path == "s7comm");
  CHECK(kS7commModule.logs[2]->path == "s7comm_read_szl");
  CHECK(kS7commModule.logs[3]->path == "s7comm_upload_download");
  CHECK(kS7commModule.logs[4]->path == "s7comm_plus");
  std::string names;
  for (const auto& f : kS7commModule.logs[1]->fields) names += std::string(f.name) + " ";
  CHECK(names ==
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p is_orig source_h source_p destination_h destination_p "
        "rosctr_code rosctr_name pdu_reference function_code function_name subfunction_code subfunction_name "
        "error_class error_code ");
  names.clear();
  for (const auto& f : kS7commModule.logs[3]->fields) names += std::string(f.name) + " ";
  CHECK(names.find("destination_p rosctr pdu_reference function_name function_status session_id blocklength "
                   "filename block_type block_number destination_filesystem ") != std::string::npos);
  const auto mods = dissector_modules();
  CHECK(std::find(mods.begin(), mods.end(), &kS7commModule) != mods.end());
  CHECK(make_s7comm_analyzer(AnalyzerContext{}, s7comm_module_options()) != nullptr);
  CHECK(kS7commModule.create(AnalyzerContext{}, Transport::Udp) == nullptr);
}

// ---------------------------------------------------------------------------------------------------
// The analyzer

TEST_CASE("s7comm session: cotp.log and s7comm.log rows as ICSNPP writes them", "[s7comm]") {
  Harness h("session");
  h.handshake();
  CHECK(h.a->verdict() == Analyzer::Verdict::Probing);  // COTP alone proves nothing: MMS uses it too
  h.orig(dt(job(0x0100, kSetupReq)));
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  h.resp(dt(ack_data(0x0100, kSetupResp)));
  h.orig(dt(job(0x0200, cat({{0x04, 1}, item(0x84, 1, 2, 0, 2, 4)}))));
  h.resp(dt(ack_data(0x0200, {0x04, 1}, {0xFF, 0x04, 0x00, 0x20, 1, 2, 3, 4}, 0x81, 0x04)));
  h.orig(dt(s7pdu(kAck, 0x0300, {}, {}, true, 0xD2, 0x0C)));  // odd but seen (snap7.pcap)
  CHECK(h.rows("cotp") == std::vector<std::string>{
                              Harness::row(true, "0x0e\tCR Connection Request"),
                              Harness::row(false, "0x0d\tCC Connection Confirm"),
                              Harness::row(true, "0x0f\tDT Data"),
                              Harness::row(false, "0x0f\tDT Data"),
                              Harness::row(true, "0x0f\tDT Data"),
                              Harness::row(false, "0x0f\tDT Data"),
                              Harness::row(true, "0x0f\tDT Data"),
                          });
  CHECK(h.rows("s7comm") ==
        std::vector<std::string>{
            Harness::row(true, "1\tJob-Request\t1\t0xf0\tSetup Communication\t-\t-\t-\t-"),
            Harness::row(false, "3\tACK-Data\t1\t0xf0\tSetup Communication\t-\t-\tNo error\t0x00"),
            Harness::row(true, "1\tJob-Request\t2\t0x04\tRead Variable\t-\t-\t-\t-"),
            Harness::row(false, "3\tACK-Data\t2\t0x04\tRead Variable\t-\t-\tApplication relationship error\t0x04"),
            Harness::row(true, "2\tACK\t3\t-\t-\t-\t-\tUnknown error class-0xd2\t0x0c"),
        });
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm operation events: functions, targets, read-only, responses", "[s7comm]") {
  Harness h("ops");
  h.handshake();
  h.orig(dt(job(0x0100, kSetupReq)));
  h.resp(dt(ack_data(0x0100, kSetupResp)));
  h.orig(dt(job(0x0200, cat({{0x04, 2}, item(0x84, 7, 12, 0, 2, 4), item(0x83, 0, 1, 0, 2, 1)}))));
  h.resp(dt(ack_data(0x0200, {0x04, 2}, {0xFF, 0x04, 0x00, 0x20, 1, 2, 3, 4, 0xFF, 0x04, 0x00, 0x08, 9})));
  h.orig(dt(job(0x0300, cat({{0x05, 1}, item(0x82, 0, 3, 1, 1, 1)}), {0x00, 0x03, 0x00, 0x01, 0x01})));
  h.resp(dt(ack_data(0x0300, {0x05, 1}, {0xFF})));
  h.orig(dt(job(0x0400, cat({{0x29, 0, 0, 0, 0, 0, 9}, text("P_PROGRAM")}))));
  h.resp(dt(ack_data(0x0400, {0x29}, {}, 0x85, 0x13)));
  REQUIRE(h.ops.seen.size() == 8);
  const auto& s = h.ops.seen;
  CHECK(s[0].protocol == Protocol::S7comm);
  CHECK(s[0].name == "setup_communication");
  CHECK(s[0].code == 0xF0);
  CHECK(s[0].is_request);
  CHECK(s[0].is_orig);
  CHECK(s[0].read_only);
  CHECK(s[0].unit == 2);  // called TSAP 0x0102: rack 0, slot 2
  CHECK_FALSE(s[1].is_request);
  CHECK_FALSE(s[1].is_orig);
  CHECK(s[2].name == "read_var");
  CHECK(s[2].op_class == OpClass::Read);
  CHECK(s[2].read_only);
  CHECK(s[2].s7_area == 0x84);
  CHECK(s[2].s7_db == 7);
  CHECK(s[2].address == 12);
  CHECK(s[2].quantity == 4);
  // The response carries its request's target.
  CHECK(s[3].code == 0x04);
  CHECK(s[3].s7_db == 7);
  CHECK(s[3].address == 12);
  CHECK(s[3].exception == -1);
  CHECK(s[4].name == "write_var");
  CHECK(s[4].op_class == OpClass::Write);
  CHECK_FALSE(s[4].read_only);
  CHECK(s[4].s7_area == 0x82);
  CHECK(s[4].s7_db == -1);  // only DBs have a DB number
  CHECK(s[4].address == 3);
  CHECK(s[6].name == "plc_stop");
  CHECK(s[6].op_class == OpClass::Control);
  CHECK(s[7].exception == 0x8513);
}

TEST_CASE("s7comm TPKTs split byte by byte and several per segment give the same rows", "[s7comm]") {
  const Bytes stream = cat({connect_tpdu(0xE0, {1, 0}, {1, 2}), dt(job(0x0100, kSetupReq)),
                            dt(job(0x0200, cat({{0x04, 1}, item(0x84, 1, 0, 0, 2, 2)}))),
                            dt(userdata(0x0300, 0x44, 0x01, 0, szl_data(cat({be16(0x0011), be16(0)}))))});
  Harness whole("split_whole");
  whole.orig(stream);
  Harness bytes("split_bytes");
  for (uint8_t b : stream) bytes.orig(Bytes{b});
  Harness odd("split_odd");
  for (size_t i = 0; i < stream.size(); i += 7) odd.orig(Bytes(stream.begin() + long(i), stream.begin() + long(std::min(i + 7, stream.size()))));
  const auto expect = whole.rows("s7comm");
  CHECK(expect.size() == 3);
  CHECK(bytes.rows("s7comm") == expect);
  CHECK(odd.rows("s7comm") == expect);
  CHECK(bytes.rows("cotp").size() == 4);
  CHECK(bytes.weirds.seen.empty());
  CHECK(bytes.ops.seen.size() == 3);
}

TEST_CASE("s7comm TSDU segmented over COTP DT TPDUs is reassembled at EOT", "[s7comm]") {
  Harness h("segmented");
  h.handshake();
  h.orig(dt(job(0x0100, cat({{0x04, 1}, item(0x84, 3, 0, 0, 2, 200)}))), 100);
  Bytes data = {0xFF, 0x04, 0x06, 0x40};
  data.resize(4 + 200, 0x55);
  const Bytes resp = ack_data(0x0100, {0x04, 1}, data);
  // Three DT TPDUs, EOT on the last; the first two in one segment, the third later.
  h.resp(cat({dt(Bytes(resp.begin(), resp.begin() + 90), false), dt(Bytes(resp.begin() + 90, resp.begin() + 180), false)}), 200);
  h.resp(dt(Bytes(resp.begin() + 180, resp.end()), true), 300);
  CHECK(h.rows("cotp").size() == 6);
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == Harness::row(false, "3\tACK-Data\t1\t0x04\tRead Variable\t-\t-\tNo error\t0x00"));
  // The row is written when the TSDU is complete: at the last TPDU's time.
  const auto lines = test::log_lines(h.dir / "s7comm.log");
  CHECK(split_tab(lines[1])[0] == "1700000000.000300");
  CHECK(h.weirds.seen.empty());
  REQUIRE(h.ops.seen.size() == 2);
  CHECK(h.ops.seen[1].s7_db == 3);
}

TEST_CASE("s7comm TSDU longer than max_tsdu is a weird and dropped, the next one is read", "[s7comm]") {
  Harness h("too_long");
  h.opts.max_tsdu = 100;
  h.handshake();
  h.orig(dt(job(1, kSetupReq)));
  h.resp(cat({dt(Bytes(80, 0x32), false), dt(Bytes(80, 0x32), false), dt(Bytes(10, 0x32), true)}));
  h.resp(dt(ack_data(1, kSetupResp)));
  CHECK(h.weirds.count("cotp_tsdu_too_long") == 1);
  CHECK(h.rows("s7comm").size() == 2);
}

TEST_CASE("s7comm gap inside a TPKT: the rest is skipped, framing stays in step", "[s7comm]") {
  Harness h("gap_inside");
  h.handshake();
  h.orig(dt(job(0x0100, kSetupReq)));
  const Bytes lost = dt(job(0x0200, cat({{0x04, 1}, item(0x84, 1, 0, 0, 2, 2)})));
  h.orig(Bytes(lost.begin(), lost.begin() + 10));
  h.a->gap(h.conn, true, 5, h.at(-1));
  h.orig(Bytes(lost.begin() + 15, lost.end()));
  h.orig(dt(job(0x0300, kSetupReq)));
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == Harness::row(true, "1\tJob-Request\t3\t0xf0\tSetup Communication\t-\t-\t-\t-"));
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm gap of unknown extent: resynchronise on the next plausible TPKT", "[s7comm]") {
  Harness h("gap_resync");
  h.handshake();
  h.orig(dt(job(0x0100, kSetupReq)));
  h.a->gap(h.conn, true, 1000, h.at(-1));
  // The capture resumes in the middle of some TPKT: its tail, then whole TPKTs.
  const Bytes tail = {0x00, 0x55, 0x03, 0x07, 0x11, 0x00, 0x03, 0x00, 0x02};
  h.orig(cat({tail, dt(job(0x0200, kSetupReq)), dt(job(0x0300, kSetupReq))}));
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1] == Harness::row(true, "1\tJob-Request\t2\t0xf0\tSetup Communication\t-\t-\t-\t-"));
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm gap in the middle of a segmented TSDU drops that TSDU only", "[s7comm]") {
  Harness h("gap_tsdu");
  h.handshake();
  h.orig(dt(job(1, kSetupReq)));
  const Bytes resp = ack_data(1, kSetupResp);
  const Bytes first = dt(Bytes(resp.begin(), resp.begin() + 6), false);
  const Bytes second = dt(Bytes(resp.begin() + 6, resp.end()), true);
  h.resp(first);
  h.a->gap(h.conn, false, second.size(), h.at(-1));  // the EOT TPDU is lost
  h.resp(dt(ack_data(2, kSetupResp)));
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == Harness::row(false, "3\tACK-Data\t512\t0xf0\tSetup Communication\t-\t-\tNo error\t0x00"));
}

TEST_CASE("s7comm capture starting inside a TPKT: the first header is searched for", "[s7comm]") {
  Harness h("midstream");
  const Bytes first = dt(ack_data(0x0100, kSetupResp));
  h.resp(cat({Bytes(first.begin() + 9, first.end()), dt(ack_data(0x0200, kSetupResp))}));
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  h.orig(dt(job(0x0300, kSetupReq)));
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == Harness::row(false, "3\tACK-Data\t2\t0xf0\tSetup Communication\t-\t-\tNo error\t0x00"));
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm bad TPKT header in a confirmed flow: weird, resynchronise, go on", "[s7comm]") {
  Harness h("bad_header");
  h.handshake();
  h.orig(dt(job(1, kSetupReq)));
  h.orig(cat({Bytes{0x05, 0x00, 0x00, 0x09, 0x01}, dt(job(2, kSetupReq))}));
  CHECK(h.weirds.count("tpkt_bad_version") == 1);
  CHECK(h.rows("s7comm").size() == 2);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
}

TEST_CASE("s7comm non-S7 traffic on 102 is rejected: garbage, and MMS over COTP", "[s7comm]") {
  Harness g("reject_garbage");
  g.orig(text("GET / HTTP/1.1\r\n\r\n"));
  // A capture may start inside a TPKT: a few kilobytes are searched for a header first.
  CHECK(g.a->verdict() == Analyzer::Verdict::Probing);
  for (int i = 0; i < 1000 && g.a->verdict() == Analyzer::Verdict::Probing; ++i) g.orig(text("Host: plc\r\n"));
  CHECK(g.a->verdict() == Analyzer::Verdict::Rejected);
  CHECK(g.rows("cotp").empty());
  CHECK(g.weirds.seen.empty());
  Harness m("reject_mms");
  m.orig(connect_tpdu(0xE0, {0, 1}, {0, 1}));
  m.resp(connect_tpdu(0xD0, {0, 1}, {0, 1}));
  CHECK(m.a->verdict() == Analyzer::Verdict::Probing);
  // ISO 8327 session CONNECT SPDU: IEC 61850 MMS.
  m.orig(dt({0x0D, 0x9E, 0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02}));
  CHECK(m.a->verdict() == Analyzer::Verdict::Rejected);
  m.orig(dt(job(1, kSetupReq)));  // ignored once rejected
  CHECK(m.rows("cotp").size() == 3);
  CHECK(m.weirds.seen.empty());
  CHECK_FALSE(fs::exists(m.dir / "s7comm.log"));
}

TEST_CASE("s7comm TLS inside COTP (TIA V17+) confirms the flow and is never parsed", "[s7comm]") {
  Harness h("tls");
  h.orig(connect_tpdu(0xE0, {1, 0}, text("SIMATIC-ROOT-ES")));
  h.resp(connect_tpdu(0xD0, {1, 0}, text("SIMATIC-ROOT-ES")));
  Bytes hello = {0x16, 0x03, 0x01, 0x00, 0x40};
  hello.resize(5 + 64, 0x32);
  h.orig(dt(hello));
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  Bytes app = {0x17, 0x03, 0x03, 0x00, 0x30};
  app.resize(5 + 48, 0x72);
  h.orig(dt(app));
  h.resp(dt({0x16, 0x03, 0x03, 0x00, 0x10, 1, 2, 3}));
  h.orig(dt({0x72, 0x03, 0x00, 0x01, 0x00}));  // ciphertext that looks like S7comm-plus: still TLS
  CHECK(h.rows("cotp").size() == 6);
  CHECK_FALSE(fs::exists(h.dir / "s7comm_plus.log"));
  CHECK(h.weirds.seen.empty());
  CHECK(h.ops.seen.empty());
}

TEST_CASE("s7comm garbage TSDUs in a confirmed flow are weirds", "[s7comm]") {
  Harness h("garbage_tsdu");
  h.handshake();
  h.orig(dt(job(1, kSetupReq)));
  h.orig(dt({0x41, 0x42}));
  h.orig(dt({0x32, 0x01, 0x00}));
  h.orig(dt({0x32, 0x09, 0, 0, 0, 5, 0, 0, 0, 0}));
  h.orig(dt(cat({job(6, kSetupReq), {0, 0, 0}})));
  Bytes cut = job(7, kSetupReq);
  cut.pop_back();
  h.orig(dt(cut));
  CHECK(h.weirds.count("s7comm_unknown_protocol_id") == 1);
  CHECK(h.weirds.count("s7comm_truncated_header") == 1);
  CHECK(h.weirds.count("s7comm_unknown_rosctr") == 1);
  CHECK(h.weirds.count("s7comm_trailing_bytes") == 1);
  CHECK(h.weirds.count("s7comm_truncated_pdu") == 1);
  const auto rows = h.rows("s7comm");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1] == Harness::row(true, "9\tunknown\t1280\t-\t-\t-\t-\t-\t-"));
}

TEST_CASE("s7comm program download: the PLC's Jobs are not the client's requests", "[s7comm]") {
  Harness h("download");
  h.handshake();
  const Bytes fname = text("_0800001P");
  h.orig(dt(job(0x0700, cat({{0x1A, 0x00, 0x01, 0x00}, be32(0), {9}, fname, {13}, text("1000176000048")}))));
  h.resp(dt(ack_data(0x0700, {0x1A})));
  h.resp(dt(job(0x0001, cat({{0x1B, 0x00, 0x01, 0x00}, be32(0), {9}, fname}))));
  h.orig(dt(ack_data(0x0001, {0x1B, 0x01}, cat({be16(4), be16(0xFB), {1, 2, 3, 4}}))));
  h.resp(dt(job(0x0002, cat({{0x1C, 0x00, 0x00, 0x00}, be32(0), {9}, fname}))));
  h.orig(dt(ack_data(0x0002, {0x1C})));
  CHECK(h.rows("s7comm_upload_download") ==
        std::vector<std::string>{
            Harness::row(true, "Job-Request\t7\tRequest Download\t0x00\t0\t-\t_0800001P\tOrganization Block\t00001\tPassive"),
            Harness::row(false, "ACK-Data\t7\tRequest Download\t-\t-\t-\t-\t-\t-\t-"),
            Harness::row(false, "Job-Request\t256\tDownload Block\t0x00\t0\t-\t_0800001P\tOrganization Block\t00001\tPassive"),
            Harness::row(true, "ACK-Data\t256\tDownload Block\t-\t-\t4\t-\t-\t-\t-"),
            Harness::row(false, "Job-Request\t512\tDownload Ended\t0x00\t0\t-\t_0800001P\tOrganization Block\t00001\tPassive"),
            Harness::row(true, "ACK-Data\t512\tDownload Ended\t-\t-\t-\t-\t-\t-\t-"),
        });
  REQUIRE(h.ops.seen.size() == 6);
  CHECK(h.ops.seen[0].name == "request_download");
  CHECK(h.ops.seen[0].is_request);
  CHECK(h.ops.seen[0].op_class == OpClass::Write);
  CHECK(h.ops.seen[2].name == "download_block");
  CHECK_FALSE(h.ops.seen[2].is_orig);
  CHECK_FALSE(h.ops.seen[2].is_request);  // sent by the PLC: never checked on its own
  CHECK(h.ops.seen[3].code == 0x1B);
  CHECK(h.ops.seen[3].is_orig);
  CHECK_FALSE(h.ops.seen[3].is_request);
  CHECK(h.ops.seen[4].name == "download_ended");
  CHECK_FALSE(h.ops.seen[4].is_request);
}

TEST_CASE("s7comm upload, PLC stop and hot start: s7comm_upload_download.log and events", "[s7comm]") {
  Harness h("upload");
  h.handshake();
  h.orig(dt(job(0x0100, cat({{0x1D, 0x00, 0x00, 0x00}, be32(0), {9}, text("_0A00001A")}))));
  h.resp(dt(ack_data(0x0100, cat({{0x1D, 0x00, 0x01, 0x00}, be32(7), {7}, text("0000216")}))));
  h.orig(dt(job(0x0200, cat({{0x1E, 0x00, 0x00, 0x00}, be32(7)}))));
  h.resp(dt(ack_data(0x0200, {0x1E, 0x00}, cat({be16(216), be16(0xFB), Bytes(216, 0x70)}))));
  h.orig(dt(job(0x0300, cat({{0x1F, 0x00, 0x00, 0x00}, be32(7)}))));
  h.resp(dt(ack_data(0x0300, {0x1F})));
  h.orig(dt(job(0x0400, cat({{0x28, 0, 0, 0, 0, 0, 0, 0xFD, 0, 0, 9}, text("P_PROGRAM")}))));
  h.resp(dt(ack_data(0x0400, {0x28})));
  CHECK(h.rows("s7comm_upload_download") ==
        std::vector<std::string>{
            Harness::row(true, "Job-Request\t1\tStart Upload\t0x00\t0\t-\t_0A00001A\tData Block\t00001\tActive"),
            Harness::row(false, "ACK-Data\t1\tStart Upload\t0x00\t7\t216\t-\t-\t-\t-"),
            Harness::row(true, "Job-Request\t2\tUpload\t0x00\t7\t-\t-\t-\t-\t-"),
            Harness::row(false, "ACK-Data\t2\tUpload\t0x00\t-\t216\t-\t-\t-\t-"),
            Harness::row(true, "Job-Request\t3\tEnd Upload\t0x00\t7\t-\t-\t-\t-\t-"),
            Harness::row(false, "ACK-Data\t3\tEnd Upload\t-\t-\t-\t-\t-\t-\t-"),
        });
  const auto rows = h.rows("s7comm");
  CHECK(rows[6] == Harness::row(true, "1\tJob-Request\t4\t0x28\tPLC Control\tP_PROGRAM\tPLC Start / Stop\t-\t-"));
  CHECK(rows[7] == Harness::row(false, "3\tACK-Data\t4\t0x28\tPLC Control\t-\t-\tNo error\t0x00"));
  REQUIRE(h.ops.seen.size() == 8);
  CHECK(h.ops.seen[0].name == "start_upload");
  CHECK(h.ops.seen[0].op_class == OpClass::Read);
  CHECK_FALSE(h.ops.seen[0].read_only);
  CHECK(h.ops.seen[6].name == "plc_control");
  CHECK(h.ops.seen[6].op_class == OpClass::Control);
}

TEST_CASE("s7comm userdata: rows, read SZL log, events with group and sub-function", "[s7comm]") {
  Harness h("userdata");
  h.handshake();
  h.orig(dt(userdata(0x0100, 0x44, 0x01, 0, szl_data(cat({be16(0x0424), be16(0)})))));
  h.resp(dt(userdata(0x0100, 0x84, 0x01, 0, szl_data(cat({be16(0x0424), be16(0), be16(20), be16(0)})), 0, 0, 0)));
  h.orig(dt(userdata(0x0200, 0x43, 0x03, 0, szl_data(text("0800001A")))));
  h.resp(dt(userdata(0x0200, 0x83, 0x03, 1, {0x0A, 0x00, 0x00, 0x00}, 0, 0, 0xD209)));
  h.orig(dt(userdata(0x0300, 0x47, 0x01, 0, {0x0A, 0x00, 0x00, 0x00})));
  h.resp(dt(s7pdu(kUserdata, 0, {0x01, 0x00, 0x10, 0x10, 0x00, 0x00, 0x00, 0x00}, {})));  // mode transition push
  CHECK(h.rows("s7comm") ==
        std::vector<std::string>{
            Harness::row(true, "7\tUser-Data\t1\t0x44\tRequest: CPU Functions\t0x01\tRead SZL\t-\t-"),
            Harness::row(false, "7\tUser-Data\t1\t0x84\tResponse: CPU Functions\t0x01\tRead SZL\tNo error\t0x00"),
            Harness::row(true, "7\tUser-Data\t2\t0x43\tRequest: Block Functions\t0x03\tGet Block Info\t-\t-"),
            Harness::row(false, "7\tUser-Data\t2\t0x83\tResponse: Block Functions\t0x03\tGet Block Info\tParameter Error\t0xd209"),
            Harness::row(true, "7\tUser-Data\t3\t0x47\tRequest: Time Functions\t0x01\tRead Clock\t-\t-"),
            Harness::row(false, "7\tUser-Data\t0\t0x00\tPush: Mode-Transition\t0x00\tStop\t-\t-"),
        });
  CHECK(h.rows("s7comm_read_szl") ==
        std::vector<std::string>{
            Harness::row(true, "1\tRequest\t0x0424\tModes\t0x0000\t0xff\tSuccess"),
            Harness::row(false, "1\tResponse\t0x0424\tModes\t0x0000\t0xff\tSuccess"),
        });
  REQUIRE(h.ops.seen.size() == 6);
  CHECK(h.ops.seen[0].code == kS7UserdataOpCode);
  CHECK(h.ops.seen[0].name == "userdata");
  CHECK(h.ops.seen[0].subfunction == 0x0401);
  CHECK(h.ops.seen[0].is_request);
  CHECK(h.ops.seen[0].read_only);
  CHECK(h.ops.seen[0].op_class == OpClass::Read);
  CHECK_FALSE(h.ops.seen[1].is_request);
  CHECK(h.ops.seen[2].subfunction == 0x0303);
  CHECK_FALSE(h.ops.seen[2].read_only);
  CHECK(h.ops.seen[3].exception == 0xD209);
  CHECK(h.ops.seen[4].subfunction == 0x0701);
  CHECK(h.ops.seen[4].read_only);
  CHECK_FALSE(h.ops.seen[5].is_request);  // a push
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm SZL 0x0011 and fragmented 0x001C responses reach the identification hook", "[s7comm]") {
  Harness h("ident");
  h.handshake();
  const Bytes mlfb = padded("6ES7 315-2EH14-0AB0", 20, ' ');
  const Bytes recs = cat({be16(1), mlfb, be16(0xC0), be16(4), be16(1), be16(6), mlfb, be16(0xC0), be16(4), be16(1),
                          be16(7), padded("", 20, ' '), be16(0xC0), be16(0x5603), be16(0x0206)});
  h.orig(dt(userdata(0x0100, 0x44, 0x01, 0, szl_data(cat({be16(0x0011), be16(0)})))));
  h.resp(dt(userdata(0x0100, 0x84, 0x01, 0, szl_data(cat({be16(0x0011), be16(0), be16(28), be16(3), recs})), 0, 0, 0)));
  REQUIRE(h.idents.size() == 1);
  CHECK(h.idents[0].f["order_number"] == "6ES7 315-2EH14-0AB0");
  CHECK(h.idents[0].f["firmware"] == "V3.2.6");
  CHECK(h.idents[0].f["module_type"] == "192");
  CHECK(h.idents[0].f["serial"].empty());
  CHECK(h.idents[0].f["called_tsap"] == std::string("\x01\x02", 2));
  CHECK(h.idents[0].plc_is_responder);
  CHECK(h.idents[0].szl_id == 0x0011);
  // 0x001C in two fragments, a record split between them, with the client's follow-up request.
  const std::vector<std::pair<uint16_t, std::string>> texts = {
      {1, "S7-300 station"}, {2, "PLC-FILL-1"}, {3, "pump-house-2"}, {4, "Original Siemens Equipment"},
      {5, "S C-X4U421302012"}, {7, "CPU 315-2 PN/DP"}, {8, "MMC 267FF11F"}};
  Bytes all;
  for (const auto& [i, t] : texts) all = cat({all, be16(i), padded(t, 32, 0)});
  h.orig(dt(userdata(0x0200, 0x44, 0x01, 0, szl_data(cat({be16(0x001C), be16(0)})))));
  h.resp(dt(userdata(0x0200, 0x84, 0x01, 3,
                     szl_data(cat({be16(0x001C), be16(0), be16(34), be16(7), Bytes(all.begin(), all.begin() + 150)})),
                     5, 1, 0)));
  CHECK(h.idents.size() == 1);  // not complete yet
  h.orig(dt(userdata(0x0300, 0x44, 0x01, 3, {0x0A, 0x00, 0x00, 0x00}, 0, 0, 0)));
  h.resp(dt(userdata(0x0300, 0x84, 0x01, 3, szl_data(Bytes(all.begin() + 150, all.end())), 5, 0, 0)));
  REQUIRE(h.idents.size() == 2);
  auto& f = h.idents[1].f;
  CHECK(h.idents[1].szl_id == 0x001C);
  CHECK(f["order_number"] == "6ES7 315-2EH14-0AB0");  // accumulated over the connection
  CHECK(f["system_name"] == "S7-300 station");
  CHECK(f["module_name"] == "PLC-FILL-1");
  CHECK(f["plant_id"] == "pump-house-2");
  CHECK(f["copyright"] == "Original Siemens Equipment");
  CHECK(f["serial"] == "S C-X4U421302012");
  CHECK(f["type_name"] == "CPU 315-2 PN/DP");
  CHECK(f["card_serial"] == "MMC 267FF11F");
  // The follow-on fragment and the follow-up request have no SZL header: no read_szl rows for them.
  CHECK(h.rows("s7comm_read_szl").size() == 4);
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("s7comm-plus: s7comm_plus.log rows and S7commPlus operation events", "[s7comm]") {
  Harness h("plus");
  h.orig(connect_tpdu(0xE0, {6, 0}, text("SIMATIC-ROOT-HMI")));
  h.resp(connect_tpdu(0xD0, {6, 0}, text("SIMATIC-ROOT-HMI")));
  h.orig(dt(plus(1, 0x31, 0x04CA, 1, Bytes(20, 1), 0x120)));
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  h.resp(dt(plus(1, 0x32, 0x04CA, 1, Bytes(20, 2))));
  h.orig(dt(plus(3, 0x31, 0x0542, 2, Bytes(8, 3), 0x389, true)));
  h.resp(dt(plus(3, 0x32, 0x0542, 2, Bytes(8, 4), std::nullopt, true)));
  h.orig(dt({0x72, 0xFF, 0x01, 0x00}));
  h.orig(dt(plus(3, 0x31, 0x054C, 3, Bytes(8, 3), 0x389, true)));
  h.resp(dt(plus(3, 0x32, 0x054C, 3, Bytes(100, 5), std::nullopt, true, false)));
  h.resp(dt(cat({{0x72, 0x03}, be16(33 + 40), {32}, Bytes(32, 9), Bytes(40, 6), {0x72, 0x03, 0, 0}})));
  h.orig(dt(cat({{0x72, 0x02}, be16(5), {0x33, 0, 0, 0, 1}, {0x72, 0x02, 0, 0}})));  // a notification
  CHECK(h.rows("s7comm_plus") ==
        std::vector<std::string>{
            Harness::row(true, "1\t0x31\tRequest\t0x04ca\tCreate Object"),
            Harness::row(false, "1\t0x32\tResponse\t0x04ca\tCreate Object"),
            Harness::row(true, "3\t0x31\tRequest\t0x0542\tSet Multi Variables"),
            Harness::row(false, "3\t0x32\tResponse\t0x0542\tSet Multi Variables"),
            Harness::row(true, "255\t-\t-\t-\t-"),
            Harness::row(true, "3\t0x31\tRequest\t0x054c\tGet Multi Variables"),
            Harness::row(false, "3\t0x32\tResponse\t0x054c\tGet Multi Variables"),
            Harness::row(false, "3\t-\t-\t-\t-"),
            Harness::row(true, "2\t0x33\tNotification\t-\t-"),
        });
  REQUIRE(h.ops.seen.size() == 6);
  CHECK(h.ops.seen[0].protocol == Protocol::S7commPlus);
  CHECK(h.ops.seen[0].name == "create_object");
  CHECK(h.ops.seen[0].code == 0x04CA);
  CHECK(h.ops.seen[0].is_request);
  CHECK(h.ops.seen[0].op_class == OpClass::Write);
  CHECK_FALSE(h.ops.seen[0].read_only);
  CHECK_FALSE(h.ops.seen[1].is_request);
  CHECK(h.ops.seen[4].name == "get_multi_variables");
  CHECK(h.ops.seen[4].op_class == OpClass::Read);
  CHECK(h.weirds.seen.empty());
  CHECK_FALSE(fs::exists(h.dir / "s7comm.log"));
}

TEST_CASE("s7comm-plus bad digest length and truncated envelopes are weirds, not failures", "[s7comm]") {
  Harness h("plus_bad");
  h.handshake();
  Bytes bad = plus(3, 0x31, 0x054C, 3, Bytes(8, 3), 0x389, true);
  bad[4] = 20;
  h.orig(dt(bad));
  h.orig(dt({0x72, 0x01, 0x00, 0x40, 0x31, 0x00}));
  h.orig(dt({0x72, 0x01}));
  h.orig(dt(plus(1, 0x31, 0x04BB, 4, {}, 1)));
  CHECK(h.weirds.count("s7comm_plus_bad_digest_length") == 1);
  CHECK(h.weirds.count("s7comm_plus_truncated_pdu") == 1);
  CHECK(h.weirds.count("s7comm_plus_truncated_header") == 1);
  CHECK(h.rows("s7comm_plus").size() == 3);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
}

TEST_CASE("s7comm end of connection: partial TPKT and TSDU are weirds", "[s7comm]") {
  Harness h("end");
  h.handshake();
  h.orig(dt(job(1, kSetupReq)));
  h.orig(dt({0x32, 0x01}, false));
  const Bytes part = dt(job(2, kSetupReq));
  h.orig(Bytes(part.begin(), part.begin() + 5));
  h.close();
  CHECK(h.weirds.count("s7comm_partial_tpkt_at_end") == 1);
  CHECK(h.weirds.count("cotp_partial_tsdu_at_end") == 1);
}

// ---------------------------------------------------------------------------------------------------
// pcaps/s7comm.pcap through otsensor

TEST_CASE("s7comm pcaps/s7comm.pcap through otsensor: every log as expected", "[s7comm][pcap]") {
  const fs::path pcap = test::source_dir() / "pcaps" / "s7comm.pcap";
  REQUIRE(fs::exists(pcap));
  const fs::path out = test::scratch_dir("s7comm_pcap");
  const auto r = test::run(test::otsensor() + " -q -r '" + pcap.string() + "' -l '" + out.string() + "'");
  REQUIRE(r.exit_code == 0);

  // conn.log: three S7 connections (S7comm, S7comm-plus, TLS); the MMS one is not S7.
  std::vector<std::string> services;
  for (const auto& l : test::log_lines(out / "conn.log")) {
    const auto f = split_tab(l);
    services.push_back(f[2] + ":" + f[3] + " " + f[7]);
  }
  CHECK(services == std::vector<std::string>{"10.20.1.100:49200 s7comm", "10.20.1.50:50100 s7comm",
                                             "10.20.1.100:49300 s7comm", "10.20.1.100:49400 -"});
  CHECK_FALSE(fs::exists(out / "weird.log"));

  // s7comm.log: (is_orig, rosctr, pdu reference, function, sub-function, error class) per row.
  std::vector<std::string> s7rows;
  for (const auto& l : test::log_lines(out / "s7comm.log")) {
    const auto f = split_tab(l);
    s7rows.push_back(f[6] + " " + f[11] + " " + f[13] + " " + f[14] + " " + f[16] + " " + f[18]);
  }
  const std::vector<std::string> expect = {
      "T 1 1 0xf0 - -", "F 3 1 0xf0 - No error",            // setup communication
      "T 1 2 0x04 - -", "F 3 2 0x04 - No error",            // read var, three items
      "T 1 3 0x05 - -", "F 3 3 0x05 - No error",            // write var
      "T 1 4 0x04 - -", "F 3 4 0x04 - No error",            // read var, segmented response
      "T 7 5 0x44 0x01 -", "F 7 5 0x84 0x01 No error",      // read SZL 0x0011
      "T 7 6 0x44 0x01 -", "F 7 6 0x84 0x01 No error",      // read SZL 0x001C, first fragment
      "T 7 7 0x44 0x01 No error", "F 7 7 0x84 0x01 No error",  // follow-up
      "T 1 8 0x1a - -", "F 3 8 0x1a - No error",            // request download
      "F 1 256 0x1b - -", "T 3 256 0x1b - No error",        // download block (PLC's Job)
      "F 1 512 0x1b - -", "T 3 512 0x1b - No error",
      "F 1 768 0x1c - -", "T 3 768 0x1c - No error",        // download ended
      "T 1 9 0x28 _INSE -", "F 3 9 0x28 - No error",
      "T 1 10 0x1d - -", "F 3 10 0x1d - No error",          // upload
      "T 1 11 0x1e - -", "F 3 11 0x1e - No error",
      "T 1 12 0x1f - -", "F 3 12 0x1f - No error",
      "T 1 13 0x29 - -", "F 3 13 0x29 - No error",          // PLC stop
      "T 1 14 0x28 P_PROGRAM -", "F 3 14 0x28 - No error",  // hot start
  };
  CHECK(s7rows == expect);

  CHECK(rows_without_ts(out / "s7comm_read_szl.log") ==
        std::vector<std::string>{
            "10.20.1.100\t49200\t10.20.1.30\t102\tT\t10.20.1.100\t49200\t10.20.1.30\t102\t5\tRequest\t0x0011\tModule identification\t0x0000\t0xff\tSuccess",
            "10.20.1.100\t49200\t10.20.1.30\t102\tF\t10.20.1.30\t102\t10.20.1.100\t49200\t5\tResponse\t0x0011\tModule identification\t0x0000\t0xff\tSuccess",
            "10.20.1.100\t49200\t10.20.1.30\t102\tT\t10.20.1.100\t49200\t10.20.1.30\t102\t6\tRequest\t0x001c\tComponent Identification\t0x0000\t0xff\tSuccess",
            "10.20.1.100\t49200\t10.20.1.30\t102\tF\t10.20.1.30\t102\t10.20.1.100\t49200\t6\tResponse\t0x001c\tComponent Identification\t0x0000\t0xff\tSuccess",
        });

  std::vector<std::string> ud;
  for (const auto& l : test::log_lines(out / "s7comm_upload_download.log")) {
    const auto f = split_tab(l);
    std::string s = f[6];
    for (size_t i = 11; i < f.size(); ++i) s += "|" + f[i];
    ud.push_back(s);
  }
  CHECK(ud == std::vector<std::string>{
                  "T|Job-Request|8|Request Download|0x00|0|-|_0800001P|Organization Block|00001|Passive",
                  "F|ACK-Data|8|Request Download|-|-|-|-|-|-|-",
                  "F|Job-Request|256|Download Block|0x00|0|-|_0800001P|Organization Block|00001|Passive",
                  "T|ACK-Data|256|Download Block|-|-|100|-|-|-|-",
                  "F|Job-Request|512|Download Block|0x00|0|-|_0800001P|Organization Block|00001|Passive",
                  "T|ACK-Data|512|Download Block|-|-|76|-|-|-|-",
                  "F|Job-Request|768|Download Ended|0x00|0|-|_0800001P|Organization Block|00001|Passive",
                  "T|ACK-Data|768|Download Ended|-|-|-|-|-|-|-",
                  "T|Job-Request|10|Start Upload|0x00|0|-|_0A00001A|Data Block|00001|Active",
                  "F|ACK-Data|10|Start Upload|0x00|7|42|-|-|-|-",
                  "T|Job-Request|11|Upload|0x00|7|-|-|-|-|-",
                  "F|ACK-Data|11|Upload|0x00|-|42|-|-|-|-",
                  "T|Job-Request|12|End Upload|0x00|7|-|-|-|-|-",
                  "F|ACK-Data|12|End Upload|-|-|-|-|-|-|-",
              });

  std::vector<std::string> sp;
  for (const auto& l : test::log_lines(out / "s7comm_plus.log")) {
    const auto f = split_tab(l);
    sp.push_back(f[6] + " " + f[11] + " " + f[12] + " " + f[14]);
  }
  CHECK(sp == std::vector<std::string>{"T 1 0x31 0x04ca", "F 1 0x32 0x04ca", "T 3 0x31 0x0542", "F 3 0x32 0x0542",
                                       "T 3 0x31 0x054c", "F 3 0x32 0x054c", "T 3 0x31 0x054c", "F 3 0x32 0x054c",
                                       "T 255 - -",       "T 3 0x31 0x054c", "F 3 0x32 0x054c", "F 3 - -",
                                       "T 3 0x31 0x04d4", "F 3 0x32 0x04d4"});

  // cotp.log: CR, CC and 36 DT TPDUs in the S7comm session (34 PDUs, one of them in three DTs), 16
  // TPDUs of the S7comm-plus one, 8 of the TLS one, and the MMS connection's CR, CC and first DT before
  // it is given up.
  std::map<std::string, int> cotp;
  for (const auto& l : test::log_lines(out / "cotp.log")) {
    const auto f = split_tab(l);
    ++cotp[f[3] + " " + f[11]];
  }
  CHECK(cotp == std::map<std::string, int>{{"49200 0x0d", 1}, {"49200 0x0e", 1}, {"49200 0x0f", 36},
                                           {"50100 0x0d", 1}, {"50100 0x0e", 1}, {"50100 0x0f", 14},
                                           {"49300 0x0d", 1}, {"49300 0x0e", 1}, {"49300 0x0f", 6},
                                           {"49400 0x0d", 1}, {"49400 0x0e", 1}, {"49400 0x0f", 1}});
}
