// libFuzzer target: the pure EtherNet/IP and CIP parsers on raw bytes, then the analyzers over a
// synthetic connection: the encapsulation analyzer as a TCP stream (whole, and cut into segments of both
// directions with a gap) and as UDP datagrams, and the CIP I/O analyzer on datagrams.
//
// The input is raw application bytes, as tools/fuzz_seeds.py extracts them from captures (ports 44818
// and 2222): no control prefix. How it is cut is derived from its length and bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "dissectors/enip/cip_names.hpp"
#include "dissectors/enip/cip_parser.hpp"
#include "dissectors/enip/enip.hpp"
#include "dissectors/enip/enip_logs.hpp"
#include "dissectors/enip/enip_parser.hpp"
#include "dissectors/fuzz_touch.hpp"

namespace {

using namespace ots;

uint8_t g_touch = 0;

void touch(std::span<const uint8_t> b) {
  for (uint8_t x : b) g_touch ^= x;
}

void parse_cip(std::span<const uint8_t> in, int depth) {
  if (depth > 3) return;
  cip::Message m;
  (void)cip::parse_message(in, m);
  touch(m.request.path.symbol);
  touch(m.request.path.link_address);
  std::string scratch;
  (void)cip_service_name(m.service(), cip::target_of(m.request.path));
  (void)cip_status_name(m.response.general_status, scratch);
  (void)cip_extended_status_name(static_cast<uint16_t>(m.response.extended_status() & 0xFFFF), scratch);
  const std::span<const uint8_t> data = m.is_response ? m.response.data : m.request.data;
  cip::MultipleServices ms(data);
  std::span<const uint8_t> one;
  for (int n = 0; n < 64 && ms.next(one); ++n) parse_cip(one, depth + 1);
  cip::UnconnectedSend u;
  if (cip::parse_unconnected_send(data, u)) parse_cip(u.request, depth + 1);
  cip::ForwardOpenRequest fo;
  (void)cip::parse_forward_open_request(data, depth & 1, fo);
  cip::ForwardOpenReply fr;
  if (cip::parse_forward_open_reply(data, fr)) touch(fr.application_reply);
  cip::ForwardCloseRequest fc;
  (void)cip::parse_forward_close_request(data, fc);
  cip::ForwardCloseReply fcr;
  (void)cip::parse_forward_close_reply(data, fcr);
  cip::ConnectionFailure cf;
  (void)cip::parse_connection_failure(data, cf);
}

void parse_all(std::span<const uint8_t> in) {
  size_t need = 0;
  (void)enip::plausible_message_start(in, need);
  enip::Header h;
  std::span<const uint8_t> body = in;
  if (enip::parse_header(in, h)) {
    touch(h.sender_context);
    body = in.subspan(enip::kHeaderSize);
  }
  enip::SendData sd;
  if (enip::parse_send_data(body, sd)) {
    enip::CpfItems items(sd.cpf);
    enip::CpfItem it;
    while (items.next(it)) {
      enip::ConnectedData cd;
      if (it.type == enip::kItemConnectedData && enip::parse_connected_data(it.data, cd)) parse_cip(cd.message, 0);
      if (it.type == enip::kItemUnconnectedData) parse_cip(it.data, 0);
    }
  }
  enip::CpfItems items(body);
  enip::CpfItem it;
  while (items.next(it)) {
    enip::Identity id;
    if (enip::parse_identity(it.data, id)) touch(id.product_name);
    enip::ServiceItem si;
    if (enip::parse_service_item(it.data, si)) touch(si.name);
  }
  enip::IoPacket io;
  if (enip::parse_io_packet(in, io) == enip::IoStatus::Ok) touch(io.data);
  cip::Path p;
  (void)cip::parse_path(in, p, true);
  (void)cip::parse_path(in, p, false);
  parse_cip(in, 0);
}

Conn make_conn(Transport t, uint16_t port) {
  Conn c;
  c.set_id(ConnId{IpAddr::v4(0xC0000201u), IpAddr::v4(0xC0000202u), port,
                  static_cast<uint16_t>(port == 2222 ? 2222 : 44818), t});
  return c;
}

// The inventory's identity event: every text field read.
struct TouchIdentities final : IdentitySink {
  void on_identity(const DeviceIdentity& d) override {
    for (std::string_view f : {d.vendor, d.model, d.product_code, d.firmware, d.serial, d.device_type})
      touch({reinterpret_cast<const uint8_t*>(f.data()), f.size()});
  }
};

void run_analyzers(std::span<const uint8_t> in) {
  fuzz::TouchLogs logs;
  fuzz::TouchWeirds weirds;
  fuzz::TouchOps ops;
  TouchIdentities identities;
  const LogId ids[enip::kLogCount] = {0, 1, 2};
  const LogId io_ids[enip::kIoLogCount] = {3};
  const AnalyzerContext ctx{&logs, &weirds, &ops, ids, &identities};
  const AnalyzerContext io_ctx{&logs, &weirds, &ops, io_ids, &identities};
  EnipOptions opts;
  opts.max_pending = 1 + static_cast<uint32_t>(in.size() % 5);
  opts.on_identity = [](const EnipIdentity& id) {
    for (char ch : id.product_name) g_touch ^= static_cast<uint8_t>(ch);
  };
  opts.on_io_binding = [](const CipIoBinding& b) { g_touch ^= static_cast<uint8_t>(b.connection->ot_rpi_us); };

  Conn tcp = make_conn(Transport::Tcp, 40000);
  // Whole, from the originator.
  auto a = make_enip_analyzer(ctx, Transport::Tcp, opts);
  a->data(tcp, true, in, 1);
  a->end(tcp, 2);

  // Cut into pieces of 1..63 bytes taken from the input itself, alternating direction when the piece's
  // first byte is odd, with a gap after the middle piece.
  auto b = make_enip_analyzer(ctx, Transport::Tcp, opts);
  size_t pos = 0;
  uint64_t ts = 10;
  bool gapped = false;
  while (pos < in.size()) {
    const size_t n = std::min<size_t>(in.size() - pos, 1 + in[pos] % 63);
    const bool is_orig = (in[pos] & 1) == 0;
    if (!gapped && pos >= in.size() / 2) {
      b->gap(tcp, is_orig, n, ts);
      gapped = true;
    } else {
      b->data(tcp, is_orig, in.subspan(pos, n), ts);
    }
    pos += n;
    ++ts;
  }
  b->end(tcp, ts);

  // UDP: the input as one datagram each way, for both analyzers (the I/O one after the TCP analyzers
  // may have filled the connection table from Forward Open replies in the input).
  Conn udp = make_conn(Transport::Udp, 44818);
  auto u = make_enip_analyzer(ctx, Transport::Udp, opts);
  u->data(udp, true, in, 20);
  u->data(udp, false, in, 21);
  u->end(udp, 22);
  Conn io = make_conn(Transport::Udp, 2222);
  auto i = make_cip_io_analyzer(io_ctx, opts);
  i->data(io, true, in, 30);
  i->data(io, false, in, 31);
  i->end(io, 32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  parse_all(in);
  run_analyzers(in);
  return 0;
}
