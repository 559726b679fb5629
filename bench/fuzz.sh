#!/usr/bin/env bash
# Runs every cargo-fuzz target of the repository for a bounded time and
# prints, per target, the run time, the inputs executed and what was found.
#
#   bash bench/fuzz.sh [SECONDS]      # per target; default 60
#
# Targets: article/fuzz (parse, analyze) and query-service/fuzz (requests:
# filters and every request that carries one; search: the query syntax with
# page tokens; page_token). cargo-fuzz needs nightly features: on stable,
# RUSTC_BOOTSTRAP=1 enables them. Corpora grow in <crate>/fuzz/corpus (kept
# between runs, ignored by git); a crash is saved in <crate>/fuzz/artifacts
# and makes the script exit 1 — keep it as a regression test in the normal
# suite. Builds happen before the clock starts.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

# Seeds for the query syntax: one input per file, kept in the corpus.
seed() {
  local dir=query-service/fuzz/corpus/$1; shift
  mkdir -p "$dir"
  local i=0
  for s in "$@"; do
    printf '%s' "$s" >"$dir/seed-$i"; i=$((i + 1))
  done
}
seed search 'bod :*' 'natural gas' '"free trade agreement"~2' 'title:pipeline AND body:gas' 'body:*' 'body:[a TO z]' \
  '(rail OR freight) -ports' 'gas^2.5 pipeline' 'sector:energy' "published:[1 TO 2]" 'IN [a b]' \
  $'gas\0AQAAAAAAAAAKAAAAAAAAAAA'
seed page_token 'AQAAAAAAAAAKAAAAAAAAAAA' '' 'AQ' '____'

failed=0
summary=()
for crate in article query-service; do
  echo "=== building $crate/fuzz"
  built=$(date +%s)
  (cd "$crate" && cargo fuzz build 2>&1 | tail -n 3)
  echo "built in $(( $(date +%s) - built )) s"
  for target in $(cd "$crate" && cargo fuzz list); do
    log=$(mktemp)
    echo "=== $crate/$target for ${seconds}s"
    start=$(date +%s)
    status=0
    (cd "$crate" && cargo fuzz run "$target" -- -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=4096 -print_final_stats=1) >"$log" 2>&1 || status=$?
    took=$(( $(date +%s) - start ))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
    found=none
    if [ "$status" -ne 0 ]; then
      failed=1
      found=$(grep -m1 -E 'ERROR: libFuzzer|panicked at|Test unit written to' "$log" || echo "exit $status")
      grep -E 'panicked at|Test unit written to|SUMMARY' "$log" || tail -n 20 "$log"
    fi
    summary+=("$(printf '%-28s %6ss %12s execs %10s/s  %s' "$crate/$target" "$took" "${execs:-?}" \
      "$(( ${execs:-0} / (took > 0 ? took : 1) ))" "$found")")
    rm -f "$log"
  done
done
echo
echo "target                        time        inputs        rate  findings"
printf '%s\n' "${summary[@]}"
exit "$failed"
