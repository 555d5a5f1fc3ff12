#include "sensor/sbom_query_command.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "inventory/sbom_db.hpp"
#include "output/syslog_message.hpp"
#include "output/text_out.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kJsonPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return t;
}();

// The inside of a JSON string (no quotes) at `p`, which has room for 6 bytes per byte of `s`: RFC 8259
// escapes; bytes that are not valid UTF-8 become \u00XX (their Latin-1 reading). Plain runs and valid UTF-8
// pass through by the log writers' step (text::copy_passing, eight bytes at a time). Returns the end.
char* put_json_chars(char* p, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    if (text::copy_passing(p, b, i, s.size(), s.size(), '"', '\\')) continue;
    const unsigned char c = b[i++];
    if (kJsonPlain[c]) {
      *p++ = static_cast<char>(c);
    } else if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = static_cast<char>(c);
    } else {  // a control byte, DEL, or a byte of no valid UTF-8 character
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      std::memcpy(p, esc, 6);
      p += 6;
    }
  }
  return p;
}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// One row as a JSON object, appended to `out`. The room for the worst case (every byte escaped) is made
// once, the row written into it through a pointer and the rest cut off: at 50,000 rows
// (tools/bench_sbom.sh) a few appends per field cost as much as the query.
void append_json_line(std::string& out, const sbom::SbomMatchView& r) {
  static constexpr std::array<std::string_view, 8> kKeys = {
      "\"device_id\":\"", "\"name\":\"",      "\"address\":\"", "\"zone\":\"",
      "\"fw_version\":\"", "\"component\":\"", "\"version\":\"", "\"purl\":\""};
  static constexpr std::string_view kTimeKey = "\"last_attested\":";
  const std::array<std::string_view, 8> values = {r.device_id,  r.name,      r.address, r.zone,
                                                  r.fw_version, r.component, r.version, r.purl};
  size_t room = 64;  // braces, commas, the time's key and its 20 + 1 + 6 characters, the newline
  for (size_t i = 0; i < values.size(); ++i) room += kKeys[i].size() + 2 + 6 * values[i].size();
  const size_t at = out.size();
  out.resize(at + room);
  char* const start = out.data() + at;
  char* p = start;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].empty()) continue;  // unset fields are left out, as in the JSON logs
    const char opening = p == start ? '{' : ',';
    *p++ = opening;
    p = put(p, kKeys[i]);
    p = put_json_chars(p, values[i]);
    *p++ = '"';
  }
  if (r.last_attested_ns) {
    const char opening = p == start ? '{' : ',';
    *p++ = opening;
    p = put(p, kTimeKey);
    p = text::write_fixed6_ns(p, false, r.last_attested_ns);  // epoch seconds, as the JSON logs' times
  }
  if (p == start) *p++ = '{';
  *p++ = '}';
  *p++ = '\n';
  out.resize(static_cast<size_t>(p - out.data()));
}

// The answer is built in memory and written in large chunks: one write(2) per megabyte, not per row.
class Output {
 public:
  static constexpr size_t kChunk = 1 << 20;
  explicit Output(std::FILE* f) : f_(f) { text_.reserve(kChunk + 64 * 1024); }
  std::string& text() { return text_; }
  // Writes what is held once it passes a chunk (`all`: whatever it holds). False once a write failed.
  bool flush(bool all = false) {
    if (!all && text_.size() < kChunk) return ok_;
    if (ok_ && std::fwrite(text_.data(), 1, text_.size(), f_) != text_.size()) ok_ = false;
    text_.clear();
    return ok_;
  }

 private:
  std::FILE* f_;
  std::string text_;
  bool ok_ = true;
};

struct JsonLines : sbom::SbomMatchSink {
  Output& out;
  size_t rows = 0;
  explicit JsonLines(Output& o) : out(o) {}
  void row(const sbom::SbomMatchView& r) override {
    ++rows;
    append_json_line(out.text(), r);
    out.flush();
  }
};

// The table's columns are as wide as their widest cell, known only after the last row: the cells wait in one
// arena, reserved once for the rows announced (growing it by copies cost more than the query on 50,000 rows:
// page faults), the times as numbers (formatted when written).
struct Table : sbom::SbomMatchSink {
  static constexpr size_t kColumns = 8;
  static constexpr size_t kText = kColumns - 1;  // cells kept as text; the last is last_attested
  static constexpr std::array<std::string_view, kColumns> kHeader = {"device_id", "name",      "address", "zone",
                                                                     "firmware",  "component", "version", "last_attested"};
  std::string arena;
  std::vector<uint32_t> ends;  // kText per row: where each cell ends in the arena
  std::vector<uint64_t> times;
  std::array<size_t, kColumns> width{};
  size_t rows = 0;

  Table() {
    for (size_t i = 0; i < kColumns; ++i) width[i] = kHeader[i].size();
  }
  void expect(size_t n) override {
    arena.reserve(n * 96);
    ends.reserve(n * kText);
    times.reserve(n);
  }
  void row(const sbom::SbomMatchView& r) override {
    ++rows;
    const std::array<std::string_view, kText> cells = {r.device_id, r.name,       r.address, r.zone,
                                                       r.fw_version, r.component, r.version};
    for (size_t i = 0; i < kText; ++i) {
      const std::string_view c = cells[i].empty() ? std::string_view("-") : cells[i];
      arena.append(c);
      ends.push_back(static_cast<uint32_t>(arena.size()));
      width[i] = std::max(width[i], c.size());
    }
    times.push_back(r.last_attested_ns);
    if (r.last_attested_ns) width[kText] = std::max<size_t>(width[kText], 24);  // RFC 3339 with milliseconds
  }
  void write(Output& out) const {
    line(out.text(), kHeader.data());
    std::array<std::string_view, kColumns> cells;
    std::string time;
    size_t at = 0;
    for (size_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < kText; ++i) {
        const size_t end = ends[r * kText + i];
        cells[i] = std::string_view(arena).substr(at, end - at);
        at = end;
      }
      time.clear();
      if (times[r]) append_rfc3339(time, times[r], 3);
      cells[kText] = time.empty() ? std::string_view("-") : std::string_view(time);
      line(out.text(), cells.data());
      if (!out.flush()) return;
    }
  }
  // One line: the row's width of spaces, each cell copied over its column's start (one resize and eight
  // copies, not a pair of appends per cell).
  void line(std::string& out, const std::string_view* cells) const {
    size_t len = cells[kColumns - 1].size() + 1;
    for (size_t i = 0; i + 1 < kColumns; ++i) len += width[i] + 2;
    const size_t at = out.size();
    out.resize(at + len, ' ');
    char* p = out.data() + at;
    for (size_t i = 0; i < kColumns; ++i) {
      std::memcpy(p, cells[i].data(), cells[i].size());
      p += i + 1 < kColumns ? width[i] + 2 : cells[i].size();
    }
    *p = '\n';
  }
};

}  // namespace

int sbom_query(const SbomQueryOptions& o, std::FILE* out, std::FILE* err) {
  const auto usage = [&](std::string_view why) {
    std::fprintf(err, "otsensor: sbom query: %.*s (see otsensor sbom query --help)\n", static_cast<int>(why.size()),
                 why.data());
    return 2;
  };
  if (o.db.empty()) return usage("--db FILE is required");
  if (o.component.empty() == o.purl.empty()) return usage("give exactly one of --component NAME and --purl PURL");
  if (!o.version_below.empty() && !o.version.empty()) return usage("--version-below and --version exclude each other");
  if (!o.purl.empty() && (!o.version_below.empty() || !o.version.empty())) {
    return usage("--version-below and --version go with --component (a purl carries its own @version)");
  }
  sbom::SbomQuery q;
  if (!o.component.empty()) {
    q.kind = sbom::SbomQuery::Kind::Component;
    q.component = o.component;
    if (!o.version_below.empty()) {
      q.test = sbom::SbomQuery::VersionTest::Below;
      q.version = o.version_below;
    } else if (!o.version.empty()) {
      q.test = sbom::SbomQuery::VersionTest::Equal;
      q.version = o.version;
    }
  } else {
    sbom::PurlParts parts;
    if (!sbom::split_purl(o.purl, parts)) {
      return usage(fmt::format("--purl '{}' is not a package URL (pkg:type/namespace/name[@version])", o.purl));
    }
    q.kind = sbom::SbomQuery::Kind::Purl;
    q.purl = o.purl;
  }

  std::string why;
  auto db = sbom::SbomDatabase::open(o.db, sbom::SbomDatabase::Mode::ReadOnly, why);
  Output output(out);
  JsonLines json(output);
  Table table;
  sbom::SbomMatchSink& sink = o.json ? static_cast<sbom::SbomMatchSink&>(json) : table;
  if (!db || !db->query(q, sink, why)) {
    std::fprintf(err, "otsensor: sbom query: %s\n", why.c_str());
    return 2;
  }
  if ((o.json ? json.rows : table.rows) == 0) {
    std::fprintf(err, "otsensor: sbom query: no attested device matches\n");
    return 1;
  }
  if (!o.json) table.write(output);
  if (!output.flush(true) || std::fflush(out) != 0) {
    std::fprintf(err, "otsensor: sbom query: cannot write the results\n");
    return 2;
  }
  return 0;
}

int sbom_upgrade(const std::string& db, std::FILE* out, std::FILE* err) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db, ec)) {
    std::fprintf(err, "otsensor: sbom upgrade: %s: no such database file\n", db.c_str());
    return 2;
  }
  // A read-write open upgrades the schema in place (one transaction); it is then what a new file would be.
  std::string why;
  if (!sbom::SbomDatabase::open(db, sbom::SbomDatabase::Mode::ReadWrite, why)) {
    std::fprintf(err, "otsensor: sbom upgrade: %s\n", why.c_str());
    return 2;
  }
  std::fprintf(out, "%s: schema version %d\n", db.c_str(), sbom::SbomDatabase::kSchemaVersion);
  return 0;
}

}  // namespace ots
