#include "dissectors/analyzer.hpp"

namespace ots {

// Each protocol folder defines its module; add it here to switch it on. Order = conn.log service order.
static const DissectorModule* const kModules[] = {nullptr};

std::span<const DissectorModule* const> dissector_modules() {
  // The sentinel keeps the array non-empty while no module is registered.
  return {kModules, sizeof kModules / sizeof kModules[0] - 1};
}

}  // namespace ots
