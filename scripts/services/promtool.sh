# Prometheus' promtool, for the monitoring tests (`promtool check rules`, `promtool test
# rules` on the rendered PrometheusRules). Debian's `prometheus` package ships it; the package
# is downloaded, not installed (installing it would add a systemd unit and a service user the
# tests do not need), and only usr/bin/promtool is extracted into the cache.
# Exports THINLEDGER_TEST_PROMTOOL. Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_promtool() {
    local t0 dir work deb
    t0="$(tl_now)"
    dir="$THINLEDGER_CACHE_DIR/promtool"
    if [ ! -e "$dir/.installed" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        work="$THINLEDGER_TEST_DIR/promtool-download"
        mkdir -p "$work"
        tl_say "downloading Debian's prometheus package (for promtool only)"
        if ! (cd "$work" && apt-get download -q prometheus) >"$THINLEDGER_TEST_DIR/apt-promtool.log" 2>&1; then
            tl_as_root apt-get update -q >>"$THINLEDGER_TEST_DIR/apt-promtool.log" 2>&1 &&
                (cd "$work" && apt-get download -q prometheus) >>"$THINLEDGER_TEST_DIR/apt-promtool.log" 2>&1 ||
                { tail -n 30 "$THINLEDGER_TEST_DIR/apt-promtool.log" >&2; tl_fail "apt-get download prometheus failed (log above)"; return 1; }
        fi
        deb="$(find "$work" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)"
        [ -n "$deb" ] || { tl_fail "apt-get download left no prometheus_*.deb in $work"; return 1; }
        dpkg-deb -x "$deb" "$work/root" || { tl_fail "dpkg-deb -x $deb failed"; return 1; }
        [ -x "$work/root/usr/bin/promtool" ] || { tl_fail "$deb has no usr/bin/promtool"; return 1; }
        cp "$work/root/usr/bin/promtool" "$dir/promtool"
        dpkg-deb -f "$deb" Version >"$dir/version"
        rm -rf "$work"
        touch "$dir/.installed"
    fi
    THINLEDGER_TEST_PROMTOOL="$dir/promtool"
    export THINLEDGER_TEST_PROMTOOL
    tl_say "promtool: $(cat "$dir/version") ($(tl_elapsed "$t0")s)"
}
_tl_promtool
