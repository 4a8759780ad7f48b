#!/usr/bin/env bash
# Runs every Fuzz target in the repository for a bounded time each:
#   bash .ci/fuzz.sh [SECONDS]
# SECONDS per target defaults to $FUZZTIME, else to a share of
# $FUZZ_BUDGET (270 s) among the targets, at most 30 and at least 10: the
# whole run, builds included, stays near six minutes.
# The seeds and the corpora committed under each package's testdata/fuzz run
# first, as with go test. A failure leaves the failing input in
# PACKAGE/testdata/fuzz/FuzzNAME/: commit it with the fix, and it stays a
# regression case that every go test runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every "func FuzzX(" in a _test.go file, as "package-dir FuzzX".
targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
  while read -r f; do
    dir=$(dirname "$f")
    sed -n -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$f" | while read -r name; do echo "$dir $name"; done
  done | sort -u)
if [ -z "$targets" ]; then echo ".ci/fuzz.sh: no Fuzz targets found" >&2; exit 1; fi
n=$(printf '%s\n' "$targets" | wc -l)
secs=${1:-${FUZZTIME:-}}
if [ -z "$secs" ]; then
  secs=$(( ${FUZZ_BUDGET:-270} / n ))
  secs=$(( secs > 30 ? 30 : secs < 10 ? 10 : secs ))
fi
case $secs in ''|*[!0-9]*) echo ".ci/fuzz.sh: want a number of seconds, got '$secs'" >&2; exit 2 ;; esac
echo "fuzzing $n targets for ${secs}s each"

# inputs counts the inputs in a corpus directory (0 when there is none).
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

failed=
start=$SECONDS
while read -r dir name; do
  printf '\n--- %s %s\n' "$dir" "$name"
  # -run '^$': the package's tests ran in go test already; the target's
  # seeds and committed corpus run at the start of fuzzing.
  corpus="$dir/testdata/fuzz/$name"
  before=$(inputs "$corpus")
  status=0
  out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" "$dir" 2>&1) || status=$?
  printf '%s\n' "$out" | tail -n 20
  if [ "$status" -ne 0 ]; then
    # Go's fuzzer can report its own time limit, reached in the middle of
    # an input, as a failure ("context deadline exceeded") and write no
    # input: that is no find.
    after=$(inputs "$corpus")
    if [ "$after" -eq "$before" ] && grep -q 'context deadline exceeded' <<<"$out"; then
      echo "($name: stopped at its time limit, no failing input written: not a find)"
    else
      failed="$failed $dir:$name"
    fi
  fi
done <<<"$targets"
echo
echo "fuzzing took $((SECONDS - start))s"
if [ -n "$failed" ]; then
  echo "failed:$failed (the inputs are in each package's testdata/fuzz)" >&2
  exit 1
fi
