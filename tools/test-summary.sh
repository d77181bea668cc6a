#!/usr/bin/env bash
# Prints the plain closing line "N passed, N failed, N skipped" summed over the TRX files of a test run.
set -euo pipefail
dir=${1:-TestResults}
passed=0; failed=0; skipped=0
for f in "$dir"/*.trx; do
  [ -f "$f" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed))); skipped=$((skipped + $(get notExecuted)))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]
