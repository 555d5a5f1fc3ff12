// The bounded hand-off queue of a stage thread (sensor/stage_queue.hpp): a full queue makes the producer
// wait, counted, and loses nothing; what is pushed reaches the consumer once published, in order; close()
// drains.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "sensor/stage_queue.hpp"

using namespace std::chrono_literals;

TEST_CASE("stage queue: a full queue makes the producer wait for room and no item is lost", "[stage_queue]") {
  ots::StageQueue<int> q(2);
  constexpr int kItems = 1000;
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) q.push(i);  // never published here: a full queue publishes itself
    q.close();
  });
  // The consumer starts only once the producer waits: items 0 and 1 fill the queue, item 2 waits.
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (q.stats().full_waits == 0) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(1ms);
  }
  std::vector<int> got;
  while (std::optional<int> v = q.pop()) got.push_back(*v);
  producer.join();
  REQUIRE(got.size() == kItems);
  for (int i = 0; i < kItems; ++i) CHECK(got[static_cast<size_t>(i)] == i);
  const ots::StageQueueStats s = q.stats();
  CHECK(s.capacity == 2);
  CHECK(s.peak == 2);
  CHECK(s.full_waits >= 1);
  CHECK(s.wait_ns > 0);
}

TEST_CASE("stage queue: published items wake a waiting consumer and close drains the rest", "[stage_queue]") {
  ots::StageQueue<int> q(8);
  std::vector<int> got;
  std::thread consumer([&] {
    while (std::optional<int> v = q.pop()) got.push_back(*v);
  });
  q.push(1);
  q.push(2);
  q.publish();
  q.push(3);  // not published: close() hands it over
  q.close();
  consumer.join();
  CHECK(got == std::vector<int>{1, 2, 3});
  CHECK(q.stats().full_waits == 0);
}
