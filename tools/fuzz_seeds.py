#!/usr/bin/python3
"""Seed a libFuzzer corpus with the application payloads of captures: every TCP/UDP segment to or from a
port, and each connection direction's first bytes concatenated (multi-PDU streams).

usage: fuzz_seeds.py [--max=N] PORT[,PORT...] OUTDIR CAPTURE_OR_DIR [...]
  e.g. tools/fuzz_seeds.py 502 build/fuzz/corpus/modbus ../shared/pcaps/modbus
       tools/fuzz_seeds.py --max=3000 44818,2222 build/fuzz/corpus/enip pcaps ../shared/pcaps

--max=N keeps at most N seeds (libFuzzer runs every seed before it mutates any, whatever -max_total_time
says): the connection streams first, as each holds many messages, then single payloads, each group in the
order of its SHA-1, so the sample is fixed and unbiased.

Reads pcap (either byte order, micro- or nanosecond) and pcapng (EPB/SPB) itself, Ethernet (with VLAN
tags), Linux SLL, BSD loopback and raw IP link types; IPv4 and IPv6. Standard library only. Files are
named by the SHA-1 of their content, so reruns do not duplicate seeds."""
import hashlib
import os
import struct
import sys

STREAM_BYTES = 4096  # per connection direction


def pcap_packets(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield linktype, data[off + 16:off + 16 + incl]
        off += 16 + incl


def pcapng_packets(data):
    off, end, links = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack(end + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: byte order from its magic
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12:
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack(end + "H", body[0:2])[0])
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, _, _, cap = struct.unpack(end + "IIII", body[0:16])
            if iface < len(links):
                yield links[iface], body[20:20 + cap]
        elif btype == 3 and links:  # simple packet
            yield links[0], body[4:]
        off += blen


def ip_of(linktype, frame):
    """The IP packet inside a link-layer frame, or None."""
    if linktype == 1:  # Ethernet
        off, etype = 14, struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        return frame[off:] if etype in (0x0800, 0x86DD) else None
    if linktype == 113:  # Linux cooked
        return frame[16:] if len(frame) >= 16 and frame[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == 0:  # BSD loopback
        return frame[4:]
    if linktype in (12, 14, 101):  # raw IP
        return frame
    return None


def transport_of(ip):
    """(proto, src, dst, sport, dport, payload) of a TCP/UDP packet, or None."""
    if len(ip) < 20:
        return None
    ver = ip[0] >> 4
    if ver == 4:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if struct.unpack(">H", ip[6:8])[0] & 0x1FFF:  # a later fragment
            return None
        proto, src, dst, body = ip[9], ip[12:16], ip[16:20], ip[ihl:total or len(ip)]
    elif ver == 6 and len(ip) >= 40:
        proto, src, dst = ip[6], ip[8:24], ip[24:40]
        body = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack(">HH", body[0:4])
        return proto, src, dst, sport, dport, body[(body[12] >> 4) * 4:]
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack(">HH", body[0:4])
        return proto, src, dst, sport, dport, body[8:]
    return None


def captures(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith((".pcap", ".pcapng", ".cap")):
                        yield os.path.join(d, f)
        else:
            yield p


def main(argv):
    args = argv[1:]
    limit = int(args.pop(0)[len("--max="):]) if args and args[0].startswith("--max=") else None
    if len(args) < 3:
        sys.exit(__doc__)
    ports, out = {int(p) for p in args[0].split(",")}, args[1]
    os.makedirs(out, exist_ok=True)
    seeds, whole = set(), set()
    for cap in captures(args[2:]):
        with open(cap, "rb") as f:
            data = f.read()
        packets = pcapng_packets(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else pcap_packets(data)
        streams = {}
        for linktype, frame in packets:
            ip = ip_of(linktype, frame)
            t = ip and transport_of(ip)
            if not t or not t[5] or (t[3] not in ports and t[4] not in ports):
                continue
            proto, src, dst, sport, dport, payload = t
            seeds.add(bytes(payload))
            s = streams.setdefault((proto, src, dst, sport, dport), bytearray())
            if len(s) < STREAM_BYTES:
                s += payload[:STREAM_BYTES - len(s)]
        whole.update(bytes(s) for s in streams.values())
    by_hash = lambda group: sorted(group, key=lambda s: hashlib.sha1(s).digest())
    picked = by_hash(whole) + by_hash(seeds - whole)
    for s in picked[:limit]:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print("%d seeds in %s%s" % (len(picked[:limit]), out,
                                " (of %d)" % len(picked) if len(picked[:limit]) < len(picked) else ""))


if __name__ == "__main__":
    main(sys.argv)
