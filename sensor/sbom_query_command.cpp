#include "sensor/sbom_query_command.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

#include "inventory/sbom_db.hpp"
#include "output/syslog_message.hpp"
#include "output/value_text.hpp"

namespace ots {

namespace {

// A JSON string: RFC 8259 escapes; bytes that are not valid UTF-8 become \u00XX (their Latin-1 reading).
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (const size_t n = text::utf8_ok_len(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
    }
  }
  out.push_back('"');
}

void append_json_lines(std::string& out, const std::vector<sbom::SbomMatch>& rows) {
  for (const sbom::SbomMatch& r : rows) {
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
}

void append_table(std::string& out, const std::vector<sbom::SbomMatch>& rows) {
  constexpr size_t kColumns = 8;
  const std::array<std::string_view, kColumns> header = {"device_id", "name",      "address", "zone",
                                                         "firmware",  "component", "version", "last_attested"};
  std::vector<std::array<std::string, kColumns>> cells;
  cells.reserve(rows.size());
  for (const sbom::SbomMatch& r : rows) {
    std::string attested;
    if (r.last_attested_ns) append_rfc3339(attested, r.last_attested_ns, 3);
    cells.push_back({r.device_id, r.name, r.address, r.zone, r.fw_version, r.component, r.version, std::move(attested)});
    for (std::string& c : cells.back()) {
      if (c.empty()) c.push_back('-');
    }
  }
  std::array<size_t, kColumns> width{};
  for (size_t i = 0; i < kColumns; ++i) width[i] = header[i].size();
  for (const auto& row : cells) {
    for (size_t i = 0; i < kColumns; ++i) width[i] = std::max(width[i], row[i].size());
  }
  const auto line = [&](const auto& row) {
    for (size_t i = 0; i < kColumns; ++i) {
      out.append(row[i]);
      if (i + 1 < kColumns) out.append(width[i] - std::string_view(row[i]).size() + 2, ' ');
    }
    out.push_back('\n');
  };
  line(header);
  for (const auto& row : cells) line(row);
}

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
  std::vector<sbom::SbomMatch> rows;
  if (!db || !db->query(q, rows, why)) {
    std::fprintf(err, "otsensor: sbom query: %s\n", why.c_str());
    return 2;
  }
  if (rows.empty()) {
    std::fprintf(err, "otsensor: sbom query: no attested device matches\n");
    return 1;
  }
  std::string text;
  text.reserve(rows.size() * 160);
  if (o.json) {
    append_json_lines(text, rows);
  } else {
    append_table(text, rows);
  }
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0) {
    std::fprintf(err, "otsensor: sbom query: cannot write the results\n");
    return 2;
  }
  return 0;
}

}  // namespace ots
