#!/bin/sh
# SPDX-License-Identifier: MIT
# Example auth-user-pass-verify script (via-file) for conf/server-ccd.conf: accepts a username and
# password listed in users.txt next to this script, one "NAME SHA256-HEX-OF-PASSWORD" per line
# (make one: printf '%s' 'PASSWORD' | sha256sum). No users.txt: everyone is refused.
# $1 is a temp file holding the username and the password on two lines. Exit 0 accepts; anything
# else sends the client AUTH_FAILED.
set -eu
db=$(dirname "$0")/users.txt
[ -r "$db" ] || exit 1
user=$(sed -n 1p "$1")
hash=$(sed -n 2p "$1" | tr -d '\n' | sha256sum | cut -d' ' -f1)
# A whole-line, fixed-string match: a username cannot inject a pattern.
grep -qxF -- "$user $hash" "$db"
