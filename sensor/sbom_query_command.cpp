#include "sensor/sbom_query_command.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "inventory/sbom_db.hpp"
#include "output/syslog_message.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// A JSON string: RFC 8259 escapes; bytes that are not valid UTF-8 become \u00XX (their Latin-1 reading).
// Runs of plain ASCII, nearly all of a row, are appended at once.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; };
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    size_t run = i;
    while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
    out.append(s.substr(i, run - i));
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c >= 0x80) {
      if (const size_t n = text::utf8_ok_len(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i)) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    if (c < 0x20 || c >= 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
    }
  }
  out.push_back('"');
}

void append_json_line(std::string& out, const sbom::SbomMatchView& r) {
  const std::array<std::pair<std::string_view, std::string_view>, 8> fields = {{{"device_id", r.device_id},
                                                                                {"name", r.name},
                                                                                {"address", r.address},
                                                                                {"zone", r.zone},
                                                                                {"fw_version", r.fw_version},
                                                                                {"component", r.component},
                                                                                {"version", r.version},
                                                                                {"purl", r.purl}}};
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (v.empty()) continue;  // unset fields are left out, as in the JSON logs
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, k);
    out.push_back(':');
    append_json_string(out, v);
  }
  if (r.last_attested_ns) {
    out.append(",\"last_attested\":");
    text::append_fixed6_ns(out, false, r.last_attested_ns);  // epoch seconds, as the JSON logs' times
  }
  out.append("}\n");
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
  void line(std::string& out, const std::string_view* cells) const {
    static constexpr std::string_view kSpaces =
        "                                                                                                ";
    for (size_t i = 0; i < kColumns; ++i) {
      out.append(cells[i]);
      if (i + 1 == kColumns) break;
      for (size_t pad = width[i] - cells[i].size() + 2; pad > 0;) {
        const size_t n = std::min(pad, kSpaces.size());
        out.append(kSpaces.data(), n);
        pad -= n;
      }
    }
    out.push_back('\n');
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
