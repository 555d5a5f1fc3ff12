// libFuzzer target: the pure TPKT / COTP / S7comm / S7comm-plus parsers on raw bytes, then the analyzer
// over a synthetic connection: the input as one direction's TCP stream (whole), and cut into segments of
// both directions with gaps.
//
// The input is raw TCP 102 payload, as tools/fuzz_seeds.py extracts it from captures: no control prefix,
// so seeds start with a real TPKT. How it is cut is derived from its length and bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "dissectors/s7comm/cotp_parser.hpp"
#include "dissectors/s7comm/s7comm.hpp"
#include "dissectors/s7comm/s7comm_logs.hpp"
#include "dissectors/s7comm/s7comm_parser.hpp"
#include "dissectors/s7comm/s7comm_plus_parser.hpp"
#include "dissectors/fuzz_touch.hpp"

namespace {

using namespace ots;
using namespace ots::s7;

volatile uint8_t g_sink;

void touch(std::span<const uint8_t> b) {
  uint8_t x = 0;
  for (uint8_t v : b) x ^= v;
  g_sink = static_cast<uint8_t>(g_sink ^ x);
}

// Every parser of the S7 layers on one TSDU.
void parse_tsdu(std::span<const uint8_t> tsdu) {
  (void)looks_like_tls_record(tsdu);
  for (bool cont : {false, true}) {
    PlusPdu p;
    (void)parse_s7comm_plus(tsdu, cont, p);
    touch(p.digest);
    touch(p.body);
  }
  S7Header h;
  (void)parse_header(tsdu, h);
  touch(h.param);
  touch(h.data);
  SetupCommunication sc;
  (void)parse_setup_communication(h.param, sc);
  VarItems items(h.param);
  VarItem it;
  for (int i = 0; i < 300 && items.next(it); ++i) {
  }
  DataItems data(h.data);
  DataItem di;
  for (int i = 0; i < 1000 && data.next(di); ++i) touch(di.value);
  for (bool job : {true, false}) {
    BlockTransfer b;
    if (parse_block_transfer(h.param, h.data, job, b)) {
      const BlockFilename f = split_block_filename(b.filename);
      touch(f.block_type);
      touch(f.block_number);
      touch(f.filesystem);
    }
  }
  PiService pi;
  if (parse_plc_control(h.param, pi)) touch(pi.service);
  if (parse_plc_stop(h.param, pi)) touch(pi.service);
  UserdataParam u;
  (void)parse_userdata_param(h.param, u);
  UserdataData ud;
  if (parse_userdata_data(h.data, ud)) {
    for (bool resp : {false, true}) {
      SzlHeader z;
      if (!parse_szl(ud.payload, resp, z) || !z.has_list) continue;
      auto recs = z.records;
      for (size_t len : {kSzlXy11RecordSize, kSzlXy1cRecordSize}) {
        for (size_t off = 0; off + len <= recs.size() && off < 4096; off += len) {
          SzlModuleRecord m;
          if (parse_szl_xy11_record(recs.subspan(off, len), m)) touch(trim_szl_text(m.order_number));
          SzlComponentRecord c;
          if (parse_szl_xy1c_record(recs.subspan(off, len), c)) touch(trim_szl_text(c.text));
        }
      }
    }
  }
}

void parse_all(std::span<const uint8_t> in) {
  parse_tsdu(in);
  // The resynchronisation probe at the first offsets.
  for (size_t i = 0; i < in.size() && i < 64; ++i) (void)plausible_tpkt_start(in.subspan(i));
  // Every TPKT the framing finds, its TPDU and its user data.
  while (!in.empty()) {
    TpktHeader h;
    if (parse_tpkt(in, h) != TpktStatus::Ok || in.size() < h.length) {
      CotpTpdu t;
      (void)parse_cotp(in, t);
      return;
    }
    CotpTpdu t;
    (void)parse_cotp(in.subspan(kTpktHeaderSize, h.length - kTpktHeaderSize), t);
    CotpParams params(t.params);
    uint8_t code = 0;
    std::span<const uint8_t> v;
    while (params.next(code, v)) touch(v);
    touch(t.calling_tsap);
    touch(t.called_tsap);
    parse_tsdu(t.user_data);
    in = in.subspan(h.length);
  }
}

void run_analyzer(std::span<const uint8_t> in, bool cut) {
  fuzz::TouchLogs sink;
  fuzz::TouchWeirds weirds;
  fuzz::TouchOps ops;
  LogId ids[kLogCount] = {0, 1, 2, 3, 4};
  S7commOptions opts;
  opts.max_tsdu = 2048;      // small, so the limit is reached
  opts.max_outstanding = 4;  // small, so eviction is reached
  size_t seen = 0;
  opts.on_module_identification = [&](const S7ModuleIdentification& d) {
    seen += d.order_number.size() + d.firmware_version.size() + d.serial_number.size() + d.called_tsap.size();
  };
  struct : IdentitySink {  // the inventory's identity event: its views read
    void on_identity(const DeviceIdentity& d) override {
      for (std::string_view f : {d.vendor, d.model, d.product_code, d.firmware, d.serial})
        touch({reinterpret_cast<const uint8_t*>(f.data()), f.size()});
    }
  } identities;
  AnalyzerContext ctx{&sink, &weirds, &ops, ids, &identities};
  auto a = make_s7comm_analyzer(ctx, opts);
  Conn c;
  c.set_id(ConnId{IpAddr::v4(0x0A000001), IpAddr::v4(0x0A000002), 40000, 102, Transport::Tcp});
  uint64_t ts = 1'000'000'000;
  if (!cut) {
    a->data(c, true, in, ts);
    a->end(c, ts);
    return;
  }
  // Segment sizes, directions and gaps from the input's own bytes.
  size_t k = 0;
  while (!in.empty() && a->verdict() != Analyzer::Verdict::Rejected) {
    const uint8_t b = in[(k * 7 + in.size()) % in.size()];
    ++k;
    const bool is_orig = (b & 0x80) == 0;
    if ((b & 0x70) == 0x70) a->gap(c, is_orig, (b & 0x0F) + 1u, ts);
    const size_t n = std::min<size_t>((b & 0x3Fu) + 1u, in.size());
    a->data(c, is_orig, in.first(n), ts);
    in = in.subspan(n);
    ts += 400'000;
  }
  a->end(c, ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  parse_all(in);
  run_analyzer(in, false);
  run_analyzer(in, true);
  return 0;
}
