#include <catch2/catch.hpp>

#include <fstream>

#include "sensor/sensor_section.hpp"
#include "tests/test_support.hpp"

using namespace ots;

namespace {
std::string write_file(const std::string& name, const std::string& text) {
  auto p = ots::test::scratch_dir("sensor_section") / name;
  std::ofstream(p) << text;
  return p.string();
}
}  // namespace

TEST_CASE("sensor section sets workers, timeouts and limits", "[config]") {
  const auto path = write_file("ok.yaml",
                               "site: test\n"
                               "sensor:\n"
                               "  workers: 2\n"
                               "  max_flows: 5000\n"
                               "  udp_inactivity_s: 30\n"
                               "  interim_interval_s: 600\n"
                               "  verify_checksums: true\n");
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE(load_sensor_section(path, s, errors));
  CHECK(errors.empty());
  CHECK(s.workers == 2);
  CHECK(s.pipeline.flows.max_flows == 5000);
  CHECK(s.pipeline.flows.udp_inactivity_ns == 30'000'000'000ull);
  CHECK(s.pipeline.flows.interim_interval_ns == 600'000'000'000ull);
  CHECK(s.pipeline.decode.verify_checksums);
}

TEST_CASE("sensor section reports every problem with file, line and column", "[config]") {
  const auto path = write_file("bad.yaml",
                               "site: test\n"
                               "zonez: []\n"
                               "sensor:\n"
                               "  workers: 0\n"
                               "  max_flowz: 10\n"
                               "  udp_inactivity_s: soon\n");
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE_FALSE(load_sensor_section(path, s, errors));
  REQUIRE(errors.size() == 4);
  CHECK(errors[0] == path + ":2:1: unknown section 'zonez', expected one of site, defaults, zones, conduits, "
                            "attestation, outputs, rules, sensor");
  CHECK(errors[1] == path + ":4:12: sensor.workers is 0, expected 1 to 64");
  CHECK(errors[2].rfind(path + ":5:3: unknown key 'sensor.max_flowz'", 0) == 0);
  CHECK(errors[3] == path + ":6:21: sensor.udp_inactivity_s must be a number, got 'soon'");
}

TEST_CASE("a YAML syntax error is reported with its position", "[config]") {
  const auto path = write_file("syntax.yaml", "sensor:\n  workers: [1, 2\n");
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE_FALSE(load_sensor_section(path, s, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind(path + ":", 0) == 0);
}

TEST_CASE("a missing site model file is a clear error", "[config]") {
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE_FALSE(load_sensor_section("/nonexistent/site.yaml", s, errors));
  CHECK(errors == std::vector<std::string>{"/nonexistent/site.yaml: cannot read the file"});
}

TEST_CASE("sensor section sets the capture loss and drop notice thresholds, each checked with its position",
          "[config]") {
  SensorSection s;
  std::vector<std::string> errors;
  CHECK(s.health.too_much_loss_percent == 10.0);  // Zeek's CaptureLoss::too_much_loss
  CHECK(s.health.dropped_packets_percent == 0.0);  // Zeek's PacketFilter: any drop
  REQUIRE(load_sensor_section(write_file("health.yaml", "sensor:\n  too_much_loss_percent: 25\n"
                                                        "  dropped_packets_percent: 0.5\n"),
                              s, errors));
  CHECK(s.health.too_much_loss_percent == 25.0);
  CHECK(s.health.dropped_packets_percent == 0.5);
  const auto bad = write_file("health_bad.yaml", "sensor:\n  too_much_loss_percent: 0\n"
                                                 "  dropped_packets_percent: lots\n");
  REQUIRE_FALSE(load_sensor_section(bad, s, errors));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == bad + ":2:26: sensor.too_much_loss_percent is 0, expected 0.001 to 100");
  CHECK(errors[1] == bad + ":3:28: sensor.dropped_packets_percent must be a number, got 'lots'");
}

TEST_CASE("sensor.inventory_interval_s: seconds of packet time between SBOM inventory writes, 0 to 86400", "[config]") {
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE(load_sensor_section(write_file("inventory.yaml", "sensor:\n  inventory_interval_s: 15\n"), s, errors));
  CHECK(s.inventory_interval_s == 15.0);
  REQUIRE(load_sensor_section(write_file("inventory_off.yaml", "sensor:\n  inventory_interval_s: 0\n"), s, errors));
  CHECK(s.inventory_interval_s == 0.0);
  SensorSection unset;
  REQUIRE(load_sensor_section(write_file("inventory_unset.yaml", "sensor:\n  workers: 1\n"), unset, errors));
  CHECK_FALSE(unset.inventory_interval_s.has_value());  // the run decides: 60 s live, the end for a replay
  const auto bad = write_file("inventory_bad.yaml", "sensor:\n  inventory_interval_s: -1\n");
  REQUIRE_FALSE(load_sensor_section(bad, s, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == bad + ":2:25: sensor.inventory_interval_s is -1, expected 0 to 86400");
}
