#!/bin/bash
# SPDX-License-Identifier: MIT
# Reference check: every "§N.M" in code, scripts and docs names a heading of docs/protocol.md, and
# every doc file a comment or doc names (*.md, shared/docs/...) exists in the repository.
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
while IFS= read -r hit; do
  loc=${hit%%:§*}
  sec=${hit#"$loc":§}
  grep -qxF -- "$sec" <<<"$headings" || out "$loc: §$sec is not a heading of $proto"
done < <(printf '%s\n' "$files" | xargs -d '\n' grep -nH '§' 2>/dev/null |
         sed -E "s/$rfc//g" |
         awk '{ pre = $0; sub(/:.*/, "", pre); rest = substr($0, length(pre) + 2);
                n = rest; sub(/:.*/, "", n); line = substr(rest, length(n) + 2);
                while (match(line, /§[A-Z0-9]+(\.[0-9]+)*/)) {
                  print pre ":" n ":" substr(line, RSTART, RLENGTH);
                  line = substr(line, RSTART + RLENGTH) } }')

# 2. Doc files named in comments and docs.
while IFS= read -r hit; do
  f=${hit%%:*}; rest=${hit#*:}; n=${rest%%:*}; line=${rest#*:}
  case $line in *shared/docs*) out "$f:$n: names shared/docs, which is outside the repository" ;; esac
  for name in $(grep -oE '(^|[^$A-Za-z0-9_./{}-])[A-Za-z0-9_-][A-Za-z0-9_./-]*\.md\b' <<<"$line" |
                sed -E 's/^[^A-Za-z0-9_-]//'); do
    name=${name#./}
    case $name in shared/docs/*) continue ;; esac  # reported above
    dir=$(dirname "$f")
    if [ -f "$name" ] || [ -f "$dir/$name" ] || [ -f "docs/$name" ]; then continue; fi
    case $name in
      */*) ;;
      *) grep -qE "(^|/)${name//./\\.}$" <<<"$files" && continue ;;
    esac
    out "$f:$n: names $name, which is not in the repository"
  done
done < <(printf '%s\n' "$files" | xargs -d '\n' grep -nHE '\.md\b|shared/docs' 2>/dev/null)

if [ $bad -ne 0 ]; then
  echo "check-refs: fix the lines above (sections: $proto headings; files: only files in the repository)"
  exit 1
fi
echo "refs ok: $(wc -l <<<"$headings") sections in $proto"
