#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz_front_filter (tests/fuzz/fuzz_front_filter.cc): for each of its
# five filters (tls-auth SHA1 / SHA256 bidirectional / SHA512, tls-crypt, tls-crypt-v2) frames the
# target wraps itself (intact, with a WKc, with one byte flipped) and a few raw ones.
# Usage: tools/gen-fuzz-seeds-front.py [corpus-dir]
import pathlib
import struct
import sys

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                   pathlib.Path(__file__).resolve().parent.parent / "tests/fuzz/corpus/front_filter")
out.mkdir(parents=True, exist_ok=True)
OPS = {"reset2": 7, "reset3": 10, "control": 4, "ack": 5, "wkc": 11}
sid = bytes(range(1, 9))
n = 0
for mode in range(5):
    for name, op in OPS.items():
        for how, tag in ((1, "intact"), (3, "with-wkc"), (5, "flipped")):
            body = b"\x00\x00\x00\x00\x00" if op != 4 else b"\x00\x00\x00\x00\x00" + b"\x16\x03\x01" + bytes(40)
            seed = bytes([mode, how, op]) + struct.pack("!H", 3 + n % 40) + bytes([1 << (n % 8)]) + sid + body
            (out / f"m{mode}-{name}-{tag}").write_bytes(seed)
            n += 1
    (out / f"m{mode}-raw-short").write_bytes(bytes([mode, 0]) + bytes([7 << 3]) + sid)
    (out / f"m{mode}-raw-garbage").write_bytes(bytes([mode, 0]) + bytes([10 << 3]) + sid + bytes(range(200)))
    (out / f"m{mode}-raw-empty").write_bytes(bytes([mode, 0]))
print(f"{n + 15} seeds in {out}")
