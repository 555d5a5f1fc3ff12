// Zeek's TSV and JSON renderings, value by value, against Zeek's own baselines and source rules.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "log_format_support.hpp"
#include "output/log_format.hpp"
#include "test_support.hpp"

using namespace ots;
using ots::test::json1;
using ots::test::json_val;
using ots::test::tsv1;
using F = FieldType;

namespace {

// conn.log as Zeek 7.1+ writes it (scripts/base/protocols/conn/main.zeek), the order of the reference.
const LogSchema& conn_schema() {
  static const LogSchema s{"conn",
                           {{"ts", F::Time},           {"uid", F::String},        {"id.orig_h", F::Addr},
                            {"id.orig_p", F::Port},    {"id.resp_h", F::Addr},    {"id.resp_p", F::Port},
                            {"proto", F::Enum},        {"service", F::String},    {"duration", F::Interval},
                            {"orig_bytes", F::Count},  {"resp_bytes", F::Count},  {"conn_state", F::String},
                            {"local_orig", F::Bool},   {"local_resp", F::Bool},   {"missed_bytes", F::Count},
                            {"history", F::String},    {"orig_pkts", F::Count},   {"orig_ip_bytes", F::Count},
                            {"resp_pkts", F::Count},   {"resp_ip_bytes", F::Count}, {"tunnel_parents", F::SetString},
                            {"ip_proto", F::Count}}};
  return s;
}

const char* kConnFields =
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\t"
    "resp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto";
const char* kConnTypes =
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount";

IpAddr ip(const char* s) {
  IpAddr a;
  REQUIRE(IpAddr::parse(s, a));
  return a;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b < s.size()) {
    size_t e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

Value str(std::string_view s) { return Value{s}; }

// Zeek's conn.log line from zeek/zeek doc/frameworks/tls-decryption.rst, plus the ip_proto of Zeek 7.1.
std::vector<Value> tls_decryption_conn(std::string_view& uid_store) {
  uid_store = "CTy5Us4OUaTOcyrPvc";
  return {Value{uint64_t{1646150638631834000}},
          Value{uid_store},
          Value{ip("192.168.20.12")},
          Value{uint64_t{60679}},
          Value{ip("193.99.144.85")},
          Value{uint64_t{443}},
          str("tcp"),
          str("http,ssl"),
          Value{int64_t{7246461000}},
          Value{uint64_t{10853}},
          Value{uint64_t{151695}},
          str("SF"),
          Value{Unset{}},
          Value{Unset{}},
          Value{uint64_t{0}},
          str("ShADadFf"),
          Value{uint64_t{98}},
          Value{uint64_t{15961}},
          Value{uint64_t{139}},
          Value{uint64_t{158931}},
          Value{Unset{}},
          Value{uint64_t{6}}};
}

}  // namespace

TEST_CASE("tsv header is Zeek's eight meta lines with conn.log's fields and types", "[logwriter]") {
  const int64_t t = 1646150246;  // 2022-03-01 16:57:26 UTC
  const std::string h = tsv_header(conn_schema(), t);
  const auto l = lines_of(h);
  REQUIRE(l.size() == 8);
  REQUIRE(h.back() == '\n');
  CHECK(l[0] == "#separator \\x09");
  CHECK(l[1] == "#set_separator\t,");
  CHECK(l[2] == "#empty_field\t(empty)");
  CHECK(l[3] == "#unset_field\t-");
  CHECK(l[4] == "#path\tconn");
  // #open is the local time, as Ascii::Timestamp writes it.
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  REQUIRE(localtime_r(&tt, &tm));
  char want[64];
  strftime(want, sizeof want, "%Y-%m-%d-%H-%M-%S", &tm);
  CHECK(l[5] == std::string("#open\t") + want);
  REQUIRE(l[5].size() == 6 + 19);
  for (size_t i = 6; i < l[5].size(); ++i) {
    const bool dash = i == 10 || i == 13 || i == 16 || i == 19 || i == 22;
    CHECK((dash ? l[5][i] == '-' : (l[5][i] >= '0' && l[5][i] <= '9')));
  }
  CHECK(l[6] == kConnFields);
  CHECK(l[7] == kConnTypes);
  CHECK(tsv_footer(t) == std::string("#close\t") + want + "\n");
}

TEST_CASE("tsv #fields and #types equal the reference's conn.log lines", "[logwriter]") {
  const auto ref = ots::test::shared_dir() / "reference" / "log-and-siem-formats.md";
  std::ifstream in(ref);
  if (!in) {
    WARN("reference not found: " << ref.string());
    return;
  }
  std::vector<std::string> ref_lines;
  for (std::string line; std::getline(in, line);) ref_lines.push_back(line);
  std::string fields, types;
  for (size_t i = 0; i + 1 < ref_lines.size(); ++i) {
    if (ref_lines[i].rfind("#fields\tts\tuid\t", 0) == 0 && ref_lines[i].find("\tconn_state\t") != std::string::npos &&
        ref_lines[i].size() > 9 && ref_lines[i].compare(ref_lines[i].size() - 9, 9, "\tip_proto") == 0) {
      fields = ref_lines[i];
      types = ref_lines[i + 1];
      break;
    }
  }
  REQUIRE(!fields.empty());
  const auto l = lines_of(tsv_header(conn_schema(), 0));
  CHECK(l[6] == fields);
  CHECK(l[7] == types);
}

TEST_CASE("tsv conn.log line matches Zeek's documented output", "[logwriter]") {
  std::string_view uid;
  const auto v = tls_decryption_conn(uid);
  std::string out;
  format_tsv(conn_schema(), v, out);
  CHECK(out ==
        "1646150638.631834\tCTy5Us4OUaTOcyrPvc\t192.168.20.12\t60679\t193.99.144.85\t443\ttcp\thttp,ssl\t7.246461\t"
        "10853\t151695\tSF\t-\t-\t0\tShADadFf\t98\t15961\t139\t158931\t-\t6\n");
  // Appends: the caller's bytes stay.
  std::string two = "prefix\n";
  format_tsv(conn_schema(), v, two);
  CHECK(two == "prefix\n" + out);
}

TEST_CASE("tsv strings: empty, markers, separators, control bytes, UTF-8", "[logwriter]") {
  CHECK(tsv1(F::String, Value{Unset{}}) == "-");
  CHECK(tsv1(F::String, str("")) == "(empty)");
  CHECK(tsv1(F::String, str("-")) == "\\x2d");
  CHECK(tsv1(F::String, str("(empty)")) == "\\x28empty)");
  CHECK(tsv1(F::String, str("--")) == "--");
  CHECK(tsv1(F::String, str("a b")) == "a b");
  CHECK(tsv1(F::String, str("a\tb")) == "a\\x09b");
  CHECK(tsv1(F::String, str("a\nb")) == "a\\x0ab");
  CHECK(tsv1(F::String, str("\r")) == "\\x0d");
  CHECK(tsv1(F::String, str("\x01")) == "\\x01");
  CHECK(tsv1(F::String, str(std::string_view("a\0b", 3))) == "a\\x00b");
  CHECK(tsv1(F::String, str("\x7f")) == "\\x7f");
  CHECK(tsv1(F::String, str("\xff")) == "\\xff");
  CHECK(tsv1(F::String, str("x\xff\xfey")) == "x\\xff\\xfey");
  CHECK(tsv1(F::String, str("C:\\Windows")) == "C:\\\\Windows");  // get_escaped_string doubles a backslash
  CHECK(tsv1(F::String, str("a,b")) == "a,b");                    // ',' is special only inside sets
  // Valid UTF-8 passes (LogAscii::enable_utf_8=T).
  CHECK(tsv1(F::String, str("\xc3\xbc")) == "\xc3\xbc");                  // ü
  CHECK(tsv1(F::String, str("\xe2\x82\xa1")) == "\xe2\x82\xa1");          // ₡
  CHECK(tsv1(F::String, str("\xf0\x9f\x98\x84")) == "\xf0\x9f\x98\x84");  // 😄
  // Not valid, or valid but refused by check_ok_utf8: each byte of it escaped, the rest read afresh.
  CHECK(tsv1(F::String, str("\xc3\x28")) == "\\xc3(");
  CHECK(tsv1(F::String, str("\xc0\x81")) == "\\xc0\\x81");                      // overlong
  CHECK(tsv1(F::String, str("\xed\xa0\xa1")) == "\\xed\\xa0\\xa1");             // surrogate
  CHECK(tsv1(F::String, str("\xf4\x90\x8c\xbc")) == "\\xf4\\x90\\x8c\\xbc");    // past U+10FFFF
  CHECK(tsv1(F::String, str("\xe2\x82")) == "\\xe2\\x82");                      // truncated
  CHECK(tsv1(F::String, str("\xee\x8b\xa0")) == "\\xee\\x8b\\xa0");             // Private Use Area
  CHECK(tsv1(F::String, str("\xc2\x85")) == "\\xc2\\x85");                      // C1 control
  CHECK(tsv1(F::String, str("\xc3\xb1\xc0\x81")) == "\xc3\xb1\\xc0\\x81");      // valid, then invalid
  CHECK(tsv1(F::Enum, str("Modbus::READ_COILS")) == "Modbus::READ_COILS");
  CHECK(tsv1(F::Subnet, str("10.0.0.0/24")) == "10.0.0.0/24");
}

TEST_CASE("tsv data line starting with '#' gets the hex escape of '#'", "[logwriter]") {
  CHECK(tsv1(F::String, str("#abc")) == "\\x23abc");
  const LogSchema s{"x", {{"a", F::String}, {"b", F::String}}};
  const Value v[2] = {str("a"), str("#b")};
  std::string out;
  format_tsv(s, v, out);
  CHECK(out == "a\t#b\n");
}

TEST_CASE("tsv sets and vectors", "[logwriter]") {
  const std::string_view xs[] = {"a", "b,c", "", "-", "(empty)", "d\te"};
  CHECK(tsv1(F::SetString, Value{std::span<const std::string_view>(xs)}) ==
        "a,b\\x2cc,(empty),\\x2d,\\x28empty),d\\x09e");
  CHECK(tsv1(F::SetString, Value{std::span<const std::string_view>()}) == "(empty)");
  CHECK(tsv1(F::SetString, Value{Unset{}}) == "-");
  CHECK(tsv1(F::SetEnum, Value{std::span<const std::string_view>(xs, 1)}) == "a");
  CHECK(tsv1(F::VectorString, Value{std::span<const std::string_view>(xs, 2)}) == "a,b\\x2cc");
  const uint64_t ns[] = {1, 20, 300};
  CHECK(tsv1(F::VectorCount, Value{std::span<const uint64_t>(ns)}) == "1,20,300");
  CHECK(tsv1(F::VectorCount, Value{std::span<const uint64_t>()}) == "(empty)");
}

TEST_CASE("tsv time and interval: six decimals, nanoseconds rounded to the microsecond", "[logwriter]") {
  CHECK(tsv1(F::Time, Value{uint64_t{1646150638631834000}}) == "1646150638.631834");
  CHECK(tsv1(F::Time, Value{uint64_t{1646150638631834499}}) == "1646150638.631834");
  CHECK(tsv1(F::Time, Value{uint64_t{1646150638631834500}}) == "1646150638.631835");
  CHECK(tsv1(F::Time, Value{uint64_t{1646150638999999500}}) == "1646150639.000000");
  CHECK(tsv1(F::Time, Value{uint64_t{1646150638000000000}}) == "1646150638.000000");
  CHECK(tsv1(F::Time, Value{uint64_t{0}}) == "0.000000");
  CHECK(tsv1(F::Time, Value{Unset{}}) == "-");
  CHECK(tsv1(F::Interval, Value{int64_t{177095534000}}) == "177.095534");
  CHECK(tsv1(F::Interval, Value{int64_t{54000}}) == "0.000054");
  CHECK(tsv1(F::Interval, Value{int64_t{0}}) == "0.000000");
  CHECK(tsv1(F::Interval, Value{int64_t{-1500000}}) == "-0.001500");
  CHECK(tsv1(F::Interval, Value{int64_t{-2000000500}}) == "-2.000001");  // half away from zero
  CHECK(tsv1(F::Interval, Value{int64_t{-100}}) == "-0.000000");         // as to_chars(-1e-7, fixed, 6)
  CHECK(tsv1(F::Interval, Value{std::numeric_limits<int64_t>::min()}) == "-9223372036.854776");
}

TEST_CASE("tsv doubles follow ODesc::Add(d, no_exp)", "[logwriter]") {
  CHECK(tsv1(F::Double, Value{3.14}) == "3.14");
  CHECK(tsv1(F::Double, Value{100.0}) == "100.0");
  CHECK(tsv1(F::Double, Value{0.0}) == "0.0");
  CHECK(tsv1(F::Double, Value{-0.0}) == "0.0");
  CHECK(tsv1(F::Double, Value{-2.5}) == "-2.5");
  CHECK(tsv1(F::Double, Value{0.1234567}) == "0.123457");
  CHECK(tsv1(F::Double, Value{1e-7}) == "0");                  // rounds to zero, not near an integer
  CHECK(tsv1(F::Double, Value{2.0000000001}) == "2.0");        // within 1e-9 of an integer
  CHECK(tsv1(F::Double, Value{2.0000004}) == "2");             // six decimals are zero, but not that close
  CHECK(tsv1(F::Double, Value{1e20}) == "100000000000000000000.0");
  CHECK(tsv1(F::Double, Value{std::nan("")}) == "nan");
  CHECK(tsv1(F::Double, Value{std::numeric_limits<double>::infinity()}) == "inf");
  CHECK(tsv1(F::Double, Value{-std::numeric_limits<double>::infinity()}) == "-inf");
}

TEST_CASE("tsv bool, port, count, int, addr", "[logwriter]") {
  CHECK(tsv1(F::Bool, Value{true}) == "T");
  CHECK(tsv1(F::Bool, Value{false}) == "F");
  CHECK(tsv1(F::Port, Value{uint64_t{502}}) == "502");
  CHECK(tsv1(F::Count, Value{std::numeric_limits<uint64_t>::max()}) == "18446744073709551615");
  CHECK(tsv1(F::Int, Value{int64_t{-42}}) == "-42");
  CHECK(tsv1(F::Int, Value{std::numeric_limits<int64_t>::min()}) == "-9223372036854775808");
  CHECK(tsv1(F::Addr, Value{ip("10.0.0.9")}) == "10.0.0.9");
  CHECK(tsv1(F::Addr, Value{ip("0.0.0.0")}) == "0.0.0.0");
  CHECK(tsv1(F::Addr, Value{ip("255.255.255.255")}) == "255.255.255.255");
  CHECK(tsv1(F::Addr, Value{ip("2001:db8::1")}) == "2001:db8::1");
  CHECK(tsv1(F::Addr, Value{ip("::1")}) == "::1");
  CHECK(tsv1(F::Addr, Value{ip("::")}) == "::");
  CHECK(tsv1(F::Addr, Value{ip("2001:db8:0:1:0:0:0:1")}) == "2001:db8:0:1::1");
  CHECK(tsv1(F::Addr, Value{ip("2001:db8:0:0:1:0:0:1")}) == "2001:db8::1:0:0:1");  // first of equal runs
  CHECK(tsv1(F::Addr, Value{ip("2001:db8:1:1:1:1:0:1")}) == "2001:db8:1:1:1:1:0:1");  // one zero stays
  CHECK(tsv1(F::Addr, Value{ip("fe80::")}) == "fe80::");
  // A value of the wrong kind for the column is written unset, not guessed at.
  CHECK(tsv1(F::Count, str("5")) == "-");
}

TEST_CASE("addresses render exactly as inet_ntop", "[logwriter]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint8_t b[16];
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Zero runs of every length and place, and the IPv4-compatible and -mapped prefixes.
    const unsigned zero_from = static_cast<unsigned>(rng() % 8), zero_len = static_cast<unsigned>(rng() % 9);
    for (unsigned w = zero_from; w < 8 && w < zero_from + zero_len; ++w) b[2 * w] = b[2 * w + 1] = 0;
    if (rng() % 8 == 0) std::memset(b, 0, 12);
    IpAddr a = IpAddr::v6(b);
    char want[INET6_ADDRSTRLEN];
    if (a.is_v4()) {
      inet_ntop(AF_INET, b + 12, want, sizeof want);
    } else {
      inet_ntop(AF_INET6, b, want, sizeof want);
    }
    INFO(want);
    REQUIRE(tsv1(F::Addr, Value{a}) == want);
    REQUIRE(a.to_string() == want);
  }
}

TEST_CASE("json conn.log line matches Zeek's documented JSON output", "[logwriter]") {
  // zeek/zeek doc/advanced/devel/conn.rst (the reference, section 1.2).
  const std::string_view uid = "CJKFoj4bpHEhTeaRoj";
  const std::vector<Value> v = {Value{uint64_t{1362692526869344000}},
                                Value{uid},
                                Value{ip("141.142.228.5")},
                                Value{uint64_t{59856}},
                                Value{ip("192.150.187.43")},
                                Value{uint64_t{80}},
                                str("tcp"),
                                Value{Unset{}},
                                Value{Unset{}},
                                Value{Unset{}},
                                Value{Unset{}},
                                str("OTH"),
                                Value{false},
                                Value{false},
                                Value{uint64_t{0}},
                                str("C"),
                                Value{uint64_t{0}},
                                Value{uint64_t{0}},
                                Value{uint64_t{0}},
                                Value{uint64_t{0}},
                                Value{Unset{}},
                                Value{uint64_t{6}}};
  std::string out;
  format_json(conn_schema(), v, out);
  CHECK(out ==
        R"({"ts":1362692526.869344,"uid":"CJKFoj4bpHEhTeaRoj","id.orig_h":"141.142.228.5","id.orig_p":59856,)"
        R"("id.resp_h":"192.150.187.43","id.resp_p":80,"proto":"tcp","conn_state":"OTH","local_orig":false,)"
        R"("local_resp":false,"missed_bytes":0,"history":"C","orig_pkts":0,"orig_ip_bytes":0,"resp_pkts":0,)"
        R"("resp_ip_bytes":0,"ip_proto":6})"
        "\n");
  const auto j = nlohmann::json::parse(out);
  CHECK(j["id.orig_h"] == "141.142.228.5");
  CHECK(j["ts"].get<double>() == 1362692526.869344);
  CHECK(!j.contains("service"));
  CHECK(!j.contains("tunnel_parents"));

  std::string_view uid2;
  std::string out2;
  format_json(conn_schema(), tls_decryption_conn(uid2), out2);
  CHECK(out2 ==
        R"({"ts":1646150638.631834,"uid":"CTy5Us4OUaTOcyrPvc","id.orig_h":"192.168.20.12","id.orig_p":60679,)"
        R"("id.resp_h":"193.99.144.85","id.resp_p":443,"proto":"tcp","service":"http,ssl","duration":7.246461,)"
        R"("orig_bytes":10853,"resp_bytes":151695,"conn_state":"SF","missed_bytes":0,"history":"ShADadFf",)"
        R"("orig_pkts":98,"orig_ip_bytes":15961,"resp_pkts":139,"resp_ip_bytes":158931,"ip_proto":6})"
        "\n");
  CHECK(nlohmann::json::parse(out2)["duration"].get<double>() == 7.246461);
}

TEST_CASE("json covers every type as Zeek's ascii-json baseline", "[logwriter]") {
  // zeek/zeek testing/btest/Baseline/scripts.base.frameworks.logging.ascii-json/ssh.log, less the time.
  const LogSchema s{"ssh",
                    {{"b", F::Bool},
                     {"i", F::Int},
                     {"e", F::Enum},
                     {"c", F::Count},
                     {"p", F::Port},
                     {"sn", F::Subnet},
                     {"a", F::Addr},
                     {"d", F::Double},
                     {"iv", F::Interval},
                     {"s", F::String},
                     {"sc", F::VectorCount},
                     {"ss", F::SetString},
                     {"se", F::SetString},
                     {"vc", F::VectorCount},
                     {"ve", F::VectorString}}};
  const uint64_t sc[] = {4, 2, 3, 1};
  const uint64_t vc[] = {10, 20, 30};
  const std::string_view ss[] = {"CC", "BB", "AA"};
  const std::vector<Value> v = {Value{true},
                                Value{int64_t{-42}},
                                str("SSH::LOG"),
                                Value{uint64_t{21}},
                                Value{uint64_t{123}},
                                str("10.0.0.0/24"),
                                Value{ip("1.2.3.4")},
                                Value{3.14},
                                Value{int64_t{100000000000}},
                                str("hurz"),
                                Value{std::span<const uint64_t>(sc)},
                                Value{std::span<const std::string_view>(ss)},
                                Value{std::span<const std::string_view>()},
                                Value{std::span<const uint64_t>(vc)},
                                Value{std::span<const std::string_view>()}};
  std::string out;
  format_json(s, v, out);
  CHECK(out ==
        R"({"b":true,"i":-42,"e":"SSH::LOG","c":21,"p":123,"sn":"10.0.0.0/24","a":"1.2.3.4","d":3.14,)"
        R"("iv":100.0,"s":"hurz","sc":[4,2,3,1],"ss":["CC","BB","AA"],"se":[],"vc":[10,20,30],"ve":[]})"
        "\n");
  const auto j = nlohmann::json::parse(out);
  CHECK(j["ss"][2] == "AA");
  CHECK(j["se"].empty());
}

TEST_CASE("json strings: HEX escape policy", "[logwriter]") {
  CHECK(json_val(F::String, str("")) == "\"\"");
  CHECK(json_val(F::String, str("-")) == "\"-\"");  // no unset marker to protect in JSON
  CHECK(json_val(F::String, str("(empty)")) == "\"(empty)\"");
  CHECK(json_val(F::String, str("#x")) == "\"#x\"");
  CHECK(json_val(F::String, str("a\tb\nc\rd\be\ff")) == "\"a\\tb\\nc\\rd\\be\\ff\"");
  CHECK(json_val(F::String, str("q\"b\\")) == "\"q\\\"b\\\\\"");
  CHECK(json_val(F::String, str("\x01")) == "\"\\\\x01\"");
  CHECK(json_val(F::String, str(std::string_view("\0", 1))) == "\"\\\\x00\"");
  CHECK(json_val(F::String, str("\x7f")) == "\"\\\\x7f\"");
  CHECK(json_val(F::String, str("\xff")) == "\"\\\\xff\"");
  CHECK(json_val(F::String, str("\xc3\x28")) == "\"\\\\xc3(\"");
  CHECK(json_val(F::String, str("\xc3\xbc")) == "\"\xc3\xbc\"");
  CHECK(json_val(F::String, str("a,b")) == "\"a,b\"");
  CHECK(json_val(F::String, str("a/b")) == "\"a/b\"");
  // Every one of those parses, and reads back as Zeek means it.
  const char* samples[] = {"a\tb", "\x01", "\xff", "\xc3\xbc", "q\"b\\", "\xee\x8b\xa0", "\xf0\x9f\x98\x84"};
  for (const char* sample : samples) {
    const auto j = nlohmann::json::parse(json1(F::String, str(sample)));
    INFO(sample);
    CHECK(j.contains("x"));
  }
  CHECK(nlohmann::json::parse(json1(F::String, str("a\tb")))["x"] == "a\tb");
  CHECK(nlohmann::json::parse(json1(F::String, str("\x01")))["x"] == "\\x01");
  CHECK(nlohmann::json::parse(json1(F::String, str("\xff")))["x"] == "\\xff");
  CHECK(nlohmann::json::parse(json1(F::String, str("\xc3\xbc")))["x"] == "\xc3\xbc");
  const std::string_view xs[] = {"a,b", "\x02"};
  CHECK(json_val(F::SetString, Value{std::span<const std::string_view>(xs)}) == "[\"a,b\",\"\\\\x02\"]");
}

TEST_CASE("json numbers: times, intervals, doubles as Zeek's rapidjson writes them", "[logwriter]") {
  CHECK(json_val(F::Time, Value{uint64_t{1362692526869344000}}) == "1362692526.869344");
  CHECK(json_val(F::Time, Value{uint64_t{1362692526869340000}}) == "1362692526.86934");
  CHECK(json_val(F::Time, Value{uint64_t{1362692526000000000}}) == "1362692526.0");
  CHECK(json_val(F::Time, Value{uint64_t{1362692526869344501}}) == "1362692526.869345");
  CHECK(json_val(F::Time, Value{uint64_t{0}}) == "0.0");
  CHECK(json_val(F::Interval, Value{int64_t{54000}}) == "0.000054");
  CHECK(json_val(F::Interval, Value{int64_t{500000000}}) == "0.5");
  CHECK(json_val(F::Interval, Value{int64_t{-1500000}}) == "-0.0015");
  CHECK(json_val(F::Double, Value{3.14}) == "3.14");
  CHECK(json_val(F::Double, Value{100.0}) == "100.0");
  CHECK(json_val(F::Double, Value{0.0}) == "0.0");
  CHECK(json_val(F::Double, Value{-0.0}) == "-0.0");
  CHECK(json_val(F::Double, Value{0.001234}) == "0.001234");
  CHECK(json_val(F::Double, Value{1.5e-7}) == "1.5e-7");
  CHECK(json_val(F::Double, Value{1e-7}) == "1e-7");
  CHECK(json_val(F::Double, Value{1e21}) == "1e21");
  CHECK(json_val(F::Double, Value{1e20}) == "100000000000000000000.0");
  CHECK(json_val(F::Double, Value{1.2345678901234567e23}) == "1.2345678901234567e23");
  CHECK(json_val(F::Double, Value{-2.5e-300}) == "-2.5e-300");
  CHECK(json_val(F::Double, Value{-2.5}) == "-2.5");
  CHECK(json_val(F::Double, Value{0.1}) == "0.1");
  CHECK(json_val(F::Double, Value{std::nan("")}) == "null");
  CHECK(json_val(F::Double, Value{std::numeric_limits<double>::infinity()}) == "null");
  for (const double d : {3.14, 1e-7, 1e21, 0.1, 5e-324, 1.7976931348623157e308, 123456.789}) {
    const auto j = nlohmann::json::parse(json1(F::Double, Value{d}));
    CHECK(j["x"].get<double>() == d);
  }
}

TEST_CASE("json leaves out unset fields and values of the wrong kind", "[logwriter]") {
  const LogSchema s{"x", {{"a", F::String}, {"b", F::Count}, {"c", F::Bool}}};
  const Value none[3] = {Value{Unset{}}, Value{Unset{}}, Value{Unset{}}};
  std::string out;
  format_json(s, none, out);
  CHECK(out == "{}\n");
  const Value mid[3] = {Value{Unset{}}, Value{uint64_t{7}}, Value{Unset{}}};
  out.clear();
  format_json(s, mid, out);
  CHECK(out == "{\"b\":7}\n");
  const Value wrong[3] = {str("s"), str("not a count"), Value{true}};
  out.clear();
  format_json(s, wrong, out);
  CHECK(out == "{\"a\":\"s\",\"c\":true}\n");
}
