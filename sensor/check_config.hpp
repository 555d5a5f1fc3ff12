// `otsensor check-config FILE`: validate the site model and show what the sensor will enforce.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "attest_tap/attestation_config.hpp"
#include "conduits/site_policy.hpp"
#include "output/syslog_config.hpp"
#include "sensor/sensor_section.hpp"

namespace ots {

// The one loader of the site model file for the sensor: zones and conduits (load_site_policy), the
// sensor section (load_sensor_section), the attestation section (load_attestation_config) and the SIEM
// outputs (load_syslog_section), the last two checked even when their out-parameter is null. Problems from
// all come in file order, without the duplicates they report alike (unknown top-level sections, YAML
// syntax, an unreadable file).
bool load_site_file(const std::string& path, SitePolicy& policy, SensorSection& sensor,
                    std::vector<std::string>& errors, attest::AttestationConfig* attestation = nullptr,
                    SyslogSection* syslog = nullptr);

// Prints every problem as "FILE:LINE:COL: message" to `err` and returns 2; or prints the zones (name,
// SL, networks, VLANs, attestation and hardware-root requirement) and the conduits (zones, rules) to
// `out` and returns 0.
int check_config(const std::string& path, std::FILE* out, std::FILE* err);
int check_config_command(const std::string& path);  // stdout, stderr

}  // namespace ots
