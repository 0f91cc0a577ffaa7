#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The integration tests' lab: a private MariaDB on a unix socket, the rig's
# SQLite recording database, a tmpfs standing in for the network share and a
# backup_config.yaml pointing at all of it. See README.md beside this file.
# Test fixture only: the product never runs a shell.
set -euo pipefail

die() {
    echo "lab.sh: $*" >&2
    exit 1
}

[[ -n "${LAB:-}" ]] || die "LAB is not set"
LAB=$(realpath -m -- "$LAB")
# Everything below removes and unmounts under $LAB: refuse anything that is
# not a private folder in /tmp.
case "$LAB" in
/tmp/?*) ;;
*) die "refusing LAB=$LAB: must be a folder under /tmp" ;;
esac
[[ "$LAB" != *"/../"* && "$LAB" != */.. ]] || die "refusing LAB=$LAB"

SOCK=$LAB/mysql.sock
PIDFILE=$LAB/mariadbd.pid
DB=$LAB/db
RECDB=$LAB/data/recordings.db
SHARE=$LAB/share
DEST=$SHARE/mobile_system_data
TLS=$LAB/tls
TLSPORT=$LAB/tls/port

# Small InnoDB files: the lab holds a few hundred rows, and a small datadir
# copies fast from the template.
MARIADB_OPTS=(--innodb-log-file-size=4M --innodb-buffer-pool-size=16M
    --innodb-data-file-path=ibdata1:4M:autoextend --skip-name-resolve)

# Root's work goes through the socket in plain text (--skip-ssl): the
# client would otherwise try TLS on it whenever the server offers TLS.
sql_root() {
    mariadb --no-defaults --skip-ssl --socket="$SOCK" -uroot --batch --skip-column-names "$@"
}

mariadb_version() {
    mariadbd --version | sed -n 's/.*Ver \([^ ]*\).*/\1/p'
}

# A freshly installed datadir, cached per uid and server version. Parallel
# labs may race to build it: each builds in its own temp dir and renames it
# into place; the loser throws its copy away.
datadir_template() {
    local tmpl
    tmpl=/tmp/mctfs-lab-template-$(id -u)-$(mariadb_version)
    if [[ ! -f "$tmpl/.complete" ]]; then
        local tmp
        tmp=$(mktemp -d /tmp/mctfs-lab-template.XXXXXX)
        if ! mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
            --datadir="$tmp/db" --user="$(id -un)" --skip-test-db "${MARIADB_OPTS[@]}" \
            >"$LAB/install.log" 2>&1; then
            cat "$LAB/install.log" >&2
            rm -rf "$tmp"
            die "mariadb-install-db failed (log above)"
        fi
        touch "$tmp/db/.complete"
        mv -T "$tmp/db" "$tmpl" 2>/dev/null || true
        rm -rf "$tmp"
        [[ -f "$tmpl/.complete" ]] || die "datadir template $tmpl is incomplete"
    fi
    echo "$tmpl"
}

# A TLS lab (up --tls) listens on 127.0.0.1:$(cat $TLSPORT) besides the
# socket, with a certificate of its own CA and require_secure_transport:
# plain TCP logins are refused (the socket counts as secure, so root's
# set-up through it still works).
tls_opts() {
    [[ -f "$TLSPORT" ]] || { echo --skip-networking; return 0; }
    printf '%s\n' --bind-address=127.0.0.1 --port="$(cat "$TLSPORT")" \
        --ssl-ca="$TLS/ca.pem" --ssl-cert="$TLS/server.pem" --ssl-key="$TLS/server-key.pem" \
        --require-secure-transport=ON
}

# Returns 1 when the server died before answering (a port taken meanwhile).
# Arguments: more mariadbd options (they win over the ones before).
db_start_once() {
    local opts
    mapfile -t opts < <(tls_opts)
    opts+=("$@")
    # Detached from our stdout/stderr: the harness reads those pipes to EOF.
    setsid mariadbd --no-defaults --datadir="$DB" --socket="$SOCK" "${opts[@]}" \
        --pid-file="$PIDFILE" --user="$(id -un)" --log-error="$LAB/mariadb.log" \
        "${MARIADB_OPTS[@]}" </dev/null >>"$LAB/mariadb.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 600; i++)); do
        if mariadb-admin --no-defaults --skip-ssl --socket="$SOCK" -uroot --connect-timeout=2 \
            ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    cat "$LAB/mariadb.log" >&2 || true
    die "MariaDB did not answer on $SOCK within 60 s (log above)"
}

db_start() {
    db_start_once "$@" && return 0
    cat "$LAB/mariadb.log" >&2 || true
    die "MariaDB exited before answering on $SOCK (log above)"
}

# A port nobody listens on; the server may still lose a race for it, so
# up --tls tries a few.
free_port() {
    local port hex
    while :; do
        port=$((20000 + RANDOM % 40000))
        hex=$(printf ':%04X ' "$port")
        grep -qF -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
    done
    echo "$port"
}

# Made fresh per lab with openssl: a CA, the server's certificate for
# localhost and 127.0.0.1 signed by it, and a second CA that signed nothing
# (the "wrong CA" of the tests). EC keys: quick to make.
tls_make() {
    mkdir -p "$TLS"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$TLS/ca-key.pem" -out "$TLS/ca.pem" -days 2 \
        -subj "/CN=mctfs lab CA" >/dev/null 2>&1 || die "openssl: cannot make the lab CA"
    openssl req -x509 "${ec[@]}" -keyout "$TLS/wrong-ca-key.pem" -out "$TLS/wrong-ca.pem" \
        -days 2 -subj "/CN=some other CA" >/dev/null 2>&1 || die "openssl: cannot make a CA"
    openssl req "${ec[@]}" -keyout "$TLS/server-key.pem" -out "$TLS/server.csr" \
        -subj "/CN=localhost" >/dev/null 2>&1 || die "openssl: cannot make the server key"
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "extendedKeyUsage=serverAuth" >"$TLS/server.ext"
    openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" \
        -CAcreateserial -out "$TLS/server.pem" -days 2 -extfile "$TLS/server.ext" \
        >/dev/null 2>&1 || die "openssl: cannot sign the server certificate"
}

db_start_tls() {
    local try
    for try in 1 2 3 4 5; do
        free_port >"$TLSPORT"
        db_start_once && return 0
    done
    cat "$LAB/mariadb.log" >&2 || true
    die "MariaDB with TLS did not start on any of 5 ports (log above)"
}

# The servers of this lab only: found by their exact --datadir argument, so
# a server whose pid file never appeared (a failed `up`) is found too.
lab_server_pids() {
    local re
    re=$(printf '%s' "$DB" | sed 's/[][\.*^$+?(){}|]/\\&/g')
    pgrep -f -- "^mariadbd .*--datadir=$re( |\$)" || true
}

db_stop() {
    local pids pid i
    pids=$(lab_server_pids)
    [[ -n "$pids" ]] || { rm -f "$SOCK" "$PIDFILE"; return 0; }
    if [[ -e "$SOCK" ]]; then
        timeout 10 mariadb-admin --no-defaults --skip-ssl --socket="$SOCK" -uroot shutdown \
            >/dev/null 2>&1 || true
    fi
    for pid in $pids; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
    done
    rm -f "$SOCK" "$PIDFILE"
}

create_schemas() {
    sql_root <<'EOF'
CREATE DATABASE mocap_sessions;
CREATE DATABASE multicamera_tracking;
CREATE DATABASE pose_pipeline;
CREATE TABLE mocap_sessions.subject (
    participant_id varchar(50) NOT NULL,
    PRIMARY KEY (participant_id)
) ENGINE=InnoDB;
CREATE TABLE mocap_sessions.session (
    participant_id varchar(50) NOT NULL,
    session_date date NOT NULL,
    PRIMARY KEY (participant_id, session_date),
    FOREIGN KEY (participant_id) REFERENCES mocap_sessions.subject (participant_id)
) ENGINE=InnoDB;
CREATE TABLE multicamera_tracking.multi_camera_recording (
    recording_timestamps timestamp NOT NULL,
    camera_config_hash varchar(50) NOT NULL,
    video_project varchar(50) NOT NULL,
    video_base_filename varchar(100) NOT NULL,
    PRIMARY KEY (recording_timestamps, camera_config_hash)
) ENGINE=InnoDB;
CREATE TABLE mocap_sessions.recording (
    participant_id varchar(50) NOT NULL,
    session_date date NOT NULL,
    recording_timestamps timestamp NOT NULL,
    camera_config_hash varchar(50) NOT NULL,
    comment varchar(255) NOT NULL DEFAULT '',
    PRIMARY KEY (participant_id, session_date, recording_timestamps, camera_config_hash),
    FOREIGN KEY (participant_id, session_date)
        REFERENCES mocap_sessions.session (participant_id, session_date),
    FOREIGN KEY (recording_timestamps, camera_config_hash)
        REFERENCES multicamera_tracking.multi_camera_recording
            (recording_timestamps, camera_config_hash)
) ENGINE=InnoDB;
CREATE TABLE pose_pipeline.video (
    video_project varchar(50) NOT NULL,
    filename varchar(100) NOT NULL,
    video longblob,
    start_time timestamp NULL DEFAULT NULL,
    PRIMARY KEY (video_project, filename)
) ENGINE=InnoDB;
CREATE TABLE multicamera_tracking.single_camera_video (
    recording_timestamps timestamp NOT NULL,
    camera_config_hash varchar(50) NOT NULL,
    video_project varchar(50) NOT NULL,
    filename varchar(100) NOT NULL,
    camera_name varchar(50) NOT NULL,
    frame_timestamps longblob,
    PRIMARY KEY (recording_timestamps, camera_config_hash, video_project, filename),
    FOREIGN KEY (recording_timestamps, camera_config_hash)
        REFERENCES multicamera_tracking.multi_camera_recording
            (recording_timestamps, camera_config_hash),
    FOREIGN KEY (video_project, filename) REFERENCES pose_pipeline.video (video_project, filename)
) ENGINE=InnoDB;
CREATE USER 'dj'@'localhost' IDENTIFIED BY 'djpass';
GRANT SELECT ON mocap_sessions.* TO 'dj'@'localhost';
GRANT SELECT ON multicamera_tracking.* TO 'dj'@'localhost';
GRANT SELECT ON pose_pipeline.* TO 'dj'@'localhost';
-- The same account over TCP (a TLS lab; --skip-name-resolve).
CREATE USER 'dj'@'127.0.0.1' IDENTIFIED BY 'djpass';
GRANT SELECT ON mocap_sessions.* TO 'dj'@'127.0.0.1';
GRANT SELECT ON multicamera_tracking.* TO 'dj'@'127.0.0.1';
GRANT SELECT ON pose_pipeline.* TO 'dj'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

# The tables the acquisition GUI's SQLAlchemy models create.
create_recdb() {
    sqlite3 "$RECDB" <<'EOF'
CREATE TABLE participants (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR);
CREATE TABLE sessions (id INTEGER NOT NULL PRIMARY KEY, session_date DATE,
    session_path VARCHAR, participant_id INTEGER REFERENCES participants (id));
CREATE TABLE recordings (id INTEGER NOT NULL PRIMARY KEY,
    session_id INTEGER REFERENCES sessions (id), filename VARCHAR,
    recording_timestamp DATETIME, comment VARCHAR, config_file VARCHAR,
    should_process BOOLEAN, timestamp_spread INTEGER);
CREATE TABLE imported (id INTEGER NOT NULL PRIMARY KEY,
    session_id INTEGER REFERENCES sessions (id));
CREATE TABLE photos (id INTEGER NOT NULL PRIMARY KEY,
    session_id INTEGER REFERENCES sessions (id), filename VARCHAR);
CREATE TABLE participant_fin (id INTEGER NOT NULL PRIMARY KEY,
    participant_id INTEGER REFERENCES participants (id), fin VARCHAR);
EOF
}

# The datajoint section: the socket, or TCP with TLS verified against the
# lab's CA.
dj_config() {
    if [[ -f "$TLSPORT" ]]; then
        printf '  host: "127.0.0.1"\n  port: %s\n  user: "dj"\n  password: "djpass"\n' \
            "$(cat "$TLSPORT")"
        printf '  tls: verify\n  ca_file: "%s"\n' "$TLS/ca.pem"
    else
        printf '  host: "localhost"\n  user: "dj"\n  password: "djpass"\n  socket: "%s"\n' "$SOCK"
    fi
}

write_config() {
    cat >"$LAB/backup_config.yaml" <<EOF
# Written by tests/lab/lab.sh up
backup:
  destinations:
    - name: "lab share"
      mount_point: "$SHARE"
      base_path: "$DEST"
      path_structure: "{session_date}/{participant_id}"
      enabled: true
      verify_mount: true
  source:
    base_path: "$LAB/data"
    path_structure: "{participant_id}/{session_date}"
  filters:
    participant_prefixes: ["m", "p", "b", "s", "TR", "TF"]
    exclude_patterns: ["*.tmp", "*.lock"]
  rsync:
    flags: "-avh"
  verification:
    verify_after_sync: true
    verify_method: "size"
    cache_dir: "$LAB/cache"
datajoint:
$(dj_config)
recording_db:
  path: "$RECDB"
deletion:
  min_age_minutes: 60
  log_path: "$LAB/deletions.log"
timeouts:
  share_seconds: 2
  database_seconds: 2
service:
  lock_dir: "$LAB/locks"
EOF
    # It holds the DataJoint password: readable by its owner only.
    chmod 600 "$LAB/backup_config.yaml"
}

share_mount() {
    mkdir -p "$SHARE"
    mountpoint -q "$SHARE" || mount -t tmpfs -o size=256m,mode=0755 tmpfs "$SHARE"
    mkdir -p "$DEST"
}

# Deepest first, so nested mounts (a FUSE mount inside the lab) go before
# their parents.
umount_all() {
    local m
    awk -v lab="$LAB" '{ p = $5; gsub(/\\040/, " ", p);
        if (p == lab || index(p, lab "/") == 1) print length(p) "\t" p }' /proc/self/mountinfo |
        sort -rn | cut -f2- | while IFS= read -r m; do
        fusermount3 -uz "$m" >/dev/null 2>&1 || umount -l "$m" 2>/dev/null || true
    done
}

# up [--tls]
cmd_up() {
    [[ -e "$LAB/.up" ]] && die "$LAB is already up"
    local tls=0
    case "${1:-}" in
    --tls) tls=1 ;;
    "") ;;
    *) die "usage: up [--tls]" ;;
    esac
    mkdir -p "$LAB" "$LAB/data"
    local tmpl
    tmpl=$(datadir_template)
    cp -a "$tmpl" "$DB"
    rm -f "$DB/.complete"
    if ((tls)); then
        tls_make
        db_start_tls
    else
        db_start
    fi
    create_schemas
    create_recdb
    share_mount
    write_config
    touch "$LAB/.up"
}

cmd_down() {
    [[ -d "$LAB" ]] || return 0
    db_stop
    umount_all
    # Never follow a mount that survived into another filesystem.
    rm -rf --one-file-system -- "$LAB"
}

# lab.sh session P D [--videos N] [--size BYTES] [--imported] [--dj] [--copy] [--age MIN]
cmd_session() {
    (($# >= 2)) || die "usage: session P D [--videos N] [--size BYTES] [--imported] [--dj] [--copy] [--age MINUTES]"
    local p=$1 d=$2
    shift 2
    [[ "$d" =~ ^[0-9]{8}$ ]] || die "session date '$d' is not YYYYMMDD"
    [[ "$p" =~ ^[A-Za-z0-9_-]+$ ]] || die "participant '$p' has odd characters"
    local videos=4 size=2000 imported=0 dj=0 copy=0 age=180
    while (($#)); do
        case "$1" in
        --videos) videos=$2; shift ;;
        --size) size=$2; shift ;;
        --imported) imported=1 ;;
        --dj) dj=1 ;;
        --copy) copy=1 ;;
        --age) age=$2; shift ;;
        *) die "session: unknown option $1" ;;
        esac
        shift
    done
    local dir=$LAB/data/$p/$d base=trial_${d}_093000 i
    mkdir -p "$dir"
    for ((i = 1; i <= videos; i++)); do
        head -c "$size" /dev/urandom >"$dir/$base.$((22000 + i)).mp4"
    done
    printf '{"participant": "%s", "date": "%s", "serials": [%s]}\n' "$p" "$d" \
        "$(seq -s, 22001 $((22000 + videos)))" >"$dir/$base.json"
    find "$dir" -exec touch -h -d "$age minutes ago" {} +

    local iso=${d:0:4}-${d:4:2}-${d:6:2}
    recdb_add "$p" "$iso" "$dir" "$base" "$imported"
    if ((dj)); then
        dj_add "$p" "$iso" "$base" "$videos"
    fi
    if ((copy)); then
        mkdir -p "$DEST/$d/$p"
        rsync -a "$dir/" "$DEST/$d/$p/"
        cmd_marker "$p" "$d"
    fi
}

# The copy marker mctctl sync writes (.mctfs-copy): a copy counts for a
# session only when its marker names it. The lab's copies are made as a
# sync would have made them.
cmd_marker() {
    (($# >= 2)) || die "usage: marker P D [FOLDER]"
    local p=$1 d=$2 folder=${3:-$DEST/$2/$1}
    printf '# mctfs copy marker (lab.sh)\nformat: 1\nparticipant_id: %s\nsession_date: %s\n' \
        "$p" "$d" >"$folder/.mctfs-copy"
}

# Participant and session rows are reused when they exist, so running
# `session` twice for one day (or adding --imported later) stays consistent.
recdb_add() {
    { echo "BEGIN;"; recdb_sql "$@"; echo "COMMIT;"; } | sqlite3 "$RECDB"
}

recdb_sql() {
    local p=$1 iso=$2 dir=$3 base=$4 imported=$5
    local sid="(SELECT s.id FROM sessions s JOIN participants p ON p.id = s.participant_id
        WHERE p.name = '$p' AND s.session_date = '$iso')"
    {
        echo "INSERT INTO participants (name) SELECT '$p'
            WHERE NOT EXISTS (SELECT 1 FROM participants WHERE name = '$p');"
        echo "INSERT INTO sessions (session_date, session_path, participant_id)
            SELECT '$iso', '$dir', id FROM participants WHERE name = '$p'
            AND NOT EXISTS $sid;"
        echo "INSERT INTO recordings (session_id, filename, recording_timestamp, comment,
            config_file, should_process, timestamp_spread)
            SELECT $sid, '$base', '$iso 09:30:00.000000', '', 'config.yaml', 1, 3
            WHERE NOT EXISTS (SELECT 1 FROM recordings WHERE session_id = $sid);"
        if ((imported)); then
            echo "INSERT INTO imported (session_id) SELECT $sid
                WHERE NOT EXISTS (SELECT 1 FROM imported WHERE session_id = $sid);"
        fi
    }
}

# The GUI's normalisation: p/t followed only by digits loses the letter.
normalize() {
    if [[ "$1" =~ ^[pt][0-9]+$ ]]; then echo "${1:1}"; else echo "$1"; fi
}

# One rig records one participant at a time, so real recording timestamps
# are unique; the lab puts every session at 09:30:00, so the config hash and
# the video project carry the participant to keep same-day sessions apart.
dj_keys() {
    local n
    n=$(normalize "$1")
    HASH="abc123_$n"
    PROJECT="lab_$n"
}

dj_add() {
    { echo "BEGIN;"; dj_sql "$@"; echo "COMMIT;"; } | sql_root
}

dj_sql() {
    local p=$1 iso=$2 base=$3 videos=$4 n i
    n=$(normalize "$p")
    dj_keys "$p"
    local ts="$iso 09:30:00"
    {
        echo "INSERT IGNORE INTO mocap_sessions.subject VALUES ('$n');"
        echo "INSERT IGNORE INTO mocap_sessions.session VALUES ('$n', '$iso');"
        echo "INSERT IGNORE INTO multicamera_tracking.multi_camera_recording VALUES ('$ts', '$HASH', '$PROJECT', '$base');"
        echo "INSERT IGNORE INTO mocap_sessions.recording VALUES ('$n', '$iso', '$ts', '$HASH', '');"
        for ((i = 1; i <= videos; i++)); do
            local f="$base.$((22000 + i)).mp4"
            echo "INSERT IGNORE INTO pose_pipeline.video VALUES ('$PROJECT', '$f', NULL, '$ts');"
            echo "INSERT IGNORE INTO multicamera_tracking.single_camera_video VALUES ('$ts', '$HASH', '$PROJECT', '$f', '$((22000 + i))', NULL);"
        done
    }
}

# Many sessions at once, for benchmarks: N sessions of F files (F-1 videos
# and a .json, sparse files of B bytes), 50 participants p000..p049 on
# consecutive days from 20200101, every one copied to the share, every
# even-numbered one imported (SQLite and DataJoint). SQL goes in one batch.
cmd_bulk() {
    (($# >= 1)) || die "usage: bulk N [--files F] [--size BYTES]"
    local n=$1 files=10 size=2000
    shift
    while (($#)); do
        case "$1" in
        --files) files=$2; shift ;;
        --size) size=$2; shift ;;
        *) die "bulk: unknown option $1" ;;
        esac
        shift
    done
    local i j p d iso base dir names
    local recsql=$LAB/bulk-recdb.sql djsql=$LAB/bulk-dj.sql
    echo "BEGIN;" >"$recsql"
    echo "BEGIN;" >"$djsql"
    for ((i = 0; i < n; i++)); do
        p=$(printf 'p%03d' $((i % 50)))
        d=$(date -u -d "2020-01-01 + $((i / 50)) days" +%Y%m%d)
        iso=${d:0:4}-${d:4:2}-${d:6:2}
        base=trial_${d}_093000
        dir=$LAB/data/$p/$d
        mkdir -p "$dir" "$DEST/$d/$p"
        names=("$dir/$base.json")
        for ((j = 1; j < files; j++)); do names+=("$dir/$base.$((22000 + j)).mp4"); done
        truncate -s "$size" "${names[@]}"
        touch -d "3 hours ago" "${names[@]}"
        cp -a "$dir/." "$DEST/$d/$p/"
        cmd_marker "$p" "$d"
        recdb_sql "$p" "$iso" "$dir" "$base" $((i % 2 == 0)) >>"$recsql"
        if ((i % 2 == 0)); then dj_sql "$p" "$iso" "$base" $((files - 1)) >>"$djsql"; fi
    done
    echo "COMMIT;" >>"$recsql"
    echo "COMMIT;" >>"$djsql"
    sqlite3 "$RECDB" <"$recsql"
    sql_root <"$djsql"
    rm -f "$recsql" "$djsql"
}

# The source base on a tmpfs of its own, SIZE as mount(8)'s size= (e.g.
# 8m), holding what data/ held (recordings.db): a small /data that fills,
# for reclaim. Before any session is made.
cmd_data_tmpfs() {
    (($# == 1)) || die "usage: data-tmpfs SIZE"
    mountpoint -q "$LAB/data" && die "$LAB/data is a mount already"
    mv -T "$LAB/data" "$LAB/data.before"
    mkdir "$LAB/data"
    mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$LAB/data"
    cp -a "$LAB/data.before/." "$LAB/data/"
    rm -rf -- "$LAB/data.before"
    # A fresh tmpfs numbers its inodes from the start, as the share's did:
    # copies would have their source's inode numbers and look like the
    # source seen through an overlay (policy.c). Numbers used are not
    # given again, so use up some.
    mkdir "$LAB/data/.ino"
    (cd "$LAB/data/.ino" && touch $(seq 1 20000))
    rm -rf -- "$LAB/data/.ino"
}

# Rows vanish from DataJoint after the import in real life (someone deletes
# a subject, a recording is repopulated): foreign keys are switched off so
# exactly the one table loses its rows.
cmd_dj_delete() {
    (($# == 3)) || die "usage: dj-delete TABLE P D"
    local table=$1 p=$2 d=$3 n where
    n=$(normalize "$p")
    dj_keys "$p"
    local iso=${d:0:4}-${d:4:2}-${d:6:2}
    local ts="$iso 09:30:00"
    case "$table" in
    subject) where="mocap_sessions.subject WHERE participant_id = '$n'" ;;
    session) where="mocap_sessions.session WHERE participant_id = '$n' AND session_date = '$iso'" ;;
    recording) where="mocap_sessions.recording WHERE participant_id = '$n' AND session_date = '$iso'" ;;
    multi_camera_recording) where="multicamera_tracking.multi_camera_recording WHERE recording_timestamps = '$ts' AND camera_config_hash = '$HASH'" ;;
    single_camera_video) where="multicamera_tracking.single_camera_video WHERE recording_timestamps = '$ts' AND camera_config_hash = '$HASH'" ;;
    video) where="pose_pipeline.video WHERE video_project = '$PROJECT' AND filename LIKE 'trial\\_${d}\\_%'" ;;
    *) die "dj-delete: unknown table $table" ;;
    esac
    sql_root -e "SET FOREIGN_KEY_CHECKS = 0; DELETE FROM $where; SELECT ROW_COUNT();"
}

cmd=${1:-}
[[ -n "$cmd" ]] && shift
case "$cmd" in
up) cmd_up "$@" ;;
down) cmd_down ;;
session) cmd_session "$@" ;;
bulk) cmd_bulk "$@" ;;
marker) cmd_marker "$@" ;;
dj-delete) cmd_dj_delete "$@" ;;
data-tmpfs) cmd_data_tmpfs "$@" ;;
sql) sql_root -e "$*" ;;
sqlite) sqlite3 "$RECDB" "$*" ;;
db-stop) db_stop ;;
db-start) db_start "$@" ;;
share-umount) umount -l "$SHARE" ;;
share-mount) share_mount ;;
*) die "usage: lab.sh up|down|session|bulk|marker|dj-delete|data-tmpfs|sql|sqlite|db-stop|db-start|share-umount|share-mount" ;;
esac
