// The MAC vendor table, generated at build time by tools/gen_oui.py from Debian's ieee-data (the IEEE
// MA-L registry) into the build tree. Read it through inventory/oui.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ots::oui_data {

extern const size_t kOuiCount;
extern const uint32_t kOuiKeys[];        // 24-bit OUIs, ascending
extern const uint32_t kOuiNames[];       // offset << 8 | length of the organisation's name in kOuiPool
extern const unsigned char kOuiPool[];   // the names, UTF-8, back to back

}  // namespace ots::oui_data
