#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora of the packet-header fuzz targets parse_frame, mss_clamp and netpkt_fwd
# (tests/fuzz/corpus/<target>/): Ethernet, ARP, IPv4, IPv6, UDP, TCP, ICMP and ND packets built
# here with correct checksums, so the seeds reach the rewriting paths, plus a few broken ones.
# Usage: tools/gen-fuzz-seeds-net.py [corpus-dir]
import pathlib
import struct
import sys

GW_MAC = bytes.fromhex("02000000000a")
CL_MAC = bytes.fromhex("02000000000b")
GW4 = bytes([10, 8, 0, 1])
CL4 = bytes([198, 51, 100, 7])
LAN4 = bytes([192, 168, 50, 20])
GW6 = bytes.fromhex("fd000008000000000000000000000001")
CL6 = bytes.fromhex("20010db8000000000000000000000007")
LAN6 = bytes.fromhex("fd000050000000000000000000000014")


def csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, etype, payload):
    return dst + src + struct.pack(">H", etype) + payload


def ipv4(src, dst, proto, payload, ttl=64, frag=0x4000, opts=b"", ident=1):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, frag, ttl, proto, 0, src, dst)
    hdr += opts
    c = csum(hdr)
    return hdr[:10] + struct.pack(">H", c) + hdr[12:] + payload


def ipv6(src, dst, nh, payload, hlim=64):
    return struct.pack(">IHBB", 0x60000000, len(payload), nh, hlim) + src + dst + payload


def pseudo4(src, dst, proto, n):
    return src + dst + struct.pack(">BBH", 0, proto, n)


def pseudo6(src, dst, nh, n):
    return src + dst + struct.pack(">IxxxB", n, nh)


def udp(src, dst, sport, dport, payload, v6=False):
    seg = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ps = pseudo6(src, dst, 17, len(seg)) if v6 else pseudo4(src, dst, 17, len(seg))
    c = csum(ps + seg) or 0xFFFF
    return seg[:6] + struct.pack(">H", c) + seg[8:]


def tcp(src, dst, flags, opts=b"", payload=b"", v6=False, sport=40000, dport=80, bad_csum=False):
    opts += b"\x00" * (-len(opts) % 4)
    doff = (20 + len(opts)) // 4
    seg = struct.pack(">HHIIBBHHH", sport, dport, 1000, 0, doff << 4, flags, 64240, 0, 0) + opts + payload
    ps = pseudo6(src, dst, 6, len(seg)) if v6 else pseudo4(src, dst, 6, len(seg))
    c = csum(ps + seg) ^ (0x1234 if bad_csum else 0)
    return seg[:16] + struct.pack(">H", c) + seg[18:]


def icmp4(typ, code, rest, data):
    m = struct.pack(">BBH", typ, code, 0) + rest + data
    return m[:2] + struct.pack(">H", csum(m)) + m[4:]


def icmp6(src, dst, typ, code, rest, data):
    m = struct.pack(">BBH", typ, code, 0) + rest + data
    c = csum(pseudo6(src, dst, 58, len(m)) + m)
    return m[:2] + struct.pack(">H", c) + m[4:]


def arp(op, sha, spa, tha, tpa, pad=True):
    body = struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa
    f = eth(b"\xff" * 6 if op == 1 else tha, sha, 0x0806, body)
    return f + b"\x00" * (60 - len(f)) if pad else f


def mss(v):
    return struct.pack(">BBH", 2, 4, v)


SYN, ACK = 0x02, 0x10
OVPN = bytes.fromhex("38f419cb12d1f9e48f0000000161d3f8e1") + bytes(32)


def seeds_parse_frame():
    u = udp(CL4, GW4, 40000, 1194, OVPN)
    return {
        "arp_request_gw": arp(1, CL_MAC, CL4, bytes(6), GW4),
        "arp_request_unpadded": arp(1, CL_MAC, CL4, bytes(6), GW4, pad=False),
        "arp_request_other": arp(1, CL_MAC, CL4, bytes(6), LAN4),
        "arp_reply": arp(2, CL_MAC, CL4, GW_MAC, GW4),
        "udp_1194": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u)),
        "udp_options": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u, opts=b"\x01\x01\x01\x00")),
        "udp_padded": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, udp(CL4, GW4, 5, 1194, b"x"))) + bytes(20),
        "udp_len_short": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u[:4] + b"\x00\x04" + u[6:])),
        "ipv4_fragment": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u, frag=0x2000)),
        "ipv4_tcp": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 6, tcp(CL4, GW4, SYN, mss(1460)))),
        "ipv6_udp": eth(GW_MAC, CL_MAC, 0x86DD, ipv6(CL6, GW6, 17, udp(CL6, GW6, 40000, 1194, OVPN, v6=True))),
        "vlan": eth(GW_MAC, CL_MAC, 0x8100, b"\x00\x05\x08\x00" + ipv4(CL4, GW4, 17, u)),
        "truncated_ip": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u)[:19]),
        "tot_len_over": eth(GW_MAC, CL_MAC, 0x0800, ipv4(CL4, GW4, 17, u))[:-8],
    }


def seeds_mss_clamp():
    s = {}

    def add(name, limit, pkt):
        s[name] = struct.pack(">H", limit) + pkt

    opts_linux = mss(1460) + b"\x04\x02" + b"\x08\x0a" + bytes(8) + b"\x01\x03\x03\x07"
    add("v4_syn_1460", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, opts_linux)))
    add("v4_synack_nop", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN | ACK, b"\x01\x01" + mss(1460))))
    add("v4_syn_odd_offset", 1200, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x01" + mss(0xFFFF))))
    add("v4_syn_odd_offset_bad_csum", 1200, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x01" + mss(9000), bad_csum=True)))
    add("v4_syn_within", 1400, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, mss(1360))))
    add("v4_syn_no_mss", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x04\x02\x01\x01")))
    add("v4_syn_eol", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x00" + mss(1460))))
    add("v4_syn_bad_optlen", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x02\x05\x05\xb4\x00")))
    add("v4_syn_optlen_over", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, b"\x01\x01\x03\x09")))
    add("v4_ack_data", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, ACK, b"", b"hello")))
    add("v4_syn_payload", 536, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, mss(1460), b"tfo-data")))
    add("v4_fragment", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, mss(1460)), frag=0x2000))
    add("v4_options_hdr", 1360, ipv4(LAN4, CL4, 6, tcp(LAN4, CL4, SYN, mss(1460)), opts=b"\x94\x04\x00\x00"))
    add("v4_udp", 1360, ipv4(LAN4, CL4, 17, udp(LAN4, CL4, 1, 2, b"abc")))
    t6 = tcp(LAN6, CL6, SYN, mss(1440) + b"\x01\x03\x03\x07\x04\x02", v6=True)
    add("v6_syn", 1340, ipv6(LAN6, CL6, 6, t6))
    add("v6_syn_odd", 1220, ipv6(LAN6, CL6, 6, tcp(LAN6, CL6, SYN, b"\x01" + mss(1440), v6=True)))
    add("v6_hbh", 1340, ipv6(LAN6, CL6, 0, bytes([6, 0, 1, 4, 0, 0, 0, 0]) + t6))
    add("v6_dstopt_frag", 1340, ipv6(LAN6, CL6, 60, bytes([44, 0, 1, 4, 0, 0, 0, 0]) + bytes([6, 0, 0, 0, 0, 0, 0, 9]) + t6))
    add("v6_later_fragment", 1340, ipv6(LAN6, CL6, 44, bytes([6, 0, 0, 0x18, 0, 0, 0, 9]) + t6))
    add("v6_routing_short", 1340, ipv6(LAN6, CL6, 43, bytes([6, 4, 0, 0])))
    add("v6_plen_mismatch", 1340, ipv6(LAN6, CL6, 6, t6) + b"\x00")
    return s


def nd_na(src, dst, target, tlla, flags=0x60000000, hlim=255, extra=b""):
    opt = b"\x02\x01" + tlla if tlla else b""
    body = icmp6(src, dst, 136, 0, struct.pack(">I", flags), target + opt + extra)
    return eth(GW_MAC, CL_MAC, 0x86DD, ipv6(src, dst, 58, body, hlim=hlim))


def nd_ns(src, dst, target, slla):
    opt = b"\x01\x01" + slla if slla else b""
    body = icmp6(src, dst, 135, 0, bytes(4), target + opt)
    return eth(b"\x33\x33\xff\x00\x00\x01", CL_MAC, 0x86DD, ipv6(src, dst, 58, body, hlim=255))


def seeds_netpkt_fwd():
    s = {}

    def add(name, pkt, too_big=False, room=1500, mtu=1400):
        s[name] = struct.pack(">BHI", 1 if too_big else 0, room, mtu) + pkt

    add("v4_ttl1_udp", ipv4(CL4, LAN4, 17, udp(CL4, LAN4, 5000, 53, b"q" * 30), ttl=1), room=600)
    add("v4_too_big", ipv4(CL4, LAN4, 6, tcp(CL4, LAN4, ACK, b"", bytes(1400))), too_big=True, room=600)
    add("v4_too_big_room_short", ipv4(CL4, LAN4, 6, tcp(CL4, LAN4, ACK, b"", bytes(100))), too_big=True, room=100)
    add("v4_echo", ipv4(CL4, GW4, 1, icmp4(8, 0, b"\x12\x34\x00\x01", b"ping" * 8)))
    add("v4_echo_padded", ipv4(CL4, GW4, 1, icmp4(8, 0, b"\x12\x34\x00\x02", b"x")) + bytes(6))
    add("v4_icmp_error", ipv4(CL4, LAN4, 1, icmp4(3, 1, bytes(4), bytes(28)), ttl=1))
    add("v4_from_multicast", ipv4(bytes([224, 0, 0, 5]), LAN4, 17, udp(CL4, LAN4, 1, 2, b""), ttl=1))
    add("v4_fragment", ipv4(CL4, LAN4, 17, bytes(16), ttl=1, frag=0x0010))
    add("v4_options_ttl", ipv4(CL4, LAN4, 17, bytes(8), ttl=9, opts=b"\x01\x01\x01\x00"))
    add("v6_hlim1", ipv6(CL6, LAN6, 17, udp(CL6, LAN6, 5000, 53, b"q" * 30, v6=True), hlim=1), room=1400)
    add("v6_too_big", ipv6(CL6, LAN6, 6, tcp(CL6, LAN6, ACK, b"", bytes(1400), v6=True)), too_big=True, room=1400,
        mtu=1280)
    add("v6_echo", ipv6(CL6, GW6, 58, icmp6(CL6, GW6, 128, 0, b"\x12\x34\x00\x01", b"ping" * 8)))
    add("v6_icmp_error_frag", ipv6(CL6, LAN6, 44, bytes([58, 0, 0, 1, 0, 0, 0, 1]) + bytes([1, 0, 0, 0]) + bytes(40),
                                    hlim=1), room=1400)
    add("v6_ah_udp", ipv6(CL6, LAN6, 51, bytes([17, 1, 0, 0]) + bytes(8) + udp(CL6, LAN6, 1, 2, b"", v6=True), hlim=1),
        room=1400)
    add("v6_to_multicast", ipv6(CL6, bytes.fromhex("ff020000000000000000000000000001"), 17, bytes(8), hlim=1))
    add("arp_request", arp(1, CL_MAC, CL4, bytes(6), GW4), room=64)
    add("arp_reply", arp(2, CL_MAC, LAN4, GW_MAC, GW4), room=128)
    add("na_solicited", nd_na(LAN6, GW6, LAN6, CL_MAC), room=90)
    add("na_unsolicited_multi", nd_na(LAN6, bytes.fromhex("ff020000000000000000000000000001"), LAN6, CL_MAC,
                                      flags=0x20000000), room=86)
    add("na_no_tlla_extra_opt", nd_na(LAN6, GW6, LAN6, None, extra=b"\x05\x01" + bytes(6)), room=127)
    add("na_bad_hlim", nd_na(LAN6, GW6, LAN6, CL_MAC, hlim=64))
    add("ns", nd_ns(CL6, bytes.fromhex("ff0200000000000000000001ff000001"), GW6, CL_MAC), room=90)
    return s


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "tests/fuzz/corpus")
    for target, fn in (("parse_frame", seeds_parse_frame), ("mss_clamp", seeds_mss_clamp),
                       ("netpkt_fwd", seeds_netpkt_fwd)):
        d = root / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in fn().items():
            (d / name).write_bytes(data)


if __name__ == "__main__":
    main()
