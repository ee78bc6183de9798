# PostgreSQL (Debian's) for tests that speak pgwire: the CockroachDB driver's connection, job
# polling and error plumbing, and the PITR/WAL tests. One server on a free loopback port, with
# TLS on (a throw-away CA made here), trust authentication, data under $THINLEDGER_TEST_DIR.
# Exports:
#   THINLEDGER_TEST_POSTGRES_URL         plain connection URL (sslmode=disable)
#   THINLEDGER_TEST_POSTGRES_TLS_URL     the same server over TLS, verify-full against the test CA
#   THINLEDGER_TEST_POSTGRES_{HOST,PORT,USER,SOCKET_DIR,BIN,CA_CERT}
# BIN holds initdb, pg_ctl, pg_basebackup, … so a test can start its own server (e.g. with WAL
# archiving) next to this one. Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_postgres() {
    local t0 installed_in bindir dir port tls run_as=()
    t0="$(tl_now)"
    tl_apt_install postgresql openssl || return 1
    bindir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$bindir/initdb" ] || { tl_fail "no initdb under /usr/lib/postgresql/*/bin after installing postgresql"; return 1; }
    installed_in="$(tl_elapsed "$t0")"

    t0="$(tl_now)"
    dir="$THINLEDGER_TEST_DIR/postgres"
    tls="$dir/tls"
    mkdir -p "$dir/data" "$tls"
    # A test CA and a server certificate for localhost / 127.0.0.1, so clients can verify-full.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=thinledger test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" >"$dir/openssl.log" 2>&1 &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$tls/server.key" -out "$tls/server.csr" >>"$dir/openssl.log" 2>&1 &&
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tls/san.ext" &&
        openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
            -days 2 -extfile "$tls/san.ext" -out "$tls/server.crt" >>"$dir/openssl.log" 2>&1 ||
        { cat "$dir/openssl.log" >&2; tl_fail "could not make the PostgreSQL test certificates"; return 1; }
    chmod 600 "$tls/server.key"

    # initdb refuses to run as root: as root, run the server as the postgres user.
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$dir"
        # mktemp made the test directory 0700: let the postgres user through it (not list it).
        chmod a+x "$THINLEDGER_TEST_DIR"
        run_as=(runuser -u postgres --)
    fi
    "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        { tail -n 30 "$dir/initdb.log" >&2; tl_fail "initdb failed (log above)"; return 1; }
    port="$(tl_free_port)"
    "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key -c fsync=off" \
        start >"$dir/pg_ctl.log" 2>&1 ||
        { tail -n 30 "$dir/server.log" >&2; tl_fail "PostgreSQL did not start (log above)"; return 1; }
    # shellcheck disable=SC2064 # the paths are fixed now, on purpose
    on_exit "${run_as[*]} $bindir/pg_ctl -D $dir/data -m fast -w stop >/dev/null 2>&1"

    export THINLEDGER_TEST_POSTGRES_HOST=127.0.0.1
    export THINLEDGER_TEST_POSTGRES_PORT="$port"
    export THINLEDGER_TEST_POSTGRES_USER=postgres
    export THINLEDGER_TEST_POSTGRES_SOCKET_DIR="$dir"
    export THINLEDGER_TEST_POSTGRES_BIN="$bindir"
    export THINLEDGER_TEST_POSTGRES_CA_CERT="$tls/ca.crt"
    export THINLEDGER_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    export THINLEDGER_TEST_POSTGRES_TLS_URL="postgresql://postgres@localhost:$port/postgres?sslmode=verify-full&sslrootcert=$tls/ca.crt"
    tl_say "postgres: $("$bindir/postgres" --version) on 127.0.0.1:$port (install ${installed_in}s, start $(tl_elapsed "$t0")s)"
}
_tl_postgres
