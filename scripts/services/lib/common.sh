# Helpers shared by scripts/services/*.sh (sourced by them, not by scripts/test.sh directly).
# Installs go into a cache directory that outlives a test run, so a second run only starts
# servers; servers and their data live under $THINLEDGER_TEST_DIR and stop with the run.
[ -n "${_THINLEDGER_SERVICES_COMMON:-}" ] && return 0
_THINLEDGER_SERVICES_COMMON=1

THINLEDGER_CACHE_DIR="${THINLEDGER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/thinledger}"
mkdir -p "$THINLEDGER_CACHE_DIR"

# Prints a message on stderr, prefixed with the service's name.
tl_say() { printf 'services: %s\n' "$*" >&2; }

# Reports a failed setup step and fails (test.sh runs with `set -e`, so the run stops here).
tl_fail() {
    tl_say "ERROR: $*"
    return 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
tl_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        tl_fail "need root (or sudo) to run: $*"
    fi
}

# Installs Debian packages that are missing; refreshes the package lists first when they are
# empty or the first install attempt cannot find a package.
tl_apt_install() {
    local missing=() p
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    tl_say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! tl_as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >"$THINLEDGER_TEST_DIR/apt.log" 2>&1; then
        tl_as_root apt-get update -q >>"$THINLEDGER_TEST_DIR/apt.log" 2>&1 ||
            { cat "$THINLEDGER_TEST_DIR/apt.log" >&2; tl_fail "apt-get update failed"; return 1; }
        tl_as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$THINLEDGER_TEST_DIR/apt.log" 2>&1 ||
            { tail -n 30 "$THINLEDGER_TEST_DIR/apt.log" >&2; tl_fail "apt-get install ${missing[*]} failed (log above)"; return 1; }
    fi
}

# A Python virtual environment in the cache for the Python-based servers; prints its path.
tl_venv() {
    local venv="$THINLEDGER_CACHE_DIR/venv"
    if [ ! -x "$venv/bin/pip" ]; then
        command -v python3 >/dev/null || tl_apt_install python3 >&2 || return 1
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            # Debian's python3 keeps venv support in a separate package.
            rm -rf "$venv"
            tl_apt_install python3-venv >&2 || return 1
            python3 -m venv "$venv" >&2 || { tl_fail "python3 -m venv $venv failed"; return 1; }
        fi
    fi
    printf '%s\n' "$venv"
}

# Installs an exact PyPI requirement into the cache venv unless a stamp says it is there.
tl_pip_install() {
    local requirement="$1" venv stamp
    venv="$(tl_venv)" || return 1
    stamp="$venv/.installed-$(printf '%s' "$requirement" | tr -c 'A-Za-z0-9.=_-' '_')"
    [ -e "$stamp" ] && return 0
    tl_say "installing $requirement (Python, into $venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "$requirement" >"$THINLEDGER_TEST_DIR/pip.log" 2>&1 ||
        { tail -n 30 "$THINLEDGER_TEST_DIR/pip.log" >&2; tl_fail "pip install $requirement failed (log above)"; return 1; }
    touch "$stamp"
}

# Installs an exact npm package into its own prefix in the cache; prints the prefix.
tl_npm_install() {
    local name="$1" version="$2" prefix
    prefix="$THINLEDGER_CACHE_DIR/npm/$name-$version"
    if [ ! -e "$prefix/.installed" ]; then
        command -v npm >/dev/null || tl_apt_install nodejs npm >&2 || return 1
        tl_say "installing $name@$version (npm, into $prefix)"
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$name@$version" >"$THINLEDGER_TEST_DIR/npm.log" 2>&1 ||
            { tail -n 30 "$THINLEDGER_TEST_DIR/npm.log" >&2; tl_fail "npm install $name@$version failed (log above)"; return 1; }
        touch "$prefix/.installed"
    fi
    printf '%s\n' "$prefix"
}

# curl talks to the servers during setup.
command -v curl >/dev/null || tl_apt_install curl || return 1

# Prints a TCP port on 127.0.0.1 that is free right now.
tl_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a server in the background with its output in $THINLEDGER_TEST_DIR/NAME.log and
# registers its shutdown; sets TL_LAST_PID.
tl_start() {
    local name="$1"
    shift
    "$@" >"$THINLEDGER_TEST_DIR/$name.log" 2>&1 &
    TL_LAST_PID=$!
    # shellcheck disable=SC2064 # the pid is fixed now, on purpose
    on_exit "kill $TL_LAST_PID 2>/dev/null; wait $TL_LAST_PID 2>/dev/null"
}

# Waits until an HTTP endpoint answers (any status) or the server exits; fails after ~20 s.
tl_wait_http() {
    local name="$1" url="$2" pid="$3" i
    for ((i = 0; i < 200; i++)); do
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$THINLEDGER_TEST_DIR/$name.log" >&2
            tl_fail "$name exited during startup (log above)"
            return 1
        fi
        sleep 0.1
    done
    tail -n 30 "$THINLEDGER_TEST_DIR/$name.log" >&2
    tl_fail "$name did not answer on $url within 20 s"
}

# Seconds since the epoch with milliseconds, for the timing lines.
tl_now() { date +%s.%N; }
tl_elapsed() { awk -v a="$1" -v b="$(tl_now)" 'BEGIN { printf "%.1f", b - a }'; }
