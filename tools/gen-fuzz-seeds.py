#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# (Re)generates fuzz seed corpora in tests/fuzz/corpus/<target>/ from the §1 layouts and §15
# vectors. One function per target returns {name: bytes}. Usage: gen-fuzz-seeds.py [TARGET...]
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def h(s):
    return bytes.fromhex("".join(s.split()))


# §15.5 upstream test_parse_ack, §15.3 tls-crypt and §15.4 tls-auth client resets.
CTL_V1_15_5 = h("20 7819bf2ebcd19a45 01 00000000 eafebfa4418ae31b 00000001 160301")
ACK_V1_15_5 = h("28 aeb9afe1f01d79c8 01 00000000 dd85db535623b02e")
TLS_CRYPT_RESET_15_3 = h(
    "38 f419cb12d1f9e48f 00000001 61d3f8e1"
    "330206f56802be44fbed905064e3db43416bec5e526719462b7eb90c96defc9b 05c44879f7")
TLS_AUTH_RESET_15_4 = h(
    "38 de694c5c7bfba274 93537c1ded4e781529ae7cfe4b8c6d6b2b51f05a 00000001 61d3bf6c 00 00000000")
SID_A = h("0102030405060708")
SID_B = h("f1f2f3f4f5f6f7f8")


def control(op, kid, sid, acks, remote, msg_id, payload=b""):
    """§1.4 unwrapped control packet; msg_id None = P_ACK_V1 (no message id)."""
    out = bytes([(op << 3) | kid]) + sid + bytes([len(acks)])
    out += b"".join(struct.pack(">I", a) for a in acks)
    if acks:
        out += remote
    if msg_id is not None:
        out += struct.pack(">I", msg_id)
    return out + payload


def seeds_classify():
    return {
        "tls_crypt_reset_15_3": TLS_CRYPT_RESET_15_3,
        "tls_auth_reset_15_4": TLS_AUTH_RESET_15_4,
        "control_v1_15_5": CTL_V1_15_5,
        "data_v2_ping": h("4a 000005 00000001") + bytes(32),  # §1.6: 40-byte AEAD ping, key_id 2
        "data_v1": h("31 00000007") + bytes(16),
        "hard_reset_bad_kid": h("3b") + SID_A + h("00 00000000"),
        "obsolete_v1_reset": h("08") + SID_A + h("00 00000000"),
        "soft_reset_kid7": control(3, 7, SID_A, [], b"", 0),
    }


def seeds_control_decode():
    return {
        "control_v1_15_5": CTL_V1_15_5,
        "ack_v1_15_5": ACK_V1_15_5,
        "hard_reset_min_14": control(7, 0, SID_A, [], b"", 0),  # §1.4 minimum size
        "server_reset_ack0": control(8, 0, SID_B, [0], SID_A, 0, h("0001 0002 0001")),
        "ack_8": control(5, 1, SID_A, list(range(8, 0, -1)), SID_B, None),
        "ack_9_rejected": h("28") + SID_A + h("09") + bytes(36 + 8),
        "ack_trailing": ACK_V1_15_5 + b"\x00",
        "wkc_v1_4acks": control(11, 2, SID_A, [5, 4, 3, 2], SID_B, 6, bytes(range(40))),
    }


def seeds_tcp_deframe():
    # Byte 0 seeds the chunk sizes, byte 1 bounds them (see fuzz_tcp_deframe.cc); then the stream.
    def frame(p):
        return struct.pack(">H", len(p)) + p

    two = frame(CTL_V1_15_5) + frame(ACK_V1_15_5)
    return {
        "two_frames_small_chunks": b"\x07\x00" + two,
        "two_frames_big_chunks": b"\x2a\xff" + two,
        "partial_tail": b"\x01\x01" + two + h("0040 38"),
        "zero_length": b"\x03\x02" + frame(b"") + frame(TLS_AUTH_RESET_15_4),
        "too_long_prefix": b"\x05\x03" + frame(ACK_V1_15_5) + struct.pack(">H", 2048 + 257) + b"\x00" * 8,
        "max_frame": b"\x09\x10" + frame(b"\x48" + bytes(2048 + 255)),
    }


TARGETS = {
    "classify": seeds_classify,
    "control_decode": seeds_control_decode,
    "tcp_deframe": seeds_tcp_deframe,
}


def write(target):
    outdir = os.path.join(ROOT, "tests", "fuzz", "corpus", target)
    os.makedirs(outdir, exist_ok=True)
    for name, data in TARGETS[target]().items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


def main(argv):
    for t in argv or TARGETS:
        if t not in TARGETS:
            sys.exit("unknown target %s (have: %s)" % (t, ", ".join(TARGETS)))
        write(t)


if __name__ == "__main__":
    main(sys.argv[1:])
