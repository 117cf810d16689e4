#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Ethernet frames of one ethertype sent or awaited on one interface through an AF_PACKET socket,
# for gateway-tap.sh (a non-IP protocol crossing the tap tunnel; docs/tap.md). Standard library
# only; needs root (CAP_NET_RAW) in the namespace it runs in.
#
#   rawframe.py send IFACE DST_MAC ETHERTYPE TEXT [COUNT]
#       COUNT frames (default 3) 0.2 s apart: DST_MAC, IFACE's MAC, ETHERTYPE (hex), TEXT padded
#       to the 46-byte minimum payload.
#   rawframe.py recv IFACE ETHERTYPE TEXT TIMEOUT_S
#       prints "ready" once bound, then exits 0 at the first received (not sent) frame of
#       ETHERTYPE whose payload starts with TEXT, printing "got SRC_MAC"; 1 after TIMEOUT_S.
import socket
import sys
import time

ETH_MIN_PAYLOAD = 46
PACKET_OUTGOING = 4  # linux/if_packet.h: a frame this host sent, looped back to packet sockets


def mac_bytes(text):
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {text}")
    return b


def send(iface, dst, ethertype, text, count):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = s.getsockname()[4]
    payload = text.encode().ljust(ETH_MIN_PAYLOAD, b"\0")
    frame = mac_bytes(dst) + src + ethertype.to_bytes(2, "big") + payload
    for i in range(count):
        if i:
            time.sleep(0.2)
        s.send(frame)
    return 0


def recv(iface, ethertype, text, timeout_s):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    s.bind((iface, ethertype))
    print("ready", flush=True)
    want = text.encode()
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        if addr[2] == PACKET_OUTGOING or len(frame) < 14:
            continue
        if frame[14:].startswith(want):
            print("got " + ":".join(f"{b:02x}" for b in frame[6:12]), flush=True)
            return 0
    print(f"nothing of ethertype {ethertype:#06x} starting with {text!r} on {iface} within {timeout_s} s", flush=True)
    return 1


def main(argv):
    if len(argv) in (6, 7) and argv[1] == "send":
        return send(argv[2], argv[3], int(argv[4], 16), argv[5], int(argv[6]) if len(argv) > 6 else 3)
    if len(argv) == 6 and argv[1] == "recv":
        return recv(argv[2], int(argv[3], 16), argv[4], float(argv[5]))
    print("usage: rawframe.py send IFACE DST_MAC ETHERTYPE TEXT [COUNT] | recv IFACE ETHERTYPE TEXT TIMEOUT_S",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
