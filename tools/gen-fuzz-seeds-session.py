#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora of the server_front and session_seq fuzz targets
# (tests/fuzz/corpus/<target>/) in the input layouts their sources describe
# (tests/fuzz/fuzz_server_front.cc, tests/fuzz/fuzz_session_seq.cc): hard resets, cookie echoes,
# ACKs, a real TLS ClientHello (made here with Python's ssl module over memory BIOs, so it changes
# each time this script runs) and timer steps, for every wrap mode, plus the §15 published packets.
# Usage: tools/gen-fuzz-seeds-session.py [corpus-dir]
import pathlib
import ssl
import struct
import sys

H = bytes.fromhex

# §15 vectors (tools/gen-fuzz-seeds-wrap.py has their origin).
TLS_AUTH_RESET_15_4 = H("38de694c5c7bfba27493537c1ded4e781529ae7cfe4b8c6d6b2b51f05a0000000161d3bf6c0000000000")
TLS_CRYPT_RESET_15_3 = H(
    "38f419cb12d1f9e48f0000000161d3f8e1330206f56802be44fbed905064e3db43416bec5e526719462b7eb90c96defc9b05c44879f7")
V3_15_12 = H(
    "505c1d27bfdd0f01210f0000016b0a89dfd68444f139043f6263625629e34cd5789900c64a2e40febfa7c76f8168736842c6f59f8154e183f6dc82047b55e2ce"
    "6a2ada0e1d6d4d11fff5a9bcce43bc6aa102ec48c2290640c0e5a250f39acc533845ea8dcd6cb0d978295a1bd107e694ab1c4e178f4873ad5b925ea1db00e83e"
    "c1eb3f26e087c25be776deef06c840d26285ca5476bc37779a8ee46d4fe8cccfd90c5b9a10d2fc29bab140e72501a799581ce107b7fd056f9567b812f081fe78"
    "24dffce709bdd84d2cf971d5e864c7581d97f680b36fb224a83fd127540d8d31f28dd874c49a5de064364182d8144843f854b7c2c56453741fee9827ea65e900"
    "0fd64e227c8bcf842cf2cd7b90d069fce37d96b9b5e8c34fbfe8062e27db38d0100cf5146b6cc1857075ffe004732161f875551eae9b2893fa0ae40caaeeed32"
    "25b0a3a60d46cda6d77a3978d4f89345c31c6fa6cdc33b639836d07ce6ee31012b")
CTL_V1_15_5 = H("207819bf2ebcd19a450100000000eafebfa4418ae31b00000001160301")
ACK_V1_15_5 = H("28aeb9afe1f01d79c80100000000dd85db535623b02e")

SID = H("de694c5c7bfba274")
ADDR4 = bytes([198, 51, 100, 7, 0x9c, 0x40])          # IPv4 || port
ADDR6 = H("20010db8000000000000000000000007") + b"\x04\xaa"
NOW = 1_800_000_000_000
EARLY_NEG = 0x0F000001
TLV_RESEND_WKC = H("0001 0002 0001")

# Opcodes (op << 3 | key_id).
V2, V3, CTL, ACK, WKC, SOFT = 0x38, 0x50, 0x20, 0x28, 0x58, 0x18


def client_hello(max_tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def body(acks=(), remote=b"", msg_id=None, payload=b""):
    out = bytes([len(acks)]) + b"".join(struct.pack(">I", a) for a in acks)
    if acks:
        out += remote
    if msg_id is not None:
        out += struct.pack(">I", msg_id)
    return out + payload


# ---- server_front: u8 flags, u64 now, u8 addr len, addr, i32 step, then packet or fields.
def front(pkt, step=0, addr=ADDR4, now=NOW):
    return struct.pack(">BQB", 0, now, len(addr)) + addr + struct.pack(">i", step) + pkt


def front_fields(op_kid, b, counter=1, step=0, addr=ADDR4, now=NOW, sid=SID):
    return (struct.pack(">BQB", 1, now, len(addr)) + addr + struct.pack(">i", step) + bytes([op_kid]) + sid +
            struct.pack(">II", counter, now // 1000 & 0xFFFFFFFF) + b)


def seeds_server_front():
    return {
        "raw_tls_auth_reset_15_4": front(TLS_AUTH_RESET_15_4),
        "raw_tls_crypt_reset_15_3": front(TLS_CRYPT_RESET_15_3, step=25_000),
        "raw_v3_15_12": front(V3_15_12, step=-60_000),
        "raw_control_15_5": front(CTL_V1_15_5),
        "raw_ack_15_5": front(ACK_V1_15_5, addr=ADDR6),
        "raw_plain_reset": front(bytes([V2]) + SID + body(msg_id=0), step=90_000),
        "v2_reset": front_fields(V2, body(msg_id=0)),
        "v2_reset_ipv6_step_30s": front_fields(V2, body(msg_id=0), addr=ADDR6, step=30_000),
        "v2_reset_step_back": front_fields(V2, body(msg_id=0), step=-31_000),
        "v2_reset_step_far": front_fields(V2, body(msg_id=0), step=120_000),
        "v2_reset_now_0": front_fields(V2, body(msg_id=0), now=0, step=-1),
        "v2_reset_now_max": front_fields(V2, body(msg_id=0), now=(1 << 64) - 1000, step=5000),
        "v2_reset_kid1": front_fields(V2 | 1, body(msg_id=0)),
        "v2_reset_zero_sid": front_fields(V2, body(msg_id=0), sid=bytes(8)),
        "v3_early_neg": front_fields(V3, body(msg_id=0, payload=TLV_RESEND_WKC), counter=EARLY_NEG, step=1500),
        "v3_no_early_neg": front_fields(V3, body(msg_id=0), counter=1),
        "control_echo_guess": front_fields(CTL, body([0], H("0102030405060708"), 1, b"\x16\x03\x01")),
        "ack_echo_guess": front_fields(ACK, body([0], H("0102030405060708"))),
        "wkc_echo_guess": front_fields(WKC, body([0], H("0102030405060708"), 1)),
        "control_no_ack": front_fields(CTL, body(msg_id=1)),
        "soft_reset": front_fields(SOFT, body(msg_id=0)),
        "data_v2": front(H("48000001") + bytes(24)),
    }


# ---- session_seq records (see tests/fuzz/fuzz_session_seq.cc).
def raw(pkt):
    return b"\x00" + struct.pack(">H", len(pkt)) + pkt


def pkt(op_kid, acks=(), msg_id=0, payload=b"", own_remote=True, other_sid=False, same_counter=False, toff=0,
        long_id=False):
    flags = (1 if own_remote else 0) | (2 if other_sid else 0) | (4 if same_counter else 0) | (8 if long_id else 0)
    flags |= ((toff + 3) & 7) << 4
    out = bytes([1, op_kid, flags, len(acks)]) + bytes(acks)
    out += struct.pack(">I", msg_id) if long_id else bytes([msg_id])
    return out + struct.pack(">H", len(payload)) + payload


def step_ms(ms):
    return b"\x02" + struct.pack(">H", ms)


def step_s(s):
    return b"\x0a" + struct.pack(">H", s)


WAKE, AUTH_OK, AUTH_NO, EXIT, RESTART, RENEG = b"\x03", b"\x0c", b"\x04", b"\x0d", b"\x05", b"\x06"


def note(b, p):
    return b"\x07" + struct.pack(">HB", b, p)


TCP, NOREAUTH, COOKIE, KEEP, SHORT, MINMTU = 4, 8, 0x10, 0x20, 0x40, 0x80


def session(conf, *records, start=1_800_000_000):
    return bytes([conf]) + struct.pack(">I", start) + b"".join(records)


def seeds_session_seq():
    ch13, ch12 = client_hello(), client_hello(True)
    s = {}
    for mode, name in enumerate(("none", "tls_auth", "tls_crypt", "tcv2")):
        reset = pkt(V3 if mode == 3 else V2, msg_id=0, payload=TLV_RESEND_WKC if mode == 3 else b"")
        s[f"{name}_handshake"] = session(
            mode, reset, pkt(CTL, [0], 1, ch13), step_ms(50), step_s(3), pkt(ACK, [1, 2]), RENEG, note(1400, 1),
            EXIT, step_s(2), pkt(CTL, [3], 2, b"\x17\x03\x03\x00\x05hello"), WAKE, step_s(70), WAKE)
        s[f"{name}_cookie_tls12"] = session(
            mode | COOKIE, pkt(WKC if mode == 3 else CTL, [0], 1, ch12), step_ms(10), pkt(ACK, [1]), WAKE, WAKE)
        s[f"{name}_short_timers"] = session(
            mode | SHORT | NOREAUTH, reset, pkt(CTL, [0], 1, ch13[:200]), WAKE, WAKE,
            pkt(CTL, [], 2, ch13[200:]), WAKE, RENEG, EXIT, WAKE, WAKE)
    s["none_tcp_minmtu_keep"] = session(
        TCP | MINMTU | KEEP, pkt(V2, msg_id=0), pkt(CTL, [0], 1, ch13), step_ms(100), WAKE, WAKE, WAKE)
    s["none_out_of_order"] = session(
        0, pkt(V2, msg_id=0), pkt(CTL, [0], 3, ch13[300:]), pkt(CTL, [], 2, ch13[150:300]),
        pkt(CTL, [], 1, ch13[:150]), pkt(CTL, [], 2, ch13[150:300]), pkt(ACK, [1, 1, 1, 2, 2, 2, 3, 3]), WAKE)
    s["tls_crypt_replay_and_wrong_sid"] = session(
        2, pkt(V2, msg_id=0), pkt(CTL, [0], 1, ch13, same_counter=True), pkt(CTL, [0], 1, ch13, other_sid=True),
        pkt(CTL, [0], 1, ch13, toff=-3), pkt(CTL, [0], 1, ch13, own_remote=False), pkt(V2, msg_id=0), WAKE)
    s["tls_auth_soft_reset_early"] = session(
        1, pkt(V2, msg_id=0), pkt(SOFT | 1, msg_id=0), pkt(CTL | 1, [0], 1, b"x"), pkt(CTL | 7, [], 0), RENEG,
        RESTART, note(1500, 1), WAKE)
    s["none_window_flood"] = session(
        KEEP, pkt(V2, msg_id=0), *[pkt(CTL, [], i, b"\x16\x03\x01\x00\x01\x01") for i in range(1, 16)],
        pkt(CTL, [], 0xFFFFFFFF, b"x", long_id=True), WAKE)
    s["none_too_many_acks"] = session(0, pkt(V2, msg_id=0), pkt(ACK, list(range(9))), pkt(CTL, [9, 8, 7, 6, 5], 1))
    s["tcv2_v2_reset_refused"] = session(3, pkt(V2, msg_id=0), pkt(WKC, [0], 1, ch13), WAKE)
    s["raw_vectors"] = session(
        0, raw(H("38") + SID + body(msg_id=0)), raw(CTL_V1_15_5), raw(ACK_V1_15_5), raw(TLS_AUTH_RESET_15_4),
        raw(V3_15_12), raw(H("48000001") + bytes(24)), raw(b""), raw(b"\x20"), WAKE)
    s["raw_v3_tcv2"] = session(3, raw(V3_15_12), WAKE)
    s["auth_calls_before_handshake"] = session(0, AUTH_OK, AUTH_NO, EXIT, RENEG, note(65535, 255), pkt(V2, msg_id=0),
                                               AUTH_OK, WAKE)
    return s


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "tests/fuzz/corpus")
    for target, fn in (("server_front", seeds_server_front), ("session_seq", seeds_session_seq)):
        d = root / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in fn().items():
            (d / name).write_bytes(data)


if __name__ == "__main__":
    main()
