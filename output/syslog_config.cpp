#include "output/syslog_config.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "output/syslog_tls.hpp"
#include "zones/site_yaml.hpp"

namespace ots {

namespace {

using site_yaml::Field;
using site_yaml::Reader;

// RFC 5424 section 6.2.1, with the names syslog.h and rsyslog give the codes.
constexpr std::string_view kFacilities[24] = {"kern",   "user",   "mail",   "daemon", "auth",   "syslog",
                                              "lpr",    "news",   "uucp",   "cron",   "authpriv", "ftp",
                                              "ntp",    "audit",  "alert",  "clock",  "local0", "local1",
                                              "local2", "local3", "local4", "local5", "local6", "local7"};

bool valid_output_name(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

// An IPv4 or IPv6 literal, or a DNS name (RFC 1123 labels).
bool valid_host(std::string_view s) {
  IpAddr a;
  if (IpAddr::parse(std::string(s), a)) return true;
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    ++label;
  }
  return true;
}

// APP-NAME = 1*48PRINTUSASCII (RFC 5424 section 6).
bool valid_app_name(std::string_view s) {
  if (s.empty() || s.size() > 48) return false;
  for (const char c : s)
    if (c < 33 || c > 126) return false;
  return true;
}

// An enum value by the name its *_text function gives (values 0 to n-1), or "LABEL is 'x', expected a, b or c".
template <typename E>
bool pick(Reader& r, const Field& f, std::string_view subject, std::string_view label, int n,
          std::string_view (*name)(E), E& out) {
  const auto v = r.text(f, subject, label);
  if (!v) return false;
  std::string expected;
  for (int i = 0; i < n; ++i) {
    const E e = static_cast<E>(i);
    if (name(e) == *v) {
      out = e;
      return true;
    }
    expected += (i == 0 ? "" : i + 1 == n ? " or " : ", ") + std::string(name(e));
  }
  r.error(f.value, fmt::format("{}{} is '{}', expected {}", subject, label, *v, expected));
  return false;
}

struct Seen {
  std::map<std::string, int> names;       // name -> line
  std::map<std::string, std::string> spools;  // normalised spool_dir -> destination name
};

void parse_destination(Reader& r, const YAML::Node& item, size_t index, Seen& seen, SyslogSection& out) {
  std::string subject = fmt::format("outputs.syslog[{}]: ", index);
  if (!item.IsMap()) {
    r.error(item, fmt::format("{}a syslog output must be a map (name, host, port, transport, format, ...), got {}",
                              subject, Reader::describe(item)));
    return;
  }
  for (const auto& kv : item) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name" && kv.second.IsScalar() &&
        valid_output_name(kv.second.Scalar())) {
      subject = fmt::format("syslog output '{}': ", kv.second.Scalar());
      break;
    }
  }
  std::vector<Field> f;
  r.fields(item, subject, "",
           {{"name", true}, {"host", true}, {"port"}, {"transport", true}, {"format", true}, {"facility"},
            {"app_name"}, {"ca_file"}, {"cert_file"}, {"key_file"}, {"spool_dir"}, {"spool_max_mb"}},
           f);
  enum { kName, kHost, kPort, kTransport, kFormat, kFacility, kApp, kCa, kCert, kKey, kSpool, kSpoolMax };
  SyslogDestination d;
  d.pos = Reader::pos(item);
  const size_t errors_before = r.error_count();
  if (f[kName]) {
    if (auto v = r.text(f[kName], subject, "name")) {
      if (!valid_output_name(*v)) {
        r.error(Reader::at(f[kName]),
                fmt::format("{}name '{}' must be letters, digits, '_', '-' or '.' (it names the output in messages "
                            "and statistics)",
                            subject, *v));
      } else if (const auto it = seen.names.find(*v); it != seen.names.end()) {
        r.error(f[kName].value, fmt::format("syslog output '{}' is defined twice (first at line {})", *v, it->second));
      } else {
        seen.names.emplace(*v, d.pos.line);
        d.name = *v;
      }
    }
  }
  const bool transport_ok = f[kTransport] && pick(r, f[kTransport], subject, "transport", 3, &transport_text, d.transport);
  if (f[kHost]) {
    if (auto v = r.text(f[kHost], subject, "host")) {
      if (valid_host(*v)) {
        d.host = *v;
      } else {
        r.error(Reader::at(f[kHost]),
                fmt::format("{}host '{}' must be an IPv4 or IPv6 address or a DNS name", subject, *v));
      }
    }
  }
  d.port = d.transport == SyslogTransport::Tls ? 6514 : 514;
  if (f[kPort]) {
    if (auto v = r.integer(f[kPort], subject, "port", 1, 65535)) d.port = static_cast<uint16_t>(*v);
  }
  if (f[kFormat]) pick(r, f[kFormat], subject, "format", 3, &format_text, d.format);
  if (f[kFacility]) {
    if (auto v = r.text(f[kFacility], subject, "facility")) {
      const int code = syslog_facility_code(*v);
      if (code >= 0) {
        d.facility = static_cast<uint8_t>(code);
      } else {
        r.error(Reader::at(f[kFacility]),
                fmt::format("{}facility is '{}', expected an RFC 5424 facility name (kern, user, mail, daemon, auth, "
                            "syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0 to local7)",
                            subject, *v));
      }
    }
  }
  if (f[kApp]) {
    if (auto v = r.text(f[kApp], subject, "app_name")) {
      if (valid_app_name(*v)) {
        d.app_name = *v;
      } else {
        r.error(Reader::at(f[kApp]),
                fmt::format("{}app_name '{}' must be 1 to 48 printable ASCII characters without spaces (RFC 5424 "
                            "APP-NAME)",
                            subject, *v));
      }
    }
  }
  // TLS settings: only for tls, and ca_file is required there (RFC 5425: the server is authenticated).
  const bool tls = transport_ok && d.transport == SyslogTransport::Tls;
  std::string* tls_targets[] = {&d.ca_file, &d.cert_file, &d.key_file};
  for (int k = kCa; k <= kKey; ++k) {
    if (!f[size_t(k)]) continue;
    const Field& x = f[size_t(k)];
    if (transport_ok && !tls) {
      r.error(x.key, fmt::format("{}{} applies only to transport tls", subject, x.key.Scalar()));
      continue;
    }
    if (auto v = r.text(x, subject, x.key.Scalar())) {
      if (v->empty()) {
        r.error(Reader::at(x), fmt::format("{}{} is empty, expected a PEM file", subject, x.key.Scalar()));
      } else {
        *tls_targets[k - kCa] = *v;
      }
    }
  }
  if (tls && !f[kCa])
    r.error(item, fmt::format("{}missing required key 'ca_file' (transport tls verifies the server's certificate "
                              "against it)",
                              subject));
  if (tls && (f[kCert].present != f[kKey].present)) {
    const Field& given = f[kCert] ? f[kCert] : f[kKey];
    r.error(given.key, fmt::format("{}cert_file and key_file go together (the client certificate and its key)", subject));
  }
  if (tls && !d.ca_file.empty()) {
    // Loaded as the sender will load them, so that check-config finds what would fail at start.
    const bool pair = d.cert_file.empty() == d.key_file.empty();
    const std::string problem = tls_files_problem(d.ca_file, pair ? d.cert_file : "", pair ? d.key_file : "");
    if (!problem.empty()) r.error(Reader::at(f[kCa]), fmt::format("{}{}", subject, problem));
  }
  // The spool: tcp and tls only (UDP is best effort, RFC 5426).
  const bool stream = transport_ok && d.transport != SyslogTransport::Udp;
  for (int k : {kSpool, kSpoolMax}) {
    if (f[size_t(k)] && transport_ok && !stream)
      r.error(f[size_t(k)].key, fmt::format("{}{} applies only to transports tcp and tls (udp is best effort and "
                                            "has no spool)",
                                            subject, f[size_t(k)].key.Scalar()));
  }
  if (stream && !f[kSpool])
    r.error(item, fmt::format("{}missing required key 'spool_dir' (transport {} keeps messages there while the "
                              "destination is unreachable)",
                              subject, transport_text(d.transport)));
  if (stream && f[kSpool]) {
    if (auto v = r.text(f[kSpool], subject, "spool_dir")) {
      std::error_code ec;
      const auto normal = std::filesystem::path(*v).lexically_normal();
      if (v->empty()) {
        r.error(Reader::at(f[kSpool]), fmt::format("{}spool_dir is empty, expected a directory", subject));
      } else if (std::filesystem::exists(normal, ec) && !std::filesystem::is_directory(normal, ec)) {
        r.error(f[kSpool].value, fmt::format("{}spool_dir '{}' exists and is not a directory", subject, *v));
      } else if (const auto it = seen.spools.find(normal.string()); it != seen.spools.end()) {
        r.error(f[kSpool].value, fmt::format("{}spool_dir '{}' is also the spool of syslog output '{}': each output "
                                             "needs its own",
                                             subject, *v, it->second));
      } else {
        seen.spools.emplace(normal.string(), d.name.empty() ? fmt::format("#{}", index) : d.name);
        d.spool_dir = *v;
      }
    }
  }
  if (stream && f[kSpoolMax]) {
    if (auto v = r.integer(f[kSpoolMax], subject, "spool_max_mb", 1, 1 << 20))
      d.spool_max_bytes = static_cast<uint64_t>(*v) << 20;
  }
  if (r.error_count() == errors_before) out.destinations.push_back(std::move(d));
}

}  // namespace

std::string_view transport_text(SyslogTransport t) {
  static constexpr std::string_view kNames[] = {"udp", "tcp", "tls"};
  return kNames[static_cast<size_t>(t)];
}

std::string_view format_text(SyslogFormat f) {
  static constexpr std::string_view kNames[] = {"cef", "leef", "json"};
  return kNames[static_cast<size_t>(f)];
}

int syslog_facility_code(std::string_view name) {
  for (int i = 0; i < 24; ++i)
    if (kFacilities[i] == name) return i;
  return -1;
}

std::string_view syslog_facility_name(uint8_t code) { return code < 24 ? kFacilities[code] : "?"; }

std::string describe(const SyslogDestination& d) {
  std::string s = fmt::format("{} {}:{}, {}, facility {}, app_name {}", transport_text(d.transport),
                              d.host.find(':') != std::string::npos ? "[" + d.host + "]" : d.host, d.port,
                              format_text(d.format), syslog_facility_name(d.facility), d.app_name);
  if (!d.ca_file.empty()) s += fmt::format(", ca_file {}", d.ca_file);
  if (!d.cert_file.empty()) s += fmt::format(", client certificate {}", d.cert_file);
  if (d.transport == SyslogTransport::Udp) return s + " (best effort)";
  return s + fmt::format(", spool {} (at most {} MB)", d.spool_dir, d.spool_max_bytes >> 20);
}

bool load_syslog_section(const std::string& path, SyslogSection& out, std::vector<std::string>& errors) {
  const size_t before = errors.size();
  out = SyslogSection{};
  YAML::Node root;
  if (!site_yaml::load_document(path, root, errors)) return false;
  if (!root.IsMap()) return true;  // the site loaders report it
  Reader r(path, errors);
  for (const auto& kv : root) {
    if (!kv.first.IsScalar() || kv.first.Scalar() != "outputs") continue;
    const Field section{kv.first, kv.second, true};
    if (!section.value.IsMap()) {
      r.error(Reader::at(section),
              fmt::format("outputs must be a map (syslog), got {}", Reader::describe(section.value)));
      break;
    }
    std::vector<Field> f;
    r.fields(section.value, "", "outputs.", {{"syslog"}}, f);
    if (f[0] && r.list(f[0], "", "outputs.syslog")) {
      Seen seen;
      size_t index = 0;
      for (const auto& item : f[0].value) parse_destination(r, item, index++, seen, out);
    }
    break;  // a second `outputs` section is reported by the site loaders
  }
  order_by_position(path, errors, before);
  return errors.size() == before;
}

}  // namespace ots
