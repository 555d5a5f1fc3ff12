// A DPDK port's receive side: configured with its RX queues (RSS with the symmetric Toeplitz key when
// asked), started, and checked for the key in force. Internal to the DPDK source (capture/dpdk_*.cpp):
// it includes DPDK headers, which no other part of the sensor sees.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/rss_key.hpp"  // symmetric_toeplitz_key

namespace ots::dpdk {

struct RxSetup {
  uint16_t queues = 1;
  uint16_t descriptors = 1024;
  bool rss = false;  // spread over the queues by RSS on the IP addresses, with the symmetric key
};

// What start_rx() did, so that it can be undone (rte_eth_dev_stop, rte_eth_dev_close).
struct PortState {
  bool configured = false;
  bool started = false;
};

// Configures port `id` for `setup` (RX only: a sensor sends nothing), sets up its RX queues from `pool`
// and starts it. False with `err` as one line naming `what` (the port).
bool start_rx(uint16_t id, const rte_eth_dev_info& info, const RxSetup& setup, rte_mempool* pool, const std::string& what,
              PortState& state, std::string& err);

// After start_rx() with rss: true when the port reports RSS over IP addresses in force with the
// symmetric key. A driver may accept the configuration and still hash with a key of its own (or not say
// which): only what it reports back counts. Otherwise false with the reason in `why`.
bool symmetric_rss_in_force(uint16_t id, const rte_eth_dev_info& info, std::string& why);

}  // namespace ots::dpdk
