// Which weirds reach weird.log (Zeek's Weird framework: one row per name and connection, address pair or
// sensor every 10 minutes; some names once per originator), and that every weird is still counted.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <map>
#include <random>
#include <nlohmann/json.hpp>

#include "sensor/weird_filter.hpp"
#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::test;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

WeirdEvent conn_weird(std::string_view name, uint64_t ts_s, uint8_t client = 5, uint16_t sport = 40000) {
  WeirdEvent ev;
  ev.ts_ns = ts_s * kSec;
  ev.name = name;
  ev.uid = Uid{1, sport};
  ev.id.orig_h = IpAddr::v4(0x0a000000u | client);
  ev.id.resp_h = IpAddr::v4(0x0a000001u);
  ev.id.orig_p = sport;
  ev.id.resp_p = 502;
  ev.id.proto = Transport::Tcp;
  return ev;
}

uint64_t seen_of(const WeirdFilter& f, std::string_view name) {
  for (const auto& n : f.counts()) {
    if (n.name == name) return n.seen;
  }
  return 0;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

size_t rows_named(const fs::path& log, const std::string& name) {
  size_t n = 0;
  for (const auto& r : log_rows(log)) n += r.at("name") == name;
  return n;
}

// The filter the randomized tests hold two ways of feeding to each other: short windows so that entries
// come and go, and `bound` entries at most.
WeirdFilterConfig randomized_config(uint32_t bound) {
  WeirdFilterConfig cfg;
  cfg.repeat_ns = 30 * kSec;
  cfg.limited_ns = 90 * kSec;
  cfg.max_entries = bound;
  return cfg;
}

}  // namespace

TEST_CASE("weird filter: a repeat on one connection is logged again only after weird_repeat_s", "[weird]") {
  WeirdFilter f;  // Zeek's 10 minutes
  CHECK(f.admit(conn_weird("rexmit_inconsistency", 1000)));
  for (uint64_t t = 1001; t < 1600; t += 7) CHECK_FALSE(f.admit(conn_weird("rexmit_inconsistency", t)));
  CHECK(f.admit(conn_weird("rexmit_inconsistency", 1600)));
  CHECK_FALSE(f.admit(conn_weird("rexmit_inconsistency", 1601)));
  // Another name, another connection: their own rows.
  CHECK(f.admit(conn_weird("data_after_reset", 1602)));
  CHECK(f.admit(conn_weird("rexmit_inconsistency", 1602, 5, 40001)));
  CHECK(f.seen() == 2 + 86 + 3);
  CHECK(f.logged() == 4);
  CHECK(seen_of(f, "rexmit_inconsistency") == 1 + 86 + 3);
}

TEST_CASE("weird filter: flow weirds by address pair, network weirds once for the sensor", "[weird]") {
  WeirdFilter f;
  WeirdEvent flow;
  flow.name = "fragment_with_DF";
  flow.has_addrs = true;
  flow.id.orig_h = IpAddr::v4(0x0a000005u);
  flow.id.resp_h = IpAddr::v4(0x0a000006u);
  flow.ts_ns = 10 * kSec;
  CHECK(f.admit(flow));
  flow.id.orig_p = 1234;  // ports play no part in a flow weird's identifier
  CHECK_FALSE(f.admit(flow));
  flow.id.resp_h = IpAddr::v4(0x0a000007u);
  CHECK(f.admit(flow));

  WeirdEvent net;
  net.name = "truncated_header";
  net.ts_ns = 10 * kSec;
  CHECK(f.admit(net));
  net.ts_ns = 11 * kSec;
  CHECK_FALSE(f.admit(net));
  net.ts_ns = 610 * kSec;
  CHECK(f.admit(net));
}

TEST_CASE("weird filter: checksum weirds once per originator a day, ignored names never, as Zeek's actions", "[weird]") {
  CHECK(weird_action("bad_TCP_checksum") == WeirdAction::LogPerOrig);
  CHECK(weird_action("simultaneous_open") == WeirdAction::LogPerConn);
  CHECK(weird_action("spontaneous_FIN") == WeirdAction::Ignore);
  CHECK(weird_action("modbus_bad_length") == WeirdAction::Log);

  WeirdFilter f;
  CHECK(f.admit(conn_weird("bad_TCP_checksum", 100, 5, 40000)));
  CHECK_FALSE(f.admit(conn_weird("bad_TCP_checksum", 101, 5, 40001)));   // same host, another connection
  CHECK_FALSE(f.admit(conn_weird("bad_TCP_checksum", 5000, 5, 40002)));  // past 10 minutes, within the day
  CHECK(f.admit(conn_weird("bad_TCP_checksum", 102, 6, 40000)));         // another originator
  CHECK(f.admit(conn_weird("bad_TCP_checksum", 100 + 86400, 5, 40003)));
  CHECK(f.admit(conn_weird("simultaneous_open", 100)));
  CHECK_FALSE(f.admit(conn_weird("simultaneous_open", 5000)));
  CHECK_FALSE(f.admit(conn_weird("spontaneous_FIN", 100)));
  CHECK(seen_of(f, "spontaneous_FIN") == 1);  // counted all the same
}

TEST_CASE("weird filter: weird_repeat_s 0 logs every weird, the ignored names too", "[weird]") {
  WeirdFilterConfig cfg;
  cfg.repeat_ns = 0;
  WeirdFilter f(cfg);
  for (uint64_t t = 0; t < 50; ++t) CHECK(f.admit(conn_weird("rexmit_inconsistency", 1000 + t)));
  CHECK(f.admit(conn_weird("spontaneous_RST", 1000)));
  CHECK(f.logged() == 51);
  CHECK(f.remembered() == 0);
}

TEST_CASE("weird filter: memory is bounded by max_entries and freed as entries run out", "[weird]") {
  WeirdFilterConfig cfg;
  cfg.max_entries = 64;
  WeirdFilter f(cfg);
  // A storm of distinct connections: each weird is new, so each is logged, and no more than the bound
  // is remembered.
  for (uint16_t p = 0; p < 1000; ++p) {
    CHECK(f.admit(conn_weird("data_after_reset", 100, 5, static_cast<uint16_t>(20000 + p))));
    CHECK(f.remembered() <= 64);
  }
  // The most recent ones are still remembered, the oldest were forgotten first.
  CHECK_FALSE(f.admit(conn_weird("data_after_reset", 101, 5, 20999)));
  CHECK(f.admit(conn_weird("data_after_reset", 101, 5, 20000)));
  f.expire((101 + 600) * kSec);
  CHECK(f.remembered() == 0);
}

// A connection whose server sends a SYN-ACK at a new sequence number every 30 s for 12 minutes: a
// SYN_seq_jump weird each time. weird.log has two rows (the first, and the first after 10 minutes);
// weird_stats.log, the run's summary and --stats-json count every one; weird_repeat_s: 0 logs them all.
TEST_CASE("weird filter: names are told apart by their text wherever it lies", "[weird]") {
  // The same weirds, once with names that are views of one reused buffer (the same address for
  // different names, as a name built in a std::string would be) and once with views of literals:
  // interleaved names, connections, flow and network weirds, the limited actions, expiry sweeps and a
  // small bound that forgets entries. Every decision and count is the same.
  for (const uint32_t bound : {4u, 64u, 1u << 16}) {
    const WeirdFilterConfig cfg = randomized_config(bound);
    WeirdFilter from_buffer(cfg), from_literals(cfg);
    std::mt19937_64 rng(bound);
    std::string reused;
    reused.reserve(64);
    static const std::string_view kNames[] = {"rexmit_inconsistency", "data_after_reset", "bad_TCP_checksum",
                                              "simultaneous_open", "spontaneous_FIN", "modbus_bad_length",
                                              "modbus_bad_lengtH"};
    std::map<std::string, uint64_t> seen;
    uint64_t ts = 1000 * kSec;
    WeirdEvent ev = conn_weird(kNames[0], 1000);
    for (int i = 0; i < 100000; ++i) {
      const uint64_t r = rng() % 100;
      if (r < 50) {
        ev.name = kNames[rng() % std::size(kNames)];
      } else if (r < 80) {
        ev = conn_weird(kNames[rng() % std::size(kNames)], 0, static_cast<uint8_t>(rng() % 4),
                        static_cast<uint16_t>(40000 + rng() % 3));
      } else if (r < 90) {
        ev.uid = Uid{};
        ev.has_addrs = rng() % 2 == 0;
      } else if (r < 95) {
        ev.id.resp_p = static_cast<uint16_t>(rng() % 3);
      }
      ts += (rng() % 50) * (kSec / 10);
      ev.ts_ns = ts;
      if (rng() % 500 == 0) {
        from_buffer.expire(ts);
        from_literals.expire(ts);
      }
      ++seen[std::string(ev.name)];
      INFO("event " << i);
      const bool want = from_literals.admit(ev);
      reused.assign(ev.name);
      WeirdEvent copy = ev;
      copy.name = reused;
      REQUIRE(from_buffer.admit(copy) == want);
    }
    CHECK(from_buffer.logged() == from_literals.logged());
    CHECK(from_buffer.remembered() == from_literals.remembered());
    const auto counts = from_buffer.counts();
    CHECK(counts.size() == seen.size());
    for (const auto& n : counts) {
      CHECK(n.seen == seen[n.name]);
      CHECK(n.seen == seen_of(from_literals, n.name));
    }
  }
}

TEST_CASE("weird filter: a hinted repeat is dropped and counted exactly as admit drops and counts it", "[weird]") {
  // One filter admits every weird; the other is offered each repeat on the last hint for the same name
  // and identifier (as the flow table does for a connection's weirds) and admits only what the hint does
  // not cover. Expiry sweeps, a bound that forgets entries, time that sometimes goes backwards, the
  // limited and ignored names: every decision and count is the same, and most repeats use the hint.
  for (const uint32_t bound : {4u, 64u, 1u << 16}) {
    const WeirdFilterConfig cfg = randomized_config(bound);
    WeirdFilter plain(cfg), hinted(cfg);
    std::mt19937_64 rng(bound + 7);
    static const std::string_view kNames[] = {"rexmit_inconsistency", "data_after_reset", "bad_TCP_checksum",
                                              "simultaneous_open", "spontaneous_FIN"};
    struct Memo {
      std::string name;
      ConnId id;
      bool uid = false, addrs = false;
      WeirdSink::RepeatHint hint;
    };
    std::vector<Memo> memo(8);
    uint64_t ts = 1000 * kSec;
    uint64_t used = 0;
    WeirdEvent ev = conn_weird(kNames[0], 1000);
    for (int i = 0; i < 100000; ++i) {
      if (rng() % 10 < 3) {  // another weird; else a repeat of the last one
        // One draw a statement: the order in which arguments are evaluated is the compiler's choice.
        const std::string_view name = kNames[rng() % std::size(kNames)];
        const auto client = static_cast<uint8_t>(rng() % 4);
        const auto port = static_cast<uint16_t>(40000 + rng() % 3);
        ev = conn_weird(name, 0, client, port);
        if (rng() % 10 == 0) {
          ev.uid = Uid{};
          ev.has_addrs = rng() % 2 == 0;
        }
      }
      if (rng() % 20 == 0 && ts > 100 * kSec) {
        ts -= (rng() % 100) * kSec;  // a packet from the past
      } else {
        ts += (rng() % 50) * (kSec / 10);
      }
      ev.ts_ns = ts;
      if (rng() % 500 == 0) {
        plain.expire(ts);
        hinted.expire(ts);
      }
      INFO("event " << i);
      const bool want = plain.admit(ev);
      Memo& m = memo[(ev.id.orig_p + ev.id.orig_h.bytes[15] + ev.name.size()) % memo.size()];
      const bool same = m.name == ev.name && m.id == ev.id && m.uid == ev.uid.is_set() && m.addrs == ev.has_addrs;
      if (same && hinted.repeated(m.hint, ev.name, ev.ts_ns)) {
        ++used;
        REQUIRE_FALSE(want);
      } else {
        const WeirdFilter::Verdict v = hinted.admit_hinted(ev);
        REQUIRE(v.logged == want);
        m = Memo{std::string(ev.name), ev.id, ev.uid.is_set(), ev.has_addrs, v.hint};
      }
      REQUIRE(hinted.seen() == plain.seen());
    }
    CHECK(hinted.logged() == plain.logged());
    CHECK(hinted.remembered() == plain.remembered());
    // Of some 70,000 repeats (26,384, 60,600 and 72,942 used): fewer when the small bound forgets all
    // the time and every hint with it.
    CHECK(used > (bound == 4 ? 20000u : 50000u));
    for (const auto& n : plain.counts()) CHECK(seen_of(hinted, n.name) == n.seen);
  }
}

TEST_CASE("weird filter: a hint is not taken for another name, and weird_repeat_s 0 gives none", "[weird]") {
  WeirdFilter f;
  const WeirdFilter::Verdict v = f.admit_hinted(conn_weird("rexmit_inconsistency", 1000));
  CHECK(v.logged);
  REQUIRE(v.hint.valid);
  CHECK_FALSE(f.repeated(v.hint, "data_after_reset", 1001 * kSec));
  CHECK(f.repeated(v.hint, "rexmit_inconsistency", 1001 * kSec));
  CHECK_FALSE(f.repeated(v.hint, "rexmit_inconsistency", 1600 * kSec));  // past the 10 minutes
  CHECK(f.seen() == 2);
  CHECK(f.logged() == 1);

  WeirdFilterConfig cfg;
  cfg.repeat_ns = 0;
  WeirdFilter all(cfg);
  CHECK_FALSE(all.admit_hinted(conn_weird("rexmit_inconsistency", 1000)).hint.valid);
}

TEST_CASE("weird.log writes a repeated weird once per 10 minutes, and weird_stats.log counts every one", "[weird][replay]") {
  const auto out = scratch_dir("weird_repeats");
  const V4Addr cli{10, 1, 0, 5}, srv{10, 1, 0, 6};
  using namespace ots::tcp_flag;
  const uint32_t c0 = 1000, s0 = 5000;
  double t = 1'700'000'000.0;
  std::vector<std::pair<double, Bytes>> frames = {
      {t += 0.01, tcp_frame(cli, 40000, srv, 8080, c0, 0, SYN, 0)},
      {t += 0.01, tcp_frame(srv, 8080, cli, 40000, s0, c0 + 1, SYN | ACK, 0)},
      {t += 0.01, tcp_frame(cli, 40000, srv, 8080, c0 + 1, s0 + 1, ACK, 0)},
  };
  const int repeats = 25;
  for (int i = 0; i < repeats; ++i) {
    const uint32_t jump = s0 + 100000u * static_cast<uint32_t>(i + 1);  // a SYN-ACK at another sequence number
    frames.push_back({t += 30, tcp_frame(srv, 8080, cli, 40000, jump, c0 + 1, SYN | ACK, 0)});
    frames.push_back({t += 0.01, tcp_frame(cli, 40000, srv, 8080, c0 + 1, s0 + 1, ACK, 0)});
  }
  frames.push_back({t += 0.01, tcp_frame(cli, 40000, srv, 8080, c0 + 1, s0 + 1, FIN | ACK, 0)});
  frames.push_back({t += 0.01, tcp_frame(srv, 8080, cli, 40000, s0 + 1, c0 + 2, FIN | ACK, 0)});
  frames.push_back({t += 0.01, tcp_frame(cli, 40000, srv, 8080, c0 + 2, s0 + 2, ACK, 0)});
  write_pcap(out / "repeats.pcap", frames);
  std::ofstream(out / "every.yaml") << "sensor:\n  weird_repeat_s: 0\n";

  const auto r = run(otsensor() + " --stats-interval 60 -r " + q(out / "repeats.pcap") + " -l " + q(out / "default") +
                     " --stats-json " + q(out / "default.json"));
  REQUIRE(r.exit_code == 0);
  REQUIRE(run(otsensor() + " -q -c " + q(out / "every.yaml") + " -r " + q(out / "repeats.pcap") + " -l " +
              q(out / "every") + " --stats-json " + q(out / "every.json"))
              .exit_code == 0);

  const size_t all = rows_named(out / "every" / "weird.log", "SYN_seq_jump");
  CHECK(all == repeats);
  const auto logged = log_rows(out / "default" / "weird.log");
  std::vector<double> ts;
  for (const auto& row : logged) {
    if (row.at("name") == "SYN_seq_jump") ts.push_back(std::stod(row.at("ts")));
  }
  REQUIRE(ts.size() == 2);
  CHECK(ts[1] - ts[0] >= 600.0);
  CHECK(ts[1] - ts[0] < 630.0);

  uint64_t stat_seen = 0;
  for (const auto& row : log_rows(out / "default" / "weird_stats.log")) {
    if (row.at("name") == "SYN_seq_jump") stat_seen += std::stoull(row.at("num_seen"));
  }
  CHECK(stat_seen == all);
  const auto js = nlohmann::json::parse(read_file(out / "default.json"));
  const auto every = nlohmann::json::parse(read_file(out / "every.json"));
  CHECK(js["weirds"] == every["weirds"]);
  CHECK(js["weirds_logged"].get<uint64_t>() == logged.size());
  CHECK(every["weirds_logged"] == every["weirds"]);
  CHECK(r.output.find(fmt::format("{} weirds, {} logged", js["weirds"].get<uint64_t>(), logged.size())) !=
        std::string::npos);
}

TEST_CASE("weird entries agree with a map through random inserts and erases", "[weird]") {
  // Few distinct keys, so that entries collide, wrap around the table's end and are erased from the
  // middle of runs (the backward shift), and the table grows along the way.
  std::mt19937_64 rng(7);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  auto key_of = [](uint64_t n) {
    WeirdKey k;
    k.a = IpAddr::v4(0x0a000000u | static_cast<uint32_t>(n % 7));
    k.pa = static_cast<uint16_t>(n / 7);
    k.name = static_cast<uint32_t>(n % 3);
    k.kind = 2;
    return k;
  };
  WeirdEntries t;
  std::map<uint64_t, uint64_t> ref;
  for (int op = 0; op < 200000; ++op) {
    INFO("op " << op);
    const uint64_t n = pick(op < 100000 ? 40 : 400);
    const WeirdKey k = key_of(n);
    if (pick(3) != 0) {
      const uint64_t until = pick(1000);
      const auto [at, fresh] = t.insert(k, until);
      const auto [it, ref_fresh] = ref.try_emplace(n, until);
      REQUIRE(fresh == ref_fresh);
      REQUIRE(t.until(at) == it->second);
      if (!fresh && pick(2) == 0) t.until(at) = it->second = until;
    } else {
      const size_t at = t.find(k);
      const auto it = ref.find(n);
      REQUIRE((at == WeirdEntries::npos) == (it == ref.end()));
      if (it != ref.end()) {
        REQUIRE(t.until(at) == it->second);
        t.erase(at);
        ref.erase(it);
      }
    }
    REQUIRE(t.size() == ref.size());
  }
  for (const auto& [n, until] : ref) {
    const size_t at = t.find(key_of(n));
    REQUIRE(at != WeirdEntries::npos);
    CHECK(t.until(at) == until);
  }
}
