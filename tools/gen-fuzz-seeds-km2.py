#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus for tests/fuzz/fuzz_km2_parse.cc: key-method-2 messages in both directions
# (§6.1, §6.2) and peer-info texts (§6.3). Usage: gen-fuzz-seeds-km2.py [OUTDIR]
import os
import struct
import sys

OPT_CLIENT = b"V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client"
OPT_SERVER = OPT_CLIENT[:-len(b"tls-client")] + b"tls-server"
PEER_INFO = (b"IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
             b"IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\nIV_PROTO=990\n"
             b"IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n")
HEADER = b"\0\0\0\0\x02"
PRE_MASTER = bytes(range(1, 49))
R1 = bytes(range(0x40, 0x60))
R2 = bytes(range(0x80, 0xa0))


def string(s):
    """§6.1 string: u16 length including NUL, bytes, NUL; empty is 00 00."""
    return b"\0\0" if not s else struct.pack(">H", len(s) + 1) + s + b"\0"


def client(opt=OPT_CLIENT, user=b"", pw=b"", pi=PEER_INFO, head=HEADER):
    return head + PRE_MASTER + R1 + R2 + string(opt) + string(user) + string(pw) + string(pi)


def server(opt=OPT_SERVER, head=HEADER):
    return head + R1 + R2 + string(opt) + b"\0\0" * 3


SEEDS = {
    "client_lab": client(),
    "client_user_pass": client(user=b"alice", pw=b"SESS_ID_AT_token"),
    "client_no_peer_info": client()[:-(len(PEER_INFO) + 3)],
    "client_len1_strings": HEADER + PRE_MASTER + R1 + R2 + b"\0\x01\0" * 4,
    "client_opt_512": client(opt=b"o" * 512),
    "client_opt_511": client(opt=b"o" * 511),
    "client_user_4096": client(user=b"u" * 4096),
    "client_no_nul": HEADER + PRE_MASTER + R1 + R2 + b"\0\x03abc" + b"\0\0" * 3,
    "client_overrun": HEADER + PRE_MASTER + R1 + R2 + b"\xff\xffabc",
    "client_flags_nibble": client(head=b"\0\0\0\0\x12"),
    "bad_prefix": client(head=b"\0\0\0\x01\x02"),
    "key_method_1": client(head=b"\0\0\0\0\x01"),
    "server_lab": server(),
    "server_tcp": server(opt=OPT_SERVER.replace(b"1541", b"1543").replace(b"UDPv4", b"TCPv4_SERVER")),
    "server_trailing": server() + b"\xde\xad",
    "server_truncated": server()[:100],
    "peer_info_lab": PEER_INFO,
    "peer_info_odd": b"IV_PROTO=-1\nIV_PROTO=99999999999\n=x\nnoeq\nIV_MTU= 12x\nIV_CIPHERS=\nUV_A=b=c",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fuzz", "corpus", "km2_parse")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
