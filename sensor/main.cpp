// otsensor: the command line, in the manner of zeek and suricata (-r, -i, -c, -l, -w).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "conduits/site_policy.hpp"
#include "output/syslog_outputs.hpp"
#include "sensor/check_config.hpp"
#include "sensor/run.hpp"
#include "sensor/sensor_section.hpp"

#ifndef OTS_VERSION
#define OTS_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"otsensor: passive OT network sensor (Modbus, DNP3, EtherNet/IP+CIP, S7comm, attestation)\n"
               "Writes Zeek-compatible logs; checks traffic against an IEC 62443 zone and conduit model.",
               "otsensor"};
  app.set_version_flag("--version", std::string("otsensor ") + OTS_VERSION);
  app.get_formatter()->column_width(34);

  ots::RunOptions opts;
  std::string site_file;
  unsigned workers = 0;
  std::vector<double> interim;
  app.add_option("-r,--read", opts.read_files, "Read packets from a pcap/pcapng FILE (repeatable; merged by time)")
      ->type_name("FILE");
  app.add_option("-c,--config", site_file, "Site model (YAML): zones, conduits, attestation, outputs, sensor")
      ->type_name("FILE");
  app.add_option("-l,--logdir", opts.log_dir, "Directory for the logs (default: current directory)")->type_name("DIR");
  app.add_flag("--json", opts.json, "Write JSON lines (as Zeek's LogAscii::use_json=T) instead of TSV");
  app.add_option("-w,--workers", workers, "Worker threads (default 1, or sensor.workers of the site model)")
      ->type_name("N")
      ->check(CLI::Range(1, 64));
  app.add_option("--interim", interim, "Interval in seconds of conn_long.log records for long-lived flows (0: off)")
      ->type_name("SECONDS")
      ->expected(1)
      ->check(CLI::Range(0.0, 30.0 * 86400));
  app.add_option("--stats-json", opts.stats_json, "Write run statistics (packets, time, memory) as JSON to FILE")
      ->type_name("FILE");
  app.add_option("--logs", opts.only_logs,
                 "Write only these logs (comma-separated, e.g. conn,notice,weird); the others are not formatted")
      ->type_name("LIST")
      ->delimiter(',');
  app.add_flag("-q,--quiet", opts.quiet, "No summary line on stderr");
  std::string sensor_id;
  app.add_option("--sensor-id", sensor_id, "This sensor's id in the SIEM messages (default: the host name)")
      ->type_name("ID");

  std::string check_file;
  CLI::App* check = app.add_subcommand("check-config", "Validate a site model: every problem with FILE:LINE:COL, "
                                                       "or a summary of the zones and conduits (exit 2 when invalid)");
  check->add_option("FILE", check_file, "The site model (YAML)")->required()->type_name("FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "otsensor: error: %s (see otsensor --help)\n", e.what());
    return 2;
  }

  if (check->parsed()) return ots::check_config_command(check_file);

  ots::SitePolicy policy;
  ots::SyslogSection syslog;
  if (!site_file.empty()) {
    ots::SensorSection section;
    std::vector<std::string> errors;
    if (!ots::load_site_file(site_file, policy, section, errors, nullptr, &syslog)) {
      for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
      std::fprintf(stderr, "otsensor: error: invalid site model %s (%zu problem%s)\n", site_file.c_str(),
                   errors.size(), errors.size() == 1 ? "" : "s");
      return 2;
    }
    opts.pipeline = section.pipeline;
    if (section.workers) opts.workers = section.workers;
    opts.policy = &policy;
  }
  if (workers) opts.workers = workers;
  if (!interim.empty()) opts.pipeline.flows.interim_interval_ns = static_cast<uint64_t>(interim[0] * 1e9);
  if (opts.read_files.empty()) {
    std::fprintf(stderr, "otsensor: error: nothing to do: give a capture with -r FILE (see otsensor --help)\n");
    return 2;
  }
  std::unique_ptr<ots::SyslogOutputs> siem;
  if (!syslog.destinations.empty()) {
    try {
      ots::SyslogOutputs::Options so;
      so.sensor_id = sensor_id;
      so.version = OTS_VERSION;
      siem = std::make_unique<ots::SyslogOutputs>(syslog, so);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "otsensor: error: %s\n", e.what());
      return 1;
    }
    opts.syslog = siem.get();
  }
  return ots::run_sensor(opts);
}
