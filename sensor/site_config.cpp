#include "sensor/site_config.hpp"

#include <exception>

#include <yaml-cpp/yaml.h>

#include "sensor/check_config.hpp"

namespace ots {

namespace {

std::string restart_sections_text(const std::string& site_file) {
  const YAML::Node root = YAML::LoadFile(site_file);  // valid: load_site_file has just read it
  std::string text;
  for (const char* key : {"sensor", "outputs"}) {
    const YAML::Node n = root[key];
    text += std::string(key) + ": " + (n ? YAML::Dump(n) : std::string("~")) + "\n";
  }
  return text;
}

}  // namespace

uint64_t notice_suppress_ns(const SitePolicy* policy) {
  return policy && policy->enabled() ? policy->defaults().notice_suppress_ns : SiteDefaults{}.notice_suppress_ns;
}

SiteLoad load_site_config(const std::string& site_file, const std::vector<std::string>& extra_rules, SiteConfig& out,
                          std::vector<std::string>& errors) {
  SiteLoad failed = SiteLoad::InvalidModel;
  try {
    if (!site_file.empty()) {
      out.policy = std::make_unique<SitePolicy>();
      if (!load_site_file(site_file, *out.policy, out.sensor, errors, &out.attestation, &out.syslog, &out.rule_files))
        return SiteLoad::InvalidModel;
      out.restart_sections = restart_sections_text(site_file);
    }
    failed = SiteLoad::InvalidRules;
    out.rule_files.insert(out.rule_files.end(), extra_rules.begin(), extra_rules.end());
    if (out.rule_files.empty()) return SiteLoad::Ok;
    out.rules = rules::load_rule_database(out.rule_files, out.policy.get(), errors);
    return out.rules ? SiteLoad::Ok : SiteLoad::InvalidRules;
  } catch (const std::exception& e) {  // the loaders report problems as values: this is a failure to run them
    errors.push_back((failed == SiteLoad::InvalidModel ? site_file : std::string("rules")) + ": " + e.what());
    return failed;
  }
}

}  // namespace ots
