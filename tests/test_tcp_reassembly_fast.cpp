// TCP reassembly: segment and ACK sequences beyond the stream tests' (tests/test_tcp_reassembly.cpp).

#include <catch2/catch.hpp>

#include <string>

#include "capture/tcp_reassembly.hpp"

using namespace ots;
using flow::GapCause;
using flow::StreamStore;
using flow::TcpStream;

namespace {

// Everything a stream tells its sink, in order.
struct Recorder final : flow::StreamSink {
  std::string log;
  void deliver(std::span<const uint8_t> d) override {
    log += "D";
    log.append(reinterpret_cast<const char*>(d.data()), d.size());
    log += ";";
  }
  void gap(uint64_t len, GapCause why) override {
    log += "G" + std::to_string(len) + "/" + std::to_string(static_cast<int>(why)) + ";";
  }
  void inconsistent() override { log += "I;"; }
};

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("tcp stream truncated segment filling a hole leaves no block behind the stream", "[tcp]") {
  StreamStore store;
  TcpStream st;
  Recorder r;
  st.segment(store, 6, bytes("fghij"), 5, 0, true, true, {}, r);  // beyond a hole: waits
  // Fills the hole, but the snaplen cut it after 5 of its 10 bytes: the waiting bytes were delivered
  // past the missing tail, which is then no hole at all.
  st.segment(store, 1, bytes("abcde"), 10, 0, true, true, {}, r);
  CHECK(st.next_seq() == 11);
  CHECK_FALSE(st.has_buffered(store));
  st.ack(store, 11, true, true, r);
  st.ack(store, 14, true, true, r);  // a hole past the stream: the ACK reports it (this looped forever)
  st.finish(store, true, r);
  CHECK(r.log == "Dabcde;Dfghij;G3/0;");
  CHECK(store.live() == 0);
}
