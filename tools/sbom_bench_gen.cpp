// otsensor-sbom-bench-gen OUT.sqlite [--devices N] [--components K] [--seed S]: the SBOM database of a large
// plant for tools/bench_sbom.sh (issue 6: `otsensor sbom query` within 100 ms for 100,000 devices x 200
// components), written through SbomDatabase::update, the sensor's own write path.
//
// The catalogue is a few thousand name/version pairs: about 1,200 component names, each in 1 to 5 versions.
// How many devices carry a name falls off as a power law of its rank (a handful are nearly everywhere, as
// openssl, zlib and busybox are on embedded firmware; most are on a few percent of devices), and newer
// versions are more common than older ones. Three names are fixed for the benchmark's queries: "openssl"
// (on 95% of devices, in 7 versions equally common, 4 of them 1.x), "zlib" (90%) and "rare-codec" (about
// one device in 10,000).
// Deterministic: the same arguments give the same database.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "inventory/sbom_db.hpp"

namespace {

struct CatalogueName {
  std::string name;
  double p = 0;                       // probability that a device carries it
  std::vector<std::string> versions;  // oldest first
};

std::vector<CatalogueName> catalogue(std::mt19937_64& rng, size_t per_device) {
  std::vector<CatalogueName> names;
  names.push_back({"openssl", 0.95, {"1.0.2u", "1.1.1n", "1.1.1t", "1.1.1w", "3.0.8", "3.0.11", "3.0.13"}});
  names.push_back({"zlib", 0.90, {"1.2.11", "1.2.12", "1.2.13", "1.3.1"}});
  names.push_back({"rare-codec", 0.0001, {"0.9.1"}});
  const char* known[] = {"busybox", "linux", "glibc", "musl", "libexpat", "sqlite", "curl", "libxml2", "freertos",
                         "lwip", "mbedtls", "wolfssl", "dropbear", "openssh", "libpng", "libjpeg-turbo", "protobuf",
                         "boost", "codesys-runtime", "nginx", "lighttpd", "dnsmasq", "iptables", "util-linux",
                         "e2fsprogs", "ncurses", "readline", "bash", "libgcrypt", "gnutls", "libssh2", "pcre2",
                         "json-c", "cjson", "jansson", "libuv", "u-boot", "uclibc-ng", "libmodbus", "open62541"};
  constexpr size_t kNames = 1200;
  for (size_t i = 0; names.size() < kNames; ++i) {
    CatalogueName n;
    n.name = i < std::size(known) ? std::string(known[i]) : fmt::format("lib-vendor-{:04}", i);
    const size_t nv = 1 + rng() % 5;
    for (size_t v = 0; v < nv; ++v) n.versions.push_back(fmt::format("{}.{}.{}", 1 + rng() % 4, rng() % 20, rng() % 40));
    std::sort(n.versions.begin(), n.versions.end(),
              [](const std::string& a, const std::string& b) { return ots::sbom::compare_versions(a, b) < 0; });
    n.versions.erase(std::unique(n.versions.begin(), n.versions.end()), n.versions.end());
    names.push_back(std::move(n));
  }
  // Power law over the rest, scaled so that a device carries `per_device` names on average.
  const double fixed = names[0].p + names[1].p + names[2].p;
  double sum = 0;
  for (size_t i = 3; i < names.size(); ++i) sum += 1.0 / std::pow(static_cast<double>(i - 2), 0.8);
  const double scale = (static_cast<double>(per_device) - fixed) / sum;
  for (size_t i = 3; i < names.size(); ++i) {
    names[i].p = std::min(0.9, scale / std::pow(static_cast<double>(i - 2), 0.8));
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  size_t devices = 100'000, per_device = 200;
  uint64_t seed = 6;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "otsensor-sbom-bench-gen: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--devices") {
      devices = std::stoul(value());
    } else if (a == "--components") {
      per_device = std::stoul(value());
    } else if (a == "--seed") {
      seed = std::stoull(value());
    } else if (!a.empty() && a[0] != '-' && out.empty()) {
      out = a;
    } else {
      std::fprintf(stderr, "usage: otsensor-sbom-bench-gen OUT.sqlite [--devices N] [--components K] [--seed S]\n");
      return 2;
    }
  }
  if (out.empty() || per_device < 10) {
    std::fprintf(stderr, "usage: otsensor-sbom-bench-gen OUT.sqlite [--devices N] [--components K>=10] [--seed S]\n");
    return 2;
  }
  std::mt19937_64 rng(seed);
  const std::vector<CatalogueName> names = catalogue(rng, per_device);
  size_t pairs = 0;
  for (const auto& n : names) pairs += n.versions.size();

  std::string err;
  auto db = ots::sbom::SbomDatabase::open(out, ots::sbom::SbomDatabase::Mode::ReadWrite, err);
  if (!db) {
    std::fprintf(stderr, "otsensor-sbom-bench-gen: %s\n", err.c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const char* zones[] = {"control", "field", "safety", "supervisory"};
  const uint64_t base_ns = 1'710'144'000'000'000'000ull;
  constexpr size_t kBatch = 1000;
  std::vector<ots::sbom::SbomDeviceRecord> batch;
  std::vector<size_t> picked;
  for (size_t d = 0; d < devices; ++d) {
    ots::sbom::SbomDeviceRecord r;
    r.device_id = fmt::format("{:016x}{:016x}", rng(), d);
    r.name = fmt::format("plc-{:06}", d + 1);
    r.address = fmt::format("10.{}.{}.{}", (d >> 16) & 255, (d >> 8) & 255, d & 255);
    r.zone = zones[d % std::size(zones)];
    r.fw_version = fmt::format("V{}.{}.{}", 1 + rng() % 3, rng() % 10, rng() % 10);
    r.root_kind = d % 3 ? "tpm_or_secure_element" : "puf";
    r.attested = unit(rng) < 0.98;
    r.identity_verdict = r.attested ? "ok" : "untrusted_ca";
    r.first_seen_ns = base_ns + (rng() % 3600) * 1'000'000'000ull;
    r.last_attested_ns = r.attested ? r.first_seen_ns + (rng() % 86400) * 1'000'000'000ull : 0;
    r.has_sbom = true;
    r.sbom_digest = fmt::format("{:016x}{:016x}{:016x}{:016x}", rng(), rng(), rng(), rng());
    // Each name by its own probability, then trimmed or topped up to exactly `per_device` names.
    picked.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      if (unit(rng) < names[i].p) picked.push_back(i);
    }
    while (picked.size() > per_device) {
      const size_t at = rng() % picked.size();
      if (picked[at] >= 3) picked.erase(picked.begin() + static_cast<long>(at));  // the three fixed names stay
    }
    while (picked.size() < per_device) {
      const size_t i = 3 + rng() % (names.size() - 3);
      if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
    }
    for (const size_t i : picked) {
      const CatalogueName& n = names[i];
      // Newer versions more common: the index of the newest of two draws.
      const size_t v = std::max(rng() % n.versions.size(), rng() % n.versions.size());
      const std::string& ver = i == 0 ? n.versions[rng() % n.versions.size()] : n.versions[v];
      r.components.push_back({n.name, ver, fmt::format("pkg:generic/{}@{}", n.name, ver),
                              fmt::format("cpe:2.3:a:{0}:{0}:{1}:*:*:*:*:*:*:*", n.name, ver)});
    }
    batch.push_back(std::move(r));
    if (batch.size() == kBatch || d + 1 == devices) {
      if (!db->update(batch, static_cast<uint64_t>(base_ns), err)) {
        std::fprintf(stderr, "otsensor-sbom-bench-gen: %s\n", err.c_str());
        return 1;
      }
      batch.clear();
    }
  }
  ots::sbom::SbomDbStats st;
  if (!db->stats(st, err)) {
    std::fprintf(stderr, "otsensor-sbom-bench-gen: %s\n", err.c_str());
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %llu devices (%llu attested), %llu components (catalogue %zu name/version pairs), %llu links; "
              "written in %.1f s\n",
              out.c_str(), static_cast<unsigned long long>(st.devices), static_cast<unsigned long long>(st.attested),
              static_cast<unsigned long long>(st.components), pairs, static_cast<unsigned long long>(st.links), s);
  return 0;
}
