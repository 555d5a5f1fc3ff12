// libFuzzer target: the pure DNP3 parser on raw bytes, then the analyzer over a synthetic connection, as a
// TCP stream (whole, and cut into segments of both directions with a gap) and as UDP datagrams.
//
// The input is raw link-layer bytes, as tools/fuzz_seeds.py extracts them from captures: no control
// prefix, so every seed starts with a real 0x05 0x64. How it is cut is derived from its length and bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "dissectors/dnp3/dnp3_analyzer.hpp"
#include "dissectors/dnp3/dnp3_logs.hpp"
#include "dissectors/dnp3/dnp3_names.hpp"
#include "dissectors/dnp3/dnp3_parser.hpp"
#include "dissectors/fuzz_touch.hpp"

namespace {

using namespace ots;
using namespace ots::dnp3;

void walk_objects(std::span<const uint8_t> objects, uint8_t fc) {
  ObjectWalker w(objects, fc);
  ObjectHeader h;
  while (w.next(h)) {
    (void)icsnpp_object_type(h.object_type());
    ObjectItems items(h);
    ObjectItem it;
    for (int n = 0; n < 4096 && items.next(it); ++n) {
      ControlBlock b;
      if (parse_control_block(it.data, b)) {
        (void)trip_control_name(b.trip_close());
        (void)operation_type_name(b.op_type());
        (void)control_status_name(b.status);
      }
      AnalogOutput ao;
      (void)parse_analog_output(h.variation, it.data, ao);
    }
  }
}

void parse_fragment(std::span<const uint8_t> frag) {
  AppHeader a;
  if (!parse_app_header(frag, a)) return;
  (void)dnp3_function_name(a.function);
  (void)dnp3_function_snake_name(a.function);
  walk_objects(frag.subspan(a.size()), a.function);
}

// Every frame that starts at a 0x05 in the input, and the input read as a fragment and as objects.
void parse_all(std::span<const uint8_t> in) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != kStart0) continue;
    const auto at = in.subspan(i);
    LinkHeader h;
    if (parse_link_header(at, h) != LinkStatus::Ok) continue;
    uint8_t user[kMaxUserData];
    if (extract_user_data(at, h, user) != LinkStatus::Ok || h.user_data_size() < 2) continue;
    (void)parse_transport(user[0]);
    parse_fragment(std::span<const uint8_t>(user + 1, h.user_data_size() - 1));
  }
  parse_fragment(in);
  for (uint8_t fc : {kRead, kWrite, kDirectOperate, kFreezeAtTime, kResponse}) walk_objects(in, fc);
}

Conn make_conn(Transport t) {
  Conn c;
  c.set_id(ConnId{IpAddr::v4(0xC0000201u), IpAddr::v4(0xC0000202u), 40000, 20000, t});
  return c;
}

void run_analyzer(std::span<const uint8_t> in, Transport t) {
  fuzz::TouchLogs logs;
  fuzz::TouchWeirds weirds;
  fuzz::TouchOps ops;
  const LogId ids[kLogCount] = {0, 1, 2};
  const AnalyzerContext ctx{&logs, &weirds, &ops, ids};
  Options opts;
  opts.max_fragment = 512 + (in.size() % 1024);
  opts.reassembly_slots = 1 + in.size() % 3;
  Conn c = make_conn(t);

  // Whole, from the originator.
  auto a = make_analyzer(ctx, t, opts);
  a->data(c, true, in, 1);
  a->end(c, 2);

  // Cut into pieces of 1..31 bytes taken from the input itself, alternating direction when the piece's
  // first byte is odd, with a gap after the middle piece (TCP only).
  auto b = make_analyzer(ctx, t, opts);
  size_t pos = 0;
  uint64_t ts = 10;
  bool gapped = false;
  while (pos < in.size()) {
    const size_t n = std::min<size_t>(in.size() - pos, 1 + in[pos] % 31);
    const bool is_orig = (in[pos] & 1) == 0;
    if (t == Transport::Tcp && !gapped && pos >= in.size() / 2) {
      b->gap(c, is_orig, n, ts);
      gapped = true;
    } else {
      b->data(c, is_orig, in.subspan(pos, n), ts);
    }
    pos += n;
    ++ts;
  }
  b->end(c, ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  parse_all(in);
  run_analyzer(in, Transport::Tcp);
  run_analyzer(in, Transport::Udp);
  return 0;
}
