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
// The rule files the `rules:` section lists (resolved against the site file's directory) go to
// `rule_files` when given; their entries are checked either way (the files themselves by
// rules::load_rule_database).
bool load_site_file(const std::string& path, SitePolicy& policy, SensorSection& sensor,
                    std::vector<std::string>& errors, attest::AttestationConfig* attestation = nullptr,
                    SyslogSection* syslog = nullptr, std::vector<std::string>* rule_files = nullptr);

// Prints every problem as "FILE:LINE:COL: message" to `err` and returns 2; or prints the zones (name,
// SL, networks, VLANs, attestation and hardware-root requirement) and the conduits (zones, rules) to
// `out` and returns 0. The rules (the site model's `rules:` files and `extra_rules`, as --rules) are
// loaded and compiled too: problems with FILE:LINE:COL, or their count.
int check_config(const std::string& path, std::FILE* out, std::FILE* err,
                 const std::vector<std::string>& extra_rules = {});
int check_config_command(const std::string& path, const std::vector<std::string>& extra_rules = {});  // stdout, stderr

}  // namespace ots
