#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A management-interface client for the interop tests: it plays the command sequences that
# openvpn-monitor (version, state, load-stats, status 3, kill) and Pritunl (management-client-auth:
# client-auth with config lines, bytecount, client-kill) send, against dpvpn or stock openvpn, and
# writes a transcript (one JSON object) that the test compares field by field.
#
#   mgmt_driver.py ADDR PORT|unix:PATH [--password PW] --scenario pritunl|monitor|hostile
#                  [--ping-cmd "CMD..."] [--out FILE]
import argparse
import json
import re
import socket
import subprocess
import sys
import time


class Mgmt:
    def __init__(self, where, password=None, timeout=20.0):
        if where.startswith("unix:"):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(where[5:])
        else:
            host, port = where.rsplit(":", 1)
            self.s = socket.create_connection((host, int(port)), timeout=timeout)
        self.s.settimeout(0.2)
        self.buf = b""
        self.events = []   # notifications (">..."), in arrival order
        self.timeout = timeout
        if password is not None:
            prompt = self._read_raw_until(b"ENTER PASSWORD:")
            assert prompt, "no password prompt"
            self.send(password)
            line = self.reply_line()
            assert line == "SUCCESS: password is correct", line
        self.greeting = self.wait_event(lambda e: e.startswith(">INFO:"))

    def _read_raw_until(self, token):
        end = time.time() + self.timeout
        while token not in self.buf and time.time() < end:
            self._fill()
        if token in self.buf:
            self.buf = self.buf.split(token, 1)[1]
            return True
        return False

    def _fill(self):
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return
        if not d:
            raise EOFError("management connection closed")
        self.buf += d

    def _line(self, deadline):
        while b"\n" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no line; buffer: %r" % self.buf[-200:])
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def send(self, cmd):
        self.s.sendall(cmd.encode() + b"\n")

    def reply_line(self):
        """The next non-notification line."""
        deadline = time.time() + self.timeout
        while True:
            line = self._line(deadline)
            if line.startswith(">"):
                self._event_line(line, deadline)
                continue
            return line

    def _event_line(self, line, deadline):
        # >CLIENT:CONNECT / REAUTH / ESTABLISHED / DISCONNECT carry an ENV block up to ENV,END.
        if re.match(r">CLIENT:(CONNECT|REAUTH|ESTABLISHED|DISCONNECT|CR_RESPONSE),", line):
            env = []
            while True:
                l2 = self._line(deadline)
                if l2 == ">CLIENT:ENV,END":
                    break
                if l2.startswith(">CLIENT:ENV,"):
                    env.append(l2[len(">CLIENT:ENV,"):])
                else:  # another notification inside the block would be a protocol error
                    env.append("UNEXPECTED " + l2)
            self.events.append({"line": line, "env": env})
        else:
            self.events.append({"line": line})

    def command(self, cmd):
        """A one-line reply (SUCCESS:/ERROR:)."""
        self.send(cmd)
        return self.reply_line()

    def command_multi(self, cmd):
        """A reply of lines up to END (or one ERROR: line)."""
        self.send(cmd)
        out = []
        while True:
            line = self.reply_line()
            if line == "END":
                return out
            if not out and line.startswith("ERROR:"):
                return [line]
            out.append(line)

    def wait_event(self, pred, timeout=None):
        deadline = time.time() + (timeout or self.timeout)
        while True:
            for i, e in enumerate(self.events):
                line = e["line"] if isinstance(e, dict) else e
                if pred(line):
                    return self.events.pop(i)
            line = self._line(deadline)
            if line.startswith(">"):
                self._event_line(line, deadline)
            else:
                raise AssertionError("unexpected reply line while waiting for a notification: " + line)


def env_dict(env):
    d = {}
    for kv in env:
        k, _, v = kv.partition("=")
        d[k] = v
    return d


def status3(lines):
    rows = {"CLIENT_LIST": [], "ROUTING_TABLE": [], "HEADER": [], "GLOBAL_STATS": []}
    for l in lines:
        f = l.split("\t")
        rows.setdefault(f[0], []).append(f[1:])
    return rows


def scenario_pritunl(m, args, t):
    t["version"] = m.command_multi("version")
    t["pid"] = m.command("pid")
    t["bytecount"] = m.command("bytecount 1")
    t["state_on"] = m.command("state on")
    # A client connects (the test starts it after this line): CONNECT with its ENV block.
    print("READY", flush=True)
    ev = m.wait_event(lambda l: l.startswith(">CLIENT:CONNECT,"), timeout=40)
    cid, kid = ev["line"].split(",")[1:3]
    env = env_dict(ev["env"])
    t["connect"] = {"cid": cid, "kid": kid, "env_keys": sorted(env.keys()),
                    "common_name": env.get("common_name"), "username": env.get("username"),
                    "untrusted_ip": env.get("untrusted_ip"), "n_clients": env.get("n_clients")}
    m.send("client-auth %s %s" % (cid, kid))
    m.send('push "setenv-safe MGMT_PUSHED yes"')
    m.send("END")
    t["client_auth"] = m.reply_line()
    est = m.wait_event(lambda l: l.startswith(">CLIENT:ESTABLISHED,"), timeout=30)
    t["established"] = {"cid": est["line"].split(",")[1], "env_keys": sorted(env_dict(est["env"]).keys()),
                        "ifconfig_pool_remote_ip": env_dict(est["env"]).get("ifconfig_pool_remote_ip")}
    try:
        addr = m.wait_event(lambda l: l.startswith(">CLIENT:ADDRESS,"), timeout=5)
        t["address"] = addr["line"].split(",")[1:]
    except (TimeoutError, AssertionError):
        t["address"] = None
    if args.ping_cmd:
        subprocess.run(args.ping_cmd, shell=True, check=False, stdout=subprocess.DEVNULL)
    bc = m.wait_event(lambda l: l.startswith(">BYTECOUNT_CLI:%s," % cid) and not l.endswith(",0,0"), timeout=10)
    b = bc["line"].split(":", 1)[1].split(",")
    t["bytecount_cli"] = {"cid": b[0], "in_pos": int(b[1]) > 0, "out_pos": int(b[2]) > 0}
    t["bytecount_off"] = m.command("bytecount 0")
    # The client renegotiates (its reneg-sec): >CLIENT:REAUTH with the next key-id, answered with
    # client-auth-nt; the tunnel keeps working under the new key.
    ev = m.wait_event(lambda l: l.startswith(">CLIENT:REAUTH,"), timeout=30)
    rcid, rkid = ev["line"].split(",")[1:3]
    t["reauth"] = {"cid": rcid, "kid": rkid, "env_has_password": "password" in env_dict(ev["env"])}
    t["reauth_reply"] = m.command("client-auth-nt %s %s" % (rcid, rkid))
    if args.ping_cmd:
        time.sleep(2)  # the new key in use
        t["ping_after_reauth"] = subprocess.run(args.ping_cmd, shell=True, check=False,
                                                stdout=subprocess.DEVNULL).returncode == 0
    st = status3(m.command_multi("status 3"))
    t["status3_header"] = st["HEADER"]
    t["status3_clients"] = st["CLIENT_LIST"]
    t["status3_routes"] = st["ROUTING_TABLE"]
    t["status2_first"] = [l.split(",")[0] for l in m.command_multi("status 2")]
    t["status1_first"] = [l.split(",")[0] for l in m.command_multi("status 1")]
    t["load_stats"] = m.command("load-stats")
    t["client_kill"] = m.command("client-kill %s HALT,killed-by-mgmt-test" % cid)
    dis = m.wait_event(lambda l: l.startswith(">CLIENT:DISCONNECT,"), timeout=15)
    t["disconnect"] = {"cid": dis["line"].split(",")[1], "env_keys": sorted(env_dict(dis["env"]).keys())}
    t["client_kill_again"] = m.command("client-kill %s" % cid)


def scenario_monitor(m, args, t):
    # openvpn-monitor: version, state, load-stats, status 3 (then ovpn-admin: status 1, kill CN).
    t["version"] = m.command_multi("version")
    t["state"] = [l.split(",")[1:3] for l in m.command_multi("state")]
    t["load_stats"] = m.command("load-stats")
    st = status3(m.command_multi("status 3"))
    t["status3_clients"] = st["CLIENT_LIST"]
    t["kill_unknown"] = m.command("kill nobody-has-this-name")
    t["kill_cn"] = m.command("kill client1")
    t["quit"] = True
    m.send("quit")


def scenario_hostile(m, args, t):
    t["unknown"] = m.command("no-such-command")
    t["need_arg"] = m.command("kill")
    t["bad_cid"] = m.command("client-kill x")
    t["unknown_cid"] = m.command("client-kill 999999")
    t["deny_unknown"] = m.command("client-deny 999999 0 nope")
    t["bad_signal"] = m.command("signal SIGFOO")
    t["state_bad"] = m.command("state bogus")
    t["verb"] = m.command("verb")
    t["hold"] = m.command("hold")
    t["echo"] = m.command_multi("echo all")
    t["garbage"] = m.command("\x01\x02\x7f garbage \"unterminated")
    t["long"] = m.command("x" * 100000)
    t["after_long"] = m.command("pid")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("where")
    ap.add_argument("--password")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--ping-cmd")
    ap.add_argument("--out")
    args = ap.parse_args()
    m = Mgmt(args.where, args.password)
    t = {"greeting": m.greeting["line"]}
    try:
        {"pritunl": scenario_pritunl, "monitor": scenario_monitor, "hostile": scenario_hostile}[args.scenario](m, args, t)
    except Exception as e:  # the transcript so far still goes out
        t["error"] = "%s: %s" % (type(e).__name__, e)
    t["events"] = [e["line"] for e in m.events]
    out = json.dumps(t, indent=1, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(out + "\n")
    print(out)
    sys.exit(1 if "error" in t else 0)


if __name__ == "__main__":
    main()
