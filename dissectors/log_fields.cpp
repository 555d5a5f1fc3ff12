#include "dissectors/log_fields.hpp"

#include <algorithm>

namespace ots {

std::vector<FieldDef> conn_fields(std::initializer_list<FieldDef> own) {
  std::vector<FieldDef> f = {{"ts", FieldType::Time},     {"uid", FieldType::String},
                             {"id.orig_h", FieldType::Addr}, {"id.orig_p", FieldType::Port},
                             {"id.resp_h", FieldType::Addr}, {"id.resp_p", FieldType::Port}};
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

std::vector<FieldDef> icsnpp_fields(std::initializer_list<FieldDef> own) {
  std::vector<FieldDef> f = conn_fields({{"is_orig", FieldType::Bool},
                                         {"source_h", FieldType::Addr},
                                         {"source_p", FieldType::Port},
                                         {"destination_h", FieldType::Addr},
                                         {"destination_p", FieldType::Port}});
  f.insert(f.end(), own.begin(), own.end());
  return f;
}

void ConnColumns::fill(const Conn& c, uint64_t ts_ns, Value* out) {
  const ConnId id = c.id();
  if (uid.len == 0 || !(id == for_id) || c.first_ts_ns != for_first_ts || c.vlan != for_vlan ||
      c.inner_vlan != for_inner_vlan || c.ip_proto != for_ip_proto || c.one_way_ != for_one_way) {
    for_uid = c.uid();
    uid = for_uid.text();
    for_id = id;
    for_first_ts = c.first_ts_ns;
    for_vlan = c.vlan;
    for_inner_vlan = c.inner_vlan;
    for_ip_proto = c.ip_proto;
    for_one_way = c.one_way_;
  }
  out[0] = ts_ns;
  out[1] = uid.view();
  out[2] = id.orig_h;
  out[3] = uint64_t{id.orig_p};
  out[4] = id.resp_h;
  out[5] = uint64_t{id.resp_p};
}

// ICSNPP: "if is_orig == T, source_* = id.orig_*; otherwise source_* = id.resp_*".
void ConnColumns::fill_icsnpp(const Conn& c, uint64_t ts_ns, bool is_orig, Value* out) {
  fill(c, ts_ns, out);
  const ConnId id = c.id();
  out[6] = is_orig;
  out[7] = is_orig ? id.orig_h : id.resp_h;
  out[8] = uint64_t{is_orig ? id.orig_p : id.resp_p};
  out[9] = is_orig ? id.resp_h : id.orig_h;
  out[10] = uint64_t{is_orig ? id.resp_p : id.orig_p};
}

HexText hex_text(uint64_t v, int width) {
  static constexpr char kHex[] = "0123456789abcdef";
  const int significant = v == 0 ? 1 : (67 - __builtin_clzll(v)) / 4;  // hex digits of v
  const int digits = std::clamp(std::max(significant, width), 1, 16);
  HexText t;
  t.buf[0] = '0';
  t.buf[1] = 'x';
  for (int i = 0; i < digits; ++i) t.buf[2 + i] = kHex[(v >> (4 * (digits - 1 - i))) & 0xF];
  t.len = static_cast<uint8_t>(2 + digits);
  return t;
}

}  // namespace ots
