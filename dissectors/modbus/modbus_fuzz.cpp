// libFuzzer target: the pure Modbus parser on raw bytes, then the analyzer over a synthetic connection
// with both directions, segmentation and gaps chosen by the input.
//
// Input layout: byte 0 picks the mode; the rest is payload. The parser sees every PDU the framing finds;
// the analyzer sees the payload cut into segments whose sizes, directions and gaps come from a small
// control prefix, so one corpus exercises split PDUs, several PDUs per segment and resynchronisation.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dissectors/modbus/modbus.hpp"
#include "dissectors/modbus/modbus_logs.hpp"
#include "dissectors/fuzz_touch.hpp"

namespace {

using namespace ots;
using namespace ots::modbus;

void parse_all(std::span<const uint8_t> in) {
  // Every ADU the framing finds, as request and as response; plus the helpers on the PDU's data.
  while (!in.empty()) {
    MbapHeader h;
    const HeaderStatus st = parse_mbap(in, h);
    (void)plausible_adu_start(in);
    if (st != HeaderStatus::Ok || in.size() < h.adu_size()) {
      Pdu p;
      parse_pdu(in, true, p);
      parse_pdu(in, false, p);
      return;
    }
    const auto pdu = in.subspan(kMbapSize, h.length - 1u);
    for (bool req : {true, false}) {
      Pdu p;
      parse_pdu(pdu, req, p);
      for (size_t i = 0; i < p.register_count(); ++i) (void)p.register_at(i);
      for (size_t i = 0; i < p.value_count; ++i) (void)p.coil_at(i);
      DeviceIdRequest q;
      (void)parse_device_id_request(p.data, q);
      DeviceIdResponse r;
      (void)parse_device_id_response(p.data, r);
      DeviceIdObjects objs(r);
      DeviceIdObject o;
      while (objs.next(o)) {
      }
      for (bool write : {true, false}) {
        FileRecords recs(p.data, write);
        FileRecord f;
        while (recs.next(f)) {
        }
      }
    }
    in = in.subspan(h.adu_size());
  }
}

void run_analyzer(std::span<const uint8_t> ctl, std::span<const uint8_t> payload) {
  fuzz::TouchLogs sink;
  fuzz::TouchWeirds weirds;
  fuzz::TouchOps ops;
  LogId ids[kLogCount] = {0, 1, 2, 3, 4};
  ModbusOptions opts;
  opts.max_outstanding = 4;  // small, so eviction is reached
  opts.request_timeout_ns = 1'000'000;
  size_t seen = 0;
  opts.on_device_identification = [&](const ModbusDeviceIdentification& d) {
    seen += d.vendor_name().size() + d.product_code().size() + d.objects.size();
  };
  fuzz::TouchIdentities identities;
  AnalyzerContext ctx{&sink, &weirds, &ops, ids, &identities};
  auto a = make_modbus_analyzer(ctx, opts);
  Conn c;
  c.set_id(ConnId{IpAddr::v4(0x0A000001), IpAddr::v4(0x0A000002), 40000, 502, Transport::Tcp});
  uint64_t ts = 1'000'000'000;
  size_t k = 0;
  while (!payload.empty()) {
    // Each control byte: bit 7 direction, bit 6 a gap before the segment, bits 0-5 segment size - 1.
    const uint8_t b = ctl.empty() ? 0x3F : ctl[k++ % ctl.size()];
    const bool is_orig = (b & 0x80) == 0;
    if (b & 0x40) a->gap(c, is_orig, (b & 0x3F) + 1u, ts);
    const size_t n = std::min<size_t>((b & 0x3Fu) + 1u, payload.size());
    a->data(c, is_orig, payload.first(n), ts);
    payload = payload.subspan(n);
    ts += 400'000;
    if (a->verdict() == Analyzer::Verdict::Rejected) break;
  }
  a->end(c, ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  parse_all(in);
  if (size == 0) return 0;
  // Byte 0's high nibble: how many control bytes follow; the rest is the payload.
  const size_t nctl = std::min<size_t>(data[0] >> 4, size - 1);
  const auto ctl = in.subspan(1, nctl);
  const auto payload = in.subspan(1 + nctl);
  run_analyzer(ctl, payload);
  // The raw input as one direction's stream (seeds are captured TCP payloads), in 64-byte segments.
  static constexpr uint8_t kOrig[] = {0x3F}, kResp[] = {0xBF};
  run_analyzer(kOrig, in);
  run_analyzer(kResp, in);
  return 0;
}
