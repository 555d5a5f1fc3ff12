#include "dissectors/analyzer.hpp"
#include "dissectors/dnp3/dnp3_analyzer.hpp"
#include "dissectors/enip/enip.hpp"
#include "dissectors/modbus/modbus.hpp"
#include "dissectors/s7comm/s7comm.hpp"

namespace ots {

// Each protocol folder defines its module; add it here to switch it on. Order = conn.log service order.
static const DissectorModule* const kModules[] = {&kModbusModule, &kDnp3Module, &kEnipModule, &kCipIoModule,
                                                  &kS7commModule, nullptr};

std::span<const DissectorModule* const> dissector_modules() {
  // The sentinel keeps the array non-empty while no module is registered.
  return {kModules, sizeof kModules / sizeof kModules[0] - 1};
}

}  // namespace ots
