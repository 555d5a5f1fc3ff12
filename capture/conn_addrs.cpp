// A connection's compact conn_id (capture/flow.hpp, Conn): 4-byte IPv4 addresses in the connection, a
// heap pair for IPv6 ones. Here are the writes and the ownership of that pair; the reads are inline.

#include <cstring>
#include <iterator>
#include <utility>

#include "capture/flow.hpp"
#include "capture/flow_key.hpp"

namespace ots {

void Conn::set_id(const ConnId& id) {
  if (id.orig_h.is_v4() && id.resp_h.is_v4()) {
    clear_id();
    std::memcpy(&addrs_.v4[0], id.orig_h.bytes.data() + 12, 4);
    std::memcpy(&addrs_.v4[1], id.resp_h.bytes.data() + 12, 4);
  } else {
    // An IPv4 address beside an IPv6 one (a mapped address on the wire) keeps its 16 bytes here too.
    if (!v6_) {
      addrs_.v6 = new IpAddr[2];
      v6_ = true;
    }
    addrs_.v6[0] = id.orig_h;
    addrs_.v6[1] = id.resp_h;
  }
  orig_p_ = id.orig_p;
  resp_p_ = id.resp_p;
  proto_code_ = 0;
  for (uint8_t k = 0; k < std::size(kTransports); ++k) {
    if (kTransports[k] == id.proto) proto_code_ = k & 7u;
  }
}

Uid Conn::uid() const {
  const ConnId i = id();
  const flow::PacketEnds e{&i.orig_h, &i.resp_h, i.orig_p, i.resp_p, one_way_};
  return flow::make_uid(flow::make_key(e, vlan, inner_vlan, ip_proto), first_ts_ns);
}

void Conn::flip_id() {
  if (v6_) {
    std::swap(addrs_.v6[0], addrs_.v6[1]);
  } else {
    std::swap(addrs_.v4[0], addrs_.v4[1]);
  }
  std::swap(orig_p_, resp_p_);
}

void Conn::clear_id() {
  if (v6_) delete[] addrs_.v6;
  v6_ = false;
  addrs_.v4[0] = addrs_.v4[1] = 0;
}

// Every member but the IPv6 pair is trivially copyable: a copy is the bytes and a pair of its own, a move
// the bytes with the pair taken over.
Conn::Conn(const Conn& o) { *this = o; }

Conn& Conn::operator=(const Conn& o) {
  if (this == &o) return *this;
  IpAddr* keep = v6_ ? addrs_.v6 : nullptr;
  std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), sizeof(Conn));
  if (o.v6_) {
    addrs_.v6 = keep ? keep : new IpAddr[2];
    addrs_.v6[0] = o.addrs_.v6[0];
    addrs_.v6[1] = o.addrs_.v6[1];
  } else {
    delete[] keep;
  }
  return *this;
}

Conn::Conn(Conn&& o) noexcept {
  std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), sizeof(Conn));
  o.v6_ = false;
  o.addrs_.v4[0] = o.addrs_.v4[1] = 0;
}

Conn& Conn::operator=(Conn&& o) noexcept {
  if (this == &o) return *this;
  clear_id();
  std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), sizeof(Conn));
  o.v6_ = false;
  o.addrs_.v4[0] = o.addrs_.v4[1] = 0;
  return *this;
}

}  // namespace ots
