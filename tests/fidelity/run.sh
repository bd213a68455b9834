#!/usr/bin/env bash
# The emulator against Slack's own SDKs: installs slack_sdk and slack_bolt (PyPI) and @slack/web-api
# (npm) into throwaway environments, starts `lobby emulator` on a free port and drives it with
# python_sdk.py and node_sdk.mjs, unchanged SDK code. Prints "N passed, N failed"; fails on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/fidelity

work=$(mktemp -d)
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- installing slack_sdk, slack_bolt and @slack/web-api into $work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check slack_sdk slack_bolt
npm install --silent --no-audit --no-fund --prefix "$work/node" @slack/web-api >/dev/null
cp "$here/node_sdk.mjs" "$work/node/"

cargo build --locked --quiet --bin lobby
app_url="http://127.0.0.1:9/" # never contacted: Bolt's callback is driven in-process
target/debug/lobby emulator --bind 127.0.0.1:0 --app-url "$app_url" >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 1 100); do
  grep -q "^Slack emulator listening on " "$work/emulator.out" && break
  sleep 0.1
done
setting() { sed -n "s/^ *$1=//p" "$work/emulator.out" | head -n 1; }
EMULATOR_URL=$(sed -n 's/^Slack emulator listening on //p' "$work/emulator.out" | head -n 1)
if [ -z "$EMULATOR_URL" ]; then
  echo "the emulator did not start:" >&2
  cat "$work/emulator.out" "$work/emulator.err" >&2
  exit 1
fi
export EMULATOR_URL APP_URL="$app_url" STATE_DIR="$work/bolt"
CLIENT_ID=$(setting SLACK_CLIENT_ID)
CLIENT_SECRET=$(setting SLACK_CLIENT_SECRET)
export CLIENT_ID CLIENT_SECRET
echo "-- emulator at $EMULATOR_URL"

# Each script prints PASS/FAIL lines; a script that dies before its summary counts as one failure.
run() {
  local name=$1
  shift
  if ! "$@" | tee "$work/$name.log"; then
    grep -q "^$name: .* passed, .* failed" "$work/$name.log" || echo "FAIL $name: the script died" | tee -a "$work/$name.log"
  fi
}
run python "$work/venv/bin/python" "$here/python_sdk.py"
run node node "$work/node/node_sdk.mjs"

passed=$(cat "$work"/python.log "$work"/node.log | grep -c "^PASS " || true)
failed=$(cat "$work"/python.log "$work"/node.log | grep -c "^FAIL " || true)
echo "fidelity: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
