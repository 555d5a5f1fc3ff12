// otsensor-pcap-floor: the benchmark floor. Reads a capture with libpcap and does nothing with the
// packets but count them, so `packets/s` here is the most any pcap-reading sensor can reach on this
// machine and file (tools/bench.sh reports the sensor as a percentage of it).
//
//   otsensor-pcap-floor CAPTURE   ->  "packets N bytes N seconds S packets_per_s R"
#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace {

struct Counts {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

void count(u_char* user, const pcap_pkthdr* hdr, const u_char* /*data*/) {
  auto* c = reinterpret_cast<Counts*>(user);
  ++c->packets;
  c->bytes += hdr->caplen;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CAPTURE\n", argv[0]);
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE] = {};
  const auto start = std::chrono::steady_clock::now();
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "%s: %s\n", argv[1], err);
    return 1;
  }
  Counts c;
  const int rc = pcap_loop(p, -1, count, reinterpret_cast<u_char*>(&c));
  if (rc == PCAP_ERROR) std::fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
  pcap_close(p);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("packets %llu bytes %llu seconds %.6f packets_per_s %.0f\n", static_cast<unsigned long long>(c.packets),
              static_cast<unsigned long long>(c.bytes), secs, secs > 0 ? static_cast<double>(c.packets) / secs : 0.0);
  return rc == PCAP_ERROR ? 1 : 0;
}
