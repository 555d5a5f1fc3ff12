#include "inventory/oui.hpp"

#include <algorithm>

#include "inventory/oui_data.hpp"

namespace ots {

std::string_view oui_vendor(uint32_t oui) {
  using namespace oui_data;
  const uint32_t* end = kOuiKeys + kOuiCount;
  const uint32_t* it = std::lower_bound(kOuiKeys, end, oui);
  if (it == end || *it != oui) return {};
  const uint32_t n = kOuiNames[it - kOuiKeys];
  return {reinterpret_cast<const char*>(kOuiPool) + (n >> 8), n & 0xFFu};
}

std::string_view oui_vendor(const uint8_t* mac) {
  // IEEE 802 §8.2: bit 0 of the first octet marks a group address, bit 1 a locally administered one;
  // neither names a manufacturer.
  if (!mac || (mac[0] & 0x03) != 0) return {};
  return oui_vendor(uint32_t{mac[0]} << 16 | uint32_t{mac[1]} << 8 | mac[2]);
}

size_t oui_table_size() { return oui_data::kOuiCount; }

}  // namespace ots
