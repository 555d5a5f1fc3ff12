// MAC address to vendor: the IEEE MA-L registry (24-bit OUIs) as Debian's ieee-data ships it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ots {

// The organisation the MAC's OUI is assigned to ("Siemens AG", "Rockwell Automation"), or empty: an
// unassigned OUI, a locally administered address (randomised, virtual) or a group address. One binary
// search over a static table; no allocation.
std::string_view oui_vendor(const uint8_t* mac);
std::string_view oui_vendor(uint32_t oui);  // the 24-bit OUI

// Entries in the table (for tests and --version-like reports).
size_t oui_table_size();

}  // namespace ots
