#!/usr/bin/python3
"""AQAT v1 reference vectors (attest_tap/PROTOCOL.md, "Reference vectors"), written independently of the
C++ code with PyNaCl (Debian: python3-nacl), which wraps the same libsodium primitives. The C++ tests
(tests/test_attest_parser.cpp) check that our builder writes exactly these bytes and our parser reads them.

    /usr/bin/python3 attest_tap/test_vectors.py
"""
import struct

import nacl.encoding
import nacl.hash
import nacl.signing

RAW = nacl.encoding.RawEncoder


def blake2b256(data: bytes) -> bytes:
    return nacl.hash.blake2b(data, digest_size=32, encoder=RAW)


def seal(device: nacl.signing.SigningKey, msg_type: int, body: bytes) -> bytes:
    header = b"AQAT" + bytes([1, msg_type]) + struct.pack(">H", len(body))
    return header + body + device.sign(header + body).signature


def main() -> None:
    ca = nacl.signing.SigningKey(bytes([1]) * 32)      # seeds: 32 bytes of 0x01 and of 0x02
    device = nacl.signing.SigningKey(bytes([2]) * 32)
    ca_pk, device_pk = bytes(ca.verify_key), bytes(device.verify_key)
    device_id = blake2b256(device_pk)[:16]
    ca_key_id = blake2b256(ca_pk)[:8]

    name, fw = b"plc-7", b"V2.9.4"
    certificate = (device_pk + bytes([2]) + struct.pack(">QQ", 1767225600, 1830297600) + ca_key_id +
                   bytes([len(name)]) + name + bytes([len(fw)]) + fw)
    identity = seal(device, 1, certificate + ca.sign(b"AQAT-CERT-v1" + certificate).signature)

    fw_digest, config_digest, sbom_digest = blake2b256(b"firmware V2.9.4"), blake2b256(b"config"), blake2b256(b"sbom")
    def telemetry(seq: int, timestamp_ms: int, prev_hash: bytes, status: int) -> bytes:
        return seal(device, 2, device_id + struct.pack(">QIQ", seq, 3, timestamp_ms) + prev_hash + fw_digest +
                    config_digest + sbom_digest + struct.pack(">H", status))
    telemetry1 = telemetry(1, 1800000000000, bytes(32), 0)
    telemetry2 = telemetry(2, 1800000005000, blake2b256(telemetry1), 1)

    document = (b'{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"openssl","version":"3.0.13",'
                b'"purl":"pkg:generic/openssl@3.0.13"}]}')
    sbom = seal(device, 3, device_id + bytes([1]) + struct.pack(">HH", 0, 1) + blake2b256(document) +
                struct.pack(">H", len(document)) + document)

    for label, value in [("ca_pk", ca_pk), ("device_pk", device_pk), ("device_id", device_id),
                         ("ca_key_id", ca_key_id), ("identity", identity), ("telemetry1", telemetry1),
                         ("blake2b256(telemetry1)", blake2b256(telemetry1)), ("telemetry2", telemetry2),
                         ("sbom", sbom), ("blake2b256(document)", blake2b256(document))]:
        print(f"{label} ({len(value)} bytes): {value.hex()}")


if __name__ == "__main__":
    main()
