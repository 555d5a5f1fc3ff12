#!/usr/bin/python3
"""Self-check of the device-fleet simulator tools/aqat_fleet.py (CTest: aqat_fleet_selfcheck).

It runs the simulator on a few fleets and reads each capture back with its own minimal parsers (pcap,
Ethernet, IPv4, UDP, TCP, AQAT v1 as issue 6 defines it) and PyNaCl, without importing the simulator:

1. Healthy devices: every datagram parses and its Ed25519 signature verifies with the key of the device's
   IDENTITY; the IDENTITY's CA signature verifies with the trust anchor of --emit-config, its ca_key_id is
   the anchor's, root_kind is hardware, the certificate covers the capture, repeats are byte-identical;
   TELEMETRY arrives with seq 1, 2, 3, ... and each prev_hash is BLAKE2b-256 of the previous datagram
   (zeros for seq 1), at most 30 s apart up to the end of the capture, clock within 1 s of packet time,
   golden fw_digest, status 0, sbom_digest of the SBOM, which reassembles to its declared digest and is a
   CycloneDX document whose components have name, version, purl and cpe; all from one address and MAC to
   UDP 62443; the HMI's Modbus/S7 connections to the device complete their handshakes and carry data.
2. Each fault is in the bytes as described (a signature that fails, a seq gap of 3, a broken link, a
   byte-identical resend, two records with one seq, ...): one check per fault kind below.
3. A reference reading of issue 6's verdict rules, datagram by datagram, plus the elapsed-time notices
   (stale, unattested_device), must give exactly one verdict per datagram and agree exactly with the
   simulator's --emit-expect file: counts per device and verdict, and every non-ok datagram.
4. The same arguments give byte-identical captures (and expectation and config files); another seed
   gives different ones.

Exit status: 0 all good, 1 a check failed, 77 skipped (/usr/bin/python3 without PyNaCl: install
python3-nacl).
"""

import hashlib
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

SKIP = 77
try:
    from nacl.signing import VerifyKey
    from nacl.exceptions import BadSignatureError
except ImportError:
    print("SKIP: %s has no PyNaCl (Debian: apt-get install python3-nacl); the AQAT simulator needs it"
          % sys.executable)
    sys.exit(SKIP)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIMULATOR = os.path.join(ROOT, "tools", "aqat_fleet.py")

AQAT_PORT = 62443
ZERO32 = bytes(32)
# The zones of config/site.example.yaml the fleet lives in, both SL 3: attestation and a hardware root
# required (engineering, 192.168.100.64/27, is SL 3 too). Other addresses are in no such zone.
ATTESTED_ZONES = [ipaddress.ip_network("192.168.100.0/24"), ipaddress.ip_network("192.168.110.0/24")]
OT_PORTS = {502: "modbus", 102: "s7comm"}


def blake(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def verifies(pk, msg, sig):
    try:
        VerifyKey(pk).verify(msg, sig)
        return True
    except (BadSignatureError, ValueError):
        return False


def fmt_us(t_us):
    return "%d.%06d" % divmod(t_us, 1_000_000)


def in_attested_zone(ip):
    a = ipaddress.ip_address(ip)
    return any(a in n for n in ATTESTED_ZONES)


class Failure(Exception):
    pass


def require(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------------------------------------------
# Capture reading

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    formats = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\x4d\x3c\xb2\xa1": ("<", 1000),
               b"\xa1\xb2\xc3\xd4": (">", 1), b"\xa1\xb2\x3c\x4d": (">", 1000)}
    require(magic in formats, "%s: not a classic pcap" % path)
    e, div = formats[magic]
    require(struct.unpack(e + "I", data[20:24])[0] == 1, "%s: link type is not Ethernet" % path)
    pos, out = 24, []
    while pos < len(data):
        require(pos + 16 <= len(data), "%s: truncated record header" % path)
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        require(pos + 16 + incl <= len(data), "%s: truncated record" % path)
        out.append((sec * 1_000_000 + frac // div, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return out


class Packet:
    __slots__ = ("t", "src_mac", "src", "dst", "proto", "sport", "dport", "flags", "payload")


def parse_frame(t, frame):
    """Ethernet (802.1Q tags skipped) / IPv4 / UDP or TCP; None for anything else."""
    if len(frame) < 14:
        return None
    ethertype, off = struct.unpack("!H", frame[12:14])[0], 14
    while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        ethertype, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
    if ethertype != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 0x0F) * 4
    total = struct.unpack("!H", frame[off + 2:off + 4])[0]
    ip = frame[off:off + total]
    if len(ip) < total or (struct.unpack("!H", ip[6:8])[0] & 0x3FFF):
        return None   # truncated or a fragment: the simulator writes neither
    p = Packet()
    p.t, p.src_mac = t, frame[6:12].hex(":")
    p.src, p.dst, p.proto = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20])), ip[9]
    l4 = ip[ihl:]
    if p.proto == 17 and len(l4) >= 8:
        p.sport, p.dport, ulen = struct.unpack("!HHH", l4[:6])
        p.flags, p.payload = 0, l4[8:ulen]
    elif p.proto == 6 and len(l4) >= 20:
        p.sport, p.dport = struct.unpack("!HH", l4[:4])
        p.flags, p.payload = l4[13], l4[(l4[12] >> 4) * 4:]
    else:
        return None
    return p


# ---------------------------------------------------------------------------------------------------
# AQAT v1, read from the grammar

class Msg:
    """One datagram: malformed (mtype None) or parsed. signed = header|body, sig = the last 64 bytes."""

    def __init__(self, pkt):
        self.pkt, self.t, self.src, self.mac = pkt, pkt.t, pkt.src, pkt.src_mac
        self.raw = pkt.payload
        self.mtype = self.seq = self.device_id = None
        self.f = {}
        d = self.raw
        if len(d) < 72 or d[:4] != b"AQAT" or d[4] != 1 or d[5] not in (1, 2, 3):
            return
        body_len = struct.unpack("!H", d[6:8])[0]
        if len(d) != 8 + body_len + 64:
            return
        body = d[8:8 + body_len]
        self.signed, self.sig = d[:8 + body_len], d[8 + body_len:]
        try:
            {1: self._identity, 2: self._telemetry, 3: self._sbom}[d[5]](body)
        except (struct.error, IndexError, ValueError):
            self.f = {}
            return
        self.mtype = {1: "IDENTITY", 2: "TELEMETRY", 3: "SBOM"}[d[5]]

    def _identity(self, b):
        pk, root_kind, nb, na, ca_id = b[:32], b[32], *struct.unpack("!QQ", b[33:49]), b[49:57]
        n = b[57]
        name = b[58:58 + n].decode()
        fl = b[58 + n]
        fw = b[59 + n:59 + n + fl].decode()
        end = 59 + n + fl
        if len(b) != end + 64:
            raise ValueError("IDENTITY length")
        self.f = dict(pk=pk, root_kind=root_kind, not_before=nb, not_after=na, ca_key_id=ca_id, name=name,
                      fw_version=fw, cert=b[:end], ca_sig=b[end:])
        self.device_id = blake(pk)[:16]

    def _telemetry(self, b):
        if len(b) != 166:
            raise ValueError("TELEMETRY length")
        seq, boot, ts_ms = struct.unpack("!QIQ", b[16:36])
        self.f = dict(seq=seq, boot_count=boot, ts_ms=ts_ms, prev=b[36:68], fw=b[68:100], cfg=b[100:132],
                      sbom=b[132:164], status=struct.unpack("!H", b[164:166])[0])
        self.device_id, self.seq = b[:16], seq

    def _sbom(self, b):
        fmt, idx, count = struct.unpack("!BHH", b[16:21])
        n = struct.unpack("!H", b[53:55])[0]
        if len(b) != 55 + n or n > 1024 or idx >= count:
            raise ValueError("SBOM length")
        self.f = dict(format=fmt, index=idx, count=count, digest=b[21:53], data=b[55:])
        self.device_id = b[:16]


class Config:
    """The trust anchor and golden firmware of the --emit-config file (its own simple YAML)."""

    def __init__(self, path):
        text = open(path).read()
        keys = re.findall(r'public_key: "([0-9a-f]{64})"', text)
        require(len(keys) == 1, "%s: expected one trust anchor" % path)
        self.anchor = bytes.fromhex(keys[0])
        self.anchor_id = blake(self.anchor)[:8]
        self.golden = {v: {bytes.fromhex(h) for h in re.findall(r'"([0-9a-f]{64})"', hexes)}
                       for v, hexes in re.findall(r'^    "([^"]+)": \[(.*)\]$', text, re.M)}
        for key, want in (("stale_after_s", 30), ("max_clock_skew_s", 30), ("clone_window_s", 60),
                          ("unattested_grace_s", 30), ("port", AQAT_PORT)):
            require(re.search(r"^  %s: %d$" % (key, want), text, re.M), "%s: %s is not %d" % (path, key, want))


# ---------------------------------------------------------------------------------------------------
# The reference reading of issue 6's verdict rules

class DevState:
    def __init__(self):
        self.pk = None
        self.accepted = False
        self.identity = None
        self.identity_t = None
        self.head = None
        self.seen = {}
        self.gaps = set()
        self.valid = []          # (t, (addr, mac)) of valid datagrams, for identity_clone
        self.parts = {}          # declared digest -> {index: data}
        self.sbom_verified = None
        self.telemetry_t = []    # times of valid TELEMETRY
        self.bound = {}          # addr -> time of the first valid TELEMETRY from it


def reference_verdicts(msgs, cfg, end_t):
    """[(msg, set of verdicts, detail)] and the elapsed-time notices [(notice, addr or device_id, t)]."""
    states, out = {}, []
    identity_ids = {m.device_id for m in msgs if m.mtype == "IDENTITY"}
    for m in msgs:
        v, detail = set(), None
        if m.mtype is None:
            out.append((m, {"malformed"}, None))
            continue
        st = states.setdefault(m.device_id, DevState())
        if m.mtype == "IDENTITY":
            f = m.f
            if not verifies(f["pk"], m.signed, m.sig):
                out.append((m, {"bad_signature"}, None))
                continue
            if f["ca_key_id"] != cfg.anchor_id:
                v.add("untrusted_ca")
            elif not verifies(cfg.anchor, b"AQAT-CERT-v1" + f["cert"], f["ca_sig"]):
                v.add("bad_certificate")
            if not f["not_before"] <= m.t // 1_000_000 <= f["not_after"]:
                v.add("certificate_expired")
            if f["root_kind"] == 3 and in_attested_zone(m.src):
                v.add("not_hardware_rooted")
            st.pk, st.identity, st.accepted = f["pk"], f, not v
            if st.identity_t is None:
                st.identity_t = m.t
        elif st.pk is None:
            # Records are held up to 120 s for their IDENTITY; the simulator never sends one late.
            require(m.device_id not in identity_ids, "checker: a record precedes its IDENTITY (not modelled)")
            out.append((m, {"unknown_device"}, None))
            continue
        elif not verifies(st.pk, m.signed, m.sig):
            out.append((m, {"bad_signature"}, None))
            continue
        elif m.mtype == "TELEMETRY":
            f, seq = m.f, m.seq
            if st.head is None:
                if seq == 1 and f["prev"] != ZERO32:
                    v.add("chain_broken")
                st.head, st.seen[seq] = seq, m.raw
            elif seq == st.head + 1:
                if f["prev"] != blake(st.seen[st.head]):
                    v.add("chain_broken")
                st.head, st.seen[seq] = seq, m.raw
            elif seq > st.head + 1:
                v.add("chain_gap")
                detail = str(seq - st.head - 1)
                st.gaps.update(range(st.head + 1, seq))
                st.head, st.seen[seq] = seq, m.raw
            elif seq in st.seen:
                v.add("replay" if st.seen[seq] == m.raw else "fork")
            elif seq in st.gaps and seq - 1 in st.seen and f["prev"] == blake(st.seen[seq - 1]):
                v.add("late")
                st.gaps.discard(seq)
                st.seen[seq] = m.raw
            else:
                raise Failure("checker: seq %d of %s fits no chain rule" % (seq, m.device_id.hex()))
            golden = cfg.golden.get(st.identity["fw_version"])
            if golden is not None and f["fw"] not in golden:
                v.add("integrity_violation")
            if f["status"] & 0x7:
                v.add("device_status")
            if abs(f["ts_ms"] - m.t // 1000) > 30_000:
                v.add("clock_skew")
            if st.sbom_verified is not None and f["sbom"] != st.sbom_verified:
                v.add("sbom_mismatch")
            st.telemetry_t.append(m.t)
            st.bound.setdefault(m.src, m.t)
        else:  # SBOM
            f = m.f
            parts = st.parts.setdefault(f["digest"], {})
            parts[f["index"]] = f["data"]
            if len(parts) == f["count"]:
                doc = b"".join(parts[i] for i in range(f["count"]))
                del st.parts[f["digest"]]
                if blake(doc) != f["digest"]:
                    v.add("sbom_mismatch")
                else:
                    st.sbom_verified = f["digest"]
        # identity_clone: valid records from two (address, MAC) within 60 s.
        here = (m.src, m.mac)
        if any(src != here and 0 <= m.t - t <= 60_000_000 for t, src in st.valid):
            v.add("identity_clone")
        st.valid.append((m.t, here))
        out.append((m, v, detail))

    notices = []
    for did, st in states.items():
        if st.pk is None or not st.telemetry_t:
            continue
        ts = st.telemetry_t + [end_t]
        for a, b in zip(ts, ts[1:]):
            if b - a > 30_000_000:
                notices.append(("Attest::Stale", did.hex(), a + 30_000_000))
    return out, notices, states


def unattested_notices(pkts, states, end_t):
    """Addresses in an attested zone taking part in Modbus/S7 without an identity bound in time."""
    first = {}
    for p in pkts:
        if p.proto == 6 and (p.sport in OT_PORTS or p.dport in OT_PORTS):
            for a in (p.src, p.dst):
                first.setdefault(a, p.t)
    out = []
    for addr, t1 in sorted(first.items()):
        if not in_attested_zone(addr):
            continue
        deadline = min(t1 + 30_000_000, end_t)
        bound = any(st.accepted and st.identity_t is not None and st.identity_t <= deadline and
                    st.bound.get(addr, deadline + 1) <= deadline for st in states.values())
        if not bound:
            out.append(("Attest::Unattested_Device", addr, t1))
    return out


# ---------------------------------------------------------------------------------------------------
# Per-device checks

def device_msgs(msgs, dev):
    did = bytes.fromhex(dev["device_id"]) if dev["device_id"] else None
    return [m for m in msgs if (did is not None and m.device_id == did) or
            (m.mtype is None and m.src == dev["address"])]


def check_healthy(dev, mine, cfg, pkts, end_t, expect):
    name = dev["name"]
    require(mine, "%s: no datagrams" % name)
    ids = [m for m in mine if m.mtype == "IDENTITY"]
    require(ids, "%s: no IDENTITY" % name)
    f = ids[0].f
    require(all(m.raw == ids[0].raw for m in ids), "%s: IDENTITY repeats differ" % name)
    require(f["name"] == name and blake(f["pk"])[:16].hex() == dev["device_id"], "%s: name or device_id" % name)
    require(f["ca_key_id"] == cfg.anchor_id, "%s: ca_key_id is not the trust anchor's" % name)
    require(verifies(cfg.anchor, b"AQAT-CERT-v1" + f["cert"], f["ca_sig"]), "%s: CA signature fails" % name)
    require(f["root_kind"] in (1, 2), "%s: root_kind %d" % (name, f["root_kind"]))
    require(f["not_before"] * 1_000_000 <= mine[0].t and end_t <= f["not_after"] * 1_000_000,
            "%s: certificate does not cover the capture" % name)
    for m in mine:
        require(m.mtype is not None, "%s: malformed datagram at %s" % (name, fmt_us(m.t)))
        require(verifies(f["pk"], m.signed, m.sig), "%s: bad signature at %s" % (name, fmt_us(m.t)))
        require((m.src, m.mac) == (dev["address"], dev["mac"]), "%s: datagram from %s %s" % (name, m.src, m.mac))
        require(m.pkt.dst == expect["collector"]["address"] and m.pkt.dport == AQAT_PORT, "%s: destination" % name)
    tel = [m for m in mine if m.mtype == "TELEMETRY"]
    require(tel, "%s: no TELEMETRY" % name)
    prev_raw = None
    for i, m in enumerate(tel):
        require(m.seq == i + 1, "%s: TELEMETRY %d has seq %d" % (name, i + 1, m.seq))
        require(m.f["prev"] == (ZERO32 if i == 0 else blake(prev_raw)), "%s: chain breaks at seq %d" % (name, m.seq))
        require(abs(m.f["ts_ms"] - m.t // 1000) < 1000, "%s: clock off at seq %d" % (name, m.seq))
        require(m.f["status"] == 0, "%s: status %#x at seq %d" % (name, m.f["status"], m.seq))
        require(m.f["fw"] in cfg.golden.get(f["fw_version"], set()), "%s: fw_digest not golden" % name)
        prev_raw = m.raw
    times = [m.t for m in tel] + [end_t]
    require(all(b - a <= 30_000_000 for a, b in zip(times, times[1:])), "%s: telemetry silent > 30 s" % name)
    doc, digest = sbom_of(name, mine)
    require(blake(doc) == digest, "%s: SBOM digest mismatch" % name)
    require(all(m.f["sbom"] == digest for m in tel), "%s: TELEMETRY sbom_digest is not the SBOM's" % name)
    bom = json.loads(doc)
    require(bom.get("bomFormat") == "CycloneDX" and bom.get("components"), "%s: not a CycloneDX SBOM" % name)
    for c in bom["components"]:
        require(all(c.get(k) for k in ("name", "version", "purl", "cpe")), "%s: component %r" % (name, c))
    want = [{k: c[k] for k in ("name", "version", "purl", "cpe")} for c in bom["components"]]
    require(want == dev["sbom_components"], "%s: SBOM components differ from the expectation" % name)
    if dev["ot_protocol"]:
        require(ot_handshakes(pkts, dev["address"]), "%s: no complete Modbus/S7 connection" % name)


def sbom_of(name, mine):
    parts, digest, count = {}, None, None
    for m in mine:
        if m.mtype == "SBOM":
            parts[m.f["index"]], digest, count = m.f["data"], m.f["digest"], m.f["count"]
    require(parts and len(parts) == count, "%s: SBOM chunks missing" % name)
    return b"".join(parts[i] for i in range(count)), digest


def ot_handshakes(pkts, addr):
    """Connections to addr:502/102 with SYN, SYN-ACK, ACK and data both ways."""
    conns = {}
    for p in pkts:
        if p.proto != 6:
            continue
        if p.dst == addr and p.dport in OT_PORTS:
            key, side = (p.src, p.sport, p.dport), "c"
        elif p.src == addr and p.sport in OT_PORTS:
            key, side = (p.dst, p.dport, p.sport), "s"
        else:
            continue
        c = conns.setdefault(key, set())
        if p.flags & 0x02:
            c.add("syn" + side)
        elif p.flags & 0x10 and side == "c" and "syns" in c:
            c.add("ack")
        if p.payload:
            c.add("data" + side)
    return sum(1 for c in conns.values() if {"sync", "syns", "ack", "datac", "datas"} <= c)


def check_fault(dev, mine, cfg, pkts, msgs, end_t):
    """The fault is in the bytes as the simulator says."""
    kind, name = dev["fault"], dev["name"]
    own = [m for m in mine if m.src == dev["address"]]
    ids = [m for m in mine if m.mtype == "IDENTITY"]
    tel = [m for m in own if m.mtype == "TELEMETRY"]
    pk = ids[0].f["pk"] if ids else None
    valid = [m for m in tel if verifies(pk, m.signed, m.sig)] if pk else []
    seqs = [m.seq for m in valid]
    links = [(a, b) for a, b in zip(valid, valid[1:]) if b.seq == a.seq + 1]
    bad_links = [(a, b) for a, b in links if b.f["prev"] != blake(a.raw)]
    if kind == "forged":
        require(len(tel) - len(valid) == 1, "forged: %d datagrams fail the signature" % (len(tel) - len(valid)))
        require(not bad_links and seqs == list(range(1, len(seqs) + 1)), "forged: the device's own chain is broken")
    elif kind == "deleted":
        jumps = [b - a for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        require(jumps == [4], "deleted: seq jumps %r, want one gap of 3" % jumps)
    elif kind == "modified":
        require(len(bad_links) == 1 and seqs == sorted(set(seqs)), "modified: %d broken links" % len(bad_links))
        require(valid and len(valid) == len(tel), "modified: a signature fails")
    elif kind == "replay":
        dups = [m for i, m in enumerate(tel) if any(o.raw == m.raw for o in tel[:i])]
        require(len(dups) == 1 and dups[0].seq < max(seqs), "replay: %d byte-identical resends" % len(dups))
    elif kind == "fork":
        by_seq = {}
        for m in valid:
            by_seq.setdefault(m.seq, set()).add(m.raw)
        forks = [s for s, raws in by_seq.items() if len(raws) > 1]
        require(len(forks) == 1, "fork: seqs with two contents %r" % forks)
    elif kind == "late":
        inversions = [(a.seq, b.seq) for a, b in zip(valid, valid[1:]) if b.seq < a.seq]
        require(len(inversions) == 1 and inversions[0][0] == inversions[0][1] + 1, "late: order %r" % inversions)
        require(sorted(seqs) == list(range(1, len(seqs) + 1)), "late: records missing")
        chain = sorted(valid, key=lambda m: m.seq)
        require(all(b.f["prev"] == blake(a.raw) for a, b in zip(chain, chain[1:])), "late: chain broken")
    elif kind == "malformed":
        bad = [m for m in own if m.mtype is None]
        require(len(bad) == 1 and len(bad[0].raw) != 8 + struct.unpack("!H", bad[0].raw[6:8])[0] + 64,
                "malformed: %d malformed datagrams" % len(bad))
    elif kind == "clone":
        srcs = {(m.src, m.mac) for m in ids}
        require(len(srcs) == 2 and len({m.raw for m in ids}) == 1, "clone: IDENTITY from %r" % srcs)
        other = [m for m in ids if m.src != dev["address"]][0]
        require(any(0 < other.t - m.t <= 60_000_000 for m in mine if m.src == dev["address"]),
                "clone: not within 60 s of the device's own datagrams")
    elif kind == "expired":
        require(all(m.f["not_after"] * 1_000_000 < m.t for m in ids), "expired: certificate still valid")
        require(verifies(cfg.anchor, b"AQAT-CERT-v1" + ids[0].f["cert"], ids[0].f["ca_sig"]), "expired: CA sig")
    elif kind == "untrusted_ca":
        require(ids[0].f["ca_key_id"] != cfg.anchor_id, "untrusted_ca: issued by the trust anchor")
    elif kind == "bad_certificate":
        f = ids[0].f
        require(f["ca_key_id"] == cfg.anchor_id, "bad_certificate: ca_key_id is not the anchor's")
        require(not verifies(cfg.anchor, b"AQAT-CERT-v1" + f["cert"], f["ca_sig"]), "bad_certificate: CA sig ok")
        edited = f["cert"][:32] + b"\x03" + f["cert"][33:]
        require(verifies(cfg.anchor, b"AQAT-CERT-v1" + edited, f["ca_sig"]),
                "bad_certificate: not a software-key certificate with root_kind edited")
    elif kind == "software_key":
        f = ids[0].f
        require(f["root_kind"] == 3 and in_attested_zone(dev["address"]), "software_key: root_kind %d" % f["root_kind"])
        require(verifies(cfg.anchor, b"AQAT-CERT-v1" + f["cert"], f["ca_sig"]), "software_key: CA sig fails")
    elif kind == "bad_firmware":
        golden = cfg.golden[ids[0].f["fw_version"]]
        require([m.f["boot_count"] for m in tel] == sorted(m.f["boot_count"] for m in tel) and
                tel[-1].f["boot_count"] == 2, "bad_firmware: no reboot")
        require(all((m.f["fw"] in golden) == (m.f["boot_count"] == 1) for m in tel),
                "bad_firmware: golden before the reboot, not after")
    elif kind in ("tamper", "clock_skew"):
        hit = [(m.f["status"] & 1) if kind == "tamper" else abs(m.f["ts_ms"] - m.t // 1000) > 30_000 for m in tel]
        require(any(hit) and hit == sorted(hit), "%s: not a suffix of the records" % kind)
    elif kind == "silence":
        require(end_t - tel[-1].t > 30_000_000, "silence: TELEMETRY until %s" % fmt_us(tel[-1].t))
        require(ids[-1].t > tel[-1].t, "silence: IDENTITY stops too")
    elif kind == "bad_sbom":
        doc, digest = sbom_of(name, own)
        require(blake(doc) != digest and json.loads(doc)["components"], "bad_sbom: digest matches")
    elif kind == "unknown_device":
        require(not ids and tel, "unknown_device: IDENTITY present or no TELEMETRY")
    elif kind == "unattested":
        require(not [m for m in msgs if m.src == dev["address"]], "unattested: AQAT from its address")
        require(ot_handshakes(pkts, dev["address"]), "unattested: no complete Modbus/S7 connection")
    else:
        raise Failure("no check for fault %s" % kind)


# ---------------------------------------------------------------------------------------------------

def check_capture(pcap, config, expect_path):
    cfg = Config(config)
    expect = json.load(open(expect_path))
    frames = read_pcap(pcap)
    pkts = [p for p in (parse_frame(t, fr) for t, fr in frames) if p is not None]
    require(len(pkts) == len(frames), "frames the checker cannot read")
    end_t = frames[-1][0]
    aqat = [p for p in pkts if p.proto == 17 and p.dport == AQAT_PORT]
    msgs = [Msg(p) for p in aqat]

    verdicts, stale, states = reference_verdicts(msgs, cfg, end_t)
    unatt = unattested_notices(pkts, states, end_t)
    ambiguous = [(fmt_us(m.t), m.src, sorted(v)) for m, v, _ in verdicts if len(v) > 1]
    require(not ambiguous, "datagrams with more than one verdict: %r" % ambiguous[:5])
    by_msg = {id(m): (next(iter(v)) if v else "ok", d) for m, v, d in verdicts}

    claimed = set()
    for dev in expect["devices"]:
        mine = device_msgs(msgs, dev)
        claimed.update(id(m) for m in mine)
        require(len(mine) == dev["datagrams"], "%s: %d datagrams, expected %d" % (dev["name"], len(mine),
                                                                                 dev["datagrams"]))
        counts, records = {}, []
        for m in mine:
            v, d = by_msg[id(m)]
            counts[v] = counts.get(v, 0) + 1
            if v != "ok":
                records.append((fmt_us(m.t), m.src, m.mac, m.mtype or "TELEMETRY", m.seq, v, d))
        want = [(r["ts"], r["src"], r["src_mac"], r["type"], r["seq"], r["verdict"], r["detail"])
                for r in dev["records"]]
        require(counts == dev["verdicts"], "%s: verdicts %r, expected %r" % (dev["name"], counts, dev["verdicts"]))
        require(sorted(records, key=repr) == sorted(want, key=repr),
                "%s: non-ok datagrams differ:\n  got      %r\n  expected %r" % (dev["name"], records, want))
        did = dev["device_id"]
        got_el = sorted(n for n, who, _ in stale if who == did) + \
            sorted(n for n, who, _ in unatt if who == dev["address"])
        want_el = sorted(e["notice"] for e in dev["elapsed"])
        require(sorted(got_el) == want_el, "%s: elapsed notices %r, expected %r" % (dev["name"], got_el, want_el))
        for e in dev["elapsed"]:
            if e["notice"] == "Attest::Unattested_Device":
                t1 = [t for n, who, t in unatt if who == dev["address"]][0]
                require(fmt_us(t1) == e["first_ot_packet"], "%s: first OT packet" % dev["name"])
        if dev["fault"] is None:
            require(set(counts) == {"ok"} and not got_el, "%s: healthy but %r" % (dev["name"], counts))
            check_healthy(dev, mine, cfg, pkts, end_t, expect)
        else:
            check_fault(dev, mine, cfg, pkts, msgs, end_t)
    stray = [(fmt_us(m.t), m.src) for m in msgs if id(m) not in claimed]
    require(not stray, "datagrams of no expected device: %r" % stray[:5])
    others = [n for n in unatt if n[1] not in {d["address"] for d in expect["devices"]}]
    require(not others, "unattested addresses outside the fleet: %r" % others)
    return len(frames), len(msgs)


def simulate(tmp, tag, args):
    base = os.path.join(tmp, tag)
    cmd = [sys.executable, SIMULATOR, base + ".pcap", "--emit-config", base + ".yaml",
           "--emit-expect", base + ".json"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    require(r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return base


def files_of(base):
    return [open(base + ext, "rb").read() for ext in (".pcap", ".yaml", ".json")]


def main():
    r = subprocess.run([sys.executable, SIMULATOR, "--list-faults"], capture_output=True, text=True, check=True)
    faults = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    require(len(faults) >= 15, "--list-faults lists %d faults" % len(faults))
    all_faults = []
    for k in faults:
        all_faults += ["--fault", k]
    scenarios = [
        ("fleet", ["--seed", "1", "--devices", "6", "--duration", "180", "--fault", "unattested"]),
        ("all-faults", ["--seed", "3", "--devices", str(len(faults) + 4), "--duration", "180"] + all_faults),
        ("explicit", ["--seed", "7", "--devices", "4", "--duration", "120", "--fault", "tamper:1",
                      "--fault", "clock_skew:3", "--fault", "late"]),
        ("no-ot", ["--seed", "5", "--devices", "4", "--duration", "60", "--no-ot"]),
    ]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="aqat-fleet-") as tmp:
        for tag, args in scenarios:
            try:
                base = simulate(tmp, tag, args)
                n_frames, n_msgs = check_capture(base + ".pcap", base + ".yaml", base + ".json")
                expect = json.load(open(base + ".json"))
                faulty = {d["name"]: d["fault"] for d in expect["devices"] if d["fault"]}
                if tag == "explicit":
                    require(faulty == {"plc-01": "tamper", "plc-03": "clock_skew", "plc-04": "late"},
                            "explicit: faults on %r" % faulty)
                if tag == "all-faults":
                    require(sorted(faulty.values()) == sorted(faults), "all-faults: %r" % faulty)
                print("ok    %-10s %5d frames, %4d AQAT datagrams, %d devices, faults: %s"
                      % (tag, n_frames, n_msgs, len(expect["devices"]), ", ".join(sorted(faulty.values())) or "none"))
            except Failure as e:
                failed += 1
                print("FAIL  %s: %s" % (tag, e))
        try:
            args = scenarios[1][1]
            a = files_of(simulate(tmp, "again-a", args))
            b = files_of(simulate(tmp, "again-b", args))
            require(a == b, "two runs with the same arguments differ")
            c = files_of(simulate(tmp, "seed-4", ["--seed", "4"] + args[2:]))
            require(c[0] != a[0] and c[1] != a[1], "another seed gives the same capture or keys")
            print("ok    determinism: same arguments, same bytes (pcap, config, expectations); another seed differs")
        except Failure as e:
            failed += 1
            print("FAIL  determinism: %s" % e)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
