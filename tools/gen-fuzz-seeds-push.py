#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus for tests/fuzz/fuzz_push_parse.cc: NUL-terminated control messages as a
# 2.6 server sends them (§10, §15.13). Usage: gen-fuzz-seeds-push.py [OUTDIR]
import os
import sys

LAB = (b"PUSH_REPLY,route-gateway 10.99.0.1,topology subnet,ping 10,ping-restart 60,"
       b"ifconfig 10.99.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,"
       b"protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500")


def multipart():
    routes = [b"route 10.%d.0.0 255.255.0.0" % i for i in range(120)]
    parts, cur = [], b"PUSH_REPLY"
    for r in routes:
        if len(cur) + 1 + len(r) > 1023 - 20:
            parts.append(cur + b",push-continuation 2\0")
            cur = b"PUSH_REPLY"
        cur += b"," + r
    parts.append(cur + b",peer-id 3,cipher AES-128-GCM,push-continuation 1\0")
    return b"".join(parts)


SEEDS = {
    "lab_push_reply": LAB + b"\0",
    "extract_15_13": b"valid control message\r\n\0\0Invalid\r\none\0valid one again\0",
    "no_nul": b"no NUL",
    "empty_reply": b"PUSH_REPLY\0",
    "multipart": multipart(),
    "continuation_2_only": b"PUSH_REPLY,ping 10,push-continuation 2\0",
    "key_derivation": b"PUSH_REPLY,key-derivation tls-ekm,comp-lzo no,compress stub-v2,peer-id 16777214\0",
    "compress_stub": b"PUSH_REPLY,compress,compress stub,comp-lzo yes,compress lz4\0",
    "quoting": b"PUSH_REPLY,echo \"a b\\\" c\",setenv-safe X 'y z',dhcp-option DNS 10.8.0.1 # c\0",
    "unterminated": b"PUSH_REPLY,echo \"open,echo x\\\0",
    "bad_numbers": b"PUSH_REPLY,peer-id -1,peer-id 99999999999,ping x,ping-restart 4294967296\0",
    "net30": b"PUSH_REPLY,route 10.8.0.1,topology net30,ifconfig 10.8.0.6 10.8.0.5,ping 10\0",
    "mixed_msgs": b"AUTH_FAILED,bad\0RESTART,[N]x\0EXIT\0INFO_PRE,WEB_AUTH::http://x\0PUSH_REPLY,ping 1\0",
    "binary": bytes(range(256)) + b"\0",
    "word_line": b"route 10.0.0.0 255.0.0.0 \"net gw\" 'single' esc\\ aped",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fuzz", "corpus", "push_parse")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
