// The site model together with the rule files it and the command line name, loaded and validated as one
// unit: at start-up, by check-config and on SIGHUP (sensor/capture_loop.cpp), so that the three can never
// disagree about what a valid configuration is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attest_tap/attestation_config.hpp"
#include "conduits/site_policy.hpp"
#include "output/syslog_config.hpp"
#include "rules/rule_database.hpp"
#include "sensor/sensor_section.hpp"

namespace ots {

struct SiteConfig {
  // On the heap: workers and stages point at it, and a reload replaces it while they still may.
  std::unique_ptr<SitePolicy> policy;  // null: no site model (no -c)
  SensorSection sensor;
  attest::AttestationConfig attestation;  // present = false without the section
  SyslogSection syslog;
  std::vector<std::string> rule_files;    // the model's `rules:` (resolved against its directory), then --rules
  std::unique_ptr<rules::RuleDatabase> rules;  // compiled; null when no rule file is named
  // The `sensor:` and `outputs:` sections as read (canonical YAML): they take effect at start-up only, and
  // a SIGHUP that finds them changed says so.
  std::string restart_sections;
};

// The notice suppression interval a model asks for (defaults.notice_suppress_s; the default without
// zones).
uint64_t notice_suppress_ns(const SitePolicy* policy);

enum class SiteLoad { Ok, InvalidModel, InvalidRules };

// Loads `site_file` (none when empty) with load_site_file, then every rule file (the model's `rules:`
// followed by `extra_rules`) with rules::load_rule_database, zone conditions resolved against the model.
// The rules are read only when the model is valid (they name its zones). Every problem goes to `errors`
// as "FILE:LINE:COL: ..."; `out` is complete only when the result is Ok. Throws nothing.
SiteLoad load_site_config(const std::string& site_file, const std::vector<std::string>& extra_rules, SiteConfig& out,
                          std::vector<std::string>& errors);

}  // namespace ots
