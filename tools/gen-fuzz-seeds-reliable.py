#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus for tests/fuzz/fuzz_reliable_rx.cc (format described at its top).
# Usage: tools/gen-fuzz-seeds-reliable.py [OUTDIR]   (default tests/fuzz/corpus/reliable_rx)
import os
import struct
import sys

RX, RX32, POP, TAKE, ACKS, ENQ, TICK, RESCHED = range(8)


def rx(d, n=3):
    return bytes([RX, d & 0xFF, n])


def rx32(i, n=3):
    return bytes([RX32]) + struct.pack(">I", i) + bytes([n])


def acks(*ds):
    return bytes([ACKS, len(ds)] + [d & 0xFF for d in ds])


def start(i):
    return struct.pack(">I", i)


SEEDS = {
    # in order, popped, ACKed in a piggyback-sized record
    "in_order": start(0) + rx(0) + bytes([POP]) + rx(0) + bytes([POP, TAKE, 4]),
    # out of order inside the window, a duplicate, one past the window, one behind
    "out_of_order": start(0) + rx(2) + rx(1) + rx(1) + rx(0) + rx(12) + rx(-3)
    + bytes([POP, POP, POP, POP, TAKE, 8, TAKE, 8]),
    # ids around the 32-bit wrap
    "wrap": start(0xFFFFFFF0) + rx(11) + rx(12) + rx32(0xFFFFFFF0) + rx32(0) + bytes([POP, TAKE, 9]),
    # send side: 7 messages (window 6), timers, fast retransmit, burst
    "send": start(0) + bytes([ENQ, 1] * 7) + bytes([TICK, 0, TICK, 20]) + acks(-6, -5, -4)
    + bytes([TICK, 1]) + acks(-7) + bytes([TICK, 0, RESCHED, TICK, 0]),
    # both directions interleaved near the wrap
    "mixed": start(0xFFFFFFFE) + bytes([ENQ, 0]) + rx(0) + bytes([TICK, 0, TAKE, 4]) + acks(-1)
    + rx(1) + rx(0) + bytes([POP, POP, ENQ, 5, ENQ, 6, TICK, 30]) + acks(-2, -1) + bytes([TAKE, 8]),
}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fuzz", "corpus", "reliable_rx")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
