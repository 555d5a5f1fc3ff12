// The columns protocol logs share: Zeek's ts/uid/id.* and ICSNPP's is_orig/source/destination prefix.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "capture/flow.hpp"
#include "output/log_schema.hpp"

namespace ots {

// Zeek's leading columns: ts, uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p.
inline constexpr size_t kConnColumns = 6;
// ICSNPP's: is_orig, source_h, source_p, destination_h, destination_p (after the id.* columns).
inline constexpr size_t kIcsnppColumns = 5;

// Schema builders: the shared columns followed by the log's own.
std::vector<FieldDef> conn_fields(std::initializer_list<FieldDef> own);
std::vector<FieldDef> icsnpp_fields(std::initializer_list<FieldDef> own);

// Fills the shared columns of one record. `uid` must outlive the write (it is viewed, not copied).
struct ConnColumns {
  std::string uid;
  void fill(const Conn& c, uint64_t ts_ns, Value* out);                  // kConnColumns values
  void fill_icsnpp(const Conn& c, uint64_t ts_ns, bool is_orig, Value* out);  // kConnColumns + kIcsnppColumns
};

}  // namespace ots
