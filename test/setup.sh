#!/bin/sh
# Makes a fresh machine ready for `npm test` and `npm start`, then runs the
# command it was given: a Node.js new enough for mailauth (22.19+), the npm
# packages, and the Debian packages of the servers the tests start (clamd,
# redis-server, redis-sentinel, prometheus, and swaks for trying the demo by
# hand) and of the tools the archive tests build their archives with (7-Zip,
# genisoimage, xorriso, gcab, tar, gzip).
set -eu
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# --- Node.js ---------------------------------------------------------------
node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}
if node_ok node; then
  say "Node.js $(node --version) is new enough"
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/haraka-plugin-support-codes/node24"
  if ! node_ok "$cache/node_modules/.bin/node"; then
    say "Node.js $(node --version 2>/dev/null || echo none) is older than 22.19: installing Node 24 from the npm package node@24 into $cache"
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null
  fi
  PATH="$(cd "$cache/node_modules/.bin" && pwd):$PATH"
  export PATH
  say "using Node.js $(node --version) from $cache"
fi

# --- npm packages ----------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm packages are installed"
fi

# --- Debian packages -------------------------------------------------------
missing=""
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$missing redis-server"
command -v redis-sentinel >/dev/null 2>&1 || [ -x /usr/bin/redis-sentinel ] || missing="$missing redis-sentinel"
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || missing="$missing prometheus"
[ -x /usr/sbin/clamd ] || missing="$missing clamav-daemon"
command -v swaks >/dev/null 2>&1 || missing="$missing swaks"
command -v 7zz >/dev/null 2>&1 || command -v 7z >/dev/null 2>&1 || missing="$missing 7zip"
command -v genisoimage >/dev/null 2>&1 || missing="$missing genisoimage"
command -v xorriso >/dev/null 2>&1 || missing="$missing xorriso"
command -v gcab >/dev/null 2>&1 || missing="$missing gcab"
command -v tar >/dev/null 2>&1 || missing="$missing tar"
command -v gzip >/dev/null 2>&1 || missing="$missing gzip"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages:$missing"
    # Keep the packages' own services (clamd, freshclam, redis on 6379,
    # sentinel on 26379, prometheus on 9090) from starting: the tests start
    # their own on loopback, and freshclam would try to reach the internet.
    rcd=/usr/sbin/policy-rc.d
    had_rcd=0; [ -e "$rcd" ] && had_rcd=1
    [ "$had_rcd" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$rcd"; chmod +x "$rcd"; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    [ "$had_rcd" = 1 ] || rm -f "$rcd"
    say "installed:$missing"
  else
    say "missing Debian packages:$missing"
    say "install them as root (apt-get install$missing) and run this again"
    exit 1
  fi
else
  say "redis-server, redis-sentinel, prometheus, clamd, swaks, 7-Zip, genisoimage, xorriso, gcab, tar and gzip are installed"
fi

exec "$@"
