// Receive-side scaling as a NIC computes it, without DPDK: the symmetric Toeplitz key the DPDK source
// programs into a port (capture/dpdk_port.cpp), and the Toeplitz hash itself, so that tests can prove the
// key's symmetry with the very function a NIC applies, on a machine without such a NIC.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ots {

// The symmetric Toeplitz key (Woo and Park, "Scalable TCP Session Monitoring with Symmetric Receive-side
// Scaling", 2012): 0x6d5a repeated. Its period is 16 bits, so swapping source and destination (fields
// 32 or 128 bits apart) leaves the hash unchanged: both directions of a flow reach the same queue.
std::vector<uint8_t> symmetric_toeplitz_key(size_t size);

// The Toeplitz hash of `input` (the fields in network byte order: source address, destination address,
// then source and destination port when the ports are hashed) under `key`, as Microsoft's RSS
// specification defines it. The key must be at least 4 bytes longer than the input; 0 otherwise.
uint32_t toeplitz_hash(std::span<const uint8_t> key, std::span<const uint8_t> input);

}  // namespace ots
