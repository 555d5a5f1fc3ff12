#!/usr/bin/python3
"""Deterministic test-capture generator for otsensor (Python standard library only).

    gen_pcap.py demo         --seed N -o FILE [--nanos]
    gen_pcap.py conn-states  --seed N -o FILE [--nanos]
    gen_pcap.py fragments    --seed N -o FILE [--nanos]
    gen_pcap.py many-flows   --seed N -o FILE [--flows N] [--packets-per-flow K] [--concurrent C] [--nanos]
    gen_pcap.py s7comm       --seed N -o FILE [--nanos]
    gen_pcap.py enip         --seed N -o FILE [--nanos]
    gen_pcap.py dnp3         --seed N -o FILE [--nanos]
    gen_pcap.py attacks      --seed N -o FILE [--nanos]
    gen_pcap.py truncate     IN.pcap -o OUT.pcap

The same scenario, options and seed always give a byte-identical file. Output is classic libpcap
(microsecond, or nanosecond with --nanos), link type Ethernet, snaplen 262144. Every IPv4 header,
TCP, UDP and ICMP checksum is correct (except where a scenario says otherwise); frames shorter than
60 bytes are zero-padded as on the wire, so the IP total length, not the frame length, sizes a packet.

Scenarios
---------
demo        The example plant of config/site.example.yaml, ~20 s, a few hundred packets, every host in
            one of its zones: an HMI polls and writes two PLCs over Modbus/TCP and reads an IPv6 gateway;
            a SCADA front end polls a DNP3 RTU; an engineering workstation reads an S7-300 and sends CIP
            reads to a ControlLogix and a safety controller; the ControlLogix reads remote I/O on VLAN 130;
            MES, DMZ, cloud, enterprise and remote-access hosts open the TCP sessions their conduits
            allow. Deliberate violations, one each: No_Conduit, Protocol_Not_Allowed, Wrong_Initiator,
            Intra_Zone_Denied, Unknown_Host, and three Operation_Not_Allowed (a Modbus write from MES, an
            S7 PLC stop from the HMI, a DNP3 cold restart). Background: ARP, DNS, NTP, ICMP echo.
conn-states One TCP connection per Zeek conn_state, each on its own server port (table CONN_STATE_PORTS
            below, in its order), client 192.168.50.10 -> server 192.168.50.20, one connection per second.
fragments   IPv4 UDP datagrams fragmented in order, out of order, with overlaps, and incomplete; one
            IPv6 fragmented datagram (table FRAGMENT_PORTS below).
many-flows  N short TCP sessions over many address pairs, K packets each, about C open at a time
            (for benchmarks).
s7comm      S7 on ISO-on-TCP (TCP 102): an engineering workstation and an S7-300 through COTP CR/CC, setup
            communication, read/write var, a COTP-segmented read response, SZL identification reads, a
            program download and an upload, PLC stop and hot start; an HMI's S7comm-plus V1/V3 session
            with an S7-1500; a TLS-in-COTP session; MMS (not S7) on the same port.
enip        EtherNet/IP and CIP: ListIdentity to the broadcast address answered by a ControlLogix and an I/O
            adapter (UDP 44818); a TCP 44818 session with the controller (RegisterSession, a Multiple
            Service Packet, an Unconnected Send, a Write Tag split over three TCP segments, CIP Reset and
            Stop, UnRegisterSession); a Forward Open to the adapter, class 1 I/O both ways on UDP 2222,
            Forward Close.
dnp3        DNP3 master 10.40.1.5 and two outstations (TCP and UDP 20000): a response in two application
            fragments, the first over three transport segments; select/operate of a CROB and direct operate
            of an analog output; a frame with a bad header CRC and one with a bad data-block CRC, each
            repeated; a cold restart, the reconnection and unsolicited responses; UDP polls and unsolicited
            events.
attacks     What the shipped rule set (rules/ics-default.yaml) detects, from one host (10.66.0.10): S7 stop,
            hot/cold start, download, upload, block delete, _INSE/_GARB/_MODU, a write to the outputs, set
            clock, an SZL sweep of 12 PLCs; Modbus diagnostics, broadcast, mass and protected-range writes,
            report server id, UMAS (FC 90) stop/start/transfers, an identification sweep of 6 servers; DNP3
            restarts, stop/initialize application, disable unsolicited, initialize data, file operations,
            activate configuration, direct operate without response, a broadcast read; CIP reset (types 0
            and 1), stop, start, set attribute (identity, TCP/IP, Ethernet link), delete; ListIdentity to
            12 addresses; TriStation datagrams to UDP 1502.
truncate    Copies IN.pcap, cutting it in the middle of its last record (a capture whose writer died).
"""

import argparse
import struct
import sys

EPOCH = 1710144000  # 2024-03-11 08:00:00 UTC: every scenario starts here (plus a seeded jitter)
NS = 1_000_000_000
MS = 1_000_000
US = 1_000

# conn-states: server port -> (expected Zeek conn_state, what the packets are). The client port is
# 40000 + (server port % 10000). Tests look connections up by id.resp_p. A connection whose first packet
# is a SYN-ACK is flipped by Zeek (originator = the host receiving the SYN-ACK, history starts with '^')
# only when the SYN-ACK's source port is one of Zeek's likely_server_ports and the other port is not:
# the three such connections use HTTP-alternate ports (8080, 8443, 8888) so that they are flipped.
CONN_STATE_PORTS = {
    10001: ("S0", "SYN, no reply"),
    10002: ("S1", "handshake + one request/ACK, never closed"),
    10003: ("SF", "handshake, request, response, FIN both ways"),
    10004: ("REJ", "SYN answered by RST-ACK"),
    10005: ("S2", "handshake, originator FIN (ACKed), responder never closes"),
    10006: ("S3", "handshake, responder FIN (ACKed), originator never closes"),
    10007: ("RSTO", "handshake, request, originator RST"),
    10008: ("RSTR", "handshake, request, responder RST"),
    10009: ("RSTOS0", "SYN then originator RST, no SYN-ACK seen"),
    8080: ("RSTRH", "SYN-ACK then responder RST, no SYN seen (flipped)"),
    10011: ("SH", "SYN then originator FIN, no SYN-ACK seen"),
    8443: ("SHR", "SYN-ACK then responder FIN, no SYN seen (flipped)"),
    10013: ("OTH", "mid-stream data both ways, no SYN, no FIN"),
    10020: ("SF", "retransmissions: one originator and one responder data segment sent twice"),
    10021: ("SF", "out of order: originator's 2nd segment arrives before its 1st"),
    10022: ("SF", "content gap: originator's 2nd segment (100 bytes) is not in the capture but the "
                  "responder ACKs past it: missed_bytes = 100"),
    8888: ("SF", "flipped: the capture starts at the SYN-ACK (no SYN), then ACK, data, FIN both ways"),
}

# fragments: UDP destination port -> what happens. 172.16.5.10 -> 172.16.5.20 (IPv6: fd00:172:16:5::10
# -> ::20). Payload 3000 bytes (IPv4 frags carry 1480 bytes, IPv6 frags 1448); the receiver answers
# each complete datagram with one unfragmented 16-byte UDP datagram.
FRAGMENT_PORTS = {
    5000: "unfragmented 100-byte datagram (baseline)",
    5001: "3 fragments in order",
    5002: "3 fragments out of order (last, first, middle)",
    5003: "3 fragments, the 2nd overlaps the 1st by 8 bytes with identical content",
    5004: "3 fragments, the 2nd overlaps the 1st by 8 bytes with DIFFERENT content ('X' * 8; "
          "the UDP checksum is right for the first copy)",
    5005: "incomplete: 1st and 2nd fragment only, the last never comes (no reply)",
    5006: "IPv6: 3 fragments in order (Fragment extension header)",
}


# ---------------------------------------------------------------------------------------------------
# Deterministic randomness: only getrandbits, whose output for a given integer seed is stable.

class Rng:
    def __init__(self, seed):
        import random
        self._r = random.Random(int(seed))

    def bits(self, n):
        return self._r.getrandbits(n)

    def below(self, n):
        """Uniform integer in [0, n)."""
        if n <= 1:
            return 0
        k = n.bit_length()
        while True:
            v = self._r.getrandbits(k)
            if v < n:
                return v

    def between(self, lo, hi):
        """Uniform integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def jitter(self, center_ns, spread_ns):
        return center_ns + self.below(2 * spread_ns + 1) - spread_ns

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def bytes(self, n):
        return self._r.getrandbits(8 * n).to_bytes(n, "big") if n else b""


# ---------------------------------------------------------------------------------------------------
# Wire formats

def checksum(data, initial=0):
    """Internet checksum (RFC 1071). The sum of 16-bit words modulo 0xFFFF is the big integer modulo
    0xFFFF, because 2**16 == 1 (mod 0xFFFF)."""
    if len(data) & 1:
        data += b"\0"
    n = int.from_bytes(data, "big") + initial
    if n == 0:
        return 0xFFFF
    r = n % 0xFFFF
    if r == 0:
        r = 0xFFFF
    return (~r) & 0xFFFF


def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


BROADCAST = mac("ff:ff:ff:ff:ff:ff")


def ether(dst, src, ethertype, payload, vlan=None, pcp=0):
    if vlan is None:
        frame = dst + src + struct.pack("!H", ethertype) + payload
    else:
        frame = dst + src + struct.pack("!HHH", 0x8100, (pcp << 13) | vlan, ethertype) + payload
    if len(frame) < 60:
        frame += bytes(60 - len(frame))
    return frame


def ipv4(src, dst, proto, payload, ttl, ident, df=True, mf=False, frag_off=0, tos=0):
    """frag_off in bytes (must be a multiple of 8)."""
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off >> 3)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident & 0xFFFF, flags, ttl, proto, 0,
                      src, dst)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, next_header, payload, hlim, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | flow, len(payload), next_header, hlim, src, dst) + payload


def pseudo_sum(src, dst, proto, length):
    """Pseudo-header as an integer addend for checksum()."""
    if len(src) == 4:
        ph = src + dst + struct.pack("!BBH", 0, proto, length)
    else:
        ph = src + dst + struct.pack("!IxxxB", length, proto)
    return int.from_bytes(ph, "big")


def tcp_segment(src, dst, sport, dport, seq, ack, flags, window, payload=b"", options=b""):
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)  # NOP padding
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags,
                      window, 0, 0) + options
    seg = hdr + payload
    c = checksum(seg, pseudo_sum(src, dst, 6, len(seg)))
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp_datagram(src, dst, sport, dport, payload, csum_payload=None):
    """csum_payload: compute the checksum over this instead of payload (for crafted overlaps)."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = checksum(hdr + (payload if csum_payload is None else csum_payload), pseudo_sum(src, dst, 17, length))
    return hdr[:6] + struct.pack("!H", c or 0xFFFF) + payload


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


# ---------------------------------------------------------------------------------------------------
# Hosts and the capture being built

class Host:
    def __init__(self, rng, name, mac_s, ip_s, ttl, window, syn_opts, ip6_s=None, vlan=None):
        self.name = name
        self.mac = mac(mac_s)
        self.ip = ip4(ip_s)
        self.ip6 = ip6(ip6_s) if ip6_s else None
        self.ttl = ttl
        self.window = window
        self.syn_opts = syn_opts
        self.vlan = vlan
        self.ip_id = rng.bits(16)

    def next_id(self):
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id


MSS1460 = b"\x02\x04\x05\xb4"
WIN_SYN = MSS1460 + b"\x01\x03\x03\x08\x01\x01\x04\x02"        # Windows: MSS, NOP, WS 8, NOP NOP SACK-perm
LINUX_SYN = MSS1460 + b"\x04\x02\x01\x03\x03\x07"               # Linux (no timestamps): MSS, SACK-perm, WS 7
PLC_SYN = MSS1460                                               # embedded stacks: MSS only


class Capture:
    def __init__(self, nanos=False):
        self.nanos = nanos
        self.frames = []   # (ts_ns, order, bytes)

    def add(self, ts_ns, frame):
        self.frames.append((ts_ns, len(self.frames), frame))

    def write(self, path):
        self.frames.sort()
        with PcapWriter(path, self.nanos) as w:
            for ts, _, frame in self.frames:
                w.packet(ts, frame)


class PcapWriter:
    def __init__(self, path, nanos=False, snaplen=262144):
        self.f = open(path, "wb")
        self.nanos = nanos
        magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
        self.f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, 1))
        self.rec = struct.Struct("<IIII")
        self.buf = []

    def packet(self, ts_ns, frame, orig_len=None):
        sec, frac = divmod(ts_ns, NS)
        if not self.nanos:
            frac //= US
        self.buf.append(self.rec.pack(sec, frac, len(frame), orig_len or len(frame)))
        self.buf.append(frame)
        if len(self.buf) >= 8192:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.write(b"".join(self.buf))
        self.f.close()


def ip_packet(a, b, proto, payload, v6=False, df=True):
    if v6:
        return 0x86DD, ipv6(a.ip6, b.ip6, proto, payload, a.ttl)
    return 0x0800, ipv4(a.ip, b.ip, proto, payload, a.ttl, a.next_id(), df=df)


def frame_between(a, b, ethertype, packet, dst_mac=None):
    vlan = a.vlan if a.vlan is not None else b.vlan
    return ether(dst_mac or b.mac, a.mac, ethertype, packet, vlan=vlan)


class TcpConn:
    """One TCP connection between client c and server s. Each method emits one segment at the
    connection's clock and advances the clock by `gap` (ns)."""

    def __init__(self, cap, rng, c, s, cport, sport, t, v6=False):
        self.cap, self.rng, self.c, self.s = cap, rng, c, s
        self.cport, self.sport, self.t, self.v6 = cport, sport, t, v6
        self.nxt = {c: rng.bits(32), s: rng.bits(32)}   # next sequence number each side sends
        self.win = {c: c.window, s: s.window}

    def _addr(self, h):
        return h.ip6 if self.v6 else h.ip

    def seg(self, frm, flags, payload=b"", gap=0, seq=None, ack=None, options=b"", advance=True):
        to = self.s if frm is self.c else self.c
        sp, dp = (self.cport, self.sport) if frm is self.c else (self.sport, self.cport)
        s = self.nxt[frm] if seq is None else seq
        a = self.nxt[to] if ack is None else ack
        seg = tcp_segment(self._addr(frm), self._addr(to), sp, dp, s, a if flags & ACK else 0, flags,
                          self.win[frm], payload, options)
        et, pkt = ip_packet(frm, to, 6, seg, self.v6)
        self.cap.add(self.t, frame_between(frm, to, et, pkt))
        if advance and seq is None:
            self.nxt[frm] = (s + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        self.t += gap
        return s

    def handshake(self, rtt):
        self.seg(self.c, SYN, gap=rtt // 2, options=self.c.syn_opts)
        self.seg(self.s, SYN | ACK, gap=rtt // 2, options=self.s.syn_opts)
        self.seg(self.c, ACK, gap=rtt // 10)

    def exchange(self, req, resp, rtt, server_ms=(2, 8), ack_delay=None):
        """Request from the client, response from the server, then the client's ACK."""
        self.seg(self.c, PSH | ACK, req, gap=rtt // 2 + self.rng.between(*server_ms) * MS)
        self.seg(self.s, PSH | ACK, resp, gap=ack_delay if ack_delay is not None else self.rng.between(20, 60) * MS)
        self.seg(self.c, ACK)

    def close(self, rtt, by_client=True):
        a, b = (self.c, self.s) if by_client else (self.s, self.c)
        self.seg(a, FIN | ACK, gap=rtt // 2)
        self.seg(b, FIN | ACK, gap=rtt // 2)
        self.seg(a, ACK)


def udp_exchange(cap, a, b, sport, dport, payload, t, v6=False, dst_mac=None, dst_ip=None):
    src, dst = (a.ip6, b.ip6) if v6 else (a.ip, dst_ip or b.ip)
    d = udp_datagram(src, dst, sport, dport, payload)
    if v6:
        et, pkt = 0x86DD, ipv6(src, dst, 17, d, a.ttl)
    else:
        et, pkt = 0x0800, ipv4(src, dst, 17, d, a.ttl, a.next_id(), df=False)
    cap.add(t, frame_between(a, b, et, pkt, dst_mac))


# ---------------------------------------------------------------------------------------------------
# ICS application payloads

def mbap(tid, unit, pdu):
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def crc_dnp(data):
    """CRC-16/DNP: poly 0x3D65 reflected (0xA6BC), init 0, final xor 0xFFFF; sent little-endian."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


assert crc_dnp(b"123456789") == 0xEA82


def dnp3_link(ctrl, dst, src, user_data):
    """A DNP3 link frame: 10-byte header with CRC, then user data in blocks of 16 bytes, each + CRC."""
    assert len(user_data) <= 250
    hdr = b"\x05\x64" + struct.pack("<BBHH", 5 + len(user_data), ctrl, dst, src)
    out = [hdr, struct.pack("<H", crc_dnp(hdr))]
    for i in range(0, len(user_data), 16):
        blk = user_data[i:i + 16]
        out += [blk, struct.pack("<H", crc_dnp(blk))]
    return b"".join(out)


def dnp3_apdu(tseq, aseq, fc, body, response=False, iin=(0, 0)):
    """Transport header (FIR|FIN, one segment) + application header + objects."""
    th = bytes([0xC0 | (tseq & 0x3F)])
    ac = bytes([0xC0 | (aseq & 0x0F)])
    if response:
        return th + ac + bytes([fc, iin[0], iin[1]]) + body
    return th + ac + bytes([fc]) + body


def tpkt(payload):
    return struct.pack("!BBH", 3, 0, 4 + len(payload)) + payload


def cotp_dt(s7pdu):
    return b"\x02\xf0\x80" + s7pdu


def s7_job(ref, params, data=b""):
    return struct.pack("!BBHHHH", 0x32, 1, 0, ref, len(params), len(data)) + params + data


def s7_ack_data(ref, params, data=b""):
    return struct.pack("!BBHHHHBB", 0x32, 3, 0, ref, len(params), len(data), 0, 0) + params + data


def s7_read_item(db, start, length):
    # S7ANY: syntax 0x10, transport size BYTE, length, DB, area 0x84 (DB), bit address.
    return b"\x12\x0a\x10\x02" + struct.pack("!HHB", length, db, 0x84) + (start * 8).to_bytes(3, "big")


def enip(cmd, data=b"", session=0, context=b"\0" * 8, status=0):
    return struct.pack("<HHII8sI", cmd, len(data), session, status, context, 0) + data


def cpf(items):
    out = struct.pack("<H", len(items))
    for typ, data in items:
        out += struct.pack("<HH", typ, len(data)) + data
    return out


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def ntp_ts(t_ns):
    sec, frac = divmod(t_ns, NS)
    return struct.pack("!II", sec + 2208988800, (frac << 32) // NS)


# ---------------------------------------------------------------------------------------------------
# Scenario: demo

def scenario_demo(args, rng):
    """The example plant of config/site.example.yaml: allowed traffic in and across its zones, and one
    violation of each kind (the tests in tests/test_zones_demo.cpp list them)."""
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    # enterprise, dmz, remote_access, cloud_analytics, mes
    office = H("office-pc", "b8:ca:3a:6e:30:15", "10.1.20.15", 128, 64240, WIN_SYN)            # Dell
    hist_dmz = H("historian-replica", "3c:ec:ef:50:00:10", "10.50.0.10", 64, 64240, LINUX_SYN)
    wsus = H("wsus", "3c:ec:ef:50:00:20", "10.50.0.20", 128, 64240, WIN_SYN)
    mqtt_gw = H("telemetry-gw", "3c:ec:ef:50:00:30", "10.50.0.30", 64, 64240, LINUX_SYN)
    jump = H("vendor-jump", "3c:ec:ef:60:00:25", "10.60.0.25", 128, 64240, WIN_SYN)
    cloud = H("cloud-ingest", "00:1b:54:c1:0d:40", "203.0.113.40", 56, 65535, LINUX_SYN)      # via the firewall
    mes = H("mes", "3c:ec:ef:20:01:10", "10.20.1.10", 128, 64240, WIN_SYN)
    # supervisory, engineering
    gw = H("ot-core", "00:1b:54:3a:10:01", "192.168.100.1", 255, 4128, PLC_SYN)               # Cisco
    hmi = H("hmi", "b8:ca:3a:6e:21:4f", "192.168.100.10", 128, 64240, WIN_SYN, ip6_s="fd00:100::10")
    scada = H("scada", "3c:ec:ef:64:00:20", "192.168.100.20", 128, 64240, WIN_SYN)
    master = H("dnp3-master", "3c:ec:ef:20:31:aa", "192.168.100.30", 64, 64240, LINUX_SYN)
    ews = H("ews", "d4:be:d9:44:90:0e", "192.168.100.70", 128, 64240, WIN_SYN)
    # control, safety, field
    ntp = H("control-fw", "00:1b:54:3a:11:01", "192.168.110.1", 255, 4128, PLC_SYN)
    plc1 = H("plc1", "00:80:f4:12:7a:31", "192.168.110.21", 64, 4096, PLC_SYN)       # Schneider (Telemecanique)
    plc2 = H("plc2", "00:00:54:2d:0c:92", "192.168.110.22", 64, 4096, PLC_SYN)       # Schneider Electric
    gw6 = H("io-gw", "00:30:de:0b:51:02", "192.168.110.24", 64, 8192, PLC_SYN, ip6_s="fd00:110::24")  # WAGO
    s7 = H("s7-300", "00:1b:1b:7c:05:e1", "192.168.110.30", 30, 8192, PLC_SYN)       # Siemens
    logix = H("logix", "00:00:bc:5e:27:c3", "192.168.110.40", 64, 4096, PLC_SYN)     # Rockwell
    rtu = H("rtu", "00:30:a7:19:88:40", "192.168.110.50", 64, 2048, PLC_SYN)         # SEL
    sis1 = H("sis1", "00:00:bc:5e:40:10", "192.168.120.10", 64, 4096, PLC_SYN)       # Rockwell GuardLogix
    sis2 = H("sis2", "00:00:bc:5e:40:11", "192.168.120.11", 64, 4096, PLC_SYN)
    io = H("remote-io", "00:30:de:0b:44:17", "192.168.130.23", 64, 8192, PLC_SYN, vlan=130)  # WAGO, VLAN 130
    rogue = H("rogue-laptop", "a4:5e:60:d1:99:01", "172.16.9.50", 64, 64240, LINUX_SYN)

    duration = 20 * NS

    # Background inside zones: ARP for the S7, DNS for the historian, NTP from PLC1, ICMP echo to the S7.
    t = t0 + 150 * MS
    arp_req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, hmi.mac, hmi.ip, bytes(6), gw.ip)
    cap.add(t, ether(BROADCAST, hmi.mac, 0x0806, arp_req))
    arp_rep = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, gw.mac, gw.ip, hmi.mac, hmi.ip)
    cap.add(t + 900 * US, ether(hmi.mac, gw.mac, 0x0806, arp_rep))

    t = t0 + 40 * MS
    for name, qtype, answer in (("historian.plant.local", 1, ip4("192.168.100.20")),
                                ("historian.plant.local", 28, None)):
        qid, sport = rng.bits(16), rng.between(49152, 65535)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)
        udp_exchange(cap, hmi, gw, sport, 53, q, t)
        if answer:
            r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:] + \
                struct.pack("!HHHIH", 0xC00C, qtype, 1, 3600, len(answer)) + answer
        else:  # no AAAA: NOERROR, empty answer, SOA in authority omitted
            r = struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + q[12:]
        udp_exchange(cap, gw, hmi, 53, sport, r, t + rng.between(300, 900) * US)
        t += 5 * MS

    t = t0 + 2 * NS
    for _ in range(2):
        req = bytes([0x23, 0, 6, 0xEC]) + bytes(36) + ntp_ts(t)
        udp_exchange(cap, plc1, ntp, 123, 123, req, t)
        rt = t + rng.between(400, 800) * US
        resp = bytes([0x24, 2, 6, 0xE9]) + struct.pack("!II4s", 0x00000A3C, 0x00001F2B, ip4("192.168.100.1")) + \
            ntp_ts(t - 64 * NS) + req[40:48] + ntp_ts(rt - 50 * US) + ntp_ts(rt - 20 * US)
        udp_exchange(cap, ntp, plc1, 123, 123, resp, rt)
        t += 10 * NS

    t = t0 + 300 * MS
    ping_id = rng.bits(16)
    for i in range(3):
        for typ, a, b in ((8, hmi, s7), (0, s7, hmi)):
            body = struct.pack("!HH", ping_id, 100 + i) + b"abcdefghijklmnopqrstuvwabcdefghi"
            msg = struct.pack("!BBH", typ, 0, 0) + body
            msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
            cap.add(t, frame_between(a, b, 0x0800, ipv4(a.ip, b.ip, 1, msg, a.ttl, a.next_id(), df=False)))
            t += rng.between(400, 1200) * US
        t += NS

    # Modbus/TCP (supervisory-to-control): the HMI polls PLC1 and PLC2 every second (FC 3, 10 registers)
    # and writes setpoints (FC 6 to PLC1, FC 16 to PLC2), which the conduit allows. The PLC2 session stays
    # open past the end of the capture (S1).
    for idx, (plc, unit, base_reg) in enumerate(((plc1, 1, 0), (plc2, 1, 100))):
        conn = TcpConn(cap, rng, hmi, plc, rng.between(49700, 52000), 502, t0 + (200 + 170 * idx) * MS)
        rtt = rng.between(300, 700) * US
        conn.handshake(rtt)
        tid = rng.bits(12)
        level = [rng.between(200, 900) for _ in range(10)]
        polls = 0
        while conn.t < t0 + duration - 1500 * MS:
            start = conn.t
            tid = (tid + 1) & 0xFFFF
            req = mbap(tid, unit, struct.pack("!BHH", 3, base_reg, 10))
            level = [max(0, min(65535, v + rng.between(-5, 5))) for v in level]
            resp = mbap(tid, unit, bytes([3, 20]) + struct.pack("!10H", *level))
            conn.exchange(req, resp, rtt)
            polls += 1
            if idx == 0 and polls in (4, 12):      # setpoint write on PLC1
                tid = (tid + 1) & 0xFFFF
                pdu = struct.pack("!BHH", 6, 10, rng.between(500, 700))
                conn.t += 100 * MS
                conn.exchange(mbap(tid, unit, pdu), mbap(tid, unit, pdu), rtt)
            if idx == 1 and polls == 7:            # block write on PLC2
                tid = (tid + 1) & 0xFFFF
                vals = [rng.bits(16) for _ in range(4)]
                req = mbap(tid, unit, struct.pack("!BHHB4H", 16, 200, 4, 8, *vals))
                conn.t += 100 * MS
                conn.exchange(req, mbap(tid, unit, struct.pack("!BHH", 16, 200, 4)), rtt)
            if idx == 1 and polls == 9:            # read past the end of PLC2's map: exception 2
                tid = (tid + 1) & 0xFFFF
                conn.t += 100 * MS
                conn.exchange(mbap(tid, unit, struct.pack("!BHH", 3, 9000, 10)), mbap(tid, unit, b"\x83\x02"), rtt)
            conn.t = start + NS + rng.between(-3, 3) * MS
        if idx != 1:
            conn.close(rtt)

    # DNP3 (supervisory-to-control): the SCADA front end polls the utilities RTU (outstation 10, master 1)
    # every 3 s; then a cold restart (FC 13), which the conduit does not allow.
    conn = TcpConn(cap, rng, master, rtu, rng.between(40000, 60000), 20000, t0 + 500 * MS)
    rtt = rng.between(500, 1500) * US
    conn.handshake(rtt)
    M, O = 1, 10
    class0123 = b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06\x3c\x01\x06"
    class123 = b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06"
    tseq_m, tseq_o, aseq = rng.bits(6), rng.bits(6), rng.bits(4)
    analog = [rng.between(0, 40000) for _ in range(6)]
    steps = ["integrity", "clear_restart", "events", "operate", "events", "cold_restart"]
    first = True
    for step in steps:
        start = conn.t
        if step == "integrity":
            req = dnp3_apdu(tseq_m, aseq, 1, class0123)
            bi = b"\x01\x02\x00\x00\x07" + bytes([0x01, 0x81, 0x01, 0x01, 0x81, 0x01, 0x01, 0x01])
            analog = [max(0, v + rng.between(-50, 50)) for v in analog]
            ai = b"\x1e\x01\x00\x00\x05" + b"".join(struct.pack("<Bi", 0x01, v) for v in analog)
            iin = (0x80, 0) if first else (0, 0)   # IIN1.7 DEVICE_RESTART until the master clears it
            first = False
            resp = dnp3_apdu(tseq_o, aseq, 0x81, bi + ai, response=True, iin=iin)
        elif step == "clear_restart":
            req = dnp3_apdu(tseq_m, aseq, 2, b"\x50\x01\x00\x07\x07\x00")   # write g80v1 index 7 = 0
            resp = dnp3_apdu(tseq_o, aseq, 0x81, b"", response=True)
        elif step == "events":
            req = dnp3_apdu(tseq_m, aseq, 1, class123)
            ev_ms = (start // MS) - 40
            ev = b"\x02\x02\x17\x01\x03" + bytes([0x81]) + ev_ms.to_bytes(6, "little")  # g2v2, 1 event
            resp = dnp3_apdu(tseq_o, aseq, 0x81, ev, response=True, iin=(0x02, 0))
        elif step == "operate":  # CROB: g12v1 qualifier 0x28, index 0, latch on, 1 pulse, 1000 ms on
            crob = b"\x0c\x01\x28\x01\x00\x00\x00" + struct.pack("<BBIIB", 0x03, 1, 1000, 0, 0)
            req = dnp3_apdu(tseq_m, aseq, 5, crob)
            resp = dnp3_apdu(tseq_o, aseq, 0x81, crob, response=True)
        else:  # cold restart; the outstation answers with the time to wait (g52v2, 5000 ms)
            req = dnp3_apdu(tseq_m, aseq, 13, b"")
            resp = dnp3_apdu(tseq_o, aseq, 0x81, b"\x34\x02\x07\x01" + struct.pack("<H", 5000), response=True)
        conn.exchange(dnp3_link(0xC4, O, M, req), dnp3_link(0x44, M, O, resp), rtt, server_ms=(10, 40),
                      ack_delay=rtt // 2)
        tseq_m, tseq_o, aseq = (tseq_m + 1) & 0x3F, (tseq_o + 1) & 0x3F, (aseq + 1) & 0x0F
        conn.t = start + 3 * NS + rng.between(-5, 5) * MS
    conn.close(rtt)

    # S7comm: the engineering workstation reads the S7-300 (engineering-to-control: anything goes), then
    # the HMI opens its own session, reads, and stops the PLC (supervisory-to-control: no PLC stop).
    def s7_session(client, start, reads, stop):
        conn = TcpConn(cap, rng, client, s7, rng.between(49700, 52000), 102, start)
        rtt = rng.between(400, 900) * US
        conn.handshake(rtt)
        src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
        params = b"\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a"
        cr = bytes([6 + len(params), 0xE0]) + struct.pack("!HHB", 0, src_ref, 0) + params
        cc = bytes([6 + len(params), 0xD0]) + struct.pack("!HHB", src_ref, dst_ref, 0) + params
        conn.exchange(tpkt(cr), tpkt(cc), rtt, server_ms=(1, 3))
        ref = rng.bits(10)
        setup = s7_job(ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0")
        conn.exchange(tpkt(cotp_dt(setup)), tpkt(cotp_dt(s7_ack_data(ref, b"\xf0\x00\x00\x01\x00\x01\x00\xf0"))),
                      rtt, server_ms=(2, 6))
        for i in range(reads):
            conn.t += 1500 * MS
            ref += 1
            items = [(1, 0, 4)] if i < 2 else [(1, 0, 4), (2, 10, 2)]
            p = bytes([4, len(items)]) + b"".join(s7_read_item(*it) for it in items)
            data = b""
            for k, (_, _, ln) in enumerate(items):
                data += b"\xff\x04" + struct.pack("!H", ln * 8) + rng.bytes(ln)
                if ln % 2 and k + 1 < len(items):
                    data += b"\0"
            conn.exchange(tpkt(cotp_dt(s7_job(ref, p))),
                          tpkt(cotp_dt(s7_ack_data(ref, bytes([4, len(items)]), data))), rtt, server_ms=(3, 9))
        if stop:
            conn.t += 800 * MS
            ref += 1
            conn.exchange(tpkt(cotp_dt(s7_job(ref, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"))),
                          tpkt(cotp_dt(s7_ack_data(ref, b"\x29"))), rtt, server_ms=(5, 15))
        conn.t += 500 * MS
        conn.close(rtt)

    s7_session(ews, t0 + 1 * NS + 100 * MS, 3, False)
    s7_session(hmi, t0 + 13 * NS + 300 * MS, 1, True)

    # EtherNet/IP (engineering-to-control): ListIdentity over UDP, then a TCP session with one CIP
    # Get_Attribute_Single; the same read of a safety controller (engineering-to-safety: read-only CIP).
    name = b"1756-L61/B LOGIX5561"
    t = t0 + 9 * NS + 250 * MS
    sport = rng.between(49152, 65535)
    ctx = rng.bytes(8)
    udp_exchange(cap, ews, logix, sport, 44818, enip(0x63, context=ctx), t)
    ident = struct.pack("<H", 1) + struct.pack("!HH4s8x", 2, 44818, logix.ip) + \
        struct.pack("<HHHBBHI", 1, 0x0E, 54, 20, 11, 0x0030, rng.bits(32)) + bytes([len(name)]) + name + b"\x03"
    udp_exchange(cap, logix, ews, 44818, sport, enip(0x63, cpf([(0x0C, ident)]), context=ctx),
                 t + rng.between(800, 3000) * US)

    def enip_session(client, server, start, product, cip=True):
        conn = TcpConn(cap, rng, client, server, rng.between(49700, 52000), 44818, start)
        rtt = rng.between(400, 900) * US
        conn.handshake(rtt)
        ctx = rng.bytes(8)
        session = rng.bits(32) | 1
        conn.exchange(enip(0x65, b"\x01\x00\x00\x00", context=ctx),
                      enip(0x65, b"\x01\x00\x00\x00", session=session, context=ctx), rtt, server_ms=(1, 4))
        if cip:
            cip_req = b"\x0e\x03\x20\x01\x24\x01\x30\x07"   # Get_Attribute_Single identity/1/product name
            cip_resp = b"\x8e\x00\x00\x00" + bytes([len(product)]) + product
            rr = lambda c: struct.pack("<IH", 0, 10) + cpf([(0x0000, b""), (0x00B2, c)])
            conn.exchange(enip(0x6F, rr(cip_req), session=session, context=ctx),
                          enip(0x6F, rr(cip_resp), session=session, context=ctx), rtt, server_ms=(2, 6))
        conn.t += 200 * MS
        conn.seg(client, PSH | ACK, enip(0x66, session=session, context=ctx), gap=rtt // 2)
        conn.seg(server, ACK, gap=50 * MS)
        conn.close(rtt)

    enip_session(ews, logix, t + 400 * MS, name)
    enip_session(ews, sis1, t0 + 10 * NS + 600 * MS, b"1756-L73S/B GuardLogix")
    # Inside the safety zone, which denies traffic between its hosts: one logic solver opens an
    # EtherNet/IP session to the other.
    enip_session(sis1, sis2, t0 + 15 * NS + 200 * MS, b"", cip=False)

    # The ControlLogix reads its remote I/O over Modbus/TCP (control-to-field), on the field VLAN.
    conn = TcpConn(cap, rng, logix, io, rng.between(49700, 52000), 502, t0 + 3 * NS + 700 * MS)
    rtt = rng.between(200, 400) * US
    conn.handshake(rtt)
    for i in range(4):
        tid = i + 1
        conn.exchange(mbap(tid, 255, struct.pack("!BHH", 2, 0, 16)), mbap(tid, 255, bytes([2, 2]) + rng.bytes(2)), rtt)
        conn.t += 2 * NS
    conn.close(rtt)

    # IPv6: the HMI reads input registers from the WAGO gateway in the control zone over Modbus/TCP.
    conn = TcpConn(cap, rng, hmi, gw6, rng.between(49700, 52000), 502, t0 + 12 * NS, v6=True)
    rtt = rng.between(300, 600) * US
    conn.handshake(rtt)
    for i in range(3):
        tid = i + 1
        conn.exchange(mbap(tid, 1, struct.pack("!BHH", 4, 0, 4)),
                      mbap(tid, 1, bytes([4, 8]) + rng.bytes(8)), rtt)
        conn.t += 700 * MS
    conn.close(rtt)

    # MES reads process values from the SCADA server's Modbus gateway (mes-to-supervisory, read-only),
    # then writes a register: a Modbus write from MES into a read-only conduit.
    conn = TcpConn(cap, rng, mes, scada, rng.between(49700, 52000), 502, t0 + 4 * NS + 100 * MS)
    rtt = rng.between(500, 900) * US
    conn.handshake(rtt)
    tid = rng.bits(12)
    for i in range(3):
        tid += 1
        conn.exchange(mbap(tid, 1, struct.pack("!BHH", 3, 0, 8)),
                      mbap(tid, 1, bytes([3, 16]) + rng.bytes(16)), rtt)
        conn.t += NS
    tid += 1
    pdu = struct.pack("!BHH", 6, 40, 1500)   # batch setpoint
    conn.exchange(mbap(tid, 1, pdu), mbap(tid, 1, pdu), rtt)
    conn.t += 300 * MS
    conn.close(rtt)

    # Plain TCP sessions the conduits allow: MES to the SCADA server's OPC UA, office users to the
    # historian replica (HTTPS), the historian collector replicating to the DMZ, telemetry to the cloud
    # (MQTT over TLS), the vendor's recorded RDP session to the engineering workstation.
    def tcp_session(client, server, port, start, exchanges, req_len, resp_len):
        conn = TcpConn(cap, rng, client, server, rng.between(49700, 60000), port, start)
        rtt = rng.between(300, 2000) * US
        conn.handshake(rtt)
        for _ in range(exchanges):
            conn.exchange(rng.bytes(req_len), rng.bytes(resp_len), rtt)
            conn.t += rng.between(200, 900) * MS
        conn.close(rtt)

    tcp_session(mes, scada, 4840, t0 + 1 * NS + 700 * MS, 3, 64, 180)
    tcp_session(office, hist_dmz, 443, t0 + 5 * NS + 200 * MS, 2, 300, 1200)
    tcp_session(scada, hist_dmz, 5450, t0 + 6 * NS + 100 * MS, 3, 900, 40)
    tcp_session(mqtt_gw, cloud, 8883, t0 + 7 * NS + 800 * MS, 2, 400, 60)
    tcp_session(jump, ews, 3389, t0 + 8 * NS + 300 * MS, 4, 200, 900)

    # Violations of the flow checks, one each:
    # No_Conduit: an office PC opens RDP to the HMI (no conduit joins enterprise and supervisory).
    tcp_session(office, hmi, 3389, t0 + 11 * NS + 100 * MS, 1, 120, 300)
    # Protocol_Not_Allowed: the vendor's jump host tries SMB to the engineering workstation (its conduit
    # allows RDP only).
    tcp_session(jump, ews, 445, t0 + 14 * NS + 500 * MS, 1, 180, 120)
    # Wrong_Initiator: the patch server in the DMZ connects to the MES (only MES may initiate).
    tcp_session(wsus, mes, 443, t0 + 16 * NS + 100 * MS, 1, 250, 90)
    # Unknown_Host: a laptop with an address in no zone reads PLC1's registers.
    conn = TcpConn(cap, rng, rogue, plc1, rng.between(40000, 60000), 502, t0 + 17 * NS + 400 * MS)
    rtt = rng.between(300, 700) * US
    conn.handshake(rtt)
    conn.exchange(mbap(1, 1, struct.pack("!BHH", 3, 0, 10)), mbap(1, 1, bytes([3, 20]) + rng.bytes(20)), rtt)
    conn.close(rtt)

    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: conn-states

def scenario_conn_states(args, rng):
    cap = Capture(args.nanos)
    t = (EPOCH + rng.below(3600)) * NS
    cli = Host(rng, "client", "3c:ec:ef:31:00:0a", "192.168.50.10", 64, 64240, LINUX_SYN)
    srv = Host(rng, "server", "3c:ec:ef:31:00:14", "192.168.50.20", 64, 65160, LINUX_SYN)
    req = b"GET /status HTTP/1.0\r\n\r\n"
    resp = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    rtt = 400 * US

    for port in CONN_STATE_PORTS:
        c = TcpConn(cap, rng, cli, srv, 40000 + port % 10000, port, t)
        C, S = cli, srv
        state = CONN_STATE_PORTS[port][0]
        if port == 10001:
            c.seg(C, SYN, options=C.syn_opts)
        elif port == 10002:
            c.handshake(rtt)
            c.seg(C, PSH | ACK, req, gap=rtt // 2)
            c.seg(S, ACK)
        elif port == 10003:
            c.handshake(rtt)
            c.exchange(req, resp, rtt, server_ms=(1, 2))
            c.close(rtt)
        elif port == 10004:
            c.seg(C, SYN, gap=rtt // 2, options=C.syn_opts)
            c.seg(S, RST | ACK, seq=0)
        elif port == 10005:
            c.handshake(rtt)
            c.exchange(req, resp, rtt, server_ms=(1, 2))
            c.seg(C, FIN | ACK, gap=rtt // 2)
            c.seg(S, ACK)
        elif port == 10006:
            c.handshake(rtt)
            c.exchange(req, resp, rtt, server_ms=(1, 2))
            c.seg(S, FIN | ACK, gap=rtt // 2)
            c.seg(C, ACK)
        elif port == 10007:
            c.handshake(rtt)
            c.exchange(req, resp, rtt, server_ms=(1, 2))
            c.seg(C, RST | ACK)
        elif port == 10008:
            c.handshake(rtt)
            c.seg(C, PSH | ACK, req, gap=rtt // 2)
            c.seg(S, RST | ACK)
        elif port == 10009:
            c.seg(C, SYN, gap=500 * MS, options=C.syn_opts)
            c.seg(C, RST)
        elif port == 8080:
            c.seg(S, SYN | ACK, gap=rtt, options=S.syn_opts, ack=rng.bits(32))
            c.seg(S, RST)
        elif port == 10011:
            c.seg(C, SYN, gap=rtt, options=C.syn_opts)
            c.seg(C, FIN)
        elif port == 8443:
            c.seg(S, SYN | ACK, gap=rtt, options=S.syn_opts, ack=rng.bits(32))
            c.seg(S, FIN | ACK, ack=rng.bits(32))
        elif port == 10013:
            c.seg(C, PSH | ACK, req, gap=rtt // 2)
            c.seg(S, PSH | ACK, resp, gap=rtt // 2)
            c.seg(C, ACK)
        elif port == 10020:   # retransmissions
            c.handshake(rtt)
            s0 = c.seg(C, PSH | ACK, req, gap=200 * MS)
            c.seg(C, PSH | ACK, req, seq=s0, ack=c.nxt[S], gap=rtt // 2)     # RTO retransmission
            s1 = c.seg(S, PSH | ACK, resp, gap=210 * MS)
            c.seg(S, PSH | ACK, resp, seq=s1, ack=c.nxt[C], gap=rtt // 2)
            c.seg(C, ACK, gap=rtt)
            c.close(rtt)
        elif port == 10021:   # out of order
            c.handshake(rtt)
            part1, part2 = b"A" * 100, b"B" * 100
            base = c.nxt[C]
            c.seg(C, PSH | ACK, part2, seq=base + 100, gap=100 * US)
            c.seg(S, ACK, ack=base, gap=50 * US)                                    # dup ACK
            c.seg(C, ACK, part1, seq=base, gap=rtt // 2)
            c.nxt[C] = (base + 200) & 0xFFFFFFFF
            c.seg(S, ACK, gap=MS)
            c.seg(S, PSH | ACK, resp, gap=rtt // 2)
            c.seg(C, ACK, gap=rtt)
            c.close(rtt)
        elif port == 10022:   # content gap: the 2nd segment is missing but ACKed
            c.handshake(rtt)
            base = c.nxt[C]
            c.seg(C, ACK, b"A" * 100, seq=base, gap=100 * US)
            # b"B" * 100 at base + 100 was on the wire but not in the capture
            c.seg(C, PSH | ACK, b"C" * 100, seq=base + 200, gap=rtt // 2)
            c.nxt[C] = (base + 300) & 0xFFFFFFFF
            c.seg(S, ACK, gap=MS)
            c.seg(S, PSH | ACK, resp, gap=rtt // 2)
            c.seg(C, ACK, gap=rtt)
            c.close(rtt)
        elif port == 8888:    # flipped: the capture starts at the SYN-ACK
            c.nxt[C] = (c.nxt[C] + 1) & 0xFFFFFFFF   # the SYN we did not see
            c.seg(S, SYN | ACK, gap=rtt // 2, options=S.syn_opts)
            c.seg(C, ACK, gap=rtt // 10)
            c.exchange(req, resp, rtt, server_ms=(1, 2))
            c.close(rtt)
        else:
            raise AssertionError(state)
        t += NS
    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: fragments

def scenario_fragments(args, rng):
    cap = Capture(args.nanos)
    t = (EPOCH + rng.below(3600)) * NS
    a = Host(rng, "sender", "00:0b:ab:10:05:0a", "172.16.5.10", 64, 64240, LINUX_SYN, ip6_s="fd00:172:16:5::10")
    b = Host(rng, "receiver", "00:0b:ab:10:05:14", "172.16.5.20", 64, 64240, LINUX_SYN, ip6_s="fd00:172:16:5::20")
    sport = rng.between(32768, 60999)

    def reply(port, n, t, v6=False):
        udp_exchange(cap, b, a, port, sport, b"ACK %12d" % n, t, v6=v6)

    def frags4(datagram, pieces, ident, order, overwrite=None):
        """pieces: [(offset, length)] of the IP payload; overwrite: {piece index: bytes} replacing
        that piece's payload."""
        out = []
        for i in order:
            off, ln = pieces[i]
            body = (overwrite or {}).get(i, datagram[off:off + ln])
            mf = off + ln < len(datagram)
            out.append(ipv4(a.ip, b.ip, 17, body, a.ttl, ident, df=False, mf=mf, frag_off=off))
        return out

    for port in sorted(FRAGMENT_PORTS):
        if port == 5000:
            udp_exchange(cap, a, b, sport, port, rng.bytes(100), t)
            reply(port, 100, t + MS)
            t += NS
            continue
        payload = rng.bytes(3000)
        if port == 5006:
            d = udp_datagram(a.ip6, b.ip6, sport, port, payload)
            ident = rng.bits(32)
            for off in range(0, len(d), 1448):
                chunk = d[off:off + 1448]
                more = off + len(chunk) < len(d)
                fh = struct.pack("!BBHI", 17, 0, off | (1 if more else 0), ident)
                cap.add(t, ether(b.mac, a.mac, 0x86DD, ipv6(a.ip6, b.ip6, 44, fh + chunk, a.ttl)))
                t += 30 * US
            reply(port, len(payload), t + MS, v6=True)
            t += NS
            continue
        d = udp_datagram(a.ip, b.ip, sport, port, payload)
        ident = a.next_id()
        if port in (5001, 5002, 5005):
            pieces = [(0, 1480), (1480, 1480), (2960, len(d) - 2960)]
        else:   # 5003, 5004: the 2nd piece starts 8 bytes early
            pieces = [(0, 1480), (1472, 1488), (2960, len(d) - 2960)]
        order = {5001: [0, 1, 2], 5002: [2, 0, 1], 5003: [0, 1, 2], 5004: [0, 1, 2], 5005: [0, 1]}[port]
        overwrite = {1: b"X" * 8 + d[1480:2960]} if port == 5004 else None
        for pkt in frags4(d, pieces, ident, order, overwrite):
            cap.add(t, ether(b.mac, a.mac, 0x0800, pkt))
            t += 30 * US
        if port != 5005:
            reply(port, len(payload), t + MS)
        t += NS
    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: many-flows (benchmarks). Flow i starts at tick i, its packet j is at tick i + j * stride:
# packets come out in time order without holding the capture in memory, and about `concurrent` flows
# are open at once.

def scenario_many_flows(args, rng):
    n, k = args.flows, args.packets_per_flow
    if n < 1 or k < 1:
        sys.exit("--flows and --packets-per-flow must be >= 1")
    stride = max(1, args.concurrent // max(1, k - 1))
    tick = MS
    t0 = (EPOCH + rng.below(3600)) * NS
    ports = [502, 502, 502, 20000, 102, 44818, 80, 443]
    cmac, smac = mac("b8:ca:3a:00:00:00"), mac("00:80:f4:00:00:00")
    pool = [rng.bytes(n_) for n_ in (12, 64, 200, 512, 1200)]
    isn = [rng.bits(32) for _ in range(1024)]

    def flow_packet(i, j):
        """Packet j of flow i: SYN, SYN-ACK, ACK, data (request/response alternate), then FIN, FIN, ACK."""
        c_ip = bytes([10, 64 + ((i >> 16) & 63), (i >> 8) & 255, (i & 255) or 1])
        s_idx = (i * 2654435761) & 1023
        s_ip = bytes([172, 20, s_idx >> 8, (s_idx & 255) or 1])
        sp = ports[i % len(ports)]
        cp = 49152 + (i * 7) % 16384
        c_isn, s_isn = isn[i & 1023], isn[(i * 31 + 7) & 1023]
        ndata = max(0, k - 6)
        # bytes each side has sent before data packet d, for d in order: even = client request
        def req_len(d):
            return 12 if sp == 502 else len(pool[(i + d) % 3])

        def resp_len(d):
            return 29 if sp == 502 else len(pool[(i + d) % 5])

        def sent(upto):
            cs = ss = 0
            for d in range(upto):
                if d % 2 == 0:
                    cs += req_len(d)
                else:
                    ss += resp_len(d)
            return cs, ss

        from_client, flags, payload = True, ACK, b""
        if j == 0:
            from_client, flags, cs, ss, opts = True, SYN, 0, 0, LINUX_SYN
        elif j == 1:
            from_client, flags, cs, ss, opts = False, SYN | ACK, 0, 0, PLC_SYN
        elif j == 2:
            cs, ss, opts = 0, 0, b""
        elif j < 3 + ndata:
            d = j - 3
            cs, ss = sent(d)
            opts = b""
            flags = PSH | ACK
            if d % 2 == 0:
                if sp == 502:
                    payload = mbap(d & 0xFFFF, 1, struct.pack("!BHH", 3, 0, 10))
                else:
                    payload = pool[(i + d) % 3]
            else:
                from_client = False
                if sp == 502:
                    payload = mbap((d - 1) & 0xFFFF, 1, b"\x03\x14" + pool[3][:20])
                else:
                    payload = pool[(i + d) % 5]
        else:
            cs, ss = sent(ndata)
            opts = b""
            e = j - 3 - ndata
            if e == 0:
                flags = FIN | ACK
            elif e == 1:
                from_client, flags = False, FIN | ACK
                cs += 1
            else:
                flags = ACK
                cs += 1
                ss += 1
        c_seq = (c_isn + 1 + cs) if j > 0 else c_isn
        s_seq = (s_isn + 1 + ss) if j > 1 else s_isn
        if from_client:
            seg = tcp_segment(c_ip, s_ip, cp, sp, c_seq, s_seq if j > 0 else 0, flags, 64240, payload, opts)
            pkt = ipv4(c_ip, s_ip, 6, seg, 128, (i * 8 + j) & 0xFFFF)
            return ether(smac, cmac, 0x0800, pkt)
        seg = tcp_segment(s_ip, c_ip, sp, cp, s_seq, c_seq, flags, 4096, payload, opts)
        pkt = ipv4(s_ip, c_ip, 6, seg, 64, (i * 5 + j) & 0xFFFF)
        return ether(cmac, smac, 0x0800, pkt)

    last_tick = (n - 1) + (k - 1) * stride
    with PcapWriter(args.output, args.nanos) as w:
        for T in range(last_tick + 1):
            # flows i with i + j * stride == T, 0 <= j < k, 0 <= i < n; emitted newest flow first
            j = 0 if T < n else -(-(T - (n - 1)) // stride)
            while j < k and j * stride <= T:
                i = T - j * stride
                w.packet(t0 + T * tick, flow_packet(i, j))
                j += 1


# ---------------------------------------------------------------------------------------------------
# Scenario: s7comm

def cotp_dt_part(data, eot):
    """A class 0 DT TPDU (ISO 8073 §13.7): LI 2, code 0xF0, EOT bit on the last TPDU of a TSDU."""
    return tpkt(bytes([2, 0xF0, 0x80 if eot else 0x00]) + data)


def cotp_connect(code, dst_ref, src_ref, calling, called):
    params = b"\xc0\x01\x0a" + bytes([0xC1, len(calling)]) + calling + bytes([0xC2, len(called)]) + called
    return tpkt(bytes([6 + len(params), code]) + struct.pack("!HHB", dst_ref, src_ref, 0) + params)


def s7_header(rosctr, ref, params, data=b"", error=None):
    hdr = struct.pack("!BBHHHH", 0x32, rosctr, 0, ref, len(params), len(data))
    if error is not None:
        hdr += bytes(error)
    return hdr + params + data


def s7_item(area, db, byte, bit, tsize, count):
    """S7ANY variable specification: 0x12, length 10, syntax 0x10, transport size, count, DB, area, address."""
    return b"\x12\x0a\x10" + struct.pack("!BHHB", tsize, count, db, area) + ((byte << 3) | bit).to_bytes(3, "big")


def s7_userdata(ref, group_type, sub, seq, data, response=None):
    """Userdata: parameter head 00 01 12, length 4 (request) or 8 (response: data unit ref, last, error)."""
    if response is None:
        param = b"\x00\x01\x12\x04\x11" + bytes([group_type, sub, seq])
    else:
        unit_ref, last, err = response
        param = b"\x00\x01\x12\x08\x12" + bytes([group_type, sub, seq, unit_ref, last]) + struct.pack("!H", err)
    return s7_header(7, ref, param, data)


def szl_data(payload, rc=0xFF):
    return bytes([rc, 0x09]) + struct.pack("!H", len(payload)) + payload


def s7p_pdu(version, opcode, function, seq, body, session=None, digest=None, trailer=True, flags=0x34):
    """S7comm-plus: 0x72, version, data length; V3 integrity part (digest length 32 + digest) first;
    opcode, reserved, function, reserved, sequence number, [session id], transport flags, body; trailer."""
    data = b""
    if digest is not None:
        data += bytes([len(digest)]) + digest
    data += struct.pack("!BHHHH", opcode, 0, function, 0, seq)
    if session is not None:
        data += struct.pack("!I", session)
    data += bytes([flags]) + body
    out = struct.pack("!BBH", 0x72, version, len(data)) + data
    return out + (struct.pack("!BBH", 0x72, version, 0) if trailer else b"")


def scenario_s7comm(args, rng):
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    ews = H("ews", "b8:ca:3a:6e:40:64", "10.20.1.100", 128, 64240, WIN_SYN)        # Dell
    hmi = H("hmi", "00:1b:1b:99:20:32", "10.20.1.50", 64, 8192, PLC_SYN)           # Siemens panel
    s300 = H("s7-300", "00:1b:1b:7c:05:e1", "10.20.1.30", 30, 8192, PLC_SYN)       # Siemens
    s1500 = H("s7-1500", "28:63:36:a1:0b:7e", "10.20.1.31", 64, 8192, PLC_SYN)     # Siemens
    ied = H("ied", "00:09:8e:11:22:33", "10.20.1.40", 64, 8192, PLC_SYN)           # an IEC 61850 IED (MMS)

    # --- EWS -> S7-300, S7comm: every Job / Ack_Data function, segmented COTP, SZL identification.
    conn = TcpConn(cap, rng, ews, s300, 49200, 102, t0)
    rtt = rng.between(400, 900) * US
    conn.handshake(rtt)
    src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
    conn.exchange(cotp_connect(0xE0, 0, src_ref, b"\x01\x00", b"\x01\x02"),
                  cotp_connect(0xD0, src_ref, dst_ref, b"\x01\x00", b"\x01\x02"), rtt, server_ms=(1, 3))
    ref = 0x0100
    ex = lambda req, resp, ms=(2, 8): conn.exchange(cotp_dt_part(req, True), cotp_dt_part(resp, True), rtt,
                                                   server_ms=ms)
    # Setup communication: max AMQ 1/1, PDU 480 asked, 240 granted.
    ex(s7_header(1, ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0"),
       s7_header(3, ref, b"\xf0\x00\x00\x01\x00\x01\x00\xf0", error=(0, 0)))
    # Read var, three items: DB1.DBB0 (10 bytes), MB10 (4 bytes), I0.3 (one bit).
    ref += 0x100
    items = [s7_item(0x84, 1, 0, 0, 0x02, 10), s7_item(0x83, 0, 10, 0, 0x02, 4), s7_item(0x81, 0, 0, 3, 0x01, 1)]
    data = b"\xff\x04\x00\x50" + rng.bytes(10) + b"\xff\x04\x00\x20" + rng.bytes(4) + b"\xff\x03\x00\x01\x01"
    ex(s7_header(1, ref, bytes([4, 3]) + b"".join(items)), s7_header(3, ref, bytes([4, 3]), data, error=(0, 0)))
    # Write var: DB2.DBW4 = 0x1234.
    ref += 0x100
    ex(s7_header(1, ref, bytes([5, 1]) + s7_item(0x84, 2, 4, 0, 0x04, 1), b"\x00\x04\x00\x10\x12\x34"),
       s7_header(3, ref, bytes([5, 1]), b"\xff", error=(0, 0)))
    # Read var of 200 bytes of DB3: the response TSDU is sent as three DT TPDUs (EOT on the last), all in
    # one TCP segment.
    ref += 0x100
    resp = s7_header(3, ref, bytes([4, 1]), b"\xff\x04" + struct.pack("!H", 200 * 8) + rng.bytes(200), error=(0, 0))
    parts = [resp[:90], resp[90:180], resp[180:]]
    segmented = b"".join(cotp_dt_part(p, i == 2) for i, p in enumerate(parts))
    conn.exchange(cotp_dt_part(s7_header(1, ref, bytes([4, 1]) + s7_item(0x84, 3, 0, 0, 0x02, 200)), True),
                  segmented, rtt, server_ms=(4, 9))
    # Read SZL 0x0011 (module identification). The response's TPKT is split over two TCP segments.
    ref += 0x100
    mlfb = b"6ES7 315-2EH14-0AB0 "
    recs = (struct.pack("!H", 1) + mlfb + struct.pack("!HHH", 0x00C0, 0x0004, 0x0001) +
            struct.pack("!H", 6) + mlfb + struct.pack("!HHH", 0x00C0, 0x0004, 0x0001) +
            struct.pack("!H", 7) + b" " * 20 + struct.pack("!HHH", 0x00C0, 0x5603, 0x0206) +
            struct.pack("!H", 0x81) + b"Boot Loader         " + struct.pack("!HHH", 0, 0x4120, 0x0909))
    req = s7_userdata(ref, 0x44, 0x01, 0, szl_data(struct.pack("!HH", 0x0011, 0)))
    resp = cotp_dt_part(s7_userdata(ref, 0x84, 0x01, 0, szl_data(struct.pack("!HHHH", 0x0011, 0, 28, 4) + recs),
                                    response=(0, 0, 0)), True)
    conn.seg(conn.c, PSH | ACK, cotp_dt_part(req, True), gap=rtt // 2 + 3 * MS)
    conn.seg(conn.s, ACK, resp[:41], gap=200 * US)
    conn.seg(conn.s, PSH | ACK, resp[41:], gap=30 * MS)
    conn.seg(conn.c, ACK)
    # Read SZL 0x001C (component identification): the records do not fit one PDU, so the PLC sends them
    # in two userdata fragments (data unit reference 5, last data unit 1 then 0); the client asks for
    # the second one with a follow-up request. A record straddles the two fragments.
    ref += 0x100
    texts = [(1, b"S7-300 station"), (2, b"PLC-FILL-1"), (3, b"pump-house-2"), (4, b"Original Siemens Equipment"),
             (5, b"S C-X4U421302012"), (7, b"CPU 315-2 PN/DP"), (8, b"MMC 267FF11F")]
    recs = b"".join(struct.pack("!H", i) + t.ljust(32, b"\0") for i, t in texts)
    first = struct.pack("!HHHH", 0x001C, 0, 34, len(texts)) + recs[:150]
    ex(s7_userdata(ref, 0x44, 0x01, 0, szl_data(struct.pack("!HH", 0x001C, 0))),
       s7_userdata(ref, 0x84, 0x01, 3, szl_data(first), response=(5, 1, 0)))
    ref += 0x100
    ex(s7_userdata(ref, 0x44, 0x01, 3, b"\x0a\x00\x00\x00", response=(0, 0, 0)),
       s7_userdata(ref, 0x84, 0x01, 3, szl_data(recs[150:]), response=(5, 0, 0)))
    # Program download of OB1: request download from the client, then the PLC's download block Jobs (two,
    # the first with "more data" set) and download ended, each acknowledged by the client; _INSE activates it.
    conn.t += 300 * MS
    ref += 0x100
    fname = b"_0800001P"
    part2 = b"\x0d1000176000048"
    ex(s7_header(1, ref, b"\x1a\x00\x01\x00\x00\x00\x00\x00" + bytes([len(fname)]) + fname + part2),
       s7_header(3, ref, b"\x1a", error=(0, 0)))
    block = rng.bytes(176)
    plc_ref = 0x0001
    for k, chunk in enumerate((block[:100], block[100:])):
        more = 1 if k == 0 else 0
        conn.seg(conn.s, PSH | ACK, cotp_dt_part(s7_header(1, plc_ref, b"\x1b\x00\x01\x00\x00\x00\x00\x00" +
                                                           bytes([len(fname)]) + fname), True),
                 gap=rtt // 2 + 2 * MS)
        conn.seg(conn.c, PSH | ACK, cotp_dt_part(s7_header(3, plc_ref, bytes([0x1b, more]),
                                                           struct.pack("!HH", len(chunk), 0x00FB) + chunk,
                                                           error=(0, 0)), True), gap=rtt // 2 + 1 * MS)
        plc_ref += 1
    conn.seg(conn.s, PSH | ACK, cotp_dt_part(s7_header(1, plc_ref, b"\x1c\x00\x00\x00\x00\x00\x00\x00" +
                                                       bytes([len(fname)]) + fname), True), gap=rtt // 2 + 2 * MS)
    conn.seg(conn.c, PSH | ACK, cotp_dt_part(s7_header(3, plc_ref, b"\x1c", error=(0, 0)), True),
             gap=30 * MS)
    conn.seg(conn.s, ACK)
    ref += 0x100
    arg = b"0800001P"
    ex(s7_header(1, ref, b"\x28\x00\x00\x00\x00\x00\x00\xfd" + struct.pack("!H", len(arg) + 2) + b"\x01" +
                 bytes([len(arg)]) + arg + b"\x05_INSE"),
       s7_header(3, ref, b"\x28", error=(0, 0)))
    # Upload of DB1 (start upload, upload, end upload).
    conn.t += 300 * MS
    ref += 0x100
    fname = b"_0A00001A"
    ex(s7_header(1, ref, b"\x1d\x00\x00\x00\x00\x00\x00\x00" + bytes([len(fname)]) + fname),
       s7_header(3, ref, b"\x1d\x00\x01\x00\x00\x00\x00\x07\x07" + b"0000042", error=(0, 0)))
    ref += 0x100
    ex(s7_header(1, ref, b"\x1e\x00\x00\x00\x00\x00\x00\x07"),
       s7_header(3, ref, b"\x1e\x00", struct.pack("!HH", 42, 0x00FB) + rng.bytes(42), error=(0, 0)))
    ref += 0x100
    ex(s7_header(1, ref, b"\x1f\x00\x00\x00\x00\x00\x00\x07"), s7_header(3, ref, b"\x1f", error=(0, 0)))
    # PLC stop, then a hot start (PLC control P_PROGRAM with an empty argument; "C" would be a cold start).
    conn.t += 1 * NS
    ref += 0x100
    ex(s7_header(1, ref, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"), s7_header(3, ref, b"\x29", error=(0, 0)))
    conn.t += 2 * NS
    ref += 0x100
    ex(s7_header(1, ref, b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x09P_PROGRAM"),
       s7_header(3, ref, b"\x28", error=(0, 0)), ms=(20, 40))
    conn.t += 200 * MS
    conn.close(rtt)

    # --- HMI -> S7-1500, S7comm-plus: a V1 CreateObject opens the session, then V3 PDUs with integrity
    # digests, a keep-alive, a response split over two S7comm-plus fragments (no trailer on the first), and
    # DeleteObject to close.
    conn = TcpConn(cap, rng, hmi, s1500, 50100, 102, t0 + 9 * NS)
    rtt = rng.between(300, 700) * US
    conn.handshake(rtt)
    src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
    conn.exchange(cotp_connect(0xE0, 0, src_ref, b"\x06\x00", b"SIMATIC-ROOT-HMI"),
                  cotp_connect(0xD0, src_ref, dst_ref, b"\x06\x00", b"SIMATIC-ROOT-HMI"), rtt, server_ms=(1, 3))
    ex = lambda req, resp, ms=(2, 8): conn.exchange(cotp_dt_part(req, True), cotp_dt_part(resp, True), rtt,
                                                   server_ms=ms)
    session = 0x00000120  # ObjectServerSessionContainer until the PLC assigns one
    ex(s7p_pdu(1, 0x31, 0x04CA, 1, rng.bytes(40), session=session, flags=0x36),
       s7p_pdu(1, 0x32, 0x04CA, 1, rng.bytes(60), flags=0x00))
    session = 0x00000380 | rng.bits(7)
    seq = 2
    for function, n in ((0x0542, 24), (0x054C, 16), (0x054C, 16)):
        conn.t += 100 * MS
        ex(s7p_pdu(3, 0x31, function, seq, rng.bytes(n), session=session, digest=rng.bytes(32)),
           s7p_pdu(3, 0x32, function, seq, rng.bytes(12), digest=rng.bytes(32)))
        seq += 1
    conn.t += 100 * MS
    conn.seg(conn.c, PSH | ACK, cotp_dt_part(b"\x72\xff\x01\x00", True), gap=rtt // 2 + 1 * MS)
    conn.seg(conn.s, ACK, gap=50 * MS)
    # A GetMultiVariables answer too long for one PDU: two S7comm-plus PDUs, the first without trailer.
    conn.t += 100 * MS
    conn.seg(conn.c, PSH | ACK, cotp_dt_part(s7p_pdu(3, 0x31, 0x054C, seq, rng.bytes(16), session=session,
                                                     digest=rng.bytes(32)), True), gap=rtt // 2 + 3 * MS)
    head = s7p_pdu(3, 0x32, 0x054C, seq, rng.bytes(300), digest=rng.bytes(32), trailer=False)
    tail_data = bytes([32]) + rng.bytes(32) + rng.bytes(120)
    tail = struct.pack("!BBH", 0x72, 3, len(tail_data)) + tail_data + struct.pack("!BBH", 0x72, 3, 0)
    conn.seg(conn.s, PSH | ACK, cotp_dt_part(head, True), gap=200 * US)
    conn.seg(conn.s, PSH | ACK, cotp_dt_part(tail, True), gap=30 * MS)
    conn.seg(conn.c, ACK)
    seq += 1
    conn.t += 100 * MS
    ex(s7p_pdu(3, 0x31, 0x04D4, seq, rng.bytes(8), session=session, digest=rng.bytes(32)),
       s7p_pdu(3, 0x32, 0x04D4, seq, rng.bytes(6), digest=rng.bytes(32)))
    conn.close(rtt)

    # --- EWS -> S7-1500 with TIA V17+ secure communication: after the COTP connection, TLS records
    # inside COTP DT TPDUs.
    conn = TcpConn(cap, rng, ews, s1500, 49300, 102, t0 + 12 * NS)
    rtt = rng.between(300, 700) * US
    conn.handshake(rtt)
    src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
    conn.exchange(cotp_connect(0xE0, 0, src_ref, b"\x01\x00", b"SIMATIC-ROOT-ES"),
                  cotp_connect(0xD0, src_ref, dst_ref, b"\x01\x00", b"SIMATIC-ROOT-ES"), rtt, server_ms=(1, 3))
    hello = b"\x01" + struct.pack("!I", 196)[1:] + b"\x03\x03" + rng.bytes(192)
    conn.exchange(cotp_dt_part(b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello, True),
                  cotp_dt_part(b"\x16\x03\x03" + struct.pack("!H", 90) + rng.bytes(90), True), rtt)
    for _ in range(2):
        conn.exchange(cotp_dt_part(b"\x17\x03\x03" + struct.pack("!H", 64) + rng.bytes(64), True),
                      cotp_dt_part(b"\x17\x03\x03" + struct.pack("!H", 48) + rng.bytes(48), True), rtt)
    conn.close(rtt)

    # --- A control centre -> IED: IEC 61850 MMS over the same ISO-on-TCP port: not S7 (an ISO 8327
    # session CONNECT SPDU in the first DT).
    conn = TcpConn(cap, rng, ews, ied, 49400, 102, t0 + 14 * NS)
    rtt = rng.between(300, 700) * US
    conn.handshake(rtt)
    src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
    conn.exchange(cotp_connect(0xE0, 0, src_ref, b"\x00\x01", b"\x00\x01"),
                  cotp_connect(0xD0, src_ref, dst_ref, b"\x00\x01", b"\x00\x01"), rtt, server_ms=(1, 3))
    conn.exchange(cotp_dt_part(b"\x0d\x9e\x05\x06\x13\x01\x00\x16\x01\x02" + rng.bytes(40), True),
                  cotp_dt_part(b"\x0e\x86\x05\x06\x13\x01\x00\x16\x01\x02" + rng.bytes(40), True), rtt)
    conn.close(rtt)

    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: enip (EtherNet/IP and CIP, tests/test_enip.cpp)

def cip_req(service, path, data=b""):
    """A CIP message router request (Vol 1 §2-4.1): service, path size in words, padded EPATH, data."""
    assert len(path) % 2 == 0
    return bytes([service, len(path) // 2]) + path + data


def cip_rsp(service, status=0, data=b"", ext=None):
    """A CIP reply (Vol 1 §2-4.2): service|0x80, reserved, general status, additional status words."""
    add = b"" if ext is None else struct.pack("<H", ext)
    return bytes([service | 0x80, 0, status, len(add) // 2]) + add + data


def cip_msp(messages):
    """Multiple_Service_Packet data (Vol 1 A-4.10): count, offsets from the count, the services."""
    off = 2 + 2 * len(messages)
    table, body = struct.pack("<H", len(messages)), b""
    for m in messages:
        table += struct.pack("<H", off + len(body))
        body += m
    return table + body


def cip_symbol(name):
    """ANSI extended symbol segment (Vol 1 C-1.5), padded to a word."""
    raw = name.encode()
    return bytes([0x91, len(raw)]) + raw + (b"\0" if len(raw) % 2 else b"")


def scenario_enip(args, rng):
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    ews = H("ews", "b8:ca:3a:6e:50:0a", "10.30.1.10", 128, 64240, WIN_SYN)        # Dell
    plc = H("logix", "00:00:bc:3e:eb:e4", "10.30.1.20", 64, 4096, PLC_SYN)        # Rockwell
    adapter = H("aent", "00:00:bc:12:34:56", "10.30.1.30", 64, 4096, PLC_SYN)     # Rockwell
    bcast = H("broadcast", "ff:ff:ff:ff:ff:ff", "255.255.255.255", 64, 0, b"")
    rtt = rng.between(300, 700) * US
    ctx = b"otsensor"

    # --- ListIdentity to the broadcast address (UDP 44818) and the two devices' replies.
    sport = 50100
    t = t0
    udp_exchange(cap, ews, bcast, sport, 44818, enip(0x63, context=ctx), t)

    def identity(host, vendor, dtype, product, rev, status, serial, name, state):
        sock = struct.pack("!hH4s8x", 2, 44818, host.ip)
        return (struct.pack("<H", 1) + sock + struct.pack("<HHHBBHI", vendor, dtype, product, rev[0], rev[1],
                                                           status, serial) + bytes([len(name)]) + name + bytes([state]))

    udp_exchange(cap, plc, ews, 44818, sport, enip(0x63, cpf([(0x0C, identity(
        plc, 1, 14, 0x0037, (20, 11), 0x3060, 0x00C0FFEE, b"1756-L71/B LOGIX5571", 3))]), context=ctx), t + 2 * MS)
    udp_exchange(cap, adapter, ews, 44818, sport, enip(0x63, cpf([(0x0C, identity(
        adapter, 1, 12, 0x005E, (6, 1), 0x0030, 0x12345678, b"1734-AENT/B", 3))]), context=ctx), t + 3 * MS)

    rr = lambda cip: struct.pack("<IH", 0, 10) + cpf([(0x0000, b""), (0x00B2, cip)])

    # --- EWS -> Logix controller, TCP 44818.
    conn = TcpConn(cap, rng, ews, plc, 50200, 44818, t0 + 500 * MS)
    conn.handshake(rtt)
    session = 0x6E5A0001
    conn.exchange(enip(0x65, b"\x01\x00\x00\x00", context=ctx),
                  enip(0x65, b"\x01\x00\x00\x00", session=session, context=ctx), rtt, server_ms=(1, 3))
    ex = lambda req, rsp, context: conn.exchange(enip(0x6F, rr(req), session=session, context=context),
                                                 enip(0x6F, rr(rsp), session=session, context=context), rtt,
                                                 server_ms=(2, 6))
    # Multiple Service Packet to the Message Router: Get_Attribute_Single of the identity's product name,
    # Get_Attribute_List of two identity attributes, a Read Tag of a symbol.
    name = b"1756-L71/B LOGIX5571"
    msp_req = cip_msp([cip_req(0x0E, b"\x20\x01\x24\x01\x30\x07"),
                       cip_req(0x03, b"\x20\x01\x24\x01", struct.pack("<HHH", 2, 1, 7)),
                       cip_req(0x4C, cip_symbol("Motor_Speed"), struct.pack("<H", 1))])
    msp_rsp = cip_msp([cip_rsp(0x0E, data=bytes([len(name)]) + name),
                       cip_rsp(0x03, data=struct.pack("<HHHHHHH", 2, 1, 0, 1, 7, 0, 0)),
                       cip_rsp(0x4C, data=struct.pack("<Hf", 0xCA, 1480.0))])
    ex(cip_req(0x0A, b"\x20\x02\x24\x01", msp_req), cip_rsp(0x0A, data=msp_rsp), b"ctx-0001")
    # Unconnected Send to the Connection Manager, routed to the backplane slot 0: Get_Attributes_All of
    # the identity object. The controller answers with the embedded request's reply.
    inner = cip_req(0x01, b"\x20\x01\x24\x01")
    ucs = struct.pack("<BBH", 0x07, 0xE9, len(inner)) + inner + (b"\0" if len(inner) % 2 else b"") + \
        bytes([1, 0]) + b"\x01\x00"
    ident_all = struct.pack("<HHHBBHI", 1, 14, 0x37, 20, 11, 0x3060, 0x00C0FFEE) + bytes([len(name)]) + name
    ex(cip_req(0x52, b"\x20\x06\x24\x01", ucs), cip_rsp(0x01, data=ident_all), b"ctx-0002")
    # A Write Tag request deliberately split over three TCP segments (8, 20 and the rest).
    write = enip(0x6F, rr(cip_req(0x4D, cip_symbol("Setpoint"), struct.pack("<HHf", 0xCA, 1, 1500.0))),
                 session=session, context=b"ctx-0003")
    conn.seg(conn.c, ACK, write[:8], gap=rng.between(2, 5) * MS)
    conn.seg(conn.c, ACK, write[8:28], gap=rng.between(2, 5) * MS)
    conn.seg(conn.c, PSH | ACK, write[28:], gap=rtt // 2 + 3 * MS)
    conn.seg(conn.s, PSH | ACK, enip(0x6F, rr(cip_rsp(0x4D)), session=session, context=b"ctx-0003"),
             gap=rng.between(20, 60) * MS)
    conn.seg(conn.c, ACK, gap=200 * MS)
    # Reset of the identity object (type 0), then Stop of the controller object (as cip_stop_plc.pcap):
    # the first refused, the second granted.
    ex(cip_req(0x05, b"\x20\x01\x24\x01", b"\x00"), cip_rsp(0x05, status=0x10), b"ctx-0004")
    ex(cip_req(0x07, b"\x20\x8e\x24\x01"), cip_rsp(0x07), b"ctx-0005")
    conn.seg(ews, PSH | ACK, enip(0x66, session=session, context=ctx), gap=rtt // 2)
    conn.seg(plc, ACK, gap=rng.between(1, 3) * MS)
    conn.close(rtt)

    # --- EWS (scanner) -> I/O adapter: Forward Open of a class 1 connection, cyclic I/O on UDP 2222 both
    # ways at a 20 ms RPI, then Forward Close.
    conn = TcpConn(cap, rng, ews, adapter, 50300, 44818, t0 + 3 * NS)
    conn.handshake(rtt)
    session2 = 0x00010203
    conn.exchange(enip(0x65, b"\x01\x00\x00\x00", context=ctx),
                  enip(0x65, b"\x01\x00\x00\x00", session=session2, context=ctx), rtt, server_ms=(1, 3))
    ot_id, to_id = 0x2A2B0001, 0x1F0E0A01
    serial, vendor, oserial = 0x0101, 0x0001, 0x0BADF00D
    rpi = 20000
    fo = struct.pack("<BBIIHHIB3xIHIHB", 0x0A, 0x0E, 0, to_id, serial, vendor, oserial, 1, rpi, 0x480A, rpi, 0x4806,
                     0x01)
    cpath = b"\x20\x04\x24\x66\x2c\x64\x2c\x65"   # assembly 4, config instance 0x66, points 0x64 / 0x65
    fo += bytes([len(cpath) // 2]) + cpath
    fo_rsp = struct.pack("<IIHHIIIBB", ot_id, to_id, serial, vendor, oserial, rpi, rpi, 0, 0)
    conn.exchange(enip(0x6F, rr(cip_req(0x54, b"\x20\x06\x24\x01", fo)), session=session2, context=b"fwd-open"),
                  enip(0x6F, rr(cip_rsp(0x54, data=fo_rsp)), session=session2, context=b"fwd-open"), rtt,
                  server_ms=(3, 8))
    t = conn.t + 5 * MS
    for i in range(6):
        o2t = struct.pack("<H", i + 1) + struct.pack("<I", 1) + bytes([0x10 + i, 0, 0, 0])   # seq count, run/idle, data
        t2o = struct.pack("<H", i + 1) + bytes([0x20 + i, 0x01, 0, 0])
        udp_exchange(cap, ews, adapter, 2222, 2222, cpf([(0x8002, struct.pack("<II", ot_id, i + 1)), (0x00B1, o2t)]),
                     t + i * 20 * MS)
        udp_exchange(cap, adapter, ews, 2222, 2222, cpf([(0x8002, struct.pack("<II", to_id, i + 1)), (0x00B1, t2o)]),
                     t + i * 20 * MS + rng.between(1, 4) * MS)
    conn.t = t + 6 * 20 * MS
    fc = struct.pack("<BBHHI", 0x0A, 0x0E, serial, vendor, oserial) + bytes([len(cpath) // 2, 0]) + cpath
    conn.exchange(enip(0x6F, rr(cip_req(0x4E, b"\x20\x06\x24\x01", fc)), session=session2, context=b"fwdclose"),
                  enip(0x6F, rr(cip_rsp(0x4E, data=struct.pack("<HHIBB", serial, vendor, oserial, 0, 0))),
                       session=session2, context=b"fwdclose"), rtt, server_ms=(2, 5))
    conn.seg(ews, PSH | ACK, enip(0x66, session=session2, context=ctx), gap=rtt // 2)
    conn.seg(adapter, ACK, gap=rng.between(1, 3) * MS)
    conn.close(rtt)

    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: dnp3 (tests/test_dnp3.cpp). Section numbers are IEEE Std 1815-2012's.

def dnp3_app(ac, fc, body=b"", iin=None):
    """An application fragment (§4.2.2): control (FIR 0x80, FIN 0x40, CON 0x20, UNS 0x10, sequence), function,
    the two IIN octets on responses, then the objects."""
    return bytes([ac, fc]) + (b"" if iin is None else struct.pack("!H", iin)) + body


class Dnp3Sender:
    """One sender's side of a link address pair: fragments cut into transport segments (§8.2, at most 249
    octets after the transport header), each in its own link frame, with a running sequence number."""

    def __init__(self, ctrl, dst, src, tseq):
        self.ctrl, self.dst, self.src, self.tseq = ctrl, dst, src, tseq

    def frames(self, app, max_seg=249):
        out = []
        for i in range(0, len(app), max_seg):
            part = app[i:i + max_seg]
            th = (0x40 if i == 0 else 0) | (0x80 if i + max_seg >= len(app) else 0) | self.tseq
            self.tseq = (self.tseq + 1) & 0x3F
            out.append(dnp3_link(self.ctrl, self.dst, self.src, bytes([th]) + part))
        return out


def dnp3_bad_header_crc(frame):
    """One bit of the destination flipped in transit: the header CRC no longer matches."""
    return frame[:4] + bytes([frame[4] ^ 0x04]) + frame[5:]


def dnp3_bad_block_crc(frame, block):
    """One bit of a user data block flipped in transit: that block's CRC no longer matches."""
    at = 10 + 18 * block + 3
    return frame[:at] + bytes([frame[at] ^ 0x10]) + frame[at + 1:]


def scenario_dnp3(args, rng):
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    master = H("master", "3c:ec:ef:40:01:05", "10.40.1.5", 64, 64240, LINUX_SYN)
    rtu_a = H("rtu-a", "00:30:a7:40:01:50", "10.40.1.50", 64, 2048, PLC_SYN)   # SEL
    rtu_b = H("rtu-b", "00:30:a7:40:01:60", "10.40.1.60", 64, 2048, PLC_SYN)   # SEL
    M, A, B = 1, 10, 20
    rtt = rng.between(500, 1500) * US
    class0 = b"\x3c\x01\x06"
    class123 = b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06"
    crob = b"\x0c\x01\x28\x01\x00\x03\x00" + struct.pack("<BBIIB", 0x41, 1, 1000, 0, 0)   # close, pulse on
    analogs = lambda n: b"\x1e\x01\x01\x00\x00" + struct.pack("<H", n - 1) + b"".join(
        struct.pack("<Bi", 0x01, rng.between(0, 40000)) for _ in range(n))
    event = lambda t: b"\x02\x02\x17\x01\x03\x81" + (t // MS).to_bytes(6, "little")   # g2v2, index 3

    # --- TCP 20000: master 1 -> outstation 10.
    conn = TcpConn(cap, rng, master, rtu_a, 41000, 20000, t0)
    conn.handshake(rtt)
    to_a, from_a = Dnp3Sender(0xC4, A, M, 0x3E), Dnp3Sender(0x44, M, A, 0x3D)   # both wrap 63 -> 0

    def send(frm, frames, gap):
        for f in frames:
            conn.seg(frm, PSH | ACK, f, gap=gap)

    def ask(req, resps, serve_ms=(10, 30)):
        """A request, the responses (lists of frames, each frame a TCP segment), the master's ACK."""
        send(master, req, rtt // 2 + rng.between(*serve_ms) * MS)
        for frames in resps:
            send(rtu_a, frames, rng.between(1, 3) * MS)
        conn.seg(master, ACK, gap=rng.between(200, 400) * MS)

    # Integrity poll answered by two application fragments (FIR, then FIN), each confirmed (CON); the first
    # holds 100 analog inputs, so it takes three transport segments.
    seq = 5
    first = dnp3_app(0xA0 | seq, 0x81, b"\x01\x02\x00\x00\x07" + bytes([0x01, 0x81] * 4) + analogs(100), 0x8000)
    last = dnp3_app(0x60 | (seq + 1), 0x81, b"\x14\x01\x00\x00\x03" + b"".join(
        struct.pack("<BI", 0x01, rng.between(0, 100000)) for _ in range(4)), 0x8000)
    segments = from_a.frames(first)
    assert len(segments) == 3
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x01, class0 + class123)), [segments])
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x00)), [from_a.frames(last)], serve_ms=(1, 3))
    send(master, to_a.frames(dnp3_app(0xC0 | (seq + 1), 0x00)), rtt // 2)
    conn.seg(rtu_a, ACK, gap=400 * MS)

    # Select-before-operate of a CROB (g12v1 index 3, close / pulse on 1 s), then a direct operate of an
    # analog output (g41v2 index 1 = 1234).
    for fc in (0x03, 0x04):
        seq = (seq + 1) & 0x0F
        ask(to_a.frames(dnp3_app(0xC0 | seq, fc, crob)), [from_a.frames(dnp3_app(0xC0 | seq, 0x81, crob, 0))])
    seq = (seq + 1) & 0x0F
    ao = b"\x29\x02\x28\x01\x00\x01\x00" + struct.pack("<hB", 1234, 0)
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x05, ao)), [from_a.frames(dnp3_app(0xC0 | seq, 0x81, ao, 0))])

    # An event poll whose request is hit by noise in its header (no answer; the master repeats it), then
    # one whose response is hit in its second data block (the master repeats it too).
    seq = (seq + 1) & 0x0F
    req = to_a.frames(dnp3_app(0xC0 | seq, 0x01, class123))
    send(master, [dnp3_bad_header_crc(req[0])], rtt // 2)
    conn.seg(rtu_a, ACK, gap=2 * NS)
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x01, class123)),
        [from_a.frames(dnp3_app(0xC0 | seq, 0x81, event(conn.t - 300 * MS), 0x0200))])
    seq = (seq + 1) & 0x0F
    resp = dnp3_app(0xC0 | seq, 0x81, analogs(6), 0)
    send(master, to_a.frames(dnp3_app(0xC0 | seq, 0x01, class0)), rtt // 2 + 15 * MS)
    send(rtu_a, [dnp3_bad_block_crc(from_a.frames(resp)[0], 1)], rtt // 2)
    conn.seg(master, ACK, gap=2 * NS)
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x01, class0)), [from_a.frames(resp)])

    # Cold restart: the outstation answers with the time until it is back (g52v2, 5000 ms) and closes.
    seq = (seq + 1) & 0x0F
    delay = b"\x34\x02\x07\x01" + struct.pack("<H", 5000)
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x0D)), [from_a.frames(dnp3_app(0xC0 | seq, 0x81, delay, 0))])
    conn.close(rtt, by_client=False)

    # --- After the restart the master reconnects; the outstation announces itself with a null unsolicited
    # response (IIN1.7 device restart), the master clears the restart bit and enables unsolicited events,
    # and the next event comes unsolicited.
    conn = TcpConn(cap, rng, master, rtu_a, 41001, 20000, conn.t + 6 * NS)
    conn.handshake(rtt)
    to_a, from_a = Dnp3Sender(0xC4, A, M, rng.bits(6)), Dnp3Sender(0x44, M, A, rng.bits(6))
    useq = rng.bits(4)
    send(rtu_a, from_a.frames(dnp3_app(0xF0 | useq, 0x82, b"", 0x8000)), rtt // 2 + 2 * MS)
    send(master, to_a.frames(dnp3_app(0xD0 | useq, 0x00)), 100 * MS)
    conn.seg(rtu_a, ACK, gap=rng.between(1, 3) * MS)
    seq = rng.bits(4)
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x02, b"\x50\x01\x00\x07\x07\x00")),
        [from_a.frames(dnp3_app(0xC0 | seq, 0x81, b"", 0))])
    seq = (seq + 1) & 0x0F
    ask(to_a.frames(dnp3_app(0xC0 | seq, 0x14, class123)), [from_a.frames(dnp3_app(0xC0 | seq, 0x81, b"", 0))])
    conn.t += 1500 * MS
    useq = (useq + 1) & 0x0F
    send(rtu_a, from_a.frames(dnp3_app(0xF0 | useq, 0x82, event(conn.t - 20 * MS), 0x0200)), rtt // 2 + 2 * MS)
    send(master, to_a.frames(dnp3_app(0xD0 | useq, 0x00)), 100 * MS)
    conn.seg(rtu_a, ACK, gap=500 * MS)
    conn.close(rtt)

    # --- UDP 20000 (both ports): master 1 -> outstation 20. A class 0 poll whose response is two transport
    # segments in one datagram, then an unsolicited event and its confirm.
    t = t0 + 2 * NS
    to_b, from_b = Dnp3Sender(0xC4, B, M, rng.bits(6)), Dnp3Sender(0x44, M, B, rng.bits(6))
    seq = rng.bits(4)
    udp_exchange(cap, master, rtu_b, 20000, 20000, b"".join(to_b.frames(dnp3_app(0xC0 | seq, 0x01, class0))), t)
    resp = from_b.frames(dnp3_app(0xC0 | seq, 0x81, analogs(60), 0))
    assert len(resp) == 2
    udp_exchange(cap, rtu_b, master, 20000, 20000, b"".join(resp), t + rng.between(20, 40) * MS)
    t += 4 * NS
    useq = rng.bits(4)
    udp_exchange(cap, rtu_b, master, 20000, 20000,
                 b"".join(from_b.frames(dnp3_app(0xF0 | useq, 0x82, event(t - 5 * MS), 0x0200))), t)
    udp_exchange(cap, master, rtu_b, 20000, 20000, b"".join(to_b.frames(dnp3_app(0xD0 | useq, 0x00))),
                 t + rng.between(2, 6) * MS)

    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# Scenario: attacks (tests/test_rules_shipped.cpp): one host, 10.66.0.10, does what the shipped rule set
# (rules/ics-default.yaml) looks for, each in a well-formed request of its protocol, and the sweeps that
# the threshold rules count (one source, many destinations, so that the flows spread over the workers).

def scenario_attacks(args, rng):
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    evil = H("attacker", "3c:ec:ef:66:00:10", "10.66.0.10", 64, 64240, LINUX_SYN)
    s7 = H("s7-300", "00:1b:1b:66:01:30", "10.66.1.30", 30, 8192, PLC_SYN)           # Siemens
    m340 = H("m340", "00:80:f4:66:01:21", "10.66.1.21", 64, 4096, PLC_SYN)          # Schneider
    rtu = H("rtu", "00:30:a7:66:01:50", "10.66.1.50", 64, 2048, PLC_SYN)            # SEL
    logix = H("logix", "00:00:bc:66:01:40", "10.66.1.40", 64, 4096, PLC_SYN)        # Rockwell
    sis = H("tricon", "00:00:a8:66:01:60", "10.66.1.60", 64, 4096, PLC_SYN)         # a Triconex SIS
    rtt = rng.between(300, 900) * US

    def cotp_setup(conn):
        src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
        conn.exchange(cotp_connect(0xE0, 0, src_ref, b"\x01\x00", b"\x01\x02"),
                      cotp_connect(0xD0, src_ref, dst_ref, b"\x01\x00", b"\x01\x02"), rtt, server_ms=(1, 3))
        conn.exchange(cotp_dt_part(s7_header(1, 0x0100, b"\xf0\x00\x00\x01\x00\x01\x01\xe0"), True),
                      cotp_dt_part(s7_header(3, 0x0100, b"\xf0\x00\x00\x01\x00\x01\x00\xf0", error=(0, 0)), True),
                      rtt, server_ms=(2, 5))

    # --- S7comm: stop, hot and cold start, download, upload, block delete/insert, compress, copy RAM to
    # ROM, a write to the outputs, set clock; each Job answered by its Ack_Data.
    conn = TcpConn(cap, rng, evil, s7, rng.between(40000, 60000), 102, t0)
    conn.handshake(rtt)
    cotp_setup(conn)
    arg = b"0800001P"
    block = b"\x28\x00\x00\x00\x00\x00\x00\xfd" + struct.pack("!H", len(arg) + 2) + b"\x01" + bytes([len(arg)]) + arg
    fname = b"_0800001P"
    jobs = [
        (b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM", b"\x29", b""),                                 # PLC stop
        (b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x09P_PROGRAM", b"\x28", b""),                 # hot start
        (b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x02C \x09P_PROGRAM", b"\x28", b""),               # cold start
        (b"\x1a\x00\x01\x00\x00\x00\x00\x00" + bytes([len(fname)]) + fname + b"\x0d1000176000048", b"\x1a", b""),
        (b"\x1d\x00\x00\x00\x00\x00\x00\x00\x09_0A00001A", b"\x1d\x00\x01\x00\x00\x00\x00\x07\x070000042", b""),
        (block + b"\x05_DELE", b"\x28", b""),                                                      # block delete
        (block + b"\x05_INSE", b"\x28", b""),                                                      # activate
        (b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x05_GARB", b"\x28", b""),                     # compress
        (b"\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x00\x05_MODU", b"\x28", b""),                     # RAM to ROM
    ]
    ref = 0x0200
    for param, ack, data in jobs:
        conn.t += rng.between(200, 600) * MS
        conn.exchange(cotp_dt_part(s7_header(1, ref, param, data), True),
                      cotp_dt_part(s7_header(3, ref, ack, error=(0, 0)), True), rtt, server_ms=(3, 9))
        ref += 1
    # Write var QW0 = 0xFFFF (area 0x82: the process image of the outputs).
    conn.t += 300 * MS
    conn.exchange(cotp_dt_part(s7_header(1, ref, bytes([5, 1]) + s7_item(0x82, 0, 0, 0, 0x02, 2), b"\x00\x04\x00\x10\xff\xff"), True),
                  cotp_dt_part(s7_header(3, ref, bytes([5, 1]), b"\xff", error=(0, 0)), True), rtt)
    ref += 1
    # Set clock (userdata, time functions, sub-function 2): 2024-03-11 08:00:00.000, BCD.
    conn.t += 300 * MS
    clock = b"\x00\x24\x03\x11\x08\x00\x00\x00\x00\x02"
    conn.exchange(cotp_dt_part(s7_userdata(ref, 0x47, 0x02, 0, b"\xff\x09\x00\x0a" + clock), True),
                  cotp_dt_part(s7_userdata(ref, 0x87, 0x02, 0, b"\x0a\x00\x00\x00", response=(0, 0, 0)), True), rtt)
    conn.t += 200 * MS
    conn.close(rtt)

    # --- S7comm identification sweep: SZL 0x0011 from twelve PLCs, 2 s apart.
    for i in range(12):
        plc = H("s7-%d" % i, "00:1b:1b:66:02:%02x" % (i + 1), "10.66.2.%d" % (i + 1), 30, 8192, PLC_SYN)
        c = TcpConn(cap, rng, evil, plc, rng.between(40000, 60000), 102, t0 + 8 * NS + i * 2 * NS)
        c.handshake(rtt)
        cotp_setup(c)
        c.exchange(cotp_dt_part(s7_userdata(0x300 + i, 0x44, 0x01, 0, szl_data(struct.pack("!HH", 0x0011, 0))), True),
                   cotp_dt_part(s7_userdata(0x300 + i, 0x84, 0x01, 0, szl_data(struct.pack("!HHHH", 0x0011, 0, 28, 0)),
                                            response=(0, 0, 0)), True), rtt)
        c.close(rtt)

    # --- Modbus/TCP to an M340: diagnostics restart / clear counters / listen only, a broadcast write (unit 0,
    # no answer), a mass coil write, writes to the protected ranges, report server id, and UMAS (FC 90) stop,
    # start, and the two strategy transfers.
    conn = TcpConn(cap, rng, evil, m340, rng.between(40000, 60000), 502, t0 + 35 * NS)
    conn.handshake(rtt)
    tid = rng.bits(12)
    answered = [
        (1, struct.pack("!BHH", 8, 1, 0xFF00), None),                                # restart communications
        (1, struct.pack("!BHH", 8, 10, 0), None),                                    # clear counters
        (1, struct.pack("!BHHB", 15, 0, 800, 100) + rng.bytes(100), struct.pack("!BHH", 15, 0, 800)),
        (1, struct.pack("!BHHB2H", 16, 9000, 2, 4, 0x7FFF, 0x7FFF), struct.pack("!BHH", 16, 9000, 2)),
        (1, struct.pack("!BHH", 5, 1000, 0xFF00), None),
        (1, bytes([17]), bytes([17, 3, 0x2A, 0xFF, 0x00])),
        (1, bytes([0x5A, 0x00, 0x41, 0xFF, 0x00]), bytes([0x5A, 0x00, 0xFE])),         # UMAS stop PLC
        (1, bytes([0x5A, 0x00, 0x40, 0xFF, 0x00]), bytes([0x5A, 0x00, 0xFE])),         # UMAS start PLC
        (1, bytes([0x5A, 0x07, 0x30, 0x01, 0x00]), bytes([0x5A, 0x07, 0xFE])),         # strategy to the PLC
        (1, bytes([0x5A, 0x07, 0x33, 0x01, 0x00]), bytes([0x5A, 0x07, 0xFE])),         # strategy from the PLC
    ]
    for unit, req, resp in answered:
        tid = (tid + 1) & 0xFFFF
        conn.t += rng.between(200, 500) * MS
        conn.exchange(mbap(tid, unit, req), mbap(tid, unit, resp if resp is not None else req), rtt)
    for unit, req in ((0, struct.pack("!BHH", 6, 40, 0)), (1, struct.pack("!BHH", 8, 4, 0))):
        tid = (tid + 1) & 0xFFFF          # broadcast and listen-only requests are never answered
        conn.t += rng.between(200, 500) * MS
        conn.seg(evil, PSH | ACK, mbap(tid, unit, req), gap=rtt // 2 + 40 * MS)
        conn.seg(m340, ACK, gap=rng.between(20, 60) * MS)
    conn.close(rtt)

    # --- Modbus identification sweep: read device identification (FC 43 / MEI 14) from six servers.
    for i in range(6):
        srv = H("mb-%d" % i, "00:80:f4:66:03:%02x" % (i + 1), "10.66.3.%d" % (i + 1), 64, 4096, PLC_SYN)
        c = TcpConn(cap, rng, evil, srv, rng.between(40000, 60000), 502, t0 + 45 * NS + i * NS)
        c.handshake(rtt)
        c.exchange(mbap(1, 1, mei_read_device_id(1, 0)),
                   mbap(1, 1, mei_device_id_reply(1, 0x81, [(0, b"Schneider Electric"), (1, b"BMXP342020"),
                                                             (2, b"v3.10")])), rtt)
        c.close(rtt)

    # --- DNP3 (master 3 -> outstation 10): restarts, stop/initialize application, disable unsolicited,
    # initialize data, file operations, activate configuration, a CROB without acknowledgement, and a read
    # to the broadcast address.
    conn = TcpConn(cap, rng, evil, rtu, rng.between(40000, 60000), 20000, t0 + 55 * NS)
    conn.handshake(rtt)
    M, O = 3, 10
    to_o, from_o = Dnp3Sender(0xC4, O, M, rng.bits(6)), Dnp3Sender(0x44, M, O, rng.bits(6))
    name = b"/config/app.bin"
    g70v3 = lambda: b"\x46\x03\x5b\x01" + struct.pack("<H", 26 + len(name)) + struct.pack(
        "<HH", 26, len(name)) + bytes(6) + struct.pack("<HIIHHH", 0x01FF, 0, 0, 1, 1024, 1) + name
    g70v4 = b"\x46\x04\x5b\x01" + struct.pack("<H", 13) + struct.pack("<IIHHB", 0x1234, 0, 1024, 1, 0)
    g70v8 = b"\x46\x08\x5b\x01" + struct.pack("<H", len(name)) + name
    crob = b"\x0c\x01\x28\x01\x00\x00\x00" + struct.pack("<BBIIB", 0x03, 1, 1000, 0, 0)
    steps = [(13, b""), (14, b""), (18, b""), (16, b""), (21, b"\x3c\x02\x06\x3c\x03\x06\x3c\x04\x06"), (15, b""),
             (25, g70v3()), (28, g70v3()), (26, g70v4), (27, g70v3()), (31, g70v8)]
    seq = rng.bits(4)
    for fc, body in steps:
        conn.t += rng.between(300, 700) * MS
        for f in to_o.frames(dnp3_app(0xC0 | seq, fc, body)):
            conn.seg(evil, PSH | ACK, f, gap=rtt // 2 + rng.between(10, 30) * MS)
        for f in from_o.frames(dnp3_app(0xC0 | seq, 0x81, b"", 0)):
            conn.seg(rtu, PSH | ACK, f, gap=rng.between(1, 3) * MS)
        conn.seg(evil, ACK, gap=rng.between(50, 150) * MS)
        seq = (seq + 1) & 0x0F
    # Direct operate, no response (FC 6) of a CROB; then a class 0 read to the broadcast address 0xFFFF.
    for f in to_o.frames(dnp3_app(0xC0 | seq, 6, crob)):
        conn.seg(evil, PSH | ACK, f, gap=rtt // 2 + 20 * MS)
    conn.seg(rtu, ACK, gap=300 * MS)
    seq = (seq + 1) & 0x0F
    bcast = Dnp3Sender(0xC4, 0xFFFF, M, rng.bits(6))
    for f in bcast.frames(dnp3_app(0xC0 | seq, 1, b"\x3c\x01\x06")):
        conn.seg(evil, PSH | ACK, f, gap=rtt // 2 + 20 * MS)
    conn.seg(rtu, ACK, gap=300 * MS)
    conn.close(rtt)

    # --- CIP to a ControlLogix over an EtherNet/IP session: reset (type 0, then type 1: out-of-box), stop,
    # start, set attribute on the identity, TCP/IP interface and Ethernet link objects, delete.
    conn = TcpConn(cap, rng, evil, logix, rng.between(40000, 60000), 44818, t0 + 70 * NS)
    conn.handshake(rtt)
    session = rng.bits(32) | 1
    ctx = b"atk-ctx0"
    conn.exchange(enip(0x65, b"\x01\x00\x00\x00", context=ctx), enip(0x65, b"\x01\x00\x00\x00", session=session, context=ctx),
                  rtt, server_ms=(1, 3))
    rr = lambda cip: struct.pack("<IH", 0, 10) + cpf([(0x0000, b""), (0x00B2, cip)])
    ip_cfg = ip4("10.66.0.10") + ip4("255.255.255.0") + ip4("10.66.0.10") + ip4("10.66.0.10") + bytes(4) + b"\x00\x00"
    requests = [
        cip_req(0x05, b"\x20\x01\x24\x01", b"\x00"),
        cip_req(0x05, b"\x20\x01\x24\x01", b"\x01"),
        cip_req(0x07, b"\x20\x8e\x24\x01"),
        cip_req(0x06, b"\x20\x8e\x24\x01"),
        cip_req(0x10, b"\x20\x01\x24\x01\x30\x07", b"\x04EVIL"),
        cip_req(0x10, b"\x20\xf5\x24\x01\x30\x05", ip_cfg),
        cip_req(0x10, b"\x20\xf6\x24\x01\x30\x09", b"\x02"),
        cip_req(0x09, b"\x20\x04\x24\x66"),
    ]
    for i, req in enumerate(requests):
        conn.t += rng.between(200, 500) * MS
        c8 = b"atk-%04d" % i
        conn.exchange(enip(0x6F, rr(req), session=session, context=c8),
                      enip(0x6F, rr(cip_rsp(req[0])), session=session, context=c8), rtt, server_ms=(2, 6))
    conn.seg(evil, PSH | ACK, enip(0x66, session=session, context=ctx), gap=rtt // 2)
    conn.seg(logix, ACK, gap=rng.between(1, 3) * MS)
    conn.close(rtt)

    # --- EtherNet/IP ListIdentity to twelve addresses, unicast, 1 s apart; each device answers.
    for i in range(12):
        dev = H("enip-%d" % i, "00:00:bc:66:04:%02x" % (i + 1), "10.66.4.%d" % (i + 1), 64, 4096, PLC_SYN)
        t = t0 + 80 * NS + i * NS
        sport = rng.between(49152, 65535)
        udp_exchange(cap, evil, dev, sport, 44818, enip(0x63, context=b"sweep%03d" % i), t)
        ident = struct.pack("<H", 1) + struct.pack("!HH4s8x", 2, 44818, dev.ip) + \
            struct.pack("<HHHBBHI", 1, 14, 0x37, 20, 11, 0x3060, rng.bits(32)) + bytes([20]) + b"1756-L71/B LOGIX5571" + b"\x03"
        udp_exchange(cap, dev, evil, 44818, sport, enip(0x63, cpf([(0x0C, ident)]), context=b"sweep%03d" % i),
                     t + rng.between(1, 4) * MS)

    # --- TriStation (UDP 1502) to a Triconex controller: the protocol is closed, so these datagrams are
    # opaque bytes; the rule keys on the port alone.
    t = t0 + 95 * NS
    sport = rng.between(49152, 65535)
    for i in range(3):
        udp_exchange(cap, evil, sis, sport, 1502, rng.bytes(rng.between(20, 60)), t)
        udp_exchange(cap, sis, evil, 1502, sport, rng.bytes(rng.between(20, 60)), t + rng.between(2, 8) * MS)
        t += 500 * MS

    cap.write(args.output)


# ---------------------------------------------------------------------------------------------------
# truncate: a copy of a pcap cut in the middle of its last record

# ---------------------------------------------------------------------------------------------------
# Scenario: modbus (tests/test_inventory.cpp): Read Device Identification (FC 43 / MEI 14, Modbus Application
# Protocol V1.1b3 §6.21) for the asset inventory, and a flow to port 502 that is not Modbus.

def mei_read_device_id(read_code, object_id):
    return bytes([0x2B, 0x0E, read_code, object_id])


def mei_device_id_reply(read_code, conformity, objects):
    """A complete reply (more follows 0, next object 0) with (object id, value) pairs."""
    body = b"".join(bytes([oid, len(v)]) + v for oid, v in objects)
    return bytes([0x2B, 0x0E, read_code, conformity, 0, 0, len(objects)]) + body


def scenario_modbus(args, rng):
    cap = Capture(args.nanos)
    t0 = (EPOCH + rng.below(3600)) * NS + rng.below(NS)
    H = lambda *a, **k: Host(rng, *a, **k)
    hmi = H("hmi", "b8:ca:3a:50:01:0a", "10.50.1.10", 128, 64240, WIN_SYN)          # Dell
    m340 = H("m340", "00:80:f4:50:01:15", "10.50.1.21", 64, 4096, PLC_SYN)         # Schneider (Telemecanique)
    wago = H("wago", "00:30:de:50:01:16", "10.50.1.22", 64, 8192, PLC_SYN)         # WAGO
    laptop = H("laptop", "3c:ec:ef:50:01:63", "10.50.1.99", 64, 64240, LINUX_SYN)

    # HMI -> M340: a poll, then the basic identification (vendor, product code, revision) and the
    # regular one (URL, product name, model name, application name), each in its own transaction.
    conn = TcpConn(cap, rng, hmi, m340, rng.between(49700, 52000), 502, t0 + 100 * MS)
    rtt = rng.between(300, 700) * US
    conn.handshake(rtt)
    tid = rng.bits(12)
    regs = [rng.between(200, 900) for _ in range(4)]
    conn.exchange(mbap(tid, 1, struct.pack("!BHH", 3, 0, 4)), mbap(tid, 1, bytes([3, 8]) + struct.pack("!4H", *regs)),
                  rtt)
    basic = [(0x00, b"Schneider Electric"), (0x01, b"BMXP342020"), (0x02, b"v2.70")]
    regular = [(0x03, b"www.schneider-electric.com"), (0x04, b"Modicon M340"), (0x05, b"BMX P34 2020"),
               (0x06, b"PUMP_STATION_1")]
    for code, first, objects in ((1, 0x00, basic), (2, 0x03, regular)):
        tid += 1
        conn.t += 200 * MS
        conn.exchange(mbap(tid, 1, mei_read_device_id(code, first)),
                      mbap(tid, 1, mei_device_id_reply(code, 0x82, objects)), rtt)
    conn.t += 100 * MS
    conn.close(rtt)

    # HMI -> WAGO: a poll; the identification request is refused (exception 1, illegal function).
    conn = TcpConn(cap, rng, hmi, wago, rng.between(49700, 52000), 502, t0 + 1200 * MS)
    conn.handshake(rtt)
    tid = rng.bits(12)
    conn.exchange(mbap(tid, 255, struct.pack("!BHH", 3, 0, 2)), mbap(tid, 255, bytes([3, 4, 0, 7, 0, 9])), rtt)
    tid += 1
    conn.t += 200 * MS
    conn.exchange(mbap(tid, 255, mei_read_device_id(1, 0)), mbap(tid, 255, bytes([0xAB, 0x01])), rtt)
    conn.t += 100 * MS
    conn.close(rtt)

    # A laptop's HTTP request to the WAGO's port 502: not Modbus, so no roles for either end.
    conn = TcpConn(cap, rng, laptop, wago, rng.between(40000, 60000), 502, t0 + 2500 * MS)
    conn.handshake(rtt)
    conn.seg(laptop, PSH | ACK, b"GET / HTTP/1.1\r\nHost: 10.50.1.22\r\n\r\n", gap=rtt // 2)
    conn.seg(wago, ACK, gap=50 * MS)
    conn.close(rtt, by_client=False)
    cap.write(args.output)


def mode_truncate(args):
    with open(args.input, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("truncate: %s is not a classic pcap file" % args.input)
    pos, last = 24, None
    while pos + 16 <= len(data):
        incl = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
        if pos + 16 + incl > len(data):
            break
        last = (pos, incl)
        pos += 16 + incl
    if last is None:
        sys.exit("truncate: %s has no complete record" % args.input)
    start, incl = last
    cut = start + 16 + max(1, incl // 2) if incl > 1 else start + 8
    with open(args.output, "wb") as f:
        f.write(data[:cut])


# ---------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("scenario", choices=["demo", "conn-states", "fragments", "many-flows", "s7comm", "enip", "dnp3",
                                        "modbus", "attacks", "truncate"])
    ap.add_argument("input", nargs="?", help="truncate: the capture to cut")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--nanos", action="store_true", help="nanosecond timestamps (pcap magic a1b23c4d)")
    ap.add_argument("--flows", type=int, default=10000)
    ap.add_argument("--packets-per-flow", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=1000, help="many-flows: flows open at once (about)")
    args = ap.parse_args(argv)
    if args.scenario == "truncate":
        if not args.input:
            ap.error("truncate needs an input capture")
        return mode_truncate(args)
    if args.input:
        ap.error("unexpected argument %r" % args.input)
    rng = Rng(args.seed)
    {"demo": scenario_demo, "conn-states": scenario_conn_states, "fragments": scenario_fragments,
     "many-flows": scenario_many_flows, "s7comm": scenario_s7comm,
     "enip": scenario_enip, "dnp3": scenario_dnp3, "modbus": scenario_modbus,
     "attacks": scenario_attacks}[args.scenario](args, rng)


if __name__ == "__main__":
    main()
