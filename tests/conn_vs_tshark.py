#!/usr/bin/python3
"""conn.log against tshark, on every capture under ../shared/pcaps (CTest: conn_matches_tshark_on_shared_captures).

For each capture (*.pcap, *.pcapng, *.cap, recursively) it runs `otsensor -r FILE -l TMP` and compares
conn.log with Wireshark's tshark:

1. Conversations: the set of TCP and UDP endpoint pairs (unordered) in `tshark -n -q -z conv,tcp -z
   conv,udp` must equal the set of (proto, {orig, resp}) of conn.log's tcp/udp rows.
2. Counts: per pair, packets and IP bytes from tshark's per-frame fields must equal conn.log's
   orig_pkts+resp_pkts and orig_ip_bytes+resp_ip_bytes summed over all rows of that pair (port reuse
   gives several rows).

How frames are attributed (the rules that make tshark's per-frame view comparable with conn.log):
* The transport is the first tcp/udp layer in frame.protocols; its addresses come from the IP layer
  right before it (inner IP for IP-in-IP tunnels, as tshark's conversation table does). Multi-valued
  fields are indexed by layer occurrence, not "first value".
* A tcp/udp layer after an icmp/icmpv6 layer is the quoted header of an ICMP error: the frame is not
  part of that conversation (tshark's conv table does not count it either; Zeek logs it as icmp).
* IP bytes = ip.len (IPv4) or ipv6.plen + 40 (IPv6), the size the IP header claims.
* IP fragments (per-frame pass run with defragmentation off): a datagram counts once, as one packet of
  header + reassembled payload bytes, and only when all its fragments are in the capture (first one
  with the ports, contiguous, last one without MF). An incomplete datagram never reaches the transport
  layer, in Zeek or in otsensor, and tshark's conv table (defragmentation on) does not list it either.
Known, justified differences are listed in tests/tshark_allowlist.yaml (capture, conversation, what
differs, why); everything else fails. Entries that no longer match anything are reported as stale.

tshark results are cached in $TMPDIR/otsensor-conn-vs-tshark/, keyed by the capture's sha256 and the
tshark version. Exit status: 0 all agree, 1 an unexplained difference or a failed run, 77 skipped
(../shared or tshark absent).
"""

import argparse
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE_FORMAT = 2
EXTS = (".pcap", ".pcapng", ".cap")
SKIP = 77


# ---------------------------------------------------------------------------------------------------
# Pairs

def endpoint(host, port):
    return (str(ipaddress.ip_address(host)), int(port))


def pair_key(proto, a, b):
    a, b = sorted([a, b])
    return (proto, a, b)


def fmt_ep(ep):
    h, p = ep
    return ("[%s]:%d" if ":" in h else "%s:%d") % (h, p)


def fmt_key(k):
    return "%s %s <-> %s" % (k[0], fmt_ep(k[1]), fmt_ep(k[2]))


def parse_ep(s):
    s = s.strip()
    if s.startswith("["):
        h, p = s[1:].split("]:")
    else:
        h, p = s.rsplit(":", 1)
    return endpoint(h, p)


def parse_key(s):
    """'tcp 10.0.0.1:502 <-> 10.0.0.2:1234' (the '<->' is optional, order does not matter)."""
    parts = [p for p in s.replace("<->", " ").split() if p]
    if len(parts) != 3 or parts[0] not in ("tcp", "udp"):
        raise ValueError("bad conversation %r (want 'tcp A:PORT <-> B:PORT')" % s)
    return pair_key(parts[0], parse_ep(parts[1]), parse_ep(parts[2]))


# ---------------------------------------------------------------------------------------------------
# tshark side

FIELDS = ["frame.number", "frame.protocols",
          "ip.src", "ip.dst", "ip.len", "ip.hdr_len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto",
          "ipv6.src", "ipv6.dst", "ipv6.plen",
          "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident", "ipv6.fraghdr.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]


def tshark_version():
    out = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout
    return out.splitlines()[0].strip().rstrip(".") if out else "unknown"


def run_tshark(args):
    p = subprocess.run(["tshark", "-n"] + args, capture_output=True, text=True, timeout=600)
    # tshark exits 2 on a capture cut short but still prints what it read: keep it
    if p.returncode not in (0, 2):
        raise RuntimeError("tshark %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()[:300]))
    return p.stdout


def tshark_conversations(path):
    out = run_tshark(["-q", "-r", path, "-z", "conv,tcp", "-z", "conv,udp"])
    pairs, proto = set(), None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = "tcp"
        elif line.startswith("UDP Conversations"):
            proto = "udp"
        elif proto and "<->" in line:
            left, right = line.split("<->", 1)
            try:
                pairs.add(pair_key(proto, parse_ep(left), parse_ep(right.split()[0])))
            except ValueError:
                continue
    return pairs


def truthy(v):
    return v in ("1", "True", "true")


def tshark_counts(path):
    """{pair: [packets, ip_bytes]} from per-frame fields, with the attribution rules above."""
    args = ["-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-T", "fields",
            "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        args += ["-e", f]
    out = run_tshark(args)
    counts = {}
    frags = {}   # datagram id -> {"pieces": [(off, len, more)], "first": (key) or None, "hdr": n}

    def add(key, nbytes):
        c = counts.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += nbytes

    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) < len(FIELDS):
            cols += [""] * (len(FIELDS) - len(cols))
        v = {f: (cols[i].split(",") if cols[i] else []) for i, f in enumerate(FIELDS)}
        protos = (v["frame.protocols"] or [""])[0].split(":")
        ip_layers = [p for p in protos if p in ("ip", "ipv6")]
        if not ip_layers:
            continue
        t = next((i for i, p in enumerate(protos) if p in ("tcp", "udp")), None)
        before = protos if t is None else protos[:t]
        if any(p in ("icmp", "icmpv6") for p in before):
            continue   # a header quoted in an ICMP error, or plain ICMP
        fam = next((p for p in reversed(before) if p in ("ip", "ipv6")), None)
        if fam is None:
            continue
        n = sum(1 for p in before if p == fam) - 1   # occurrence index of that IP layer

        def get(field, idx=n):
            vals = v[field]
            return vals[idx] if idx < len(vals) else None

        key = None
        if t is not None:
            proto = protos[t]
            sp, dp = v[proto + ".srcport"], v[proto + ".dstport"]
            if sp and dp:
                src, dst = (get("ip.src"), get("ip.dst")) if fam == "ip" else (get("ipv6.src"), get("ipv6.dst"))
                if src and dst:
                    key = pair_key(proto, endpoint(src, sp[0]), endpoint(dst, dp[0]))

        if fam == "ip":
            ip_len = int(get("ip.len") or 0)
            mf, off = truthy(get("ip.flags.mf") or "0"), int(get("ip.frag_offset") or 0)
            if mf or off:
                hdr = int(get("ip.hdr_len") or 20)
                did = ("4", get("ip.src"), get("ip.dst"), get("ip.id"), get("ip.proto"))
                d = frags.setdefault(did, {"pieces": [], "key": None, "hdr": hdr})
                d["pieces"].append((off * 8, ip_len - hdr, mf))
                if off == 0:
                    d["key"], d["hdr"] = key, hdr
                continue
            if key:
                add(key, ip_len)
        else:
            plen = int(get("ipv6.plen") or 0)
            # the fragment header belongs to this IPv6 layer when the protocol after it is ipv6.fraghdr
            idx = len(before) - 1 - before[::-1].index("ipv6")
            if idx + 1 < len(protos) and protos[idx + 1] == "ipv6.fraghdr":
                fi = sum(1 for p in protos[:idx + 1] if p == "ipv6.fraghdr")   # fraghdrs before it
                off = int(get("ipv6.fraghdr.offset", fi) or 0)
                more = truthy(get("ipv6.fraghdr.more", fi) or "0")
                did = ("6", get("ipv6.src"), get("ipv6.dst"), get("ipv6.fraghdr.ident", fi))
                d = frags.setdefault(did, {"pieces": [], "key": None, "hdr": 40})
                d["pieces"].append((off * 8, plen - 8, more))
                if off == 0:
                    d["key"] = key
                continue
            if key:
                add(key, plen + 40)

    for d in frags.values():
        if d["key"] is None:
            continue   # the first fragment (with the ports) is not in the capture
        end, last_end, contiguous = 0, None, True
        for off, ln, more in sorted(d["pieces"]):
            if off > end:
                contiguous = False
                break
            end = max(end, off + ln)
            if not more:
                last_end = off + ln
        if contiguous and last_end == end:
            add(d["key"], d["hdr"] + end)
    return counts


def tshark_summary(path, cache_dir, version):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    vkey = hashlib.sha256(("%d %s" % (CACHE_FORMAT, version)).encode()).hexdigest()[:8]
    cfile = os.path.join(cache_dir, "%s-%s.json" % (h.hexdigest(), vkey))
    if os.path.exists(cfile):
        with open(cfile) as f:
            data = json.load(f)
        pairs = {tuple((k[0], tuple(k[1]), tuple(k[2]))) for k in data["pairs"]}
        counts = {tuple((k[0], tuple(k[1]), tuple(k[2]))): c for k, c in data["counts"]}
        return pairs, counts
    pairs, counts = tshark_conversations(path), tshark_counts(path)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = cfile + ".tmp%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump({"pairs": sorted(pairs), "counts": sorted(counts.items())}, f)
    os.replace(tmp, cfile)
    return pairs, counts


# ---------------------------------------------------------------------------------------------------
# otsensor side

def read_zeek_tsv(path):
    fields, sep, unset = None, "\t", "-"
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                if line.startswith("#separator"):
                    sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
                elif line.startswith("#unset_field"):
                    unset = line.split(sep, 1)[1]
                elif line.startswith("#fields"):
                    fields = line.split(sep)[1:]
                continue
            if fields is None or not line:
                continue
            rows.append({k: (None if x == unset else x) for k, x in zip(fields, line.split(sep))})
    return rows


def conn_counts(conn_log):
    counts = {}
    for r in read_zeek_tsv(conn_log):
        if r.get("proto") not in ("tcp", "udp"):
            continue
        key = pair_key(r["proto"], endpoint(r["id.orig_h"], r["id.orig_p"]), endpoint(r["id.resp_h"], r["id.resp_p"]))
        c = counts.setdefault(key, [0, 0, 0])
        num = lambda k: int(r.get(k) or 0)
        c[0] += num("orig_pkts") + num("resp_pkts")
        c[1] += num("orig_ip_bytes") + num("resp_ip_bytes")
        c[2] += 1
    return counts


# ---------------------------------------------------------------------------------------------------
# Allowlist (tests/tshark_allowlist.yaml)

KINDS = ("missing", "extra", "packets", "bytes", "run")


def load_allowlist(path):
    if not os.path.exists(path):
        return []
    try:
        import yaml
    except ImportError:
        sys.exit("conn_vs_tshark: python3-yaml is needed to read %s (tools/setup.sh installs it)" % path)
    with open(path) as f:
        data = yaml.safe_load(f) or []
    if isinstance(data, dict):
        data = data.get("entries") or []
    out = []
    for i, e in enumerate(data):
        where = "%s entry %d" % (os.path.basename(path), i + 1)
        for k in ("capture", "conversation", "differs", "why"):
            if not e.get(k):
                sys.exit("%s: '%s' is required" % (where, k))
        kinds = e["differs"] if isinstance(e["differs"], list) else [e["differs"]]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            sys.exit("%s: differs must be among %s, not %s" % (where, ", ".join(KINDS), bad))
        conv = e["conversation"]
        out.append({"capture": e["capture"], "conv": None if conv == "*" else parse_key(conv),
                    "kinds": set(kinds), "why": e["why"], "used": False, "where": where})
    return out


def allowed(allow, capture, key, kind):
    for e in allow:
        if e["capture"] == capture and kind in e["kinds"] and (e["conv"] is None or e["conv"] == key):
            e["used"] = True
            return e
    return None


# ---------------------------------------------------------------------------------------------------

def find_captures(base):
    found = []
    for d, _, files in os.walk(base):
        for f in files:
            if f.lower().endswith(EXTS):
                found.append(os.path.join(d, f))
    return sorted(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--otsensor", default=os.path.join(ROOT, "build", "release", "otsensor"))
    ap.add_argument("--shared", default=os.environ.get("OTS_SHARED_DIR") or os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--allowlist", default=os.path.join(HERE, "tshark_allowlist.yaml"))
    ap.add_argument("--only", help="only captures whose path contains this")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("OTS_CONN_TEST_TIMEOUT", "300")))
    ap.add_argument("captures", nargs="*", help="these captures instead of ../shared/pcaps (names relative to cwd)")
    args = ap.parse_args()

    if not shutil.which("tshark"):
        print("SKIPPED: tshark not found (tools/setup.sh installs it)")
        return SKIP
    if args.captures:
        base = os.getcwd()
        captures = [os.path.abspath(c) for c in args.captures]
    else:
        base = os.path.join(args.shared, "pcaps")
        if not os.path.isdir(base):
            print("SKIPPED: %s not found (../shared holds the real ICS captures; set OTS_SHARED_DIR)" % base)
            return SKIP
        captures = find_captures(base)
    if args.only:
        captures = [c for c in captures if args.only in os.path.relpath(c, base)]
    if not os.access(args.otsensor, os.X_OK):
        print("FAIL: %s not found or not executable (build the project first)" % args.otsensor)
        return 1
    allow = load_allowlist(args.allowlist)
    version = tshark_version()
    cache = os.path.join(tempfile.gettempdir(), "otsensor-conn-vs-tshark")

    n_ok = n_allowed = n_fail = 0
    tot_pairs = tot_pkts = 0
    with tempfile.TemporaryDirectory(prefix="otsensor-conn-") as tmp:
        for path in captures:
            rel = os.path.relpath(path, base)
            problems, excused = [], []

            def differ(kind, key, text):
                e = allowed(allow, rel, key, kind)
                (excused if e else problems).append(text + ("  [allowed: %s]" % e["why"] if e else ""))

            logs = os.path.join(tmp, "logs")
            shutil.rmtree(logs, ignore_errors=True)
            try:
                p = subprocess.run([args.otsensor, "-r", path, "-l", logs], capture_output=True, text=True,
                                   timeout=args.timeout)
                run_err = None if p.returncode == 0 else "exit %d: %s" % (
                    p.returncode, (p.stderr.strip().splitlines() or [""])[-1][:200])
            except subprocess.TimeoutExpired:
                run_err = "timed out after %d s" % args.timeout
            if run_err:
                differ("run", None, "otsensor %s" % run_err)
            conn_log = os.path.join(logs, "conn.log")
            ours = conn_counts(conn_log) if os.path.exists(conn_log) else {}

            try:
                t_pairs, t_counts = tshark_summary(path, cache, version)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print("FAIL     %s: %s" % (rel, e))
                n_fail += 1
                continue

            for key in sorted(t_pairs - set(ours)):
                differ("missing", key, "missing from conn.log: %s (tshark: %s pkts)" % (
                    fmt_key(key), t_counts.get(key, ["?"])[0]))
            for key in sorted(set(ours) - t_pairs):
                differ("extra", key, "not a tshark conversation: %s (conn.log: %d pkts in %d rows)" % (
                    fmt_key(key), ours[key][0], ours[key][2]))
            pkts = 0
            for key in sorted(t_pairs & set(ours)):
                tp, tb = t_counts.get(key, [0, 0])
                op, ob, rows = ours[key]
                pkts += op
                if tp != op:
                    differ("packets", key, "%s: packets tshark %d, conn.log %d (%d rows)" % (fmt_key(key), tp, op, rows))
                if tb != ob:
                    differ("bytes", key, "%s: IP bytes tshark %d, conn.log %d (%d rows)" % (fmt_key(key), tb, ob, rows))
            tot_pairs += len(t_pairs)
            tot_pkts += pkts
            same = len(t_pairs & set(ours))
            summary = "%s: %d/%d tshark conversations in conn.log (%d rows), %d packets compared" % (
                rel, same, len(t_pairs), sum(c[2] for c in ours.values()), pkts)
            if problems:
                n_fail += 1
                print("FAIL     %s; %d difference(s)%s" % (summary, len(problems),
                                                         ", %d allowed" % len(excused) if excused else ""))
                for text in problems[:15]:
                    print("           " + text)
                if len(problems) > 15:
                    print("           ... and %d more" % (len(problems) - 15))
            elif excused:
                n_allowed += 1
                print("ALLOWED  %s; %d allowed difference(s)" % (summary, len(excused)))
            else:
                n_ok += 1
                print("ok       %s" % summary)
            if excused:
                for text in excused[:15]:
                    print("           " + text)

    for e in allow:
        if not e["used"] and (args.only is None or args.only in e["capture"]) and not args.captures:
            print("stale allowlist entry (%s): %s %s differs %s: no longer happens, remove it" % (
                e["where"], e["capture"], fmt_key(e["conv"]) if e["conv"] else "*", "/".join(sorted(e["kinds"]))))
    print("conn vs tshark (%s): %d captures: %d agree, %d agree up to the allowlist, %d differ; "
          "%d conversations, %d packets compared" % (version, len(captures), n_ok, n_allowed, n_fail, tot_pairs, tot_pkts))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
