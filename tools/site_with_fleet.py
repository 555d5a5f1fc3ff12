#!/usr/bin/env python3
"""site_with_fleet.py MODEL OUT [ATTESTATION] [--append TEXT]

Writes OUT: the site model MODEL with its own attestation: section taken out and, when given, the
section in ATTESTATION (as tools/aqat_fleet.py --emit-config writes it for a generated fleet) in its
place, then TEXT. For the tools that run the sensor on a generated fleet (tools/tsan.sh,
tools/bench_attest.sh). The attestation: section must be the model's last top-level section, as in
config/site.example.yaml.
"""
import argparse


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("attestation", nargs="?")
    ap.add_argument("--append", default="", help="text to add at the end (e.g. a sensor: section)")
    a = ap.parse_args()
    model = open(a.model).read()
    at = model.find("\nattestation:")
    if at >= 0:
        model = model[:at + 1]
    if a.attestation:
        model += "\n" + open(a.attestation).read()
    open(a.out, "w").write(model + a.append)


if __name__ == "__main__":
    main()
