#!/bin/bash
# SPDX-License-Identifier: MIT
# Reference check: every "§N.M" in code, scripts and docs names a heading of docs/protocol.md, and
# every doc file a comment or doc names (*.md, or the shared docs folder outside it) exists in the repository.
# A section of an RFC is written "RFC 4861 §7.1.1" (also "RFC 4861 §7.2.4, §4.4") and is skipped.
# Usage: tools/check-refs.sh [REPO_ROOT]; exit 1 with one line per offender.
set -u
export LC_ALL=C
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
proto=docs/protocol.md
[ -f "$proto" ] || { echo "$proto is missing"; exit 1; }

# The files to check: tracked and untracked-but-not-ignored, else everything outside build dirs.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  all=$(git ls-files -co --exclude-standard)
else
  all=$(find . -path ./.git -prune -o -path './build*' -prune -o -type f -print | sed 's|^\./||')
fi
files=$(printf '%s\n' "$all" |
        grep -E '\.(cc|h|c|hpp|sh|py|md|build|txt|conf)$|(^|/)meson\.build$' |
        grep -vE '^tools/check-refs\.sh$|^tests/fuzz/corpus/' |
        while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done)

# Headings of docs/protocol.md: "## 8. Data packets", "### 8.5 Replay", "#### 12.3.5 ...", "## B. ...".
headings=$(grep -oE '^#{1,6} +([A-Z]|[0-9]+)(\.[0-9]+)*\.?( |$)' "$proto" |
           sed -E 's/^#+ +//; s/[. ]+$//' | sort -u)

bad=0
out() { echo "$1"; bad=1; }

# 1. Section references. RFC citations are removed from the line first.
rfc='RFC ?[0-9]+,? ?§[^][:space:],;:)(]+(\([A-Za-z0-9]+\))?((, ?| and | or |-)§[^][:space:],;:)(]+)*'
secs=$(printf '%s\n' "$files" | xargs -d '\n' grep -nH '§' 2>/dev/null | sed -E "s/$rfc//g" |
       awk 'NR == FNR { ok[$0] = 1; next }
            { pre = $0; sub(/:.*/, "", pre); rest = substr($0, length(pre) + 2);
              n = rest; sub(/:.*/, "", n); line = substr(rest, length(n) + 2);
              while (match(line, /§[A-Z0-9]+(\.[0-9]+)*/)) {
                s = substr(line, RSTART + 2, RLENGTH - 2);  # "§" is two bytes in UTF-8
                if (!(s in ok)) print pre ":" n ": §" s " is not a heading of '"$proto"'";
                line = substr(line, RSTART + RLENGTH) } }' <(printf '%s\n' "$headings") -)
[ -n "$secs" ] && out "$secs"

# 2. Doc files named in comments and docs: shared/docs is outside the repository; a *.md name must
# exist as given (from the root or the naming file's folder), in docs/, or, for a bare name,
# somewhere in the repository.
declare -A base
while IFS= read -r f; do base[${f##*/}]=1; done <<<"$files"
while IFS=$'\t' read -r loc name; do
  f=${loc%%:*}
  if [ "$name" = "shared/docs" ]; then out "$loc: names shared/docs, which is outside the repository"; continue; fi
  name=${name#./}
  case $name in "shared/docs"/*) continue ;; esac  # reported as shared/docs
  [ -f "$name" ] || [ -f "${f%/*}/$name" ] || [ -f "docs/$name" ] && continue
  [[ $name != */* && -n ${base[$name]:-} ]] && continue
  out "$loc: names $name, which is not in the repository"
done < <(printf '%s\n' "$files" | xargs -d '\n' grep -nHE '\.md\b|shared/docs' 2>/dev/null |
         awk '{ pre = $0; sub(/:.*/, "", pre); rest = substr($0, length(pre) + 2);
                n = rest; sub(/:.*/, "", n); line = substr(rest, length(n) + 2);
                if (line ~ /shared\/docs/) print pre ":" n "\tshared/docs";
                while (match(line, /(^|[^$A-Za-z0-9_.\/{}-])[A-Za-z0-9_-][A-Za-z0-9_.\/-]*\.md([^A-Za-z0-9_]|$)/)) {
                  m = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH);
                  sub(/^[^A-Za-z0-9_-]/, "", m); sub(/[^A-Za-z0-9_]$/, "", m);
                  print pre ":" n "\t" m } }')

if [ $bad -ne 0 ]; then
  echo "check-refs: fix the lines above (sections: $proto headings; files: only files in the repository)"
  exit 1
fi
echo "refs ok: $(wc -l <<<"$headings") sections in $proto"
