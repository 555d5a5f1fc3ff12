#!/usr/bin/python3
"""Device-fleet simulator: AQAT v1 attestation traffic (issue 6) and the Modbus/TCP and S7comm traffic of
the same PLCs, written as a deterministic classic pcap.

    aqat_fleet.py OUT.pcap [--seed N] [--devices N] [--duration S] [--start UNIX_S]
                  [--fault KIND[:DEVICE] ...] [--no-ot] [--emit-config FILE] [--emit-expect FILE] [--check]
    aqat_fleet.py --list-faults

The same arguments always give the same bytes: keys are Ed25519 keys from seeds derived with BLAKE2b from
--seed (Ed25519 signatures are deterministic), every random choice comes from a seeded generator, and the
capture starts at --start (default 2024-03-11 08:00:00 UTC, as tools/gen_pcap.py) whatever the clock says.
Needs PyNaCl (Debian's python3-nacl): run it with /usr/bin/python3.

The plant is config/site.example.yaml's: the PLCs plc-01 .. plc-NN sit in the control zone (SL 3, so
attestation and a hardware root are required) at 192.168.110.101 and up (devices beyond the 150th continue
in 192.168.111.0/24 and so on, outside any zone: for benchmarks only, and never faulty), with Siemens, Schneider Electric and
WAGO MAC prefixes. Each sends AQAT to the attestation collector 192.168.100.40 (supervisory zone), UDP port
62443: IDENTITY at boot and every 60 s (byte-identical repeats), its CycloneDX SBOM at boot in chunks of at
most 1024 bytes, TELEMETRY every 5 s (seq from 1, a hash chain, its device clock within 0.5 s of packet
time). Unless --no-ot, the HMI hmi-01 (192.168.100.25, supervisory; it attests too, with a TPM key, since
its zone requires attestation) polls every PLC every 10 s: S7comm read var for the Siemens CPUs, Modbus
FC 3 / FC 4 for the others, over a TCP connection opened 3 s after the PLC's boot attestation.

--fault KIND[:DEVICE] applies one fault to one device: DEVICE is the number in its name (3 = plc-03);
without it each fault takes a device of its own, the last ones of the fleet (with --devices 6 and two
faults: plc-05 and plc-06; in fleets beyond 150, the last ones of the control zone). A device carries one fault at most. Faults that happen "mid-capture" start at
the first TELEMETRY at or after the capture's midpoint (record k below). --list-faults describes them.

--emit-config writes the matching `attestation:` section of the site model (the fleet CA as the only
trust anchor, golden firmware digests for every firmware version in the fleet, the issue's defaults).
--emit-expect writes JSON: per device its address, MAC, device_id and name, the number of datagrams
carrying its device_id or sent from its address, the verdicts they must get (counts per verdict; each
non-ok datagram listed with ts, source, type, seq, verdict and detail) and the notices it must cause,
including the elapsed-time ones (Attest::Stale, Attest::Unattested_Device). Every datagram is built so
that exactly one of issue 6's verdicts applies to it: healthy devices get `ok` only.

--check compares OUT.pcap with the committed pcaps/<same name> and says ok or DIFFERS (exit 1), for
tools/regen_pcaps.sh --check.
"""

import argparse
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_pcap as gp  # noqa: E402  (the project's pcap writer and packet builders)

try:
    from nacl.signing import SigningKey
except ImportError:
    SigningKey = None

NS, MS, US = gp.NS, gp.MS, gp.US

# ---------------------------------------------------------------------------------------------------
# AQAT v1 (issue 6, attest_tap/PROTOCOL.md)

AQAT_PORT = 62443
MAGIC = b"AQAT"
VERSION = 1
IDENTITY, TELEMETRY, SBOM = 1, 2, 3
TYPE_NAMES = {IDENTITY: "IDENTITY", TELEMETRY: "TELEMETRY", SBOM: "SBOM"}
CERT_CONTEXT = b"AQAT-CERT-v1"
ROOT_PUF, ROOT_TPM_SE, ROOT_SOFTWARE = 1, 2, 3
STATUS_TAMPER = 0x0001
FORMAT_CYCLONEDX_JSON = 1
SBOM_CHUNK = 1024

# The defaults, written by --emit-config and assumed by the expectations.
STALE_AFTER_S = 30
MAX_CLOCK_SKEW_S = 30
CLONE_WINDOW_S = 60
UNATTESTED_GRACE_S = 30

TELEMETRY_PERIOD = 5 * NS
IDENTITY_PERIOD = 60 * NS
POLL_PERIOD = 10 * NS


def blake(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def device_id_of(pk):
    return blake(pk)[:16]


def ca_key_id_of(pk):
    return blake(pk)[:8]


def seal(key, mtype, body):
    """header | body | Ed25519 signature by `key` over header|body."""
    head = MAGIC + struct.pack("!BBH", VERSION, mtype, len(body))
    return head + body + key.sign(head + body).signature


def certificate_body(pk, root_kind, not_before, not_after, ca_key, name, fw_version, signed_root_kind=None):
    """IDENTITY body. signed_root_kind: what the CA signed, when the body says something else."""
    def pre(kind):
        n, f = name.encode(), fw_version.encode()
        return (pk + struct.pack("!BQQ", kind, not_before, not_after) + ca_key_id_of(bytes(ca_key.verify_key)) +
                bytes([len(n)]) + n + bytes([len(f)]) + f)
    signed = pre(root_kind if signed_root_kind is None else signed_root_kind)
    return pre(root_kind) + ca_key.sign(CERT_CONTEXT + signed).signature


def telemetry_body(device_id, seq, boot_count, ts_ms, prev_hash, fw_digest, config_digest, sbom_digest, status):
    return (device_id + struct.pack("!QIQ", seq, boot_count, ts_ms) + prev_hash + fw_digest + config_digest +
            sbom_digest + struct.pack("!H", status))


def sbom_bodies(device_id, document, declared_digest):
    chunks = [document[i:i + SBOM_CHUNK] for i in range(0, len(document), SBOM_CHUNK)]
    return [device_id + struct.pack("!BHH", FORMAT_CYCLONEDX_JSON, i, len(chunks)) + declared_digest +
            struct.pack("!H", len(c)) + c for i, c in enumerate(chunks)]


# ---------------------------------------------------------------------------------------------------
# Faults

FAULTS = {
    # kind: (verdicts it causes, one-line description)
    "forged": ("bad_signature",
               "mid-capture, a TELEMETRY with the next seq injected from the device's address, signed by "
               "another key; the device's own record k follows and is ok"),
    "deleted": ("chain_gap",
                "records k, k+1, k+2 never reach the wire; k+3 (whose prev_hash is that of the lost k+2) is a "
                "chain_gap, detail 3"),
    "modified": ("chain_broken",
                 "record k's config_digest altered and the record signed again with the device key (valid "
                 "signature, links to k-1: ok); k+1 then links to the original k: chain_broken"),
    "replay": ("replay",
               "record k-3 sent again byte for byte 1.2 s after record k (16 s old, so no clock skew)"),
    "fork": ("fork",
             "a second record with seq k (other config_digest, validly signed) 2 s after record k"),
    "late": ("chain_gap, late",
             "record k delayed until 0.4 s after k+1: k+1 is a chain_gap (detail 1), k then fills it: late"),
    "malformed": ("malformed",
                  "a copy of record k cut by 10 bytes (shorter than 8 + body_len + 64), 1 s after it"),
    "clone": ("identity_clone",
              "the device's IDENTITY sent byte for byte from a second address and MAC (192.168.110.251, a "
              "Raspberry Pi) 1.7 s after record k; that datagram and every valid datagram of the device in "
              "the following 60 s are identity_clone"),
    "expired": ("certificate_expired, unattested_device",
                "certificate valid 3 years up to 10 days before the capture: every IDENTITY is "
                "certificate_expired; TELEMETRY and SBOM stay ok; never attested, so its Modbus/S7 traffic "
                "raises Attest::Unattested_Device"),
    "untrusted_ca": ("untrusted_ca, unattested_device",
                     "certificate issued by another CA (not a trust anchor): every IDENTITY is untrusted_ca; "
                     "never attested (Attest::Unattested_Device)"),
    "bad_certificate": ("bad_certificate, unattested_device",
                        "certificate issued for a software key, root_kind then edited to 2 (TPM): the CA "
                        "signature fails, every IDENTITY is bad_certificate; never attested"),
    "software_key": ("not_hardware_rooted, unattested_device",
                     "root_kind 3 (software key), validly issued, in the SL 3 control zone: every IDENTITY is "
                     "not_hardware_rooted; never attested"),
    "bad_firmware": ("integrity_violation",
                     "mid-capture the device reboots (boot_count 2, 8-9 s down, its Modbus/S7 session closed "
                     "and reopened) into a firmware whose fw_digest is not golden for its fw_version: every "
                     "TELEMETRY after the reboot is integrity_violation"),
    "tamper": ("device_status",
               "status bit 0 (tamper) set from record k on: each of those TELEMETRY is device_status"),
    "silence": ("stale",
                "TELEMETRY stops at record k (IDENTITY repeats and Modbus/S7 go on): Attest::Stale 30 s "
                "after the last record"),
    "clock_skew": ("clock_skew",
                   "the device clock jumps 1 h ahead at record k: each later TELEMETRY is clock_skew"),
    "bad_sbom": ("sbom_mismatch",
                 "the boot SBOM's data differs from the document its sbom_digest declares (an edited openssl "
                 "version): the chunk completing it is sbom_mismatch; TELEMETRY stays ok (no verified SBOM)"),
    "unknown_device": ("unknown_device, unattested_device",
                       "IDENTITY never sent: every TELEMETRY and SBOM datagram is unknown_device; never "
                       "attested"),
    "unattested": ("unattested_device",
                   "a PLC that speaks Modbus/S7 and sends no AQAT at all: Attest::Unattested_Device"),
}

# Faults whose device never gets an identity bound to its address (issue 6: "a verified IDENTITY plus at
# least one valid TELEMETRY from that address"). A rejected IDENTITY is not a verified one.
UNBOUND_FAULTS = {"expired", "untrusted_ca", "bad_certificate", "software_key", "unknown_device", "unattested"}
IDENTITY_VERDICT = {"expired": "certificate_expired", "untrusted_ca": "untrusted_ca",
                    "bad_certificate": "bad_certificate", "software_key": "not_hardware_rooted"}

NOTICE = {"malformed": "Malformed", "bad_signature": "Bad_Signature", "unknown_device": "Unknown_Device",
          "untrusted_ca": "Untrusted_CA", "bad_certificate": "Bad_Certificate",
          "certificate_expired": "Certificate_Expired", "not_hardware_rooted": "Not_Hardware_Rooted",
          "chain_broken": "Chain_Broken", "chain_gap": "Chain_Gap", "replay": "Replay", "fork": "Fork",
          "identity_clone": "Identity_Clone", "integrity_violation": "Integrity_Violation",
          "device_status": "Device_Status", "clock_skew": "Clock_Skew", "stale": "Stale",
          "sbom_mismatch": "SBOM_Mismatch", "unattested_device": "Unattested_Device"}


# ---------------------------------------------------------------------------------------------------
# The fleet: models, firmware, SBOMs

def component(name, version, cpe_vendor, cpe_product, part="a"):
    return {"type": "operating-system" if part == "o" else "library", "bom-ref": "%s@%s" % (name, version),
            "name": name, "version": version, "purl": "pkg:generic/%s@%s" % (name, version),
            "cpe": "cpe:2.3:%s:%s:%s:%s:*:*:*:*:*:*:*" % (part, cpe_vendor, cpe_product, version)}


def openssl(v):
    return component("openssl", v, "openssl", "openssl")


def zlib(v):
    return component("zlib", v, "zlib", "zlib")


class Model:
    def __init__(self, vendor, product, oui, ot, root_kind, ttl, window, firmware):
        self.vendor, self.product, self.oui, self.ot = vendor, product, oui, ot
        self.root_kind, self.ttl, self.window = root_kind, ttl, window
        self.firmware = firmware   # [(fw_version, release date, [components])]


# Two firmware releases per model: the older one with OpenSSL 1.1.1 (end of life), the newer with 3.0.x,
# so that `otsensor sbom query --component openssl --version-below 3` splits the fleet.
MODELS = [
    Model("Siemens", "SIMATIC S7-1500 CPU 1516-3 PN/DP", "00:1b:1b", "s7comm", ROOT_TPM_SE, 30, 8192, [
        ("V2.9.4", "2022-11-08T00:00:00Z", [openssl("1.1.1w"), zlib("1.2.13"),
                                            component("libexpat", "2.5.0", "libexpat_project", "libexpat"),
                                            component("sqlite", "3.39.4", "sqlite", "sqlite")]),
        ("V3.1.0", "2023-10-17T00:00:00Z", [openssl("3.0.13"), zlib("1.3.1"),
                                            component("libexpat", "2.6.0", "libexpat_project", "libexpat"),
                                            component("sqlite", "3.44.2", "sqlite", "sqlite")]),
    ]),
    Model("Schneider Electric", "Modicon M580 BMEP582040", "00:80:f4", "modbus", ROOT_PUF, 64, 4096, [
        ("SV4.10", "2022-06-21T00:00:00Z", [openssl("1.1.1t"), zlib("1.2.12"),
                                            component("lwip", "2.1.3", "lwip_project", "lwip"),
                                            component("freertos", "10.4.6", "amazon", "freertos")]),
        ("SV4.20", "2023-09-12T00:00:00Z", [openssl("3.0.8"), zlib("1.2.13"),
                                            component("lwip", "2.1.3", "lwip_project", "lwip"),
                                            component("freertos", "10.5.1", "amazon", "freertos")]),
    ]),
    Model("WAGO", "PFC200 750-8212", "00:30:de", "modbus", ROOT_TPM_SE, 64, 8192, [
        ("04.02.13(24)", "2023-03-14T00:00:00Z", [component("linux", "5.10.168", "linux", "linux_kernel", "o"),
                                                  component("busybox", "1.35.0", "busybox", "busybox"),
                                                  openssl("1.1.1n"), zlib("1.2.12"),
                                                  component("codesys-runtime", "3.5.17.30", "codesys",
                                                            "runtime_toolkit")]),
        ("04.03.03(25)", "2023-12-05T00:00:00Z", [component("linux", "5.15.125", "linux", "linux_kernel", "o"),
                                                  component("busybox", "1.36.1", "busybox", "busybox"),
                                                  openssl("3.0.11"), zlib("1.2.13"),
                                                  component("codesys-runtime", "3.5.19.30", "codesys",
                                                            "runtime_toolkit")]),
    ]),
]

HMI_MODEL = Model("Dell", "OptiPlex XE4 (Windows 10 IoT Enterprise LTSC 2019, WinCC Runtime Advanced)",
                  "b8:ca:3a", None, ROOT_TPM_SE, 128, 64240, [
                      ("10.0.17763.5458", "2024-02-13T00:00:00Z", [
                          component("wincc-runtime-advanced", "17.0.0", "siemens", "simatic_wincc_runtime_advanced"),
                          openssl("3.0.13"), component("sqlite", "3.44.2", "sqlite", "sqlite")]),
                  ])


def fw_digest(model, fw_version, build):
    return blake(("firmware|%s|%s|%s|%s" % (model.vendor, model.product, fw_version, build)).encode())


def golden_builds(model, fw_version):
    """The two accepted builds of a release (the release and its re-signed rebuild)."""
    return [fw_digest(model, fw_version, "release"), fw_digest(model, fw_version, "rebuild")]


def sbom_document(model, fw_version, released, components):
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + uuid_from(blake(("sbom|%s|%s" % (model.product, fw_version)).encode())),
        "version": 1,
        "metadata": {
            "timestamp": released,
            "component": {"type": "firmware", "bom-ref": "firmware", "supplier": {"name": model.vendor},
                          "name": model.product, "version": fw_version},
        },
        "components": components,
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def uuid_from(h):
    b = bytearray(h[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    x = b.hex()
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


def derive_key(seed, label):
    return SigningKey(blake(("otsensor aqat_fleet v1|%d|%s" % (seed, label)).encode()))


def sub_rng(seed, label):
    return gp.Rng(int.from_bytes(blake(("rng|%d|%s" % (seed, label)).encode())[:8], "big"))


# Devices that fit the control zone's 192.168.110.0/24; faults go to these only, since a zone's
# requirements (hardware root, attestation) decide some verdicts.
ZONE_DEVICES = 150


def device_address(n):
    """plc-01 -> 192.168.110.101 ... plc-150 -> 192.168.110.250, then 192.168.111.101 ..."""
    return "192.168.%d.%d" % (110 + (n - 1) // ZONE_DEVICES, 101 + (n - 1) % ZONE_DEVICES)


def mac_for(oui, seed, label):
    tail = blake(("mac|%d|%s" % (seed, label)).encode())[:3]
    return oui + ":" + ":".join("%02x" % b for b in tail)


# ---------------------------------------------------------------------------------------------------
# Devices and their datagrams

class Dgram:
    """One AQAT datagram on the wire and the verdict it must get."""
    __slots__ = ("t", "host", "sport", "data", "dev", "mtype", "seq", "verdict", "detail", "fields")

    def __init__(self, t, host, sport, data, dev, mtype, seq=None, verdict="ok", detail=None, fields=None):
        self.t, self.host, self.sport, self.data, self.dev = t, host, sport, data, dev
        self.mtype, self.seq, self.verdict, self.detail, self.fields = mtype, seq, verdict, detail, fields


class Device:
    def __init__(self, fleet, n, name, model, fw_index, address, mac_s, fault, boot_t):
        self.n, self.name, self.model, self.fault = n, name, model, fault
        self.fw_version, self.released, self.components = model.firmware[fw_index]
        self.address, self.mac_s = address, mac_s
        self.rng = sub_rng(fleet.seed, name)
        self.host = gp.Host(self.rng, name, mac_s, address, model.ttl, model.window,
                            gp.WIN_SYN if model.ot is None else gp.PLC_SYN)
        self.key = derive_key(fleet.seed, "device|" + name)
        self.pk = bytes(self.key.verify_key)
        self.device_id = device_id_of(self.pk)
        self.fw_digest = golden_builds(model, self.fw_version)[self.rng.below(2)]
        self.fw_bad = fw_digest(model, self.fw_version, "release+implant")
        self.config_digest = blake(("config|%s|rev-%d" % (name, self.rng.between(3, 40))).encode())
        self.config_digest_alt = blake(("config|%s|rev-attacker" % name).encode())
        self.sbom = sbom_document(model, self.fw_version, self.released, self.components)
        self.sbom_digest = blake(self.sbom)
        self.clock_offset_ns = self.rng.between(-400, 400) * MS
        self.boot_t = boot_t
        self.boots = []
        self.dgrams = []
        self.ot_first = None           # (ts_ns, orig_h, orig_p, resp_h, resp_p) of the first Modbus/S7 conn
        self.stale_at = None
        root_kind = ROOT_SOFTWARE if fault == "software_key" else model.root_kind
        start_s = fleet.start_ns // NS
        if fault == "expired":
            not_before, not_after = start_s - 3 * 365 * 86400, start_s - 10 * 86400
        else:
            not_before, not_after = start_s - 400 * 86400, start_s + 10 * 365 * 86400
        ca = fleet.rogue_ca if fault == "untrusted_ca" else fleet.ca
        signed_kind = ROOT_SOFTWARE if fault == "bad_certificate" else None
        body = certificate_body(self.pk, root_kind, not_before, not_after, ca, name, self.fw_version, signed_kind)
        self.identity = seal(self.key, IDENTITY, body)
        self.identity_verdict = IDENTITY_VERDICT.get(fault, "ok")

    def telemetry(self, key=None, **f):
        body = telemetry_body(self.device_id, f["seq"], f["boot_count"], f["ts_ms"], f["prev"], f["fw"], f["cfg"],
                              f["sbom"], f["status"])
        return seal(key or self.key, TELEMETRY, body)

    def ts_ms(self, t):
        return (t + self.clock_offset_ns) // MS

    # -----------------------------------------------------------------------------------------------

    def simulate(self, fleet):
        """Fill self.dgrams (time order is established later) and self.boots."""
        rng, fault, mid, end = self.rng, self.fault, fleet.mid_ns, fleet.end_ns
        self.boots = [(self.boot_t, end)]
        if fault == "bad_firmware":
            self.boots = [(self.boot_t, mid), (mid + 8 * NS + rng.below(NS // US) * US, end)]
        if fault == "unattested":
            return
        out, tel = self.dgrams, []
        seq, prev = 0, bytes(32)
        declared = self.sbom_digest
        document = self.sbom
        if fault == "bad_sbom":
            edited = [dict(c) for c in self.components]
            for c in edited:
                if c["name"] == "openssl":
                    c.update(component("openssl", "3.3.1", "openssl", "openssl"))
            document = sbom_document(self.model, self.fw_version, self.released, edited)
            assert blake(document) != declared
        sbom_bodies_ = sbom_bodies(self.device_id, document, declared)
        for b, (tb, td) in enumerate(self.boots):
            boot_count = b + 1
            sport = rng.between(49152, 65535)
            fw = self.fw_bad if (fault == "bad_firmware" and b == 1) else self.fw_digest
            if fault != "unknown_device":
                t = tb
                while t < td:
                    out.append(Dgram(t, self.host, sport, self.identity, self, IDENTITY, verdict=self.identity_verdict))
                    t += IDENTITY_PERIOD + rng.between(-20000, 20000) * US
            t = tb + 100 * MS
            for i, body in enumerate(sbom_bodies_):
                v = "ok"
                if fault == "unknown_device":
                    v = "unknown_device"
                elif fault == "bad_sbom" and i == len(sbom_bodies_) - 1:
                    v = "sbom_mismatch"
                out.append(Dgram(t, self.host, sport, seal(self.key, SBOM, body), self, SBOM, verdict=v))
                t += rng.between(8000, 20000) * US
            t = tb + 300 * MS + rng.below(100000) * US
            while t < td - 100 * MS:
                seq += 1
                status = STATUS_TAMPER if (fault == "tamper" and t >= mid) else 0
                skew = 3600 * 1000 if (fault == "clock_skew" and t >= mid) else 0
                f = dict(seq=seq, boot_count=boot_count, ts_ms=self.ts_ms(t) + skew, prev=prev, fw=fw,
                         cfg=self.config_digest, sbom=self.sbom_digest, status=status)
                data = self.telemetry(**f)
                v = "ok"
                if fault == "unknown_device":
                    v = "unknown_device"
                elif status:
                    v = "device_status"
                elif skew:
                    v = "clock_skew"
                elif fault == "bad_firmware" and b == 1:
                    v = "integrity_violation"
                tel.append(Dgram(t, self.host, sport, data, self, TELEMETRY, seq, v, fields=f))
                prev = blake(data)
                t += TELEMETRY_PERIOD + rng.between(-150000, 150000) * US
        self.mid_faults(fleet, tel)
        out.extend(tel)
        if fault == "clone":
            self.place_clone(fleet, tel)

    def mid_faults(self, fleet, tel):
        fault = self.fault
        k = next((i for i, d in enumerate(tel) if d.t >= fleet.mid_ns), None)
        if k is None or k < 4 or k + 4 > len(tel):
            if fault in ("forged", "deleted", "modified", "replay", "fork", "late", "malformed", "clone",
                         "silence", "tamper", "clock_skew"):
                raise SystemExit("aqat_fleet: --duration too short for fault %s" % fault)
            return
        r = tel[k]
        if fault == "forged":
            t = r.t - 1500 * MS
            f = dict(r.fields, ts_ms=self.ts_ms(t), cfg=self.config_digest_alt)
            tel.insert(k, Dgram(t, self.host, r.sport, self.telemetry(key=fleet.attacker, **f), self, TELEMETRY,
                                r.seq, "bad_signature", fields=f))
        elif fault == "deleted":
            del tel[k:k + 3]
            tel[k].verdict, tel[k].detail = "chain_gap", "3"
        elif fault == "modified":
            f = dict(r.fields, cfg=self.config_digest_alt)
            r.data, r.fields = self.telemetry(**f), f
            tel[k + 1].verdict = "chain_broken"
        elif fault == "replay":
            old = tel[k - 3]
            tel.append(Dgram(r.t + 1200 * MS, self.host, r.sport, old.data, self, TELEMETRY, old.seq, "replay"))
        elif fault == "fork":
            t = r.t + 2 * NS
            f = dict(r.fields, ts_ms=self.ts_ms(t), cfg=self.config_digest_alt)
            tel.append(Dgram(t, self.host, r.sport, self.telemetry(**f), self, TELEMETRY, r.seq, "fork", fields=f))
        elif fault == "late":
            r.t = tel[k + 1].t + 400 * MS
            r.verdict = "late"
            tel[k + 1].verdict, tel[k + 1].detail = "chain_gap", "1"
        elif fault == "malformed":
            tel.append(Dgram(r.t + NS, self.host, r.sport, r.data[:-10], self, TELEMETRY, None, "malformed"))
        elif fault == "silence":
            last = tel[k - 1]
            del tel[k:]
            self.stale_at = last.t + STALE_AFTER_S * NS
            if self.stale_at + 5 * NS > fleet.end_ns:
                raise SystemExit("aqat_fleet: --duration too short for fault silence")

    def place_clone(self, fleet, tel):
        """The clone's IDENTITY 1.7 s after record k, moved on by 0.5 s while one of the device's datagrams
        would sit within 20 ms of the end of the clone window (so that no verdict hangs on rounding)."""
        fleet.clone_of = self
        k = next(i for i, d in enumerate(tel) if d.t >= fleet.mid_ns)
        tc = tel[k].t + 1700 * MS
        while any(abs(d.t - tc - CLONE_WINDOW_S * NS) < 20 * MS for d in self.dgrams):
            tc += 500 * MS
        self.dgrams.append(Dgram(tc, fleet.clone_host, 50000 + self.rng.below(10000), self.identity, self,
                                 IDENTITY))

    def label_clones(self):
        """identity_clone: a valid datagram of this device_id while another (address, MAC) sent a valid one
        within clone_window_s (inclusive) before it. Other faults stay clear of the window."""
        valid = [d for d in self.dgrams if d.verdict not in ("malformed", "bad_signature", "unknown_device")]
        window = CLONE_WINDOW_S * NS
        for d in valid:
            src = (d.host.ip, d.host.mac)
            for p in valid:
                if (p.host.ip, p.host.mac) == src or not (0 <= d.t - p.t <= window):
                    continue
                if abs(d.t - p.t - window) < 20 * MS:
                    raise SystemExit("aqat_fleet: a clone datagram falls on the window's edge; try another seed")
                if d.verdict != "ok":
                    raise SystemExit("aqat_fleet: two verdicts for one datagram (%s and identity_clone)" % d.verdict)
                d.verdict = "identity_clone"
                break


# ---------------------------------------------------------------------------------------------------
# Modbus/TCP and S7comm sessions (the HMI polls each PLC while it is up)

def modbus_session(cap, rng, hmi, plc, t_from, t_to, by_client_close):
    conn = gp.TcpConn(cap, rng, hmi, plc.host, rng.between(49700, 60999), 502, t_from)
    rtt = rng.between(300, 900) * US
    conn.handshake(rtt)
    unit = 1 if plc.model.vendor != "WAGO" else 255
    tid = rng.bits(12)
    level = [rng.between(200, 900) for _ in range(10)]
    t, i = t_from + 40 * MS, 0
    while t < t_to - 1500 * MS:
        conn.t = max(conn.t, t)
        tid = (tid + 1) & 0xFFFF
        level = [max(0, min(65535, v + rng.between(-5, 5))) for v in level]
        if i % 2 == 0:   # process values: FC 3, 10 holding registers
            req = struct.pack("!BHH", 3, 0, 10)
            resp = bytes([3, 20]) + struct.pack("!10H", *level)
        else:            # diagnostics: FC 4, 4 input registers
            req = struct.pack("!BHH", 4, 100, 4)
            resp = bytes([4, 8]) + struct.pack("!4H", *level[:4])
        conn.exchange(gp.mbap(tid, unit, req), gp.mbap(tid, unit, resp), rtt)
        i += 1
        t += POLL_PERIOD + rng.between(-20, 20) * MS
    conn.t = max(conn.t, t_to - 1000 * MS)
    conn.close(rtt, by_client=by_client_close)
    return t_from, conn.cport, conn.sport


def s7_session(cap, rng, hmi, plc, t_from, t_to, by_client_close):
    conn = gp.TcpConn(cap, rng, hmi, plc.host, rng.between(49700, 60999), 102, t_from)
    rtt = rng.between(300, 900) * US
    conn.handshake(rtt)
    # COTP CR/CC: TSAP 0x0100 (the HMI) to 0x0201 (an OP connection to rack 0, slot 1), TPDU size 1024.
    src_ref, dst_ref = rng.between(1, 0xFFFF), rng.between(1, 0xFFFF)
    params = b"\xc1\x02\x01\x00\xc2\x02\x02\x01\xc0\x01\x0a"
    cr = bytes([6 + len(params), 0xE0]) + struct.pack("!HHB", 0, src_ref, 0) + params
    cc = bytes([6 + len(params), 0xD0]) + struct.pack("!HHB", src_ref, dst_ref, 0) + params
    conn.exchange(gp.tpkt(cr), gp.tpkt(cc), rtt, server_ms=(1, 3))
    ref = rng.bits(10)
    setup = gp.s7_job(ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0")
    conn.exchange(gp.tpkt(gp.cotp_dt(setup)),
                  gp.tpkt(gp.cotp_dt(gp.s7_ack_data(ref, b"\xf0\x00\x00\x01\x00\x01\x01\xe0"))), rtt, server_ms=(2, 6))
    t = t_from + 60 * MS
    while t < t_to - 1500 * MS:
        conn.t = max(conn.t, t)
        ref = (ref + 1) & 0xFFFF
        items = [(10, 0, 8), (11, 4, 2)]                      # DB10.DBB0..7 (two REALs), DB11.DBW4
        p = bytes([4, len(items)]) + b"".join(gp.s7_read_item(*it) for it in items)
        data = b""
        for j, (_, _, ln) in enumerate(items):
            data += b"\xff\x04" + struct.pack("!H", ln * 8) + rng.bytes(ln)
        conn.exchange(gp.tpkt(gp.cotp_dt(gp.s7_job(ref, p))),
                      gp.tpkt(gp.cotp_dt(gp.s7_ack_data(ref, bytes([4, len(items)]), data))), rtt, server_ms=(3, 9))
        t += POLL_PERIOD + rng.between(-20, 20) * MS
    conn.t = max(conn.t, t_to - 1000 * MS)
    conn.close(rtt, by_client=by_client_close)
    return t_from, conn.cport, conn.sport


# ---------------------------------------------------------------------------------------------------
# The fleet

class Fleet:
    def __init__(self, args):
        self.seed, self.args = args.seed, args
        self.start_ns = args.start * NS
        self.end_ns = self.start_ns + int(args.duration * NS)
        self.mid_ns = self.start_ns + int(args.duration * NS) // 2
        self.ca = derive_key(args.seed, "fleet-ca")
        self.rogue_ca = derive_key(args.seed, "rogue-ca")
        self.attacker = derive_key(args.seed, "attacker")
        rng = sub_rng(args.seed, "hosts")
        self.collector = gp.Host(rng, "attest-collector", "3c:ec:ef:64:00:40", "192.168.100.40", 64, 64240,
                                 gp.LINUX_SYN)
        self.clone_host = gp.Host(rng, "clone", mac_for("b8:27:eb", args.seed, "clone"), "192.168.110.251", 64,
                                  64240, gp.LINUX_SYN)
        self.clone_of = None
        faults = assign_faults(args.fault or [], args.devices)
        stagger = min(500 * MS, 20 * NS // max(1, args.devices))
        self.devices = []
        for n in range(1, args.devices + 1):
            model = MODELS[(n - 1) % len(MODELS)]
            fw_index = ((n - 1) // len(MODELS)) % len(model.firmware)
            name = "plc-%02d" % n
            boot = self.start_ns + NS + (n - 1) * stagger + sub_rng(args.seed, "boot|" + name).below(200000) * US
            self.devices.append(Device(self, n, name, model, fw_index, device_address(n),
                                       mac_for(model.oui, args.seed, name), faults.get(n), boot))
        self.hmi = None
        if not args.no_ot:
            self.hmi = Device(self, 0, "hmi-01", HMI_MODEL, 0, "192.168.100.25", "b8:ca:3a:6e:21:19", None,
                              self.start_ns + 200 * MS)

    def attesting(self):
        return ([self.hmi] if self.hmi else []) + self.devices

    def build(self):
        cap = gp.Capture()
        for dev in self.attesting():
            dev.simulate(self)
            dev.label_clones()
        dgrams = sorted((d for dev in self.attesting() for d in dev.dgrams), key=lambda d: (d.t, d.dev.n))
        for d in dgrams:
            gp.udp_exchange(cap, d.host, self.collector, d.sport, AQAT_PORT, d.data, d.t)
        if self.hmi:
            for dev in self.devices:
                rng = sub_rng(self.seed, "ot|" + dev.name)
                session = s7_session if dev.model.ot == "s7comm" else modbus_session
                for b, (tb, td) in enumerate(dev.boots):
                    last = b == len(dev.boots) - 1
                    t_from = tb + 3 * NS + rng.below(500000) * US
                    ts, cport, sport = session(cap, rng, self.hmi.host, dev, t_from, td, by_client_close=last)
                    if dev.ot_first is None:
                        dev.ot_first = (ts, self.hmi.address, cport, dev.address, sport)
        self.dgrams = dgrams
        return cap

    # -----------------------------------------------------------------------------------------------

    def golden(self):
        out = {}
        for dev in self.attesting():
            out.setdefault(dev.fw_version, golden_builds(dev.model, dev.fw_version))
        return out

    def config_yaml(self):
        lines = ["# AQAT verification for the fleet of tools/aqat_fleet.py --seed %d (issue 6 schema)." % self.seed,
                 "attestation:",
                 "  port: %d" % AQAT_PORT,
                 "  trust_anchors:",
                 "    - name: fleet-ca-2026",
                 '      public_key: "%s"' % bytes(self.ca.verify_key).hex(),
                 "  golden_firmware:"]
        for version, digests in sorted(self.golden().items()):
            lines.append('    "%s": [%s]' % (version, ", ".join('"%s"' % d.hex() for d in digests)))
        lines += ["  stale_after_s: %d" % STALE_AFTER_S,
                  "  max_clock_skew_s: %d" % MAX_CLOCK_SKEW_S,
                  "  clone_window_s: %d" % CLONE_WINDOW_S,
                  "  unattested_grace_s: %d" % UNATTESTED_GRACE_S]
        return "\n".join(lines) + "\n"

    def expect(self):
        devices = []
        for dev in self.attesting():
            mine = [d for d in self.dgrams if d.dev is dev]
            counts = {}
            for d in mine:
                counts[d.verdict] = counts.get(d.verdict, 0) + 1
            records = [{"ts": fmt_ts(d.t), "src": gp_ip(d.host), "src_mac": gp_mac(d.host),
                        "type": TYPE_NAMES[d.mtype], "seq": d.seq, "verdict": d.verdict, "detail": d.detail}
                       for d in mine if d.verdict != "ok"]
            notices = sorted({"Attest::" + NOTICE[v] for v in counts if v in NOTICE})
            elapsed = []
            if dev.stale_at is not None:
                elapsed.append({"notice": "Attest::Stale", "after": fmt_ts(dev.stale_at)})
            if dev.fault in UNBOUND_FAULTS and dev.ot_first is not None:
                ts, oh, op, rh, rp = dev.ot_first
                elapsed.append({"notice": "Attest::Unattested_Device", "src": dev.address,
                                "first_ot_packet": fmt_ts(ts),
                                "first_ot_conn": {"orig_h": oh, "orig_p": op, "resp_h": rh, "resp_p": rp,
                                                  "proto": "tcp"}})
            notices = sorted(set(notices) | {e["notice"] for e in elapsed})
            devices.append({
                "name": dev.name, "role": "hmi" if dev is self.hmi else "plc",
                "address": dev.address, "mac": dev.mac_s,
                "device_id": None if dev.fault == "unattested" else dev.device_id.hex(),
                "vendor": dev.model.vendor, "model": dev.model.product, "fw_version": dev.fw_version,
                "ot_protocol": dev.model.ot if self.hmi and dev is not self.hmi else None,
                "fault": dev.fault, "attested": dev.fault not in UNBOUND_FAULTS,
                "sbom_digest": dev.sbom_digest.hex(),
                "sbom_components": [{k: c[k] for k in ("name", "version", "purl", "cpe")} for c in dev.components],
                "datagrams": len(mine), "verdicts": dict(sorted(counts.items())), "records": records,
                "notices": notices, "elapsed": elapsed})
        return {
            "generator": "tools/aqat_fleet.py",
            "arguments": {"seed": self.seed, "devices": self.args.devices, "duration": self.args.duration,
                          "start": self.args.start, "faults": self.args.fault or [], "no_ot": self.args.no_ot},
            "capture": {"start": fmt_ts(self.start_ns), "end": fmt_ts(self.end_ns)},
            "collector": {"address": self.collector_address(), "port": AQAT_PORT},
            "clone_host": {"address": "192.168.110.251", "mac": gp_mac(self.clone_host),
                           "clone_of": self.clone_of.name if self.clone_of else None},
            "trust_anchor": bytes(self.ca.verify_key).hex(),
            "rules": ("One verdict per datagram; counts include datagrams sent from other addresses with the "
                      "device's device_id (clone) and malformed datagrams from its address. identity_clone: a "
                      "valid datagram while another address or MAC sent a valid one of the same device_id within "
                      "clone_window_s before it. A rejected IDENTITY binds no identity: such devices raise "
                      "Attest::Unattested_Device when they speak Modbus/S7."),
            "devices": devices,
        }

    def collector_address(self):
        return gp_ip(self.collector)


def gp_ip(host):
    return ".".join(str(b) for b in host.ip)


def gp_mac(host):
    return ":".join("%02x" % b for b in host.mac)


def fmt_ts(t_ns):
    return "%d.%06d" % (t_ns // NS, (t_ns % NS) // US)


def parse_fault(s):
    kind, _, dev = s.partition(":")
    if kind not in FAULTS:
        raise argparse.ArgumentTypeError("unknown fault %r (see --list-faults)" % kind)
    if dev and not dev.isdigit():
        raise argparse.ArgumentTypeError("fault %r: the device is a number (3 = plc-03)" % s)
    return (kind, int(dev) if dev else None)


def assign_faults(faults, n_devices):
    out = {}
    for kind, n in faults:
        if n is None:
            continue
        if not 1 <= n <= min(n_devices, ZONE_DEVICES):
            raise SystemExit("aqat_fleet: fault %s:%d: no such device in the control zone (1 .. %d)"
                             % (kind, n, min(n_devices, ZONE_DEVICES)))
        if n in out:
            raise SystemExit("aqat_fleet: plc-%02d already has fault %s (one fault per device)" % (n, out[n]))
        out[n] = kind
    pending = [kind for kind, n in faults if n is None]
    free = [n for n in range(1, min(n_devices, ZONE_DEVICES) + 1) if n not in out]
    if len(pending) > len(free):
        raise SystemExit("aqat_fleet: %d faults need at least %d devices (--devices)"
                         % (len(faults), len(out) + len(pending)))
    for kind, n in zip(pending, free[len(free) - len(pending):]):
        out[n] = kind
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("output", nargs="?", help="the pcap to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--devices", type=int, default=5, help="PLCs in the fleet (default 5)")
    ap.add_argument("--duration", type=int, default=180, help="seconds of traffic (default 180)")
    ap.add_argument("--start", type=int, default=gp.EPOCH, help="capture start, unix seconds (default %d)" % gp.EPOCH)
    ap.add_argument("--fault", action="append", type=parse_fault, metavar="KIND[:DEVICE]")
    ap.add_argument("--no-ot", action="store_true", help="no HMI, no Modbus/S7 traffic: AQAT only")
    ap.add_argument("--list-faults", action="store_true")
    ap.add_argument("--emit-config", metavar="FILE", help="write the attestation: section of the site model")
    ap.add_argument("--emit-expect", metavar="FILE", help="write the expected verdicts (JSON)")
    ap.add_argument("--check", action="store_true", help="compare OUT with pcaps/<its name>; exit 1 if it differs")
    args = ap.parse_args(argv)
    if args.list_faults:
        width = max(map(len, FAULTS))
        for kind, (verdicts, text) in FAULTS.items():
            print("%-*s  %s -- %s" % (width, kind, verdicts, text))
        return 0
    if not args.output:
        ap.error("the output pcap is required")
    if SigningKey is None:
        sys.exit("aqat_fleet: needs PyNaCl (Debian: apt-get install python3-nacl); run it with /usr/bin/python3")
    if not 1 <= args.devices <= 1500:
        ap.error("--devices must be 1 to 1500")
    if args.duration < (90 if args.fault else 15):
        ap.error("--duration must be at least %d s%s" % ((90, " with faults") if args.fault else (15, "")))
    if args.no_ot and any(k == "unattested" for k, _ in args.fault or []):
        ap.error("fault unattested needs Modbus/S7 traffic (drop --no-ot)")

    fleet = Fleet(args)
    cap = fleet.build()
    cap.write(args.output)
    if args.emit_config:
        with open(args.emit_config, "w") as f:
            f.write(fleet.config_yaml())
    if args.emit_expect:
        with open(args.emit_expect, "w") as f:
            json.dump(fleet.expect(), f, indent=1)
            f.write("\n")
    size = os.path.getsize(args.output)
    if args.check:
        name = os.path.basename(args.output)
        committed = os.path.join(os.path.dirname(HERE), "pcaps", name)
        what = "aqat_fleet.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])
                                              if a not in ("--check", args.output))
        same = False
        if os.path.exists(committed):
            with open(args.output, "rb") as a, open(committed, "rb") as b:
                same = a.read() == b.read()
        if same:
            print("ok       pcaps/%s == %s" % (name, what))
            return 0
        print("DIFFERS  pcaps/%s != %s (run tools/regen_pcaps.sh and commit)" % (name, what))
        return 1
    print("wrote %s (%d bytes, %d packets)" % (args.output, size, len(cap.frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
