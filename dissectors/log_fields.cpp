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

bool ConnColumns::is_for(const Conn& c) const {
  return built && c.orig_h_is(for_id.orig_h) && c.resp_h_is(for_id.resp_h) && c.orig_p() == for_id.orig_p &&
         c.resp_p() == for_id.resp_p && c.proto() == for_id.proto && c.first_ts_ns == for_first_ts &&
         c.vlan == for_vlan && c.inner_vlan == for_inner_vlan && c.ip_proto == for_ip_proto &&
         c.one_way_ == for_one_way;
}

void ConnColumns::build(const Conn& c) {
  for_id = c.id();
  for_uid = c.uid();
  uid = for_uid.text();
  for_first_ts = c.first_ts_ns;
  for_vlan = c.vlan;
  for_inner_vlan = c.inner_vlan;
  for_ip_proto = c.ip_proto;
  for_one_way = c.one_way_;
  built = true;
  built_cols[0] = for_id.orig_h;
  built_cols[1] = uint64_t{for_id.orig_p};
  built_cols[2] = for_id.resp_h;
  built_cols[3] = uint64_t{for_id.resp_p};
}

void ConnColumns::fill(const Conn& c, uint64_t ts_ns, Value* out) {
  if (!is_for(c)) build(c);
  out[0] = ts_ns;
  out[1] = uid.view();
  std::copy(built_cols.begin(), built_cols.end(), out + 2);
}

// ICSNPP: "if is_orig == T, source_* = id.orig_*; otherwise source_* = id.resp_*".
void ConnColumns::fill_icsnpp(const Conn& c, uint64_t ts_ns, bool is_orig, Value* out) {
  fill(c, ts_ns, out);
  out[6] = is_orig;
  const size_t src = is_orig ? 2 : 4, dst = is_orig ? 4 : 2;  // the id.* columns to copy, as out[] indexes
  out[7] = out[src];
  out[8] = out[src + 1];
  out[9] = out[dst];
  out[10] = out[dst + 1];
}

}  // namespace ots
