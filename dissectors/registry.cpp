#include <iterator>

#include "dissectors/analyzer.hpp"
#include "dissectors/dnp3/dnp3_analyzer.hpp"
#include "dissectors/enip/enip.hpp"
#include "dissectors/modbus/modbus.hpp"
#include "dissectors/s7comm/s7comm.hpp"

namespace ots {

// Each protocol folder defines its module; add it here to switch it on. Order = conn.log service order.
static const DissectorModule* const kModules[] = {&kModbusModule, &kDnp3Module, &kEnipModule, &kCipIoModule,
                                                  &kS7commModule, nullptr};

namespace {

void fill_conn_weird(WeirdEvent& ev, const Conn& c, bool is_orig, uint64_t ts_ns, std::string_view name,
                     std::string&& addl, std::string_view source) {
  ev.ts_ns = ts_ns;
  ev.name = name;
  ev.addl = std::move(addl);
  ev.uid = c.uid();
  ev.id = c.id();
  ev.has_addrs = true;
  ev.is_orig = is_orig;
  ev.source = source;
}

}  // namespace

void conn_weird(const AnalyzerContext& ctx, const Conn& c, bool is_orig, uint64_t ts_ns, std::string_view name,
                std::string addl, std::string_view source) {
  if (!ctx.weirds) return;
  WeirdEvent ev;
  fill_conn_weird(ev, c, is_orig, ts_ns, name, std::move(addl), source);
  ctx.weirds->weird(ev);
}

void conn_weird(const AnalyzerContext& ctx, ConnWeirdMemo& memo, const Conn& c, bool is_orig, uint64_t ts_ns,
                std::string_view name, std::string addl, std::string_view source) {
  if (!ctx.weirds) return;
  ConnWeirdMemo::Entry* e = nullptr;
  for (ConnWeirdMemo::Entry& m : memo.entries) {
    if (m.name == name.data() && m.size == name.size()) e = &m;
  }
  if (e && e->hint.valid && c.orig_h_is(e->id.orig_h) && c.resp_h_is(e->id.resp_h) && c.orig_p() == e->id.orig_p &&
      c.resp_p() == e->id.resp_p && ctx.weirds->weird_repeated(e->hint, name, ts_ns)) {
    return;
  }
  if (!e) {
    e = &memo.entries[memo.next];
    memo.next = static_cast<uint8_t>((memo.next + 1) % memo.entries.size());
  }
  WeirdEvent ev;
  fill_conn_weird(ev, c, is_orig, ts_ns, name, std::move(addl), source);
  e->hint = ctx.weirds->weird_hinted(ev);
  e->name = name.data();
  e->size = name.size();
  e->id = ev.id;
}

static_assert(std::size(kModules) - 1 <= 16, "Conn::services has a bit for each of at most 16 modules");

std::span<const DissectorModule* const> dissector_modules() {
  // The sentinel keeps the array non-empty while no module is registered.
  return {kModules, sizeof kModules / sizeof kModules[0] - 1};
}

}  // namespace ots
