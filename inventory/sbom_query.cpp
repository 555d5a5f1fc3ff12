// `otsensor sbom query`'s answer (issue 6: within 100 ms for 100,000 devices x 200 components). One path for
// --component and --purl, in three steps:
//   1. the matching components: the few rows of that name (or purl) through their index, filtered here by
//      version (compare_versions) or purl qualifiers: a name has a handful of versions, so the filter costs
//      microseconds and needs no sortable version column;
//   2. their devices: integer ids from the link table's primary key (component, device), grouped by id;
//   3. those devices' rows: when they are more than 1/kScanRatio of the plant, one scan of the covering
//      index devices_attested_rows, which yields every attested device in device_id order with its printed
//      columns in one value, query_row (no table lookup, no sort); otherwise one lookup by id each, sorted
//      here.
// Rows go to the sink as views into SQLite's row: nothing is copied that is not printed.
#include <algorithm>
#include <array>
#include <cstdint>
#include <tuple>

#include "inventory/sbom_db_impl.hpp"

namespace ots::sbom {

namespace {

using sqlite::Statement;
using sqlite::Use;

// On the benchmark's database (tools/bench_sbom.sh, 100,000 devices, file mapped and in the page cache) the
// scan costs about 23 ms and a lookup by id about 50 us (a page fault on a random page of the table, mostly):
// 1,221 devices took 76 ms by lookups and 37 ms by the scan, 9 devices 14 ms and 37 ms. So above one device
// in 256 the scan wins. (Measured with schema 2's seven-column index; schema 3's scan is cheaper, so the
// true crossing is lower, and the ratio errs on the side of lookups only for a few hundred devices.)
constexpr int64_t kScanRatio = 256;

struct MatchedComponent {
  int64_t id = 0;
  std::string name, version, purl;
};

// A device's query_row (the generated column of schema 3, sbom_db.cpp): seven decimal numbers each followed
// by a space (id, last_attested or 0, and the byte lengths of device_id, name, address, zone and fw_version),
// then those five texts. The scan reads the id of every attested device and the rest only of the matching
// ones. A value not of that shape was not written by SQLite from our schema (an edited or damaged file):
// the query fails and says so.
class QueryRow {
 public:
  explicit QueryRow(std::string_view row) : p_(row.data()), end_(row.data() + row.size()) {}

  bool id(int64_t& out) {
    uint64_t v = 0;
    if (!number(v) || v > uint64_t{INT64_MAX}) return false;
    out = static_cast<int64_t>(v);
    return true;
  }
  // After id().
  bool columns(SbomMatchView& v) {
    std::array<uint64_t, 6> n{};
    for (uint64_t& x : n) {
      if (!number(x)) return false;
    }
    std::array<std::string_view, 5> texts;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (n[1 + i] > static_cast<uint64_t>(end_ - p_)) return false;
      texts[i] = std::string_view(p_, n[1 + i]);
      p_ += n[1 + i];
    }
    if (p_ != end_) return false;
    v.device_id = texts[0];
    v.name = texts[1];
    v.address = texts[2];
    v.zone = texts[3];
    v.fw_version = texts[4];
    v.last_attested_ns = n[0];
    return true;
  }

 private:
  // Digits and their space; at most 19 digits, so that the value fits. Locals, not the members: a char read
  // may alias them, so the compiler would reload both after every digit.
  bool number(uint64_t& x) {
    const char* p = p_;
    const char* const stop = end_ - p > 19 ? p + 19 : end_;
    uint64_t v = 0;
    while (p < stop) {
      const unsigned d = static_cast<unsigned char>(*p) - unsigned{'0'};
      if (d > 9) break;
      v = v * 10 + d;
      ++p;
    }
    if (p == p_ || p == end_ || *p != ' ') return false;
    x = v;
    p_ = p + 1;
    return true;
  }

  const char* p_;
  const char* end_;
};

bool version_matches(const SbomQuery& q, std::string_view version) {
  if (q.test == SbomQuery::VersionTest::Any) return true;
  if (version.empty()) return false;  // a component without a version is neither below nor equal to one
  const int c = compare_versions(version, q.version);
  return q.test == SbomQuery::VersionTest::Below ? c < 0 : c == 0;
}

}  // namespace

bool SbomDatabase::query(const SbomQuery& q, SbomMatchSink& sink, std::string& err) {
  Impl& m = *impl_;

  // 1. The matching components, in output order.
  PurlParts want;
  Statement* s = &m.components_named;
  if (q.kind == SbomQuery::Kind::Component) {
    s->bind(1, q.component);
  } else {
    if (!split_purl(q.purl, want)) {
      err = fmt::format("'{}' is not a package URL (pkg:type/namespace/name@version)", q.purl);
      return false;
    }
    s = &m.components_of_purl;
    s->bind(1, want.base);
    s->bind(2, want.version);
  }
  std::vector<MatchedComponent> components;
  {
    Use u(*s);
    int rc;
    while ((rc = s->step()) == SQLITE_ROW) {
      if (q.kind == SbomQuery::Kind::Component && !version_matches(q, s->text(2))) continue;
      if (!want.rest.empty()) {
        // Qualifiers or subpath asked for: they must be the component's too.
        PurlParts have;
        if (!split_purl(s->text(3), have) || have.rest != want.rest) continue;
      }
      components.push_back({s->integer(0), std::string(s->text(1)), std::string(s->text(2)), std::string(s->text(3))});
    }
    if (rc != SQLITE_DONE) {
      err = m.error("query failed (components)");
      return false;
    }
  }
  std::sort(components.begin(), components.end(), [](const MatchedComponent& a, const MatchedComponent& b) {
    if (a.name != b.name) return a.name < b.name;
    if (const int c = compare_versions(a.version, b.version); c != 0) return c < 0;
    return std::tie(a.version, a.purl) < std::tie(b.version, b.purl);
  });

  // 2. Their devices, grouped by device id (a counting sort: ids are dense, 1..max_id), each device's
  // components in output order.
  int64_t max_id = 0;
  {
    Use u(m.max_device_id);
    if (m.max_device_id.step() != SQLITE_ROW) {
      err = m.error("query failed (devices)");
      return false;
    }
    max_id = m.max_device_id.integer(0);
  }
  // Each component's devices, in component order: 4 bytes a row (so ids of 2^32 and above are refused).
  if (max_id >= int64_t{1} << 32) {
    err = fmt::format("{}: more device rows than a query can hold ({})", m.path, max_id);
    return false;
  }
  std::vector<uint32_t> link_devices;
  std::vector<size_t> component_end;  // per component: where its devices end in link_devices
  for (const MatchedComponent& c : components) {
    Use u(m.links_of);
    m.links_of.bind(1, c.id);
    int rc;
    while ((rc = m.links_of.step()) == SQLITE_ROW) {
      const int64_t device = m.links_of.integer(0);
      if (device > 0 && device <= max_id) link_devices.push_back(static_cast<uint32_t>(device));
    }
    if (rc != SQLITE_DONE) {
      err = m.error("query failed (links)");
      return false;
    }
    component_end.push_back(link_devices.size());
  }
  if (link_devices.empty()) return true;
  // Counting sort by device id. After it, device id's components are of[end[id - 1] .. end[id]), in component
  // order (placed in that order).
  std::vector<uint32_t> end(static_cast<size_t>(max_id) + 1, 0);
  for (const uint32_t d : link_devices) ++end[d];
  size_t devices = 0;
  for (size_t id = 1, sum = 0; id < end.size(); ++id) {
    devices += end[id] != 0;
    const size_t n = end[id];
    end[id] = static_cast<uint32_t>(sum);  // where id's components start, for now
    sum += n;
  }
  std::vector<uint32_t> of(link_devices.size());
  for (size_t i = 0, c = 0; i < link_devices.size(); ++i) {
    while (i == component_end[c]) ++c;
    of[end[link_devices[i]]++] = static_cast<uint32_t>(c);
  }
  link_devices = {};

  // One device's rows: `v` carries its columns.
  const auto emit = [&](SbomMatchView v, int64_t id) {
    for (uint32_t i = end[static_cast<size_t>(id) - 1]; i < end[static_cast<size_t>(id)]; ++i) {
      const MatchedComponent& c = components[of[i]];
      v.component = c.name;
      v.version = c.version;
      v.purl = c.purl;
      sink.row(v);
    }
  };
  const auto matched = [&](int64_t id) {
    return id > 0 && id <= max_id && end[static_cast<size_t>(id) - 1] != end[static_cast<size_t>(id)];
  };

  // 3. Their rows.
  sink.expect(of.size());
  if (static_cast<int64_t>(devices) * kScanRatio >= max_id) {
    Statement& d = m.devices_in_order;
    Use u(d);
    int rc;
    while ((rc = d.step()) == SQLITE_ROW) {
      QueryRow row(d.blob(0));
      int64_t id = 0;
      SbomMatchView v;
      if (!row.id(id) || (matched(id) && !row.columns(v))) {
        err = fmt::format("{}: query failed (devices): an entry of devices_attested_rows is damaged", m.path);
        return false;
      }
      if (matched(id)) emit(v, id);
    }
    if (rc != SQLITE_DONE) {
      err = m.error("query failed (devices)");
      return false;
    }
    return true;
  }
  // Few devices: each by its id, then in device_id order. Unattested ones find no row.
  struct Found {
    SbomMatch row;  // the device's columns
    int64_t id;
  };
  std::vector<Found> found;
  Statement& d = m.device_by_id;
  for (int64_t id = 1; id <= max_id; ++id) {
    if (!matched(id)) continue;
    Use u(d);
    d.bind(1, id);
    const int rc = d.step();
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) {
      err = m.error("query failed (devices)");
      return false;
    }
    QueryRow row(d.blob(0));
    int64_t row_id = 0;
    SbomMatchView v;
    if (!row.id(row_id) || row_id != id || !row.columns(v)) {
      err = fmt::format("{}: query failed (devices): the row of device {} is damaged", m.path, id);
      return false;
    }
    found.push_back({{std::string(v.device_id), std::string(v.name), std::string(v.address), std::string(v.zone),
                      std::string(v.fw_version), {}, {}, {}, v.last_attested_ns},
                     id});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.row.device_id < b.row.device_id; });
  for (const Found& f : found) {
    const SbomMatch& r = f.row;
    emit(SbomMatchView{r.device_id, r.name, r.address, r.zone, r.fw_version, {}, {}, {}, r.last_attested_ns}, f.id);
  }
  return true;
}

bool SbomDatabase::query(const SbomQuery& q, std::vector<SbomMatch>& out, std::string& err) {
  struct Copy : SbomMatchSink {
    std::vector<SbomMatch>& out;
    explicit Copy(std::vector<SbomMatch>& o) : out(o) {}
    void expect(size_t rows) override { out.reserve(out.size() + rows); }
    void row(const SbomMatchView& v) override {
      out.push_back({std::string(v.device_id), std::string(v.name), std::string(v.address), std::string(v.zone),
                     std::string(v.fw_version), std::string(v.component), std::string(v.version), std::string(v.purl),
                     v.last_attested_ns});
    }
  } copy(out);
  return query(q, copy, err);
}

}  // namespace ots::sbom
