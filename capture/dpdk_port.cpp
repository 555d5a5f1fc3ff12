#include "capture/dpdk_port.hpp"

#include <rte_errno.h>

namespace ots::dpdk {

namespace {

// DPDK 22.11 ixgbe, i40e, ice, mlx5: 40 or 52 bytes; a driver that does not say gets the common 40.
constexpr size_t kDefaultKeySize = 40;

size_t key_size(const rte_eth_dev_info& info) { return info.hash_key_size ? info.hash_key_size : kDefaultKeySize; }

}  // namespace

bool start_rx(uint16_t id, const rte_eth_dev_info& info, const RxSetup& setup, rte_mempool* pool, const std::string& what,
              PortState& state, std::string& err) {
  rte_eth_conf conf{};
  std::vector<uint8_t> key = symmetric_toeplitz_key(key_size(info));
  if (setup.rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    // The addresses only (RTE_ETH_RSS_IP): every fragment of a datagram, which has no ports, then reaches
    // the queue of its flow, as our software dispatch by host pair does.
    conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
  }
  if (const int rc = rte_eth_dev_configure(id, setup.queues, 0, &conf); rc != 0) {
    err = "cannot configure " + what + " with " + std::to_string(setup.queues) + " RX queue(s): " + rte_strerror(-rc);
    return false;
  }
  state.configured = true;
  const auto socket = static_cast<unsigned>(rte_eth_dev_socket_id(id));
  for (uint16_t q = 0; q < setup.queues; ++q) {
    if (const int rc = rte_eth_rx_queue_setup(id, q, setup.descriptors, socket, nullptr, pool); rc != 0) {
      err = "cannot set up RX queue " + std::to_string(q) + " of " + what + ": " + rte_strerror(-rc);
      return false;
    }
  }
  if (const int rc = rte_eth_dev_start(id); rc != 0) {
    err = "cannot start " + what + ": " + rte_strerror(-rc);
    return false;
  }
  state.started = true;
  return true;
}

bool symmetric_rss_in_force(uint16_t id, const rte_eth_dev_info& info, std::string& why) {
  const std::vector<uint8_t> want = symmetric_toeplitz_key(key_size(info));
  std::vector<uint8_t> got(want.size(), 0);
  rte_eth_rss_conf conf{};
  conf.rss_key = got.data();
  conf.rss_key_len = static_cast<uint8_t>(got.size());
  if (const int rc = rte_eth_dev_rss_hash_conf_get(id, &conf); rc != 0) {
    why = std::string("the driver does not report its RSS configuration (") + rte_strerror(-rc) + ")";
    return false;
  }
  if ((conf.rss_hf & RTE_ETH_RSS_IP) == 0) {
    why = "RSS over IP addresses is not in force";
    return false;
  }
  if (got != want) {
    why = "the driver reports a hash key other than the symmetric one";
    return false;
  }
  return true;
}

}  // namespace ots::dpdk
