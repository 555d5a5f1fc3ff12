// otsensor: the command line, in the manner of zeek and suricata (-r, -i, -c, -l, -w).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conduits/site_policy.hpp"
#include "output/syslog_outputs.hpp"
#include "sensor/check_config.hpp"
#include "sensor/run.hpp"
#include "sensor/sbom_query_command.hpp"
#include "sensor/signals.hpp"
#include "sensor/site_config.hpp"

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
  bool inline_worker = false;
  app.add_flag("--inline-worker", inline_worker,
               "With -w 1: read and analyse on one thread (default: a reading thread feeds the worker's)");
  std::vector<std::string> ifaces;
  ots::LivePcapOptions live;
  int buffer_mb = live.buffer_bytes >> 20;
  bool pcap_batch = false;
  std::vector<double> stats_interval;
  CLI::Option* iface_opt =
      app.add_option("-i,--interface", ifaces,
                     "Capture live on IFACE with libpcap (repeatable: several SPAN ports at once)")
          ->type_name("IFACE")
          ->excludes("-r");
  app.add_option("-f,--filter", live.filter, "BPF capture filter for -i (as tcpdump's)")
      ->type_name("EXPR")
      ->needs(iface_opt);
  app.add_option("--snaplen", live.snaplen, "Bytes kept of each live packet (default 65535)")
      ->type_name("BYTES")
      ->check(CLI::Range(64, 262144))
      ->needs(iface_opt);
  app.add_option("--buffer-mb", buffer_mb, "Kernel capture buffer per interface, in MB (default 64)")
      ->type_name("MB")
      ->check(CLI::Range(1, 2047))
      ->needs(iface_opt);
  app.add_flag("--pcap-batch", pcap_batch,
               "No immediate mode: libpcap's TPACKET_V3 ring, packets handed over in blocks (busy SPAN ports)")
      ->needs(iface_opt);
  app.add_option("--stats-interval", stats_interval,
                 "stats.log and capture_loss.log every SECONDS of packet time (default 300 live, none for -r)")
      ->type_name("SECONDS")
      ->expected(1)
      ->check(CLI::Range(1.0, 86400.0));
  CLI::Option* dpdk_opt =
      app.add_option("--dpdk", opts.dpdk.eal_args,
                     "Capture from DPDK ports; ARGS are the EAL's, e.g. '--no-huge --no-pci -l 0 "
                     "--vdev=net_pcap0,rx_pcap=F.pcap' (docs/DPDK.md)")
          ->type_name("'EAL ARGS'")
          ->excludes("-r");
  app.add_option("--dpdk-ports", opts.dpdk.ports, "DPDK port ids to capture on (default: every port the EAL found)")
      ->type_name("LIST")
      ->delimiter(',')
      ->needs(dpdk_opt);
  app.add_option("--dpdk-mbufs", opts.dpdk.mbufs, "Mbufs in the DPDK packet pool (default: 8191, more if the RX "
                                                   "queues need it)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1u << 30))
      ->needs(dpdk_opt);
  const std::map<std::string, ots::DpdkQueueHash> queue_hashes = {{"auto", ots::DpdkQueueHash::Auto},
                                                                    {"symmetric", ots::DpdkQueueHash::Symmetric}};
  app.add_option("--dpdk-queue-hash", opts.dpdk.queue_hash,
                 "auto: one RX queue per worker where the port confirms symmetric RSS; symmetric: the device "
                 "spreads flows over its queues by a symmetric hash of its own, trust it (net_af_packet)")
      ->type_name("auto|symmetric")
      ->transform(CLI::CheckedTransformer(queue_hashes, CLI::ignore_case))
      ->needs(dpdk_opt);
  std::string sensor_id;
  app.add_option("--sensor-id", sensor_id, "This sensor's id in the SIEM messages (default: the host name)")
      ->type_name("ID");

  std::vector<std::string> rule_files;
  app.add_option("--rules", rule_files, "Detection rules (YAML, docs/RULES.md) besides the site model's rules: "
                                        "(repeatable)")
      ->type_name("FILE");

  std::string check_file;
  CLI::App* check = app.add_subcommand("check-config", "Validate a site model: every problem with FILE:LINE:COL, "
                                                       "or a summary of the zones and conduits (exit 2 when invalid)");
  check->add_option("FILE", check_file, "The site model (YAML)")->required()->type_name("FILE");
  std::vector<std::string> check_rules;
  check->add_option("--rules", check_rules, "Rule files to check besides the model's rules: (repeatable)")
      ->type_name("FILE");

  // otsensor sbom query: the attested SBOM inventory the sensor writes (LOGDIR/sbom.sqlite, docs/SBOM.md).
  ots::SbomQueryOptions sbom_opts;
  CLI::App* sbom = app.add_subcommand("sbom", "The attested SBOM inventory (LOGDIR/sbom.sqlite)");
  sbom->require_subcommand(1);
  CLI::App* sbom_query = sbom->add_subcommand(
      "query", "Attested devices carrying a component: exit 0 when some match, 1 when none, 2 on an error");
  sbom_query->add_option("--db", sbom_opts.db, "The database (LOGDIR/sbom.sqlite)")->required()->type_name("FILE");
  CLI::Option* sbom_component =
      sbom_query->add_option("--component", sbom_opts.component, "Component name (case-insensitive)")->type_name("NAME");
  sbom_query->add_option("--purl", sbom_opts.purl, "Package URL; with @version that version only, without any")
      ->type_name("PURL")
      ->excludes(sbom_component);
  CLI::Option* sbom_below =
      sbom_query->add_option("--version-below", sbom_opts.version_below, "Only versions below V (segment by segment)")
          ->type_name("V")
          ->needs(sbom_component);
  sbom_query->add_option("--version", sbom_opts.version, "Only version V")
      ->type_name("V")
      ->needs(sbom_component)
      ->excludes(sbom_below);
  sbom_query->add_flag("--json", sbom_opts.json, "JSON lines instead of a table");
  std::string sbom_upgrade_db;
  CLI::App* sbom_upgrade = sbom->add_subcommand("upgrade", "Bring a database of an older otsensor to this one's schema");
  sbom_upgrade->add_option("--db", sbom_upgrade_db, "The database (LOGDIR/sbom.sqlite)")->required()->type_name("FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "otsensor: error: %s (see otsensor --help)\n", e.what());
    return 2;
  }

  if (check->parsed()) return ots::check_config_command(check_file, check_rules);
  if (sbom_query->parsed()) return ots::sbom_query_command(sbom_opts);
  if (sbom_upgrade->parsed()) return ots::sbom_upgrade(sbom_upgrade_db, stdout, stderr);

  ots::install_reload_handler();  // from here on a SIGHUP waits for the run loop (compiling rules takes a while)
  // The site model and the rules, as one configuration (sensor/site_config.hpp); SIGHUP reads both again.
  ots::SiteConfig site;
  std::vector<std::string> site_errors;
  const ots::SiteLoad loaded = ots::load_site_config(site_file, rule_files, site, site_errors);
  if (loaded != ots::SiteLoad::Ok) {
    for (const auto& e : site_errors) std::fprintf(stderr, "%s\n", e.c_str());
    const size_t n = site_errors.size();
    if (loaded == ots::SiteLoad::InvalidModel) {
      std::fprintf(stderr, "otsensor: error: invalid site model %s (%zu problem%s)\n", site_file.c_str(), n,
                   n == 1 ? "" : "s");
    } else {
      std::fprintf(stderr, "otsensor: error: invalid rules (%zu problem%s)\n", n, n == 1 ? "" : "s");
    }
    return 2;
  }
  if (!site_file.empty()) {
    opts.pipeline = site.sensor.pipeline;
    if (site.sensor.workers) opts.workers = site.sensor.workers;
    opts.stats_interval_s = site.sensor.stats_interval_s;
    opts.inventory_interval_s = site.sensor.inventory_interval_s;
    opts.capture_health = site.sensor.health;
    opts.attest_queue_ticks = site.sensor.attest_queue_ticks;
    opts.policy = site.policy.get();
    opts.attestation = &site.attestation;
    opts.site_file = site_file;
    opts.restart_sections = site.restart_sections;
  }
  opts.rules = site.rules.get();
  opts.extra_rule_files = rule_files;
  if (!stats_interval.empty()) opts.stats_interval_s = stats_interval[0];
  live.buffer_bytes = buffer_mb << 20;
  live.immediate = !pcap_batch;
  for (const std::string& i : ifaces) {
    live.iface = i;
    opts.interfaces.push_back(live);
  }
  if (workers) opts.workers = workers;
  opts.reader_thread = !inline_worker;
  if (!interim.empty()) opts.pipeline.flows.interim_interval_ns = static_cast<uint64_t>(interim[0] * 1e9);
  if (opts.read_files.empty() && !opts.dpdk.enabled() && opts.interfaces.empty()) {
    std::fprintf(stderr, "otsensor: error: nothing to do: give a capture with -r FILE or an interface with -i IFACE (see otsensor --help)\n");
    return 2;
  }
  std::unique_ptr<ots::SyslogOutputs> siem;
  if (!site.syslog.destinations.empty()) {
    try {
      ots::SyslogOutputs::Options so;
      so.sensor_id = sensor_id;
      so.version = OTS_VERSION;
      siem = std::make_unique<ots::SyslogOutputs>(site.syslog, so);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "otsensor: error: %s\n", e.what());
      return 1;
    }
    opts.syslog = siem.get();
  }
  return ots::run_sensor(opts);
}
