#!/usr/bin/env bash
# Checks the deployment snippets in README.md with their own validators, so the README cannot drift
# from what nginx, Caddy and systemd accept:
#
#   nginx-http, nginx-https                 nginx -t (with throwaway self-signed certificates)
#   caddy                                   caddy validate
#   lobby.service, lobby-backup.service,    systemd-analyze verify (+ no nested StateDirectory=,
#   lobby-backup.timer                      and an [Install] section where one is enabled)
#   restore                                 bash -n, and every command that touches a path runs under sudo
#
# A snippet is the indented (or fenced) code block right after a line `<!-- snippet: NAME -->` in
# README.md. Everything happens in a temporary directory: nothing under /etc is read or written, no
# server is started, and nginx -t binds its ports in a network namespace of its own. Needs nginx,
# caddy, openssl and systemd (Debian's packages; .ci/run installs them). Prints one line per
# snippet; exits non-zero if any snippet fails.
#
# Usage: bash tests/deploy/check-snippets.sh [README.md]
set -euo pipefail

# nginx lives in /usr/sbin, which a normal user's PATH on Debian leaves out.
export PATH="$PATH:/usr/sbin:/sbin"

readme=${1:-"$(dirname "$0")/../../README.md"}
[ -f "$readme" ] || { echo "check-snippets: no README at $readme" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The code block after `<!-- snippet: NAME -->`, without its indentation. An indented block ends at
# the first non-blank line that is not indented by four spaces (as in Markdown); a fenced one at its
# closing fence. Exits non-zero when the marker is missing or no block follows it.
snippet() {
  awk -v name="$1" '
    function flush() { for (i = 0; i < blanks; i++) print ""; blanks = 0 }
    !state && $0 ~ "^<!-- snippet: " name " -->[[:space:]]*$" { state = 1; found = 1; next }
    state == 1 && /^[[:space:]]*$/ { next }
    state == 1 && /^```/ { state = 3; next }
    state == 1 && /^    / { state = 2 }
    state == 1 { exit }
    state == 2 && /^[[:space:]]*$/ { blanks++; next }
    state == 2 && /^    / { flush(); print substr($0, 5); lines++; next }
    state == 2 { exit }
    state == 3 && /^```/ { exit }
    state == 3 { print; lines++ }
    END { if (!found || !lines) exit 1 }
  ' "$readme"
}

failures=0
pass() { printf 'ok    %-22s %s\n' "$1" "$2"; }
fail() {
  printf 'FAIL  %-22s %s\n' "$1" "$2"
  if [ -s "$tmp/out" ]; then sed 's/^/      | /' "$tmp/out"; fi
  failures=$((failures + 1))
}
need() {
  if ! command -v "$1" >/dev/null; then
    echo "check-snippets: $1 is not installed (Debian: apt-get install $2)" >&2
    exit 2
  fi
}
need nginx nginx
need caddy caddy
need openssl openssl
need systemd-analyze systemd

# Extract every snippet first: a missing marker is a failure of its own.
mkdir -p "$tmp/snippets"
for name in nginx-http nginx-https nginx-instances caddy caddy-instances lobby.service lobby-backup.service lobby-backup.timer restore; do
  if ! snippet "$name" >"$tmp/snippets/$name"; then
    : >"$tmp/out"
    fail "$name" "no code block after <!-- snippet: $name --> in README.md"
    rm -f "$tmp/snippets/$name"
  fi
done
have() { [ -f "$tmp/snippets/$1" ]; }

# --- nginx ------------------------------------------------------------------------------------
# nginx -t opens every ssl_certificate and ssl_certificate_key file, so each path a snippet names
# is moved under the temp dir (sed) and given a throwaway self-signed certificate or key there.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=lobby.example.org \
  -keyout "$tmp/throwaway.key" -out "$tmp/throwaway.crt" >"$tmp/openssl.log" 2>&1 ||
  { cat "$tmp/openssl.log" >&2; echo "check-snippets: openssl cannot make a certificate" >&2; exit 2; }

# nginx -t binds every listen address (80 and 443 here): a user who may not, or a machine where
# something already listens there, would fail it. So it runs in a network namespace of its own,
# where it may bind anything and touches no real port: `unshare -rn` (also without root), else
# `unshare -n` (root), else on the host's network (and says so).
# Inside, nginx is root, and would chown its temp dirs to `nobody`, a user the namespace does not
# map: `user root root;` keeps them ours.
netns=()
nginx_user=""
if unshare -rn true 2>/dev/null; then
  netns=(unshare -rn)
  nginx_user="user root root;"
elif unshare -n true 2>/dev/null; then
  netns=(unshare -n)
else
  echo "check-snippets: cannot make a network namespace (unshare); nginx -t binds ports 80 and 443 on this machine" >&2
fi

nginx_check() { # label, snippet names...
  local label=$1; shift
  local dir="$tmp/nginx-$label" name path
  mkdir -p "$dir/temp" "$dir/logs"
  : >"$dir/site.conf"
  for name in "$@"; do
    if ! have "$name"; then return; fi
    cat "$tmp/snippets/$name" >>"$dir/site.conf"
  done
  sed -i -E "s#^([[:space:]]*ssl_certificate(_key)?[[:space:]]+)/#\\1$dir/root/#" "$dir/site.conf"
  while read -r path; do
    mkdir -p "$(dirname "$path")"
    case $path in
      *key*) cp "$tmp/throwaway.key" "$path" ;;
      *) cp "$tmp/throwaway.crt" "$path" ;;
    esac
  done < <(sed -n -E 's#^[[:space:]]*ssl_certificate(_key)?[[:space:]]+([^;]+);.*#\2#p' "$dir/site.conf")
  # A main config of our own: pid, logs and temp paths in the temp dir, the snippet inside http {}
  # as Debian's nginx.conf includes sites-enabled/*.
  cat >"$dir/nginx.conf" <<CONF
$nginx_user
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    include $dir/site.conf;
}
CONF
  # Any warning fails too, except the one nginx 1.25.1 and later give for `listen ... http2`: the
  # README keeps that form because Debian 12's and Ubuntu's nginx do not know `http2 on;`.
  if "${netns[@]}" nginx -t -q -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" >"$tmp/out" 2>&1 &&
    ! grep -v 'the "listen \.\.\. http2" directive is deprecated' "$tmp/out" | grep -q '\[warn\]\|\[emerg\]'; then
    pass "$label" "nginx -t ($(nginx -v 2>&1 | sed 's#.*/##'))"
  else
    fail "$label" "nginx -t"
  fi
}
# The port 80 server alone (the step before the certificate exists), then the finished file.
nginx_check nginx-http nginx-http
nginx_check nginx-https nginx-http nginx-https
nginx_check nginx-instances nginx-http nginx-instances

# --- Caddy ------------------------------------------------------------------------------------
caddy_check() { # snippet name
  local name=$1 dir="$tmp/caddy-$1"
  have "$name" || return 0
  mkdir -p "$dir"
  cp "$tmp/snippets/$name" "$dir/Caddyfile"
  # Caddy reads "21MB" as 21,000,000 bytes, below what it is meant to let through: sizes in MiB.
  if grep -nE '^[[:space:]]*max_size[[:space:]]+[0-9.]+[[:space:]]*[kKMGT]?B[[:space:]]*$' "$dir/Caddyfile" >"$tmp/out"; then
    fail "$name" "max_size in decimal units (Lobby's limits are MiB)"
  # caddy validate provisions the TLS app, which sets up its storage under $HOME/XDG dirs.
  elif (cd "$dir" && HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" \
      caddy validate --config Caddyfile --adapter caddyfile) >"$tmp/out" 2>&1; then
    pass "$name" "caddy validate ($(caddy version | cut -d' ' -f1))"
  else
    fail "$name" "caddy validate"
  fi
}
caddy_check caddy
caddy_check caddy-instances

# --- systemd ----------------------------------------------------------------------------------
# systemd-analyze verify refuses a unit whose ExecStart= program does not exist or is not
# executable, and /usr/local/bin/lobby is not installed here (CI would need a release build just
# for this): sed points it at a stub executable in the temp dir. Nothing is ever run.
mkdir -p "$tmp/units" "$tmp/bin"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/lobby"
chmod +x "$tmp/bin/lobby"
for unit in lobby.service lobby-backup.service lobby-backup.timer; do
  if have "$unit"; then
    sed "s#/usr/local/bin/lobby#$tmp/bin/lobby#g" "$tmp/snippets/$unit" >"$tmp/units/$unit"
  fi
done
for unit in lobby.service lobby-backup.service lobby-backup.timer; do
  have "$unit" || continue
  : >"$tmp/out"
  # With DynamicUser=, nested entries (`lobby lobby/backups`) fail to start on systemd < 252
  # (systemd#24783), which systemd-analyze on a newer systemd does not notice.
  if grep -E '^(StateDirectory|CacheDirectory|LogsDirectory|RuntimeDirectory|ConfigurationDirectory)=.*/' \
    "$tmp/units/$unit" >"$tmp/out"; then
    fail "$unit" "nested *Directory= entry (breaks DynamicUser= on systemd < 252)"
    continue
  fi
  case $unit in
    lobby.service | *.timer)
      if ! grep -q '^\[Install\]' "$tmp/units/$unit"; then
        fail "$unit" "no [Install] section: systemctl enable cannot enable it"
        continue
      fi ;;
  esac
  # The timer is verified with the service it starts beside it.
  files=("$tmp/units/$unit")
  if [ "$unit" = lobby-backup.timer ] && [ -f "$tmp/units/lobby-backup.service" ]; then
    files+=("$tmp/units/lobby-backup.service")
  fi
  # verify prints problems it does not count as errors (unknown keys, bad values): any output fails.
  if SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "${files[@]}" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
    pass "$unit" "systemd-analyze verify ($(systemd-analyze --version | head -n1 | cut -d' ' -f1,2))"
  else
    fail "$unit" "systemd-analyze verify"
  fi
done

# --- restore steps ------------------------------------------------------------------------------
# They are meant for a normal user's shell: a `cd` into the root-only state directory, or a
# command on a system path without sudo, fails there with "Permission denied".
if have restore; then
  : >"$tmp/out"
  if ! bash -n "$tmp/snippets/restore" 2>"$tmp/out"; then
    fail restore "bash -n"
  elif grep -nE '^[[:space:]]*(cd|pushd)[[:space:]]' "$tmp/snippets/restore" >"$tmp/out"; then
    fail restore "cd into a root-only directory"
  elif grep -nE '(^|[[:space:]"=])/(var|etc|run)/' "$tmp/snippets/restore" |
    grep -vE '^[0-9]+:[[:space:]]*sudo[[:space:]]' >"$tmp/out"; then
    fail restore "a path outside sudo"
  elif grep -nP '\$\((?!\s*sudo\s)[^)]*/(var|etc|run)/' "$tmp/snippets/restore" >"$tmp/out"; then
    fail restore "a \$(...) on a system path outside sudo"
  else
    pass restore "bash -n; every path under sudo"
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures snippet(s) in README.md fail their checks" >&2
  exit 1
fi
