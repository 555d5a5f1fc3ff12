// The `outputs: syslog:` section of the site model (issue 7): where notices go besides notice.log.
// Parsed once into these plain structs; nothing downstream sees YAML.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zones/site_model.hpp"

namespace ots {

enum class SyslogTransport : uint8_t { Udp, Tcp, Tls };
enum class SyslogFormat : uint8_t { Cef, Leef, Json };

std::string_view transport_text(SyslogTransport t);  // "udp", "tcp", "tls"
std::string_view format_text(SyslogFormat f);        // "cef", "leef", "json"

// One SIEM destination.
struct SyslogDestination {
  std::string name;                 // unique; names the destination in messages and statistics
  std::string host;                 // address or DNS name (for tls also the name the certificate must carry)
  uint16_t port = 0;                // default 514 (udp, tcp) or 6514 (tls, RFC 5425)
  SyslogTransport transport = SyslogTransport::Udp;
  SyslogFormat format = SyslogFormat::Cef;
  uint8_t facility = 16;            // RFC 5424 facility code; default local0
  std::string app_name = "otsensor";
  std::string ca_file, cert_file, key_file;  // tls only
  std::string spool_dir;            // tcp and tls: required
  uint64_t spool_max_bytes = 256ull << 20;
  SourcePos pos;
};

struct SyslogSection {
  std::vector<SyslogDestination> destinations;  // in file order
};

// RFC 5424 facility code of a name (kern, user, ..., local7), or -1.
int syslog_facility_code(std::string_view name);
std::string_view syslog_facility_name(uint8_t code);

// One line for check-config: "tls 10.0.0.5:6514, cef, facility local4, app_name otsensor, ca_file ...,
// spool /var/lib/otsensor/spool/soc (at most 256 MB)".
std::string describe(const SyslogDestination& d);

// Loads `outputs` of FILE (the other sections are left to their owners). On problems returns false and
// appends "FILE:LINE:COL: what is wrong, what was expected" lines to `errors`, all of them.
bool load_syslog_section(const std::string& path, SyslogSection& out, std::vector<std::string>& errors);

}  // namespace ots
