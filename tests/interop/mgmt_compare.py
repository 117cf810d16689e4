#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Compares mgmt_driver.py's transcripts of dpvpn (DIR_DPVPN/dpvpn-*.json) with stock openvpn's
# (DIR_STOCK/stock-*.json), field by field. Times, pids, ports, addresses and byte counts differ
# by nature and are compared by form; everything a tool matches on must be equal.
#   mgmt_compare.py DIR_DPVPN DIR_STOCK      exit 0: same, 1: differences (listed)
import json
import re
import sys

errs = []


def load(d, name):
    with open("%s/%s.json" % (d, name)) as f:
        return json.load(f)


def same(what, a, b):
    if a != b:
        errs.append("%s: dpvpn %r, openvpn %r" % (what, a, b))


def form(what, a, b, pat):
    for who, v in (("dpvpn", a), ("openvpn", b)):
        if not isinstance(v, str) or not re.fullmatch(pat, v):
            errs.append("%s: %s gave %r, expected the form %s" % (what, who, v, pat))


dd, sd = sys.argv[1], sys.argv[2]
d, s = load(dd, "dpvpn-pritunl"), load(sd, "stock-pritunl")
for k in ("error",):
    if k in d or k in s:
        errs.append("a scenario failed: dpvpn %r, openvpn %r" % (d.get(k), s.get(k)))
same("greeting", d["greeting"], s["greeting"])
same("version (Management Version)", d["version"][1:], s["version"][1:])
form("version (first line)", d["version"][0], s["version"][0], r"OpenVPN Version: OpenVPN \d+\.\d+\.\d+ .*")
form("pid", d["pid"], s["pid"], r"SUCCESS: pid=\d+")
for k in ("bytecount", "state_on", "client_auth", "bytecount_off", "client_kill", "client_kill_again", "reauth",
          "reauth_reply", "ping_after_reauth",
          "status3_header", "status2_first"):
    same(k, d.get(k), s.get(k))
ip = lambda rows: [re.sub(r"^\d+\.\d+\.\d+\.\d+$", "IP", r) for r in rows]  # the two topologies differ
same("status1_first", ip(d["status1_first"]), ip(s["status1_first"]))
for k in ("cid", "kid", "common_name", "username", "n_clients"):
    same("connect." + k, d["connect"][k], s["connect"][k])
# The ENV names Pritunl and auth plugins read must be there (dpvpn may give fewer of openvpn's).
need = {"common_name", "username", "password", "untrusted_ip", "untrusted_port", "n_clients", "IV_VER",
        "IV_PROTO", "IV_CIPHERS", "IV_PLAT", "X509_0_CN", "ifconfig_local", "ifconfig_netmask", "dev",
        "proto_1", "local_port_1", "verb", "script_context", "daemon"}
for k in sorted(need - set(d["connect"]["env_keys"])):
    errs.append("connect ENV lacks %s (openvpn has it: %s)" % (k, k in s["connect"]["env_keys"]))
same("established.cid", d["established"]["cid"], s["established"]["cid"])
for k in ("common_name", "trusted_ip", "trusted_port", "ifconfig_pool_remote_ip", "n_clients"):
    if k not in d["established"]["env_keys"]:
        errs.append("established ENV lacks " + k)
same("address (cid, primary)", [d["address"][0], d["address"][2]] if d["address"] else None,
     [s["address"][0], s["address"][2]] if s["address"] else None)
same("bytecount_cli", d["bytecount_cli"], s["bytecount_cli"])
same("disconnect.cid", d["disconnect"]["cid"], s["disconnect"]["cid"])
for k in ("common_name", "bytes_received", "bytes_sent", "trusted_ip"):
    if k not in d["disconnect"]["env_keys"]:
        errs.append("disconnect ENV lacks " + k)
form("load_stats", d["load_stats"], s["load_stats"], r"SUCCESS: nclients=1,bytesin=\d+,bytesout=\d+")
dc, sc = d["status3_clients"], s["status3_clients"]
same("status 3 client rows", len(dc), len(sc))
if dc and sc:
    same("status 3 columns", len(dc[0]), len(sc[0]))
    for i, name in ((0, "Common Name"), (3, "Virtual IPv6 Address"), (8, "Username"), (9, "Client ID"),
                    (10, "Peer ID"), (11, "Data Channel Cipher")):
        same("status 3 " + name, dc[0][i], sc[0][i])
    for i, name, pat in ((1, "Real Address", r"[0-9.]+:\d+"), (2, "Virtual Address", r"[0-9.]+"),
                         (4, "Bytes Received", r"[1-9]\d*"), (5, "Bytes Sent", r"[1-9]\d*"),
                         (6, "Connected Since", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), (7, "Connected Since (time_t)", r"\d+")):
        form("status 3 " + name, dc[0][i], sc[0][i], pat)
same("status 3 route rows", len(d["status3_routes"]), len(s["status3_routes"]))

d, s = load(dd, "dpvpn-hostile"), load(sd, "stock-hostile")
for k in ("unknown", "need_arg", "bad_cid", "unknown_cid", "deny_unknown", "bad_signal", "state_bad", "hold",
          "echo", "garbage", "long"):
    same("hostile." + k, d.get(k), s.get(k))
form("hostile.verb", d["verb"], s["verb"], r"SUCCESS: verb=\d+")
form("hostile.after_long", d["after_long"], s["after_long"], r"SUCCESS: pid=\d+")

d, s = load(dd, "dpvpn-monitor"), load(sd, "stock-monitor")
for k in ("state", "status3_clients", "kill_unknown", "kill_cn"):
    same("monitor." + k, d.get(k), s.get(k))
same("monitor.version", d["version"][1:], s["version"][1:])
form("monitor.load_stats", d["load_stats"], s["load_stats"], r"SUCCESS: nclients=0,bytesin=\d+,bytesout=\d+")

for e in errs:
    print("DIFF " + e)
print("%d difference(s)" % len(errs))
sys.exit(1 if errs else 0)
