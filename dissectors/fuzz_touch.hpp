// For the dissectors' libFuzzer targets only (dissectors/<proto>/<proto>_fuzz.cpp): sinks that read every
// byte of every view an analyzer hands them, so that AddressSanitizer reports a view into a buffer that
// is gone or was never that long, where a sink that only stored the view would let it pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "capture/weird.hpp"
#include "dissectors/identity.hpp"
#include "dissectors/operation.hpp"
#include "output/log_manager.hpp"

namespace ots::fuzz {

// Folds bytes into `acc`; the result is kept in the sinks so that the reads are not optimised away.
inline uint8_t touch(std::span<const uint8_t> b, uint8_t acc = 0) {
  for (uint8_t x : b) acc ^= x;
  return acc;
}

inline uint8_t touch(std::string_view s, uint8_t acc = 0) {
  for (char ch : s) acc ^= static_cast<uint8_t>(ch);
  return acc;
}

// Log records: every string and every vector of counts.
struct TouchLogs final : LogSink {
  void write(LogId, uint64_t, const Uid&, std::span<const Value> values) override {
    for (const Value& v : values) {
      if (const auto* s = std::get_if<std::string_view>(&v)) x = touch(*s, x);
      if (const auto* c = std::get_if<std::span<const uint64_t>>(&v)) {
        for (uint64_t n : *c) x ^= static_cast<uint8_t>(n);
      }
    }
  }
  void handoff() override {}
  bool wants_handoff() const override { return false; }
  uint8_t x = 0;
};

struct TouchWeirds final : WeirdSink {
  void weird(const WeirdEvent& ev) override { x = touch(ev.addl, touch(ev.name, x)); }
  uint8_t x = 0;
};

struct TouchOps final : OperationSink {
  void on_operation(const OperationEvent& ev) override { x = touch(ev.name, touch(ev.pdu, x)); }
  uint8_t x = 0;
};

struct TouchIdentities final : IdentitySink {
  void on_identity(const DeviceIdentity& d) override {
    for (std::string_view s : {d.vendor, d.model, d.product_code, d.firmware, d.serial, d.device_type}) x = touch(s, x);
  }
  uint8_t x = 0;
};

}  // namespace ots::fuzz
