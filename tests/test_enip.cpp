// EtherNet/IP and CIP: the pure parsers on bytes, the names, the analyzers over synthetic connections
// writing real log files, and the generated pcaps/enip.pcap through the otsensor binary.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dissectors/enip/cip_names.hpp"
#include "dissectors/enip/cip_parser.hpp"
#include "dissectors/enip/enip.hpp"
#include "dissectors/enip/enip_logs.hpp"
#include "dissectors/enip/enip_parser.hpp"
#include "output/log_manager.hpp"
#include "test_support.hpp"

using namespace ots;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes le16(uint16_t v) { return {uint8_t(v), uint8_t(v >> 8)}; }
Bytes le32(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }
Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

const Bytes kCtx = str("otsensor");

// An encapsulation message (Vol 2 §2-3.1).
Bytes encap(uint16_t cmd, const Bytes& data, uint32_t session = 0, const Bytes& ctx = kCtx, uint32_t status = 0) {
  return cat({le16(cmd), le16(uint16_t(data.size())), le32(session), le32(status), ctx, le32(0), data});
}
Bytes cpf(std::initializer_list<std::pair<uint16_t, Bytes>> items) {
  Bytes out = le16(uint16_t(items.size()));
  for (const auto& [type, data] : items) out = cat({out, le16(type), le16(uint16_t(data.size())), data});
  return out;
}
// SendRRData data: interface handle 0, timeout 10, null address + unconnected data item.
Bytes rr(const Bytes& cip) { return cat({le32(0), le16(10), cpf({{0x0000, {}}, {0x00B2, cip}})}); }
// SendUnitData data: connected address + connected data (sequence count, message).
Bytes unit(uint32_t conn, uint16_t seq, const Bytes& cip) {
  return cat({le32(0), le16(0), cpf({{0x00A1, le32(conn)}, {0x00B1, cat({le16(seq), cip})}})});
}
Bytes req(uint8_t service, const Bytes& path, const Bytes& data = {}) {
  return cat({{service, uint8_t(path.size() / 2)}, path, data});
}
Bytes rsp(uint8_t service, uint8_t status = 0, const Bytes& data = {}, int ext = -1) {
  Bytes add = ext >= 0 ? le16(uint16_t(ext)) : Bytes{};
  return cat({{uint8_t(service | 0x80), 0, status, uint8_t(add.size() / 2)}, add, data});
}
Bytes msp(std::initializer_list<Bytes> services) {
  Bytes table = le16(uint16_t(services.size())), body;
  size_t off = 2 + 2 * services.size();
  for (const Bytes& s : services) {
    table = cat({table, le16(uint16_t(off + body.size()))});
    body = cat({body, s});
  }
  return cat({table, body});
}
Bytes symbol(const std::string& name) {
  Bytes out = cat({{0x91, uint8_t(name.size())}, str(name)});
  if (name.size() % 2) out.push_back(0);
  return out;
}
Bytes identity_item(uint32_t addr, uint16_t vendor, uint16_t type, uint16_t product, uint8_t maj, uint8_t min,
                    uint16_t status, uint32_t serial, const std::string& name, uint8_t state) {
  const Bytes sock = {0, 2, 0xAF, 0x12, uint8_t(addr >> 24), uint8_t(addr >> 16), uint8_t(addr >> 8), uint8_t(addr),
                      0, 0, 0, 0, 0, 0, 0, 0};
  return cat({le16(1), sock, le16(vendor), le16(type), le16(product), {maj, min}, le16(status), le32(serial),
              {uint8_t(name.size())}, str(name), {state}});
}

const Bytes kIdentityPath = {0x20, 0x01, 0x24, 0x01};
const Bytes kCmPath = {0x20, 0x06, 0x24, 0x01};

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
  std::vector<OperationEvent> seen;
  std::vector<std::string> names;  // ev.name outlives nothing: copy it
  void on_operation(const OperationEvent& ev) override {
    seen.push_back(ev);
    seen.back().pdu = {};
    names.emplace_back(ev.name);
    seen.back().name = {};
  }
};

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

std::string ts_text(uint64_t t_us) {
  char ts[32];
  std::snprintf(ts, sizeof ts, "1700000000.%06u", static_cast<unsigned>(t_us));
  return ts;
}

// One connection 10.0.0.9:3082 -> 10.0.0.3:44818 (TCP, or UDP) through the analyzer, logs in a scratch dir.
struct Harness {
  fs::path dir;
  std::unique_ptr<LogManager> mgr;
  std::vector<LogId> ids;
  std::vector<LogId> io_ids;
  std::unique_ptr<LogSink> sink;
  Weirds weirds;
  Ops ops;
  EnipOptions opts;
  std::vector<EnipIdentity> identities;
  std::vector<std::string> product_names;
  std::vector<CipConnection> bindings;
  Conn conn;
  std::unique_ptr<Analyzer> a;
  std::string uid;
  uint64_t messages = 0;
  bool closed = false;

  explicit Harness(const std::string& name, Transport t = Transport::Tcp, uint16_t resp_port = 44818) {
    enip::worker_connections().clear();
    dir = test::scratch_dir("enip/" + name);
    mgr = std::make_unique<LogManager>(LogManager::Options{dir.string()});
    for (const LogSchema* s : kEnipModule.logs) ids.push_back(mgr->add(*s));
    for (const LogSchema* s : kCipIoModule.logs) io_ids.push_back(mgr->add(*s));
    sink = mgr->make_sink();
    opts.on_identity = [this](const EnipIdentity& d) {
      identities.push_back(d);
      product_names.emplace_back(d.product_name);
      identities.back().product_name = {};
      identities.back().vendor_name = {};
      identities.back().device_type_name = {};
    };
    opts.on_io_binding = [this](const CipIoBinding& b) { bindings.push_back(*b.connection); };
    conn.set_id(ConnId{IpAddr::v4(0x0A000009), IpAddr::v4(0x0A000003), 3082, resp_port, t});
    uid = conn.uid().to_string();
    AnalyzerContext ctx{sink.get(), &weirds, &ops, ids.data()};
    AnalyzerContext io_ctx{sink.get(), &weirds, &ops, io_ids.data()};
    a = resp_port == 2222 ? make_cip_io_analyzer(io_ctx, opts) : make_enip_analyzer(ctx, t, opts);
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
    return test::log_lines(dir / (log + ".log"));
  }

  // The correlation id of the n-th message of this connection (1-based).
  std::string corr(uint64_t n) const { return std::string(enip::make_correlation_id(conn.uid(), n).view()); }

  std::string prefix(uint64_t t_us, bool is_orig) const {
    const std::string o = "10.0.0.9\t3082", r = "10.0.0.3\t" + std::to_string(conn.resp_p());
    return ts_text(t_us) + "\t" + uid + "\t" + o + "\t" + r + "\t" + (is_orig ? "T\t" + o + "\t" + r : "F\t" + r + "\t" + o);
  }
  std::string enip_row(uint64_t t_us, bool is_orig, uint64_t n, const std::string& rest) const {
    return prefix(t_us, is_orig) + "\t" + corr(n) + "\t" + rest;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Encapsulation (Vol 2 chapter 2)

TEST_CASE("enip header: every field little endian, 24 bytes", "[enip]") {
  const Bytes m = encap(0x65, {1, 0, 0, 0}, 0x11223344, str("ABCDEFGH"), 0x69);
  enip::Header h;
  REQUIRE(enip::parse_header(m, h));
  CHECK(h.command == 0x65);
  CHECK(h.length == 4);
  CHECK(h.session == 0x11223344);
  CHECK(h.status == 0x69);
  CHECK(Bytes(h.sender_context.begin(), h.sender_context.end()) == str("ABCDEFGH"));
  CHECK(h.options == 0);
  CHECK(h.message_size() == 28);
  CHECK_FALSE(enip::parse_header(Bytes(m.begin(), m.begin() + 23), h));
}

TEST_CASE("enip every command is known, legacy and future codes are not", "[enip]") {
  for (int c : {0x00, 0x04, 0x63, 0x64, 0x65, 0x66, 0x6F, 0x70, 0x72, 0x73})
    CHECK(enip::is_known_command(uint16_t(c)));
  for (int c : {0x01, 0x05, 0x62, 0x67, 0x71, 0xC8, 0xFFFF}) CHECK_FALSE(enip::is_known_command(uint16_t(c)));
  CHECK(enip::is_defined_range(0x0001));
  CHECK_FALSE(enip::is_defined_range(0x00C8));
  CHECK(enip_command_name(0x63) == "List Identity");
  CHECK(enip_command_name(0x6F) == "Send RR Data");
  CHECK(enip_command_name(0x01) == "unknown");
  CHECK(enip_command_snake_name(0x66) == "unregister_session");
  std::string s;
  CHECK(enip_status_name(0x64, s) == "Invalid Session Handle");
  CHECK(enip_status_name(0x99, s) == "Unknown ENIP Status-0x99");
}

TEST_CASE("enip plausible header: command, status, options and per-command fields", "[enip]") {
  size_t need = 0;
  using P = enip::Plausible;
  CHECK(enip::plausible_message_start(encap(0x65, {1, 0, 0, 0}), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x65, {1, 0}), need) == P::No);          // RegisterSession is 4 bytes
  CHECK(enip::plausible_message_start(encap(0x66, {}), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x66, {1}), need) == P::No);
  CHECK(enip::plausible_message_start(encap(0x63, {}), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x04, {}), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x64, {}), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x00, {1, 2, 3}), need) == P::No);  // NOP: 24 zero bytes would be one
  CHECK(enip::plausible_message_start(encap(0x6F, rr(req(0x0E, kIdentityPath))), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x70, unit(1, 1, req(0x0E, kIdentityPath))), need) == P::Yes);
  CHECK(enip::plausible_message_start(encap(0x6F, {}, 0, kCtx, 0x64), need) == P::Yes);  // error reply, no data
  CHECK(enip::plausible_message_start(encap(0x6F, cat({le32(5), le16(0), le16(2)})), need) == P::No);  // handle != 0
  CHECK(enip::plausible_message_start(encap(0x01, {}), need) == P::No);              // legacy command
  CHECK(enip::plausible_message_start(encap(0x65, {1, 0, 0, 0}, 0, kCtx, 0x42), need) == P::No);  // status
  Bytes opt = encap(0x65, {1, 0, 0, 0});
  opt[20] = 1;
  CHECK(enip::plausible_message_start(opt, need) == P::No);
  const Bytes m = encap(0x6F, rr(req(0x0E, kIdentityPath)));
  CHECK(enip::plausible_message_start(Bytes(m.begin(), m.begin() + 10), need) == P::NeedMore);
  CHECK(enip::plausible_message_start(Bytes(m.begin(), m.begin() + 26), need) == P::NeedMore);
  CHECK(need == 32);
  CHECK(enip::plausible_message_start(Bytes{0x42, 0x00}, need) == P::No);
}

TEST_CASE("enip resync scan skips only offsets plausible_message_start refuses", "[enip]") {
  // Garbage with real headers and near misses in it (a known low byte before a non-zero high byte, NOP,
  // a command at the very end).
  Bytes b = cat({Bytes{0x70, 0x01, 0x6F}, encap(0x65, {1, 0, 0, 0}), Bytes{0x00, 0x00, 0x04, 0x00, 0x63},
                 encap(0x70, unit(1, 1, req(0x0E, kIdentityPath))), Bytes{0x42, 0x66}});
  for (uint32_t x = 1; b.size() < 400; x = x * 1103515245u + 12345u) b.push_back(static_cast<uint8_t>(x >> 24));
  b.push_back(0x6F);
  const std::span<const uint8_t> all(b);
  size_t from = 0, skipped = 0, starts = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    size_t need = 0;
    const bool plausible = enip::plausible_message_start(all.subspan(i), need) != enip::Plausible::No;
    if (i > from || i == 0) from = enip::next_command_candidate(all, i);
    CHECK(from >= i);
    if (plausible) CHECK(from == i);
    skipped += from != i;
    starts += plausible;
  }
  CHECK(starts == 3);  // both messages and the last byte
  CHECK(skipped > b.size() * 9 / 10);
  CHECK(enip::next_command_candidate(all, b.size()) == b.size());
}

TEST_CASE("enip CPF items: null, connected and sequenced address, data items, sockaddr, trailing", "[enip]") {
  const Bytes sock = {0, 2, 0x08, 0xAE, 0xEF, 0xC0, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
  const Bytes block = cpf({{0x0000, {}}, {0x00A1, le32(0xDEADBEEF)}, {0x8002, cat({le32(7), le32(99)})},
                           {0x00B2, {0x0E, 0x00}}, {0x00B1, {0x05, 0x00, 0x0E, 0x00}}, {0x8000, sock}, {0x8001, sock}});
  enip::CpfItems items(block);
  CHECK(items.count() == 7);
  enip::CpfItem it;
  std::vector<uint16_t> types;
  while (items.next(it)) {
    types.push_back(it.type);
    CHECK(enip::is_known_item(it.type));
    if (it.type == 0x00A1) {
      uint32_t id = 0;
      CHECK(enip::parse_connected_address(it.data, id));
      CHECK(id == 0xDEADBEEF);
    } else if (it.type == 0x8002) {
      enip::SequencedAddress a;
      REQUIRE(enip::parse_sequenced_address(it.data, a));
      CHECK(a.connection_id == 7);
      CHECK(a.sequence == 99);
    } else if (it.type == 0x00B1) {
      enip::ConnectedData d;
      REQUIRE(enip::parse_connected_data(it.data, d));
      CHECK(d.sequence_count == 5);
      CHECK(d.message.size() == 2);
    } else if (it.type == 0x8000) {
      enip::Sockaddr s;
      REQUIRE(enip::parse_sockaddr(it.data, s));  // big endian (§2-6.3.2)
      CHECK(s.family == 2);
      CHECK(s.port == 2222);
      CHECK(s.addr == 0xEFC00101);
    }
  }
  CHECK_FALSE(items.error());
  CHECK(types == std::vector<uint16_t>{0x0000, 0x00A1, 0x8002, 0x00B2, 0x00B1, 0x8000, 0x8001});
  // An item running past the block, and a count promising more items than there are.
  Bytes cut = block;
  cut.resize(cut.size() - 3);
  enip::CpfItems bad(cut);
  while (bad.next(it)) {
  }
  CHECK(bad.error());
  Bytes more = cpf({{0x0000, {}}});
  more[0] = 2;
  enip::CpfItems short_count(more);
  while (short_count.next(it)) {
  }
  CHECK(short_count.error());
  CHECK_FALSE(enip::is_known_item(0x1234));
}

TEST_CASE("enip RegisterSession, SendRRData/SendUnitData data and ListServices items", "[enip]") {
  enip::RegisterSession rs;
  REQUIRE(enip::parse_register_session(Bytes{1, 0, 0, 0}, rs));
  CHECK(rs.protocol_version == 1);
  CHECK(rs.options == 0);
  CHECK_FALSE(enip::parse_register_session(Bytes{1, 0, 0}, rs));
  CHECK_FALSE(enip::parse_register_session(Bytes{1, 0, 0, 0, 0}, rs));
  enip::SendData sd;
  REQUIRE(enip::parse_send_data(rr(req(0x0E, kIdentityPath)), sd));
  CHECK(sd.interface_handle == 0);
  CHECK(sd.timeout == 10);
  CHECK(sd.cpf.size() == 2 + 4 + 4 + 6);
  CHECK_FALSE(enip::parse_send_data(Bytes{0, 0, 0, 0, 0, 0, 2}, sd));
  const Bytes svc = cat({le16(1), le16(0x0120), str("Communications"), Bytes{0, 0}});
  enip::ServiceItem si;
  REQUIRE(enip::parse_service_item(svc, si));
  CHECK(si.version == 1);
  CHECK(si.capability == 0x0120);
  CHECK(std::string(si.name.begin(), si.name.end()) == "Communications");
  CHECK_FALSE(enip::parse_service_item(Bytes(svc.begin(), svc.end() - 1), si));
}

TEST_CASE("enip ListIdentity item: identity attributes and the big-endian socket address", "[enip]") {
  const Bytes item = identity_item(0x0A010164, 1, 12, 58, 4, 3, 0x0030, 0x00524D8E, "1756-ENBT/A", 3);
  enip::Identity id;
  REQUIRE(enip::parse_identity(item, id));
  CHECK(id.encapsulation_version == 1);
  CHECK(id.socket.family == 2);
  CHECK(id.socket.port == 44818);
  CHECK(id.socket.addr == 0x0A010164);
  CHECK(id.vendor_id == 1);
  CHECK(id.device_type == 12);
  CHECK(id.product_code == 58);
  CHECK(id.revision_major == 4);
  CHECK(id.revision_minor == 3);
  CHECK(id.status == 0x0030);
  CHECK(id.serial_number == 0x00524D8E);
  CHECK(std::string(id.product_name.begin(), id.product_name.end()) == "1756-ENBT/A");
  CHECK(id.has_state);
  CHECK(id.state == 3);
  REQUIRE(enip::parse_identity(Bytes(item.begin(), item.end() - 1), id));
  CHECK_FALSE(id.has_state);
  CHECK_FALSE(enip::parse_identity(Bytes(item.begin(), item.end() - 2), id));  // product name cut
  CHECK(cip_vendor_name(1) == "Rockwell Automation/Allen-Bradley");
  CHECK(cip_vendor_name(0xFFFE).empty());
  CHECK(cip_device_type_name(12) == "Communications Adapter");
  CHECK(cip_device_type_name(14) == "Programmable Logic Controller");
  CHECK(cip_device_type_name(9999).empty());
}

TEST_CASE("enip UDP I/O packet: sequenced address and connected data items", "[enip]") {
  const Bytes io = cpf({{0x8002, cat({le32(0x004B0603), le32(4166875)})}, {0x00B1, {0xA5, 0x87, 0xE8, 0x0F, 3, 0}}});
  enip::IoPacket p;
  REQUIRE(enip::parse_io_packet(io, p) == enip::IoStatus::Ok);
  CHECK(p.connection_id == 0x004B0603);
  CHECK(p.sequence == 4166875);
  CHECK(p.data.size() == 6);
  CHECK(enip::parse_io_packet(cpf({{0x00B1, {1}}}), p) == enip::IoStatus::NoSequenced);
  CHECK(enip::parse_io_packet(cpf({{0x8002, cat({le32(1), le32(2)})}}), p) == enip::IoStatus::NoData);
  CHECK(enip::parse_io_packet(Bytes(io.begin(), io.end() - 1), p) == enip::IoStatus::Truncated);
  CHECK(enip::parse_io_packet(cpf({{0x8002, le32(1)}, {0x00B1, {1}}}), p) == enip::IoStatus::Truncated);
}

// ---------------------------------------------------------------------------------------------------
// CIP (Vol 1)

TEST_CASE("cip EPATH: 8-, 16- and 32-bit logical segments, padded and packed", "[enip]") {
  cip::Path p;
  REQUIRE(cip::parse_path(Bytes{0x20, 0x01, 0x24, 0x01, 0x30, 0x07}, p) == cip::PathStatus::Ok);
  CHECK(p.class_id == 1);
  CHECK(p.instance_id == 1);
  CHECK(p.attribute_id == 7);
  CHECK(p.segments == 3);
  // 16-bit class and instance with a pad byte, 32-bit instance, 16-bit connection point (padded).
  REQUIRE(cip::parse_path(Bytes{0x21, 0x00, 0x34, 0x12, 0x25, 0x00, 0x20, 0x24, 0x2D, 0x00, 0x64, 0x00}, p) ==
          cip::PathStatus::Ok);
  CHECK(p.class_id == 0x1234);
  CHECK(p.instance_id == 0x2420);
  CHECK(p.connection_point == 0x64);
  REQUIRE(cip::parse_path(Bytes{0x20, 0x6B, 0x26, 0x00, 0x78, 0x56, 0x34, 0x12}, p) == cip::PathStatus::Ok);
  CHECK(p.class_id == 0x6B);
  CHECK(p.instance_id == 0x12345678);
  // Packed (no pad bytes).
  REQUIRE(cip::parse_path(Bytes{0x21, 0x34, 0x12, 0x24, 0x05}, p, false) == cip::PathStatus::Ok);
  CHECK(p.class_id == 0x1234);
  CHECK(p.instance_id == 5);
  // The first of each kind wins (a connection path names several application paths).
  REQUIRE(cip::parse_path(Bytes{0x20, 0x04, 0x24, 0x66, 0x2C, 0x64, 0x2C, 0x65}, p) == cip::PathStatus::Ok);
  CHECK(p.class_id == 4);
  CHECK(p.instance_id == 0x66);
  CHECK(p.connection_point == 0x64);
  CHECK(cip::parse_path(Bytes{0x21, 0x00, 0x34}, p) == cip::PathStatus::Truncated);
  CHECK(cip::parse_path(Bytes{0x23, 0x00}, p) == cip::PathStatus::BadSegment);  // reserved format
  CHECK(cip::parse_path(Bytes{0xE0, 0x00}, p) == cip::PathStatus::BadSegment);  // reserved type
}

TEST_CASE("cip EPATH: symbolic tag names with padding, ports, electronic key, member", "[enip]") {
  cip::Path p;
  // Odd-length ANSI extended symbol is padded; an element index (member) follows.
  const Bytes motor = cat({symbol("Motor"), {0x28, 0x03}});  // views point into it: keep it alive
  REQUIRE(cip::parse_path(motor, p) == cip::PathStatus::Ok);
  CHECK(std::string(p.symbol.begin(), p.symbol.end()) == "Motor");
  CHECK(p.symbols == 1);
  CHECK(p.member_id == 3);
  CHECK(p.class_id == -1);
  const Bytes scoped = cat({symbol("Program:Main"), symbol("Tag1")});
  REQUIRE(cip::parse_path(scoped, p) == cip::PathStatus::Ok);
  CHECK(cip::target_of(p) == cip::Target::Logix);
  CHECK(std::string(p.symbol.begin(), p.symbol.end()) == "Program:Main");
  CHECK(p.symbols == 2);
  // Symbolic segment (0x60 | length), padded.
  const Bytes abc = {0x63, 'a', 'b', 'c', 0x20, 0x02};
  REQUIRE(cip::parse_path(abc, p) == cip::PathStatus::Ok);
  CHECK(std::string(p.symbol.begin(), p.symbol.end()) == "abc");
  CHECK(p.class_id == 2);
  // Backplane port 1, slot 2; extended link address (an IP address, 12 characters, even: no pad).
  const Bytes slot = {0x01, 0x02, 0x20, 0x02, 0x24, 0x01};
  REQUIRE(cip::parse_path(slot, p) == cip::PathStatus::Ok);
  CHECK(p.port == 1);
  REQUIRE(p.link_address.size() == 1);
  CHECK(p.link_address[0] == 2);
  CHECK(p.class_id == 2);
  const Bytes ext = cat({{0x12, 12}, str("192.168.1.10"), {0x20, 0x02}});
  REQUIRE(cip::parse_path(ext, p) == cip::PathStatus::Ok);
  CHECK(p.port == 2);
  CHECK(std::string(p.link_address.begin(), p.link_address.end()) == "192.168.1.10");
  CHECK(p.class_id == 2);
  const Bytes odd = cat({{0x12, 11}, str("10.0.0.1:44"), {0x00, 0x20, 0x02}});  // odd: a pad byte
  REQUIRE(cip::parse_path(odd, p) == cip::PathStatus::Ok);
  CHECK(p.class_id == 2);
  // Electronic key (format 4), then a class.
  REQUIRE(cip::parse_path(Bytes{0x34, 0x04, 0x01, 0x00, 0x0C, 0x00, 0x3A, 0x00, 0x84, 0x03, 0x20, 0x04}, p) ==
          cip::PathStatus::Ok);
  CHECK(p.has_key);
  CHECK(p.key.vendor_id == 1);
  CHECK(p.key.device_type == 12);
  CHECK(p.key.product_code == 58);
  CHECK(p.key.major_revision == 0x84);
  CHECK(p.class_id == 4);
  CHECK(cip::parse_path(cat({{0x91, 9}, str("Truncated")}), p) == cip::PathStatus::Truncated);  // pad missing
}

TEST_CASE("cip message router request and response with general and extended status", "[enip]") {
  cip::Message m;
  const Bytes get = req(0x0E, {0x20, 0x01, 0x24, 0x01, 0x30, 0x07}, {0xAA});
  REQUIRE(cip::parse_message(get, m) == cip::MessageStatus::Ok);
  CHECK_FALSE(m.is_response);
  CHECK(m.service() == 0x0E);
  CHECK(m.request.path.attribute_id == 7);
  CHECK(m.request.data.size() == 1);
  const Bytes failed = rsp(0x54, 0x01, {0x01, 0x02}, 0x0100);
  REQUIRE(cip::parse_message(failed, m) == cip::MessageStatus::Ok);
  CHECK(m.is_response);
  CHECK(m.service() == 0xD4);
  CHECK(m.response.general_status == 1);
  CHECK(m.response.extended_status() == 0x0100);
  CHECK(m.response.data.size() == 2);
  REQUIRE(cip::parse_message(rsp(0x0E), m) == cip::MessageStatus::Ok);
  CHECK(m.response.extended_status() == -1);
  CHECK(cip::parse_message(Bytes{}, m) == cip::MessageStatus::Empty);
  CHECK(cip::parse_message(Bytes{0x0E, 0x03, 0x20, 0x01}, m) == cip::MessageStatus::Truncated);
  CHECK(m.service() == 0x0E);
  CHECK(cip::parse_message(Bytes{0x8E, 0x00, 0x00, 0x02, 0x00}, m) == cip::MessageStatus::Truncated);
  CHECK(cip::parse_message(Bytes{0x0E, 0x01, 0xE0, 0x00}, m) == cip::MessageStatus::BadPath);
}

TEST_CASE("cip Multiple Service Packet: offsets from the service count, bad offsets", "[enip]") {
  const Bytes a = req(0x0E, kIdentityPath), b = req(0x4C, symbol("Tag"), le16(1));
  const Bytes data = msp({a, b});
  cip::MultipleServices ms(data);
  CHECK(ms.count() == 2);
  std::span<const uint8_t> one;
  REQUIRE(ms.next(one));
  CHECK(Bytes(one.begin(), one.end()) == a);
  REQUIRE(ms.next(one));
  CHECK(Bytes(one.begin(), one.end()) == b);
  CHECK_FALSE(ms.next(one));
  CHECK_FALSE(ms.error());
  Bytes bad = data;
  bad[2] = 1;  // the first offset points into the offset table
  cip::MultipleServices bs(bad);
  CHECK_FALSE(bs.next(one));
  CHECK(bs.error());
  cip::MultipleServices short_table(Bytes{5, 0, 6, 0});
  CHECK(short_table.error());
}

TEST_CASE("cip Unconnected Send: embedded request, pad after an odd size, route path", "[enip]") {
  const Bytes inner = req(0x01, kIdentityPath);  // 6 bytes
  const Bytes odd_inner = cat({req(0x0E, {0x20, 0x01, 0x24, 0x01, 0x30, 0x07}), {0x55}});  // 9 bytes
  for (const Bytes& in : {inner, odd_inner}) {
    Bytes data = cat({{0x07, 0xE9}, le16(uint16_t(in.size())), in});
    if (in.size() % 2) data.push_back(0);
    data = cat({data, {0x01, 0x00, 0x01, 0x00}});
    cip::UnconnectedSend u;
    REQUIRE(cip::parse_unconnected_send(data, u));
    CHECK(u.priority_tick == 0x07);
    CHECK(u.timeout_ticks == 0xE9);
    CHECK(Bytes(u.request.begin(), u.request.end()) == in);
    CHECK(u.route.port == 1);
    REQUIRE(u.route.link_address.size() == 1);
    CHECK(u.route.link_address[0] == 0);
  }
  cip::UnconnectedSend u;
  CHECK_FALSE(cip::parse_unconnected_send(Bytes{0x07, 0xE9, 0x10, 0x00, 0x01}, u));
}

TEST_CASE("cip Forward Open, Large Forward Open and Forward Close requests and replies", "[enip]") {
  const Bytes cpath = {0x20, 0x04, 0x24, 0x66, 0x2C, 0x64, 0x2C, 0x65};
  const Bytes fo = cat({{0x0A, 0x0E}, le32(0), le32(0x1F0E0A01), le16(0x0101), le16(1), le32(0x0BADF00D), {1, 0, 0, 0},
                        le32(20000), le16(0x480A), le32(30000), le16(0x4806), {0x01, uint8_t(cpath.size() / 2)}, cpath});
  cip::ForwardOpenRequest f;
  REQUIRE(cip::parse_forward_open_request(fo, false, f));
  CHECK(f.to_connection_id == 0x1F0E0A01);
  CHECK(f.triad == cip::ConnectionTriad{0x0101, 1, 0x0BADF00D});
  CHECK(f.ot_rpi_us == 20000);
  CHECK(f.to_rpi_us == 30000);
  CHECK(cip::connection_size(f.ot_parameters, false) == 10);
  CHECK(cip::connection_type(f.ot_parameters, false) == 2);
  CHECK(f.transport_class() == 1);
  CHECK(f.connection_path.class_id == 4);
  CHECK(f.connection_path.connection_point == 0x64);
  const Bytes lfo = cat({{0x0A, 0x0E}, le32(0), le32(7), le16(2), le16(1), le32(3), {1, 0, 0, 0}, le32(1000),
                         le32(0x42000200), le32(2000), le32(0x20000010), {0x83, 0x00}});
  REQUIRE(cip::parse_forward_open_request(lfo, true, f));
  CHECK(f.large);
  CHECK(cip::connection_size(f.ot_parameters, true) == 0x200);
  CHECK(cip::connection_type(f.ot_parameters, true) == 2);
  CHECK(cip::connection_type(f.to_parameters, true) == 1);
  CHECK(f.transport_class() == 3);
  CHECK_FALSE(cip::parse_forward_open_request(fo, true, f));  // too short read as large
  const Bytes reply = cat({le32(0x2A2B0001), le32(0x1F0E0A01), le16(0x0101), le16(1), le32(0x0BADF00D), le32(20000),
                           le32(30000), {0, 0}});
  cip::ForwardOpenReply r;
  REQUIRE(cip::parse_forward_open_reply(reply, r));
  CHECK(r.ot_connection_id == 0x2A2B0001);
  CHECK(r.to_api_us == 30000);
  cip::ConnectionFailure cf;
  REQUIRE(cip::parse_connection_failure(cat({le16(0x0101), le16(1), le32(0x0BADF00D), {4}}), cf));
  CHECK(cf.has_remaining_path_size);
  CHECK(cf.remaining_path_size == 4);
  const Bytes fc = cat({{0x0A, 0x0E}, le16(0x0101), le16(1), le32(0x0BADF00D), {uint8_t(cpath.size() / 2), 0}, cpath});
  cip::ForwardCloseRequest c;
  REQUIRE(cip::parse_forward_close_request(fc, c));
  CHECK(c.triad.originator_serial == 0x0BADF00D);
  CHECK(c.connection_path.class_id == 4);
  cip::ForwardCloseReply cr;
  REQUIRE(cip::parse_forward_close_reply(cat({le16(0x0101), le16(1), le32(0x0BADF00D), {0, 0}}), cr));
  CHECK(cr.triad.connection_serial == 0x0101);
  CHECK_FALSE(cip::parse_forward_close_reply(cat({le16(0x0101), le16(1), le32(0x0BADF00D), {1, 0}}), cr));
}

TEST_CASE("cip service names by target, lookup by name, classes and the read-only set", "[enip]") {
  using T = cip::Target;
  CHECK(cip_service_snake_name(0x0E, T::Object) == "get_attribute_single");
  CHECK(cip_service_snake_name(0x8E, T::Object) == "get_attribute_single");
  CHECK(cip_service_name(0x0E, T::Object) == "Get Attributes Single");
  CHECK(cip_service_snake_name(0x52, T::ConnectionManager) == "unconnected_send");
  CHECK(cip_service_snake_name(0x52, T::Logix) == "read_tag_fragmented");
  CHECK(cip_service_snake_name(0x52, T::Unknown) == "unconnected_send");
  CHECK(cip_service_snake_name(0x4E, T::ConnectionManager) == "forward_close");
  CHECK(cip_service_snake_name(0x4E, T::Logix) == "read_modify_write_tag");
  CHECK(cip_service_name(0x4E, T::Logix) == "Read Write Modify Data");
  CHECK(cip_service_snake_name(0x54, T::Logix) == "forward_open");
  CHECK(cip_service_snake_name(0x5B, T::ConnectionManager) == "large_forward_open");
  CHECK(cip_service_snake_name(0x4C, T::Unknown) == "read_tag");
  CHECK(cip_service_snake_name(0x4B, T::Pccc) == "execute_pccc");
  CHECK(cip_service_snake_name(0x4C, T::Pccc) == "unknown");
  CHECK(cip_service_snake_name(0x55, T::Logix) == "get_instance_attribute_list");
  CHECK(cip_service_snake_name(0x12, T::Object) == "unknown");
  CHECK(cip_service_name(0x12, T::Object) == "unknown");
  CHECK(cip_service_from_name("get_attributes_all") == 0x01);
  CHECK(cip_service_from_name("Get Attributes All") == 0x01);
  CHECK(cip_service_from_name("MULTIPLE_SERVICE_PACKET") == 0x0A);
  CHECK(cip_service_from_name("forward_close") == 0x4E);
  CHECK(cip_service_from_name("read_modify_write_tag") == 0x4E);
  CHECK(cip_service_from_name("Large-Forward-Open") == 0x5B);
  CHECK(cip_service_from_name("0x4c") == 0x4C);
  CHECK(cip_service_from_name("76") == 0x4C);
  CHECK(cip_service_from_name("200") == std::nullopt);
  CHECK(cip_service_from_name("frobnicate") == std::nullopt);
  // Issue 5's read-only set, and nothing else.
  struct Case {
    uint8_t code;
    T target;
  };
  for (const Case& c : {Case{0x01, T::Object}, Case{0x03, T::Object}, Case{0x0E, T::Object}, Case{0x11, T::Object},
                        Case{0x4C, T::Logix}, Case{0x52, T::Logix}, Case{0x54, T::ConnectionManager},
                        Case{0x5B, T::ConnectionManager}, Case{0x4E, T::ConnectionManager}})
    CHECK(cip_read_only(c.code, c.target));
  for (const Case& c : {Case{0x02, T::Object}, Case{0x05, T::Object}, Case{0x07, T::Object}, Case{0x0A, T::Object},
                        Case{0x10, T::Object}, Case{0x4D, T::Logix}, Case{0x4E, T::Logix}, Case{0x52, T::ConnectionManager},
                        Case{0x18, T::Object}, Case{0x4B, T::Pccc}})
    CHECK_FALSE(cip_read_only(c.code, c.target));
  CHECK(cip_op_class(0x05, T::Object) == OpClass::Control);
  CHECK(cip_op_class(0x06, T::Object) == OpClass::Control);
  CHECK(cip_op_class(0x07, T::Object) == OpClass::Control);
  CHECK(cip_op_class(0x10, T::Object) == OpClass::Write);
  CHECK(cip_op_class(0x4D, T::Logix) == OpClass::Write);
  CHECK(cip_op_class(0x4E, T::Logix) == OpClass::Write);
  CHECK(cip_op_class(0x4C, T::Logix) == OpClass::Read);
  CHECK(cip_op_class(0x54, T::ConnectionManager) == OpClass::Other);
  CHECK(cip_wrapper(0x0A, T::Object));
  CHECK(cip_wrapper(0x52, T::ConnectionManager));
  CHECK_FALSE(cip_wrapper(0x52, T::Logix));
  CHECK(cip_class_name(0x06) == "Connection Manager");
  CHECK(cip_class_name(0xF5) == "TCP/IP Interface");
  CHECK(cip_class_name(0x69) == "unknown");
  std::string s;
  CHECK(cip_status_name(0x08, s) == "Service Not Supported");
  CHECK(cip_status_name(0x99, s) == "Unknown CIP Status-0x99");
  CHECK(cip_extended_status_name(0x0100, s) == "Connection in use or duplicate Forward Open");
  CHECK(cip_extended_status_name(0x0999, s) == "Unknown Extended Status-0x0999");
}

// ---------------------------------------------------------------------------------------------------
// Analyzers

TEST_CASE("enip modules: services, ports and logs", "[enip]") {
  CHECK(kEnipModule.service == "enip");
  CHECK(kEnipModule.protocol == Protocol::Enip);
  REQUIRE(kEnipModule.tcp_ports.size() == 1);
  CHECK(kEnipModule.tcp_ports[0] == 44818);
  REQUIRE(kEnipModule.udp_ports.size() == 1);
  CHECK(kEnipModule.udp_ports[0] == 44818);
  REQUIRE(kEnipModule.logs.size() == 3);
  CHECK(kEnipModule.logs[enip::kLogEnip]->path == "enip");
  CHECK(kEnipModule.logs[enip::kLogCip]->path == "cip");
  CHECK(kEnipModule.logs[enip::kLogCipIdentity]->path == "cip_identity");
  CHECK(kCipIoModule.service == "cip");
  CHECK(kCipIoModule.tcp_ports.empty());
  REQUIRE(kCipIoModule.udp_ports.size() == 1);
  CHECK(kCipIoModule.udp_ports[0] == 2222);
  REQUIRE(kCipIoModule.logs.size() == 1);
  CHECK(kCipIoModule.logs[0]->path == "cip_io");
  const auto mods = dissector_modules();
  CHECK(std::find(mods.begin(), mods.end(), &kEnipModule) != mods.end());
  CHECK(std::find(mods.begin(), mods.end(), &kCipIoModule) != mods.end());
}

TEST_CASE("enip log headers are ICSNPP-ENIP's", "[enip]") {
  Harness h("headers");
  h.orig(encap(0x65, {1, 0, 0, 0}), 1);
  h.close();
  std::string fields;
  for (const std::string& l : {std::string("enip")}) {
    std::ifstream in(h.dir / (l + ".log"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#fields", 0) == 0) fields = line;
    }
  }
  CHECK(fields ==
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tis_orig\tsource_h\tsource_p\tdestination_h\t"
        "destination_p\tpacket_correlation_id\tenip_command_code\tenip_command\tlength\tsession_handle\tenip_status\t"
        "sender_context\toptions");
  auto names = [](const LogSchema& s) {
    std::string out;
    for (size_t i = 11; i < s.fields.size(); ++i) out += std::string(s.fields[i].name) + " ";
    return out;
  };
  CHECK(names(*kEnipModule.logs[enip::kLogCip]) ==
        "packet_correlation_id cip_sequence_count direction cip_service_code cip_service cip_status_code cip_status "
        "cip_extended_status_code cip_extended_status class_id class_name instance_id attribute_id ");
  CHECK(names(*kCipIoModule.logs[0]) == "packet_correlation_id connection_id sequence_number data_length io_data ");
  CHECK(names(*kEnipModule.logs[enip::kLogCipIdentity]) ==
        "packet_correlation_id encapsulation_version socket_address socket_port vendor_id vendor_name device_type_id "
        "device_type_name product_code revision device_status serial_number product_name device_state ");
}

TEST_CASE("enip.log: RegisterSession, ListServices, UnRegisterSession rows as ICSNPP writes them", "[enip]") {
  Harness h("session");
  h.orig(encap(0x65, {1, 0, 0, 0}), 10);
  h.resp(encap(0x65, {1, 0, 0, 0}, 0x6E5A0001), 20);
  h.orig(encap(0x04, {}, 0x6E5A0001), 30);
  h.resp(encap(0x04, cpf({{0x0100, cat({le16(1), le16(0x0120), str("Communications"), Bytes{0, 0}})}}), 0x6E5A0001), 40);
  h.orig(encap(0x66, {}, 0x6E5A0001), 50);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  const auto lines = h.lines("enip");
  REQUIRE(lines.size() == 5);
  const std::string ctx = "0x6f7473656e736f72";
  CHECK(lines[0] == h.enip_row(10, true, 1, "0x65\tRegister Session\t4\t0x00000000\tSuccess\t" + ctx + "\t0x00000000"));
  CHECK(lines[1] == h.enip_row(20, false, 2, "0x65\tRegister Session\t4\t0x6e5a0001\tSuccess\t" + ctx + "\t0x00000000"));
  CHECK(lines[2] == h.enip_row(30, true, 3, "0x04\tList Services\t0\t0x6e5a0001\tSuccess\t" + ctx + "\t0x00000000"));
  CHECK(lines[3] == h.enip_row(40, false, 4, "0x04\tList Services\t26\t0x6e5a0001\tSuccess\t" + ctx + "\t0x00000000"));
  CHECK(lines[4] == h.enip_row(50, true, 5, "0x66\tUnregister Session\t0\t0x6e5a0001\tSuccess\t" + ctx + "\t0x00000000"));
  CHECK(h.weirds.seen.empty());
  // Encapsulation-only commands are Enip operations, read-only.
  REQUIRE(h.ops.seen.size() == 5);
  CHECK(h.ops.seen[0].protocol == Protocol::Enip);
  CHECK(h.ops.names[0] == "register_session");
  CHECK(h.ops.seen[0].is_request);
  CHECK_FALSE(h.ops.seen[1].is_request);
  CHECK(h.ops.names[2] == "list_services");
  CHECK(h.ops.seen[2].op_class == OpClass::Read);
  CHECK_FALSE(h.ops.seen[3].is_request);
  CHECK(h.ops.names[4] == "unregister_session");
  for (const auto& ev : h.ops.seen) CHECK(ev.read_only);
}

TEST_CASE("cip.log: Multiple Service Packet split into its services, requests and replies paired", "[enip]") {
  Harness h("msp");
  const Bytes ctx = str("ctx-0001");
  const Bytes request = req(0x0A, {0x20, 0x02, 0x24, 0x01},
                            msp({req(0x0E, {0x20, 0x01, 0x24, 0x01, 0x30, 0x07}), req(0x4C, symbol("Speed"), le16(1)),
                                 req(0x10, {0x20, 0xF5, 0x24, 0x01, 0x30, 0x05}, {1, 2, 3, 4})}));
  const Bytes reply = rsp(0x0A, 0x1E, msp({rsp(0x0E, 0, {4, 'N', 'a', 'm', 'e'}), rsp(0x4C, 0, {0xC4, 0, 1, 0, 0, 0}),
                                           rsp(0x10, 0x0F)}));
  h.orig(encap(0x6F, rr(request), 7, ctx), 100);
  h.resp(encap(0x6F, rr(reply), 7, ctx), 200);
  auto lines = h.lines("cip");
  REQUIRE(lines.size() == 8);
  std::vector<std::string> want = {
      h.enip_row(100, true, 1, "-\trequest\t0x0a\tMultiple Service Packet\t-\t-\t-\t-\t0x02\tMessage Router\t0x01\t-"),
      h.enip_row(100, true, 1, "-\trequest\t0x0e\tGet Attributes Single\t-\t-\t-\t-\t0x01\tIdentity\t0x01\t0x07"),
      h.enip_row(100, true, 1, "-\trequest\t0x4c\tRead Data\t-\t-\t-\t-\t-\t-\t-\t-"),
      h.enip_row(100, true, 1, "-\trequest\t0x10\tSet Attributes Single\t-\t-\t-\t-\t0xf5\tTCP/IP Interface\t0x01\t0x05"),
      h.enip_row(200, false, 2, "-\tresponse\t0x0a\tMultiple Service Packet\t0x1e\tEmbedded Service Error\t-\t-\t-\t-\t-\t-"),
      h.enip_row(200, false, 2, "-\tresponse\t0x0e\tGet Attributes Single\t0x00\tSuccess\t-\t-\t-\t-\t-\t-"),
      h.enip_row(200, false, 2, "-\tresponse\t0x4c\tRead Data\t0x00\tSuccess\t-\t-\t-\t-\t-\t-"),
      h.enip_row(200, false, 2, "-\tresponse\t0x10\tSet Attributes Single\t0x0f\tPrivilege Violation\t-\t-\t-\t-\t-\t-"),
  };
  // Records of one connection at one time keep the order they were written in: the wire order.
  CHECK(lines == want);
  // Operation events: the wrapper flagged, each embedded service on its own, replies with the request's target.
  REQUIRE(h.ops.seen.size() == 8);
  CHECK(h.ops.names == std::vector<std::string>{"multiple_service_packet", "get_attribute_single", "read_tag",
                                                "set_attribute_single", "multiple_service_packet",
                                                "get_attribute_single", "read_tag", "set_attribute_single"});
  CHECK(h.ops.seen[0].wrapper);
  CHECK(h.ops.seen[0].protocol == Protocol::Cip);
  CHECK_FALSE(h.ops.seen[1].wrapper);
  CHECK(h.ops.seen[1].read_only);
  CHECK(h.ops.seen[1].cip_class == 1);
  CHECK(h.ops.seen[1].cip_instance == 1);
  CHECK(h.ops.seen[1].cip_attribute == 7);
  CHECK(h.ops.seen[2].op_class == OpClass::Read);
  CHECK(h.ops.seen[3].op_class == OpClass::Write);
  CHECK_FALSE(h.ops.seen[3].read_only);
  CHECK(h.ops.seen[4].exception == 0x1E);
  CHECK_FALSE(h.ops.seen[5].is_request);
  CHECK(h.ops.seen[5].cip_class == 1);
  CHECK(h.ops.seen[5].cip_attribute == 7);
  CHECK(h.ops.seen[7].exception == 0x0F);
  CHECK(h.ops.seen[7].cip_class == 0xF5);
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("cip.log: Unconnected Send unwrapped, the embedded reply takes the embedded request's meaning", "[enip]") {
  Harness h("ucs");
  const Bytes inner = req(0x52, {0x91, 0x03, 'T', 'a', 'g', 0x00}, le16(1));  // Read Tag Fragmented on a tag
  const Bytes ucs = cat({{0x07, 0xE9}, le16(uint16_t(inner.size())), inner, {0x01, 0x00, 0x01, 0x00}});
  h.orig(encap(0x6F, rr(req(0x52, kCmPath, ucs)), 1, str("ctx-0002")), 10);
  h.resp(encap(0x6F, rr(rsp(0x52, 0, {0xC4, 0, 5, 0, 0, 0})), 1, str("ctx-0002")), 20);
  // A routing failure comes back as the Unconnected Send's own reply (0xD2) with extended status.
  h.orig(encap(0x6F, rr(req(0x52, kCmPath, ucs)), 1, str("ctx-0003")), 30);
  h.resp(encap(0x6F, rr(rsp(0x52, 0x01, {0, 0}, 0x0204)), 1, str("ctx-0003")), 40);
  const auto lines = h.lines("cip");
  REQUIRE(lines.size() == 6);
  // The wrapper first, then the request it carries: the order they are read from the packet.
  CHECK(lines[0] ==
        h.enip_row(10, true, 1, "-\trequest\t0x52\tUnconnected Send\t-\t-\t-\t-\t0x06\tConnection Manager\t0x01\t-"));
  CHECK(lines[1] == h.enip_row(10, true, 1, "-\trequest\t0x52\tRead Data Fragmented\t-\t-\t-\t-\t-\t-\t-\t-"));
  CHECK(lines[2] == h.enip_row(20, false, 2, "-\tresponse\t0x52\tRead Data Fragmented\t0x00\tSuccess\t-\t-\t-\t-\t-\t-"));
  CHECK(lines[5] == h.enip_row(40, false, 4,
                               "-\tresponse\t0x52\tUnconnected Send\t0x01\tConnection Failure\t0x0204\t"
                               "Unconnected request timed out\t-\t-\t-\t-"));
  REQUIRE(h.ops.seen.size() == 6);
  CHECK(h.ops.names[0] == "unconnected_send");
  CHECK(h.ops.seen[0].wrapper);
  CHECK_FALSE(h.ops.seen[0].read_only);
  CHECK(h.ops.names[1] == "read_tag_fragmented");
  CHECK(h.ops.seen[1].read_only);
  CHECK_FALSE(h.ops.seen[1].wrapper);
  CHECK(h.ops.names[2] == "read_tag_fragmented");
  CHECK_FALSE(h.ops.seen[2].is_request);
  CHECK(h.ops.names[5] == "unconnected_send");
  CHECK(h.ops.seen[5].exception == 1);
}

TEST_CASE("cip.log: connected messages carry the sequence count, Reset and Stop are control operations", "[enip]") {
  Harness h("connected");
  h.orig(encap(0x70, unit(0x11020100, 1929, req(0x05, kIdentityPath, {0}))), 10);
  h.resp(encap(0x70, unit(0xFF010203, 1929, rsp(0x05, 0x10))), 20);
  h.orig(encap(0x70, unit(0x11020100, 1930, req(0x07, {0x20, 0x8E, 0x24, 0x01}))), 30);
  const auto lines = h.lines("cip");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == h.enip_row(10, true, 1, "1929\trequest\t0x05\tReset\t-\t-\t-\t-\t0x01\tIdentity\t0x01\t-"));
  CHECK(lines[1] == h.enip_row(20, false, 2, "1929\tresponse\t0x05\tReset\t0x10\tDevice State Conflict\t-\t-\t-\t-\t-\t-"));
  CHECK(lines[2] == h.enip_row(30, true, 3, "1930\trequest\t0x07\tStop\t-\t-\t-\t-\t0x8e\tunknown\t0x01\t-"));
  REQUIRE(h.ops.seen.size() == 3);
  CHECK(h.ops.names[0] == "reset");
  CHECK(h.ops.seen[0].op_class == OpClass::Control);
  CHECK(h.ops.seen[1].cip_class == 1);  // paired by the sequence count
  CHECK(h.ops.seen[1].exception == 0x10);
  CHECK(h.ops.names[2] == "stop");
  CHECK(h.ops.seen[2].op_class == OpClass::Control);
  CHECK(h.ops.seen[2].cip_class == 0x8E);
}

TEST_CASE("enip a request split over three TCP segments (and byte by byte) is inspected whole", "[enip]") {
  const Bytes write = encap(0x6F, rr(req(0x4D, symbol("Setpoint"), cat({le16(0xCA), le16(1), le32(0x44BB8000)}))), 1);
  for (bool bytewise : {false, true}) {
    Harness h(bytewise ? "split_bytes" : "split3");
    if (bytewise) {
      for (size_t i = 0; i < write.size(); ++i) h.orig({write[i]}, i);
    } else {
      h.orig(Bytes(write.begin(), write.begin() + 8), 1);
      h.orig(Bytes(write.begin() + 8, write.begin() + 28), 2);
      h.orig(Bytes(write.begin() + 28, write.end()), 3);
    }
    const uint64_t last = bytewise ? write.size() - 1 : 3;
    REQUIRE(h.ops.seen.size() == 1);
    CHECK(h.ops.names[0] == "write_tag");
    CHECK(h.ops.seen[0].op_class == OpClass::Write);
    CHECK(h.ops.seen[0].ts_ns == kT0 + last * 1000);
    const auto lines = h.lines("cip");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == h.enip_row(last, true, 1, "-\trequest\t0x4d\tWrite Data\t-\t-\t-\t-\t-\t-\t-\t-"));
    CHECK(h.weirds.seen.empty());
  }
}

TEST_CASE("enip after a gap: a message whose middle is lost is skipped by its length, elsewhere resync", "[enip]") {
  Harness h("gap");
  const Bytes a = encap(0x6F, rr(req(0x0E, {0x20, 0x01, 0x24, 0x01, 0x30, 0x07})), 1, str("ctx-0001"));
  const Bytes b = encap(0x6F, rr(req(0x01, kIdentityPath)), 1, str("ctx-0002"));
  const Bytes c = encap(0x6F, rr(req(0x4C, symbol("T1"), le16(1))), 1, str("ctx-0003"));
  h.orig(a, 1);
  // b's first 30 bytes arrive, 10 are lost, the rest and c follow: b is lost, c is logged.
  h.orig(Bytes(b.begin(), b.begin() + 30), 2);
  h.a->gap(h.conn, true, 10, kT0 + 3000);
  h.orig(cat({Bytes(b.begin() + 40, b.end()), c}), 4);
  // A gap at a message boundary: what follows is scanned for the next plausible header.
  h.a->gap(h.conn, true, 57, kT0 + 5000);
  h.orig(cat({Bytes{0x12, 0x34, 0x00, 0x00, 0x65, 0x00}, a}), 6);
  CHECK(h.weirds.count("enip_message_lost_in_gap") == 1);
  CHECK(h.weirds.count("enip_bad_header") == 0);
  const auto lines = h.lines("enip");
  REQUIRE(lines.size() == 3);
  CHECK(split_tab(lines[0])[0] == ts_text(1));
  CHECK(split_tab(lines[1])[0] == ts_text(4));
  CHECK(split_tab(lines[1])[17] == "0x6374782d30303033");
  CHECK(split_tab(lines[2])[0] == ts_text(6));
  CHECK(split_tab(lines[2])[17] == "0x6374782d30303031");
}

TEST_CASE("enip a flow picked up mid-message finds the next header quietly, garbage later is a weird", "[enip]") {
  Harness h("midstream");
  const Bytes a = encap(0x6F, rr(req(0x0E, kIdentityPath)), 1);
  h.orig(cat({Bytes(a.begin() + 5, a.end()), a}), 1);
  CHECK(h.a->verdict() == Analyzer::Verdict::Confirmed);
  CHECK(h.weirds.seen.empty());
  h.orig(cat({Bytes(30, 0xEE), a}), 2);
  CHECK(h.weirds.count("enip_bad_header") == 1);
  CHECK(h.lines("enip").size() == 2);
}

TEST_CASE("enip non-EtherNet/IP traffic on 44818 is rejected and not logged", "[enip]") {
  Harness h("reject");
  Bytes junk(200'000, 0);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = uint8_t('A' + i % 26);
  h.orig(junk, 1);
  CHECK(h.a->verdict() == Analyzer::Verdict::Rejected);
  CHECK(h.lines("enip").empty());
  Harness u("reject_udp", Transport::Udp);
  for (int i = 0; i < 3; ++i) u.orig(str("GET / HTTP/1.1\r\n\r\n"), uint64_t(i));
  CHECK(u.a->verdict() == Analyzer::Verdict::Rejected);
}

TEST_CASE("enip unknown (legacy) commands are logged and a weird, a partial message at the end too", "[enip]") {
  Harness h("unknown");
  h.orig(encap(0x01, {}), 1);
  h.resp(encap(0x01, cpf({{0x0001, Bytes(8, 0)}})), 2);
  h.orig(encap(0x65, {1, 0, 0, 0}), 3);
  const Bytes part = encap(0x6F, rr(req(0x0E, kIdentityPath)));
  h.orig(Bytes(part.begin(), part.begin() + 30), 4);
  h.close(5);
  CHECK(h.weirds.count("enip_unknown_command") == 2);
  CHECK(h.weirds.count("enip_partial_message_at_end") == 1);
  const auto lines = h.lines("enip");
  REQUIRE(lines.size() == 3);
  CHECK(split_tab(lines[0])[12] == "0x01");
  CHECK(split_tab(lines[0])[13] == "unknown");
}

TEST_CASE("cip_identity.log: ListIdentity replies over UDP from the responder side, hook fed", "[enip]") {
  Harness h("identity", Transport::Udp);
  h.orig(encap(0x63, {}), 1);
  const Bytes item = identity_item(0x0A000003, 1, 12, 58, 4, 3, 0x0030, 0x00524D8E, "1756-ENBT/A", 3);
  h.resp(encap(0x63, cpf({{0x000C, item}, {0x0087, le32(0)}})), 2);
  // A device of a vendor not on the list, and a reply sent by the flow's originator.
  h.orig(encap(0x63, cpf({{0x000C, identity_item(0x0A000009, 0xFFF0, 999, 1, 1, 0, 0, 0x1234, "X", 0)}})), 3);
  const auto rows = h.lines("cip_identity");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == h.enip_row(2, false, 2,
                              "1\t10.0.0.3\t44818\t1\tRockwell Automation/Allen-Bradley\t12\tCommunications Adapter\t58\t"
                              "4.3\t0x0030\t0x00524d8e\t1756-ENBT/A\t0x0003"));
  CHECK(rows[1] == h.enip_row(3, true, 3,
                              "1\t10.0.0.9\t44818\t65520\tUnknown Vendor-0xfff0\t999\tUnknown Device-0x3e7\t1\t1.0\t"
                              "0x0000\t0x00001234\tX\t0x0000"));
  REQUIRE(h.identities.size() == 2);
  CHECK(h.identities[0].vendor_id == 1);
  CHECK(h.identities[0].serial_number == 0x00524D8E);
  CHECK(h.identities[0].sender == IpAddr::v4(0x0A000003));
  CHECK(h.identities[0].socket_addr == 0x0A000003);
  CHECK_FALSE(h.identities[0].is_orig);
  CHECK(h.product_names[0] == "1756-ENBT/A");
  CHECK(h.identities[1].sender == IpAddr::v4(0x0A000009));
  // The request and the replies as Enip discovery operations.
  REQUIRE(h.ops.seen.size() == 3);
  CHECK(h.ops.seen[0].is_request);
  CHECK_FALSE(h.ops.seen[1].is_request);
  CHECK(h.ops.names[1] == "list_identity");
}

TEST_CASE("cip Forward Open records the connection so UDP 2222 I/O is tied to it, Forward Close forgets it",
          "[enip]") {
  // The I/O flow between the same two hosts (UDP 2222 both sides), then the session (each harness clears
  // the worker's connection table when it is made).
  Harness io("forward_open_io", Transport::Udp, 2222);
  Harness h("forward_open");
  const Bytes cpath = {0x20, 0x04, 0x24, 0x66, 0x2C, 0x64, 0x2C, 0x65};
  const Bytes fo = cat({{0x0A, 0x0E}, le32(0), le32(0x1F0E0A01), le16(0x0101), le16(1), le32(0x0BADF00D), {1, 0, 0, 0},
                        le32(20000), le16(0x480A), le32(30000), le16(0x4806), {0x01, 4}, cpath});
  const Bytes reply = cat({le32(0x2A2B0001), le32(0x1F0E0A01), le16(0x0101), le16(1), le32(0x0BADF00D), le32(20000),
                           le32(30000), {0, 0}});
  h.orig(encap(0x6F, rr(req(0x54, kCmPath, fo)), 1, str("fwd-open")), 10);
  h.resp(encap(0x6F, rr(rsp(0x54, 0, reply)), 1, str("fwd-open")), 20);
  REQUIRE(enip::worker_connections().size() == 1);

  const Bytes o2t = cpf({{0x8002, cat({le32(0x2A2B0001), le32(1)})}, {0x00B1, {1, 0, 1, 0, 0, 0, 0x10, 0, 0, 0}}});
  const Bytes t2o = cpf({{0x8002, cat({le32(0x1F0E0A01), le32(1)})}, {0x00B1, {1, 0, 0x20, 1, 0, 0}}});
  io.orig(o2t, 30);
  io.resp(t2o, 31);
  io.orig(o2t, 50);
  CHECK(io.a->verdict() == Analyzer::Verdict::Confirmed);
  REQUIRE(io.bindings.size() == 2);  // once per connection id
  const CipConnection& k = io.bindings[0];
  CHECK(k.ot_connection_id == 0x2A2B0001);
  CHECK(k.to_connection_id == 0x1F0E0A01);
  CHECK(k.triad == cip::ConnectionTriad{0x0101, 1, 0x0BADF00D});
  CHECK(k.ot_rpi_us == 20000);
  CHECK(k.to_rpi_us == 30000);
  CHECK(k.transport_trigger == 0x01);
  CHECK(k.originator == IpAddr::v4(0x0A000009));
  CHECK(k.target == IpAddr::v4(0x0A000003));
  CHECK(k.opened_on == h.conn.uid());
  const auto rows = io.lines("cip_io");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == io.enip_row(30, true, 1, "0x2a2b0001\t1\t10\t01000100000010000000"));
  CHECK(rows[1] == io.enip_row(31, false, 2, "0x1f0e0a01\t1\t6\t010020010000"));

  // Forward Close between the same hosts removes it.
  const Bytes fc = cat({{0x0A, 0x0E}, le16(0x0101), le16(1), le32(0x0BADF00D), {4, 0}, cpath});
  h.orig(encap(0x6F, rr(req(0x4E, kCmPath, fc)), 1, str("fwdclose")), 60);
  h.resp(encap(0x6F, rr(rsp(0x4E, 0, cat({le16(0x0101), le16(1), le32(0x0BADF00D), {0, 0}}))), 1, str("fwdclose")), 70);
  CHECK(enip::worker_connections().size() == 0);
  const auto cip_rows = h.lines("cip");
  REQUIRE(cip_rows.size() == 4);
  CHECK(split_tab(cip_rows[2])[15] == "Forward Close");
  REQUIRE(h.ops.seen.size() == 4);
  CHECK(h.ops.names[0] == "forward_open");
  CHECK(h.ops.seen[0].read_only);
  CHECK(h.ops.seen[0].op_class == OpClass::Other);
  CHECK(h.ops.names[2] == "forward_close");
  CHECK(h.ops.seen[2].read_only);
  CHECK(h.weirds.seen.empty());
}

TEST_CASE("cip I/O: malformed datagrams are weirds once confirmed, rejected before", "[enip]") {
  Harness io("io_bad", Transport::Udp, 2222);
  io.orig(cpf({{0x8002, cat({le32(5), le32(1)})}, {0x00B1, {1, 2}}}), 1);
  io.orig(Bytes{2, 0, 0x02, 0x80, 8}, 2);
  CHECK(io.weirds.count("cip_io_truncated") == 1);
  Harness junk("io_junk", Transport::Udp, 2222);
  for (int i = 0; i < 3; ++i) junk.orig(str("hello"), uint64_t(i));
  CHECK(junk.a->verdict() == Analyzer::Verdict::Rejected);
}

TEST_CASE("cip a target's message without the reply bit answering a request is a weird", "[enip]") {
  Harness h("no_reply_bit");
  h.orig(encap(0x6F, rr(req(0x0E, kIdentityPath)), 2), 1);
  h.resp(encap(0x6F, rr(Bytes{0x0E, 0x00, 0x00, 0x00, 0x00}), 2), 2);
  CHECK(h.weirds.count("cip_reply_without_reply_bit") == 1);
  const auto lines = h.lines("cip");
  REQUIRE(lines.size() == 2);
  CHECK(split_tab(lines[1])[13] == "request");  // logged as the bytes say
  CHECK(split_tab(lines[1])[6] == "F");
}

TEST_CASE("cip malformed embedded services and truncated messages are weirds, not crashes", "[enip]") {
  Harness h("malformed");
  Bytes bad_msp = msp({req(0x0E, kIdentityPath)});
  bad_msp[2] = 0xFF;  // offset past the end
  h.orig(encap(0x6F, rr(req(0x0A, {0x20, 0x02, 0x24, 0x01}, bad_msp)), 1, str("ctx-0001")), 1);
  h.orig(encap(0x6F, rr(req(0x52, kCmPath, {0x07, 0xE9, 0x40, 0x00})), 1, str("ctx-0002")), 2);
  h.orig(encap(0x6F, rr(Bytes{0x0E, 0x05, 0x20}), 1, str("ctx-0003")), 3);
  h.orig(encap(0x6F, rr({}), 1, str("ctx-0004")), 4);
  h.orig(encap(0x6F, Bytes{0, 0}), 5);
  CHECK(h.weirds.count("cip_malformed_multiple_service_packet") == 1);
  CHECK(h.weirds.count("cip_malformed_unconnected_send") == 1);
  CHECK(h.weirds.count("cip_truncated_request") == 1);
  CHECK(h.weirds.count("cip_empty_message") == 1);
  CHECK(h.weirds.count("enip_malformed_send_data") == 1);
  CHECK(h.lines("cip").size() == 3);
}

// ---------------------------------------------------------------------------------------------------
// The generated capture through the binary

TEST_CASE("enip pcaps/enip.pcap through otsensor: every log exactly as expected", "[enip]") {
  const fs::path pcap = test::source_dir() / "pcaps" / "enip.pcap";
  REQUIRE(fs::exists(pcap));
  const fs::path out = test::scratch_dir("enip/pcap");
  const auto r = test::run("'" + test::otsensor() + "' -r '" + pcap.string() + "' -l '" + out.string() + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("enip 23, cip 21, cip_identity 2, cip_io 12") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "weird.log"));

  // conn.log: the broadcast request, the two replies (flipped: the workstation is the originator), the
  // two sessions, the I/O flow (service cip, as ICSNPP).
  const auto conns = test::log_lines(out / "conn.log");
  REQUIRE(conns.size() == 6);
  std::vector<std::string> services;
  for (const auto& l : conns) services.push_back(split_tab(l)[2] + " " + split_tab(l)[4] + ":" + split_tab(l)[5] + " " + split_tab(l)[6] + " " + split_tab(l)[7]);
  CHECK(services == std::vector<std::string>{
                        "10.30.1.10 255.255.255.255:44818 udp enip", "10.30.1.10 10.30.1.20:44818 udp enip",
                        "10.30.1.10 10.30.1.30:44818 udp enip", "10.30.1.10 10.30.1.20:44818 tcp enip",
                        "10.30.1.10 10.30.1.30:44818 tcp enip", "10.30.1.10 10.30.1.30:2222 udp cip"});

  // enip.log: command, length, session, context of each message in order.
  std::vector<std::string> enip;
  for (const auto& l : test::log_lines(out / "enip.log")) {
    const auto f = split_tab(l);
    enip.push_back(f[6] + " " + f[12] + " " + f[14] + " " + f[15] + " " + f[16] + " " + f[17]);
  }
  CHECK(enip == std::vector<std::string>{
                    "T 0x63 0 0x00000000 Success 0x6f7473656e736f72",
                    "F 0x63 60 0x00000000 Success 0x6f7473656e736f72",
                    "F 0x63 51 0x00000000 Success 0x6f7473656e736f72",
                    "T 0x65 4 0x00000000 Success 0x6f7473656e736f72",
                    "F 0x65 4 0x6e5a0001 Success 0x6f7473656e736f72",
                    "T 0x6f 68 0x6e5a0001 Success 0x6374782d30303031",
                    "F 0x6f 81 0x6e5a0001 Success 0x6374782d30303031",
                    "T 0x6f 36 0x6e5a0001 Success 0x6374782d30303032",
                    "F 0x6f 55 0x6e5a0001 Success 0x6374782d30303032",
                    "T 0x6f 36 0x6e5a0001 Success 0x6374782d30303033",
                    "F 0x6f 20 0x6e5a0001 Success 0x6374782d30303033",
                    "T 0x6f 23 0x6e5a0001 Success 0x6374782d30303034",
                    "F 0x6f 20 0x6e5a0001 Success 0x6374782d30303034",
                    "T 0x6f 22 0x6e5a0001 Success 0x6374782d30303035",
                    "F 0x6f 20 0x6e5a0001 Success 0x6374782d30303035",
                    "T 0x66 0 0x6e5a0001 Success 0x6f7473656e736f72",
                    "T 0x65 4 0x00000000 Success 0x6f7473656e736f72",
                    "F 0x65 4 0x00010203 Success 0x6f7473656e736f72",
                    "T 0x6f 66 0x00010203 Success 0x6677642d6f70656e",
                    "F 0x6f 46 0x00010203 Success 0x6677642d6f70656e",
                    "T 0x6f 42 0x00010203 Success 0x667764636c6f7365",
                    "F 0x6f 30 0x00010203 Success 0x667764636c6f7365",
                    "T 0x66 0 0x00010203 Success 0x6f7473656e736f72"});

  // cip.log: direction, service, status, class, instance, attribute.
  std::vector<std::string> cip;
  for (const auto& l : test::log_lines(out / "cip.log")) {
    const auto f = split_tab(l);
    cip.push_back(f[6] + " " + f[13] + " " + f[14] + " " + f[15] + " " + f[16] + " " + f[20] + " " + f[22] + " " +
                  f[23]);
  }
  CHECK(cip == std::vector<std::string>{
                   "T request 0x0a Multiple Service Packet - 0x02 0x01 -",
                   "T request 0x0e Get Attributes Single - 0x01 0x01 0x07",
                   "T request 0x03 Get Attribute List - 0x01 0x01 -",
                   "T request 0x4c Read Data - - - -",
                   "F response 0x0a Multiple Service Packet 0x00 - - -",
                   "F response 0x0e Get Attributes Single 0x00 - - -",
                   "F response 0x03 Get Attribute List 0x00 - - -",
                   "F response 0x4c Read Data 0x00 - - -",
                   "T request 0x52 Unconnected Send - 0x06 0x01 -",
                   "T request 0x01 Get Attributes All - 0x01 0x01 -",
                   "F response 0x01 Get Attributes All 0x00 - - -",
                   "T request 0x4d Write Data - - - -",
                   "F response 0x4d Write Data 0x00 - - -",
                   "T request 0x05 Reset - 0x01 0x01 -",
                   "F response 0x05 Reset 0x10 - - -",
                   "T request 0x07 Stop - 0x8e 0x01 -",
                   "F response 0x07 Stop 0x00 - - -",
                   "T request 0x54 Forward Open - 0x06 0x01 -",
                   "F response 0x54 Forward Open 0x00 - - -",
                   "T request 0x4e Forward Close - 0x06 0x01 -",
                   "F response 0x4e Forward Close 0x00 - - -"});

  const auto ids = test::log_lines(out / "cip_identity.log");
  REQUIRE(ids.size() == 2);
  auto tail = [](const std::string& l) {
    const auto f = split_tab(l);
    std::string s;
    for (size_t i = 12; i < f.size(); ++i) s += f[i] + (i + 1 < f.size() ? "|" : "");
    return s;
  };
  CHECK(tail(ids[0]) ==
        "1|10.30.1.20|44818|1|Rockwell Automation/Allen-Bradley|14|Programmable Logic Controller|55|20.11|0x3060|"
        "0x00c0ffee|1756-L71/B LOGIX5571|0x0003");
  CHECK(tail(ids[1]) ==
        "1|10.30.1.30|44818|1|Rockwell Automation/Allen-Bradley|12|Communications Adapter|94|6.1|0x0030|0x12345678|"
        "1734-AENT/B|0x0003");

  const auto io = test::log_lines(out / "cip_io.log");
  REQUIRE(io.size() == 12);
  for (size_t i = 0; i < io.size(); ++i) {
    const auto f = split_tab(io[i]);
    const bool o2t = i % 2 == 0;
    CHECK(f[6] == (o2t ? "T" : "F"));
    CHECK(f[12] == (o2t ? "0x2a2b0001" : "0x1f0e0a01"));
    CHECK(f[13] == std::to_string(i / 2 + 1));
    CHECK(f[14] == (o2t ? "10" : "6"));
  }
}
