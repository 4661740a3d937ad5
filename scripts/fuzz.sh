#!/usr/bin/env bash
# npm run fuzz: builds the libFuzzer targets (build/fuzz, clang, incremental), replays each
# target's committed regression inputs (fuzz/regressions/<name>-*, <name> = target without
# "fuzz_"), then fuzzes it for FUZZ_SECONDS (default 600) from a fresh scratch corpus under
# build/fuzz-runs/<target>/ seeded with fuzz/corpus/<target>/ (the committed corpus is never
# written). FUZZ_TARGETS="fuzz_token fuzz_http" picks targets. Prints each target's executions;
# any crash, leak, timeout or out-of-memory fails the run (after the other targets have run) and
# its input stays in build/fuzz-runs/<target>/. Ends with "fuzz: N clean, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

all=(fuzz_request fuzz_server_frame fuzz_token fuzz_http fuzz_ws_frame)
read -r -a targets <<< "${FUZZ_TARGETS:-${all[*]}}"
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (have: ${all[*]})" >&2; exit 2; }
done
seconds=${FUZZ_SECONDS:-600}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f build/fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSWITCHBOARD_FUZZ=ON >/dev/null
fi
cmake --build build/fuzz -j "$jobs" --target "${targets[@]}"

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1 ${UBSAN_OPTIONS:-}"
root=$(pwd)
clean=0 failed=0
for t in "${targets[@]}"; do
  bin=$root/build/fuzz/fuzz/$t
  dir=$root/build/fuzz-runs/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp fuzz/corpus/"$t"/* "$dir/corpus/"
  log=$dir/log.txt
  start=$SECONDS
  status=0
  regressions=(fuzz/regressions/"${t#fuzz_}"-*)
  if [ -e "${regressions[0]}" ]; then
    "$bin" -artifact_prefix="$dir/" "${regressions[@]}" >"$dir/regressions.txt" 2>&1 || status=$?
  fi
  if [ "$status" -ne 0 ]; then
    log=$dir/regressions.txt
    what="a committed regression input fails"
  else
    "$bin" "$dir/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/" >"$log" 2>&1 || status=$?
    what="crashed"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    clean=$((clean + 1))
    echo "$t: ${execs:-0} executions in $((SECONDS - start)) s, clean"
  else
    failed=$((failed + 1))
    echo "$t: FAILED ($what) after ${execs:-0} executions in $((SECONDS - start)) s; log $log"
    grep -E '^(Running: |==[0-9]+==ERROR|SUMMARY|fuzz check failed|  \(|artifact_prefix|.*runtime error)' "$log" | head -20 || true
    ls "$dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|  kept: $dir/|" || true
  fi
done
echo "fuzz: $clean clean, $failed failed"
[ "$failed" -eq 0 ]
