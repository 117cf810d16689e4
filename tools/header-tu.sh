#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes a translation unit that includes one header, to prove it compiles on its own.
h=$(basename "$1")
printf '#include "dpvpn/%s"\n#include "dpvpn/%s"\n' "$h" "$h" > "$2"
