#!/usr/bin/env bash
# Deno smoke test: `deno task start` (the deno binary from the npm devDependency) on a free port
# with a fresh DATA_DIR must answer /healthz, render a page with its security headers, and stop
# cleanly on SIGTERM. Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() { # check <name> <command…>
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "  ✓ $name"
  else
    failed=$((failed + 1))
    echo "  ✘ $name"
  fi
}

deno_bin=node_modules/.bin/deno
if [ ! -x "$deno_bin" ]; then
  echo "  ✘ $deno_bin is missing (npm ci installs it)"
  echo "0 passed, 1 failed"
  exit 1
fi

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
data_dir=$(mktemp -d /tmp/mfa-portal-deno-smoke.XXXXXX)
log="$data_dir.log"
echo "Deno smoke test: $("$deno_bin" --version | head -1), port $port, DATA_DIR $data_dir"

# Its own process group, so stopping it reaches deno task and the app it started, and nothing else.
PORT=$port DATA_DIR=$data_dir PUBLIC_URL="http://127.0.0.1:$port" setsid "$deno_bin" task start >"$log" 2>&1 &
group=$!
cleanup() {
  kill -KILL -- "-$group" 2>/dev/null || true
  rm -rf "$data_dir" "$log"
}
trap cleanup EXIT

started=$(date +%s)
healthy() {
  local deadline=$((started + 60))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ]; then
      echo "    /healthz answered 200 after $(($(date +%s) - started)) s"
      return 0
    fi
    kill -0 "$group" 2>/dev/null || { echo "    deno task start exited early"; return 1; }
    sleep 0.5
  done
  echo "    no 200 from /healthz within 60 s"
  return 1
}
check "deno task start answers GET /healthz with 200 within 60 s" healthy

page_ok() {
  local headers
  headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/no-such-page")
  grep -qi '^HTTP/1.1 404' <<<"$headers" &&
    grep -qi "^content-security-policy:.*frame-ancestors 'none'" <<<"$headers" &&
    curl -s "http://127.0.0.1:$port/no-such-page" | grep -q '<main id="main"'
}
check "a rendered page (JSX layout, 404) carries its CSP header under Deno" page_ok

ready_ok() { [ "$(curl -s "http://127.0.0.1:$port/readyz")" = ready ]; }
check "GET /readyz reaches the embedded database (PGlite over node:net) under Deno" ready_ok

oidc_ok() {
  local discovery jwks_uri
  discovery=$(curl -s "http://127.0.0.1:$port/.well-known/openid-configuration")
  grep -q "\"issuer\":\"http://127.0.0.1:$port\"" <<<"$discovery" || { echo "    discovery: ${discovery:0:200}"; return 1; }
  jwks_uri=$(node -e 'console.log(JSON.parse(process.argv[1]).jwks_uri)' "$discovery")
  curl -s "$jwks_uri" | node -e 'let t="";process.stdin.on("data",d=>t+=d).on("end",()=>{const k=JSON.parse(t).keys;process.exit(k.length>0&&k.every(x=>x.kty==="RSA"&&!x.d)?0:1)})'
}
check "OIDC discovery and JWKS (public keys only) under Deno" oidc_ok

stops_cleanly() {
  kill -TERM -- "-$group" 2>/dev/null
  for _ in $(seq 1 40); do
    if ! pgrep -g "$group" >/dev/null 2>&1; then
      # The marker goes away only after the database closed.
      [ ! -e "$data_dir/embedded.json" ] && grep -q '"stopping"' "$log"
      return
    fi
    sleep 0.5
  done
  echo "    still running 20 s after SIGTERM"
  return 1
}
check "SIGTERM stops it within 20 s and closes the database" stops_cleanly

if [ "$failed" -gt 0 ]; then
  echo "--- deno task start output ---"
  cat "$log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
