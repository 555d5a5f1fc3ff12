// IPv4 and IPv6 network prefixes as the site model writes them ("10.1.0.0/16", "fd00:10::/64").
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "capture/net_types.hpp"

namespace ots {

struct Cidr {
  IpAddr addr;      // the network address (host bits zero); IPv4 held IPv4-mapped, as IpAddr does
  uint8_t len = 0;  // prefix length in the address's own family: 0..32 for IPv4, 0..128 for IPv6

  bool is_v4() const { return addr.is_v4(); }
  bool contains(const IpAddr& a) const;
  std::string to_string() const;  // "10.1.0.0/16", "fd00:10::/64"
  auto operator<=>(const Cidr&) const = default;
};

// Parses "ADDRESS/LENGTH" or a bare address (one host: /32 or /128). An IPv4-mapped IPv6 prefix
// (::ffff:10.0.0.0/104) is the IPv4 prefix it maps, since IpAddr holds IPv4 that way. Host bits set
// are an error rather than masked (as Zeek's subnet parser does), because "10.1.0.1/16" in a site
// model is more often a typo for a host or a different network than a deliberate /16.
// On failure returns false and sets `why` to "what is wrong, what was expected".
bool parse_cidr(std::string_view text, Cidr& out, std::string& why);

}  // namespace ots
