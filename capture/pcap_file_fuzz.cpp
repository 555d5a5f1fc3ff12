// libFuzzer target: a capture file's bytes through open_pcap_file(), as `-r` reads them: the probes, then
// our classic pcap or pcapng reader (or libpcap for whatever they refuse), every burst to its end. Each
// packet's bytes are read so that ASan sees a view past the reader's buffer.
//
// The input is a whole file: tools/fuzz.sh seeds it with the first bytes of every capture.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "capture/packet_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A file in memory: a regular file to fstat(), as a capture on disk is (a pipe would go to libpcap).
  const int fd = ::memfd_create("capture", 0);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::string err;
  auto src = ots::open_pcap_file("/proc/self/fd/" + std::to_string(fd), 0, err);
  ::close(fd);  // the source opened the file again
  if (!src) return 0;
  ots::PacketBurst burst;
  uint8_t x = 0;
  uint64_t packets = 0;
  for (;;) {
    const ots::SourceStatus st = src->next_burst(burst);
    for (size_t i = 0; i < burst.count; ++i) {
      const ots::PacketView& v = burst.pkts[i];
      for (uint32_t k = 0; k < v.caplen; ++k) x ^= v.data[k];
    }
    packets += burst.count;
    if (st != ots::SourceStatus::Ok) break;
    if (packets > size) __builtin_trap();  // a record takes 16 bytes or more: a reader that loops
  }
  (void)src->take_warnings();
  return x == 0xff && packets == 0xffff ? 1 : 0;  // keeps `x` live; never both
}
