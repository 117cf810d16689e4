#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of the gateway_lifecycle fuzz target (tests/fuzz/corpus/gateway_lifecycle/):
# op sequences in its input format (tests/fuzz/fuzz_gateway_lifecycle.cc says what each byte means)
# that connect the clients and then take them through the lifecycle's paths: management decisions,
# late and reordered done-messages, a restart at max-clients, floats, renegotiation, EXIT, reload.
# The clients are real sessions, so the bytes are operations only: nothing here depends on keys.
# Usage: tools/gen-fuzz-seeds-gateway.py [corpus-dir]
import pathlib
import struct
import sys

# config bits
TLS_CRYPT, MGMT_AUTH, SHORT, EXIT_NOTIFY, HOLD, DUP_CN = 1, 2, 0x10, 0x20, 0x40, 0x80
MAX = {1: 0 << 2, 2: 1 << 2, 3: 2 << 2, 8: 3 << 2}


def op(code, k=0, v=False, *fields):
    return bytes([code | (k << 4) | (0x40 if v else 0)]) + bytes(fields)


def deliver(k, dup=False):
    return op(0, k, dup)


def drop(k):
    return op(1, k)


def from_other(k, addr):
    return op(2, k, False, addr)


def raw(addr, worker, payload):
    return op(3) + bytes([addr, worker]) + struct.pack(">H", len(payload)) + payload


def read(k, all_=True):
    return op(4, k, all_)


def ms(t):
    return op(5) + struct.pack(">H", t)


def secs(t):
    return op(5, 0, True) + struct.pack(">H", t)


def workers(mode=0, index=0):  # 0 all, 1 all reversed, 2 one, 3 none
    return op(6, 0, False, mode) + (bytes([index]) if mode == 2 else b"")


def mgmt(cmd, cid=0, kid=1):  # 0 client-auth-nt, 1 client-deny, 2 client-kill, 3 kill addr, 4 kill cn,
    return op(7, 0, False, cmd, cid, kid)  # 5 pending-auth, 6 hold release, 7 status, 8 client-auth, 9 SIGHUP


def signal(n):  # 0 SIGHUP, 1 SIGUSR1, 2 SIGUSR2
    return op(8, 0, False, n)


def restart(k):
    return op(9, k)


def exit_(k):
    return op(10, k)


def reneg(k):
    return op(10, k, True)


def dp_event(k, e):  # e & 3: 0 float (address e >> 2), 1 OCC exit, 2 data received, 3 near wrap
    return op(11, k, False, e)


def pump(rounds):
    return op(12, 0, False, rounds)


def step():
    return op(13)


CONNECT = pump(12) + workers() + pump(4)

SEEDS = {
    "connect_one": bytes([MAX[1]]) + CONNECT,
    "connect_four": bytes([MAX[8] | DUP_CN]) + CONNECT + secs(5) + workers(),
    "connect_tls_crypt": bytes([MAX[8] | TLS_CRYPT | DUP_CN]) + CONNECT + ms(600) + workers(),
    "mgmt_auth": bytes([MAX[8] | MGMT_AUTH | DUP_CN]) + pump(12) + mgmt(0, 0) + mgmt(1, 1) + mgmt(8, 2) + mgmt(5, 3)
    + pump(6) + workers(1) + pump(4) + mgmt(0, 3) + pump(4) + mgmt(2, 0) + ms(600) + workers(),
    # Nobody answers the management auth: the clients must still go (hand-window), not hold their slots.
    "mgmt_unanswered": bytes([MAX[2] | MGMT_AUTH | DUP_CN]) + pump(12) + workers() + secs(30) + pump(2),
    "restart_at_capacity": bytes([MAX[1]]) + CONNECT + restart(0) + pump(12) + workers(3) + ms(600)
    + workers(2, 0) + pump(8) + workers(),
    "late_done": bytes([MAX[2] | DUP_CN]) + pump(12) + workers(3) + pump(4) + mgmt(2, 0) + mgmt(3, 1) + ms(600)
    + workers(2, 1) + ms(600) + workers(1) + CONNECT,
    "float": bytes([MAX[8] | DUP_CN]) + CONNECT + dp_event(0, 0) + dp_event(1, 4 << 2) + ms(600) + dp_event(2, 2)
    + pump(4) + workers() + secs(70) + pump(4),
    "float_onto_client": bytes([MAX[8] | DUP_CN]) + CONNECT + dp_event(0, (4 | 1) << 2) + ms(600) + workers() + pump(4),
    "reneg_short": bytes([MAX[8] | SHORT | TLS_CRYPT | DUP_CN]) + CONNECT + reneg(0) + pump(8) + workers() + secs(31)
    + pump(10) + workers() + secs(6) + pump(4) + workers() + dp_event(1, 3) + ms(600) + pump(8) + workers(),
    "exit_notify": bytes([MAX[8] | EXIT_NOTIFY | DUP_CN]) + CONNECT + exit_(1) + pump(4) + dp_event(2, 1) + ms(600)
    + workers() + signal(1) + signal(2),
    "hold_reload": bytes([MAX[3] | HOLD | DUP_CN]) + pump(4) + mgmt(6) + CONNECT + signal(0) + mgmt(9)
    + ms(600) + pump(4) + mgmt(7) + mgmt(4) + ms(600) + workers(),
    "duplicate_cn_off": bytes([MAX[8]]) + CONNECT + restart(2) + restart(3) + pump(12) + workers(1) + pump(4),
    "lossy": bytes([MAX[8] | SHORT | DUP_CN]) + deliver(0) + deliver(0, True) + drop(1) + step() + read(0, False)
    + from_other(2, 1) + from_other(3, 4 | 0) + step() + ms(1200) + pump(6) + drop(0) + ms(2000) + pump(12)
    + workers() + pump(4),
    "raw_frames": bytes([MAX[2]]) + raw(0, 0, b"\x38" + bytes(13)) + raw(4, 1, b"\x20" + bytes(30))
    + raw(5, 0, b"") + step() + CONNECT + raw(4, 0, b"\x48" + bytes(40)) + step() + ms(600),
}


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                       pathlib.Path(__file__).resolve().parent.parent / "tests/fuzz/corpus/gateway_lifecycle")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
