#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The install, checked end to end: `meson install` into a temp DESTDIR, every
# expected file present, `systemd-analyze verify` of the installed units,
# the man pages rendered without a warning and covering every config key and
# command, the bash completion, the mount(8) helper's argument translation
# (and, as root, mount(8) really calling it), and the batch wrapper.
#
#   tests/install/test-install.sh BUILD_DIR SOURCE_DIR
#
# meson passes the directories and, in the environment, MESON (the meson
# command), MCT_VERSION, MCT_PREFIX, MCT_BINDIR, MCT_SBINDIR,
# MCT_LIBEXECDIR, MCT_HELPERDIR (where mount.mctfs goes), MCT_DATADIR,
# MCT_MANDIR (absolute, as configured). Prints "N passed, M failed" last;
# exits 1 on any failure.
set -uo pipefail
# The bash -c scripts are single-quoted on purpose: they take "$1".
# shellcheck disable=SC2016

build=${1:?usage: test-install.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: test-install.sh BUILD_DIR SOURCE_DIR}
build=$(cd "$build" && pwd)
src=$(cd "$src" && pwd)

# Defaults when run by hand from a build directory configured with the defaults.
: "${MCT_PREFIX:=/usr/local}"
: "${MCT_BINDIR:=$MCT_PREFIX/bin}"
: "${MCT_SBINDIR:=$MCT_PREFIX/sbin}"
: "${MCT_LIBEXECDIR:=$MCT_PREFIX/libexec}"
: "${MCT_HELPERDIR:=/sbin}"
: "${MCT_DATADIR:=$MCT_PREFIX/share}"
: "${MCT_MANDIR:=$MCT_DATADIR/man}"
: "${MCT_VERSION:=}"
read -r -a meson_cmd <<<"${MESON:-meson}"

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok $((passed + failed)) - $*"
}
not_ok() {
    failed=$((failed + 1))
    echo "not ok $((passed + failed)) - $*"
}
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
skip() {
    echo "# skip: $*"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mctfs-install.XXXXXX")
cleanup() {
    rm -rf "$tmp"
}
trap cleanup EXIT
D=$tmp/destdir

# ---------------------------------------------------------------- install
echo "# meson install -C $build --destdir $D"
if "${meson_cmd[@]}" install -C "$build" --destdir "$D" --no-rebuild >"$tmp/install.log" 2>&1; then
    ok "meson install into DESTDIR"
else
    not_ok "meson install into DESTDIR"
    sed 's/^/#   /' "$tmp/install.log"
fi

echo "# installed files (relative to DESTDIR):"
(cd "$D" 2>/dev/null && find . \( -type f -o -type l \) | sed 's|^\.||' | sort | sed 's/^/#   /')

bin=$D$MCT_BINDIR
sbin=$D$MCT_SBINDIR
libexec=$D$MCT_LIBEXECDIR
helperdir=$D$MCT_HELPERDIR
man=$D$MCT_MANDIR
unitdir=$D$MCT_PREFIX/lib/systemd/system
docdir=$D$MCT_DATADIR/doc/mctfs
compdir=$D$MCT_DATADIR/bash-completion/completions

for f in "$bin/mctctl" "$bin/mctctl-batch-recent" "$sbin/mctfs" "$helperdir/mount.mctfs" \
    "$libexec/mctfs-notify-failure"; do
    check "installed, executable: ${f#"$D"}" test -f "$f" -a -x "$f"
done
check "installed: ${helperdir#"$D"}/mount.fuse.mctfs -> mount.mctfs" \
    test "$(readlink "$helperdir/mount.fuse.mctfs" 2>/dev/null)" = mount.mctfs
check "mount.mctfs runs the mctfs of this prefix ($MCT_SBINDIR/mctfs)" \
    grep -qF "$MCT_SBINDIR/mctfs" "$helperdir/mount.mctfs"
for f in "$man/man1/mctctl.1" "$man/man8/mctfs.8" \
    "$unitdir/mctfs.service" "$unitdir/mctctl-batch.service" "$unitdir/mctctl-batch.timer" \
    "$unitdir/mctfs-failure@.service" \
    "$compdir/mctctl" "$docdir/backup_config.example.yaml" "$docdir/admin-guide.md" \
    "$docdir/prometheus/alerts.yml"; do
    check "installed: ${f#"$D"}" test -s "$f"
done

# ---------------------------------------------------------------- versions
if [ -n "$MCT_VERSION" ]; then
    for p in "$bin/mctctl" "$sbin/mctfs"; do
        out=$("$p" --version 2>&1 </dev/null)
        check "${p##*/} --version prints $MCT_VERSION (got: ${out:-nothing})" \
            grep -qwF -- "$MCT_VERSION" <<<"$out"
    done
fi

# ---------------------------------------------------------------- units
units=("$unitdir/mctfs.service" "$unitdir/mctctl-batch.service" "$unitdir/mctctl-batch.timer"
    "$unitdir/mctfs-failure@.service")
check "units: every @variable@ substituted" bash -c '! grep -n "@[a-z]*@" "$@"' _ "${units[@]}"
check "mctfs.service: ExecStart=$MCT_SBINDIR/mctfs -f ..." \
    grep -qxF "ExecStart=$MCT_SBINDIR/mctfs -f -c \${MCTFS_CONFIG} -o allow_other \${MCTFS_MOUNTPOINT}" \
    "$unitdir/mctfs.service"
# The mount point is set in one place: no line but its Environment= names it.
check "mctfs.service: /mctfs only in Environment=MCTFS_MOUNTPOINT=/mctfs" \
    bash -c 'test "$(grep -v "^#" "$1" | grep -cE "(^|[ =])/mctfs( |$)")" = 1 &&
        grep -qx "Environment=MCTFS_MOUNTPOINT=/mctfs" "$1"' _ "$unitdir/mctfs.service"
for u in mctfs.service mctctl-batch.service; do
    check "$u: OnFailure=mctfs-failure@%n.service" \
        grep -qxF "OnFailure=mctfs-failure@%n.service" "$unitdir/$u"
done
check "mctfs-failure@.service: ExecStart=$MCT_LIBEXECDIR/mctfs-notify-failure %i" \
    grep -qxF "ExecStart=$MCT_LIBEXECDIR/mctfs-notify-failure %i" "$unitdir/mctfs-failure@.service"
check "mctctl-batch.service: ExecStart=$MCT_BINDIR/mctctl-batch-recent --reclaim" \
    grep -qx "ExecStart=$MCT_BINDIR/mctctl-batch-recent --reclaim" "$unitdir/mctctl-batch.service"

if command -v systemd-analyze >/dev/null; then
    # The units name the programs where they will be after a real install
    # (e.g. /usr/local/sbin/mctfs), which is not where this install put them.
    # `--root=DESTDIR` would also move sysinit.target & co. out of reach, so
    # verify copies whose prefix points into DESTDIR instead: that checks the
    # syntax, every key, the dependencies, that each Exec program exists
    # (in DESTDIR) and, through MANPATH, that the Documentation= man pages
    # were installed.
    mkdir -p "$tmp/units"
    for u in "${units[@]}"; do
        sed "s|$MCT_PREFIX/|$D$MCT_PREFIX/|g" "$u" >"$tmp/units/${u##*/}"
    done
    # A template is verified as an instance: the one OnFailure= starts.
    mv "$tmp/units/mctfs-failure@.service" "$tmp/units/mctfs-failure@mctctl-batch.service.service"
    echo "# systemd-analyze verify $MCT_PREFIX/lib/systemd/system/{mctfs.service,mctctl-batch.service,mctctl-batch.timer,mctfs-failure@.service}"
    out=$(cd "$tmp/units" && MANPATH=$man systemd-analyze verify \
        mctfs.service mctctl-batch.service mctctl-batch.timer \
        mctfs-failure@mctctl-batch.service.service 2>&1)
    rc=$?
    echo "# systemd-analyze verify: exit $rc, output: ${out:-(none)}"
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify: no errors, no warnings"
    else
        not_ok "systemd-analyze verify: no errors, no warnings"
        sed 's/^/#   /' <<<"$out"
    fi
    # For the record (not asserted): systemd's own score of the hardening.
    if sec=$(cd "$tmp/units" && systemd-analyze security --offline=yes mctfs.service 2>/dev/null); then
        echo "# $(grep 'Overall exposure' <<<"$sec")"
    fi
else
    not_ok "systemd-analyze not found: install the systemd package (tools/bootstrap)"
fi

# The hardening must not give mctfs.service a private mount namespace: the
# FUSE mount would then be invisible outside the service (systemd.exec(5)).
check "mctfs.service: no option that hides its mount from the host" \
    bash -c '! grep -nE "^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|ReadWritePaths|ReadOnlyPaths|InaccessiblePaths|TemporaryFileSystem|BindPaths|BindReadOnlyPaths|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|MountFlags|LogNamespace|RootDirectory|RootImage)=" "$1"' \
    _ "$unitdir/mctfs.service"
for k in User=mctfs "DeviceAllow=/dev/fuse rw" Restart=on-failure "ExecStop=-/bin/fusermount3 -u \${MCTFS_MOUNTPOINT}" RequiresMountsFor=/data LimitNOFILE=524288; do
    check "mctfs.service: $k" grep -qxF "$k" "$unitdir/mctfs.service"
done
# It mounts through the setuid fusermount3: NoNewPrivileges= would stop it.
check "mctfs.service: no NoNewPrivileges= (fusermount3 is setuid)" \
    bash -c '! grep -q "^NoNewPrivileges=" "$1"' _ "$unitdir/mctfs.service"
for k in User=mctfs NoNewPrivileges=yes CapabilityBoundingSet= LimitNOFILE=524288; do
    check "mctctl-batch.service: $k" grep -qxF "$k" "$unitdir/mctctl-batch.service"
done
check "mctctl-batch.timer: OnCalendar=*-*-* 02:30, Persistent=true" \
    bash -c 'grep -qxF "OnCalendar=*-*-* 02:30" "$1" && grep -qxF "Persistent=true" "$1"' _ "$unitdir/mctctl-batch.timer"

# ---------------------------------------------------------------- man pages
if command -v man >/dev/null; then
    for page in "$man/man1/mctctl.1" "$man/man8/mctfs.8"; do
        # On the utf8 device, as a UTF-8 terminal of 80 columns sees it,
        # with every groff warning on.
        err=$(MANWIDTH=80 man -l --warnings -E UTF-8 -Tutf8 "$page" 2>&1 >/dev/null)
        check "man -l --warnings -Tutf8 ${page##*/}: no warnings${err:+ (got: $err)}" test -z "$err"
        err=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l --warnings=w "$page" 2>&1 >/dev/null)
        check "man -l --warnings=w ${page##*/} at 80 columns: no warnings${err:+ (got: $err)}" test -z "$err"
    done
else
    not_ok "man not found: install man-db and groff-base (tools/bootstrap)"
fi

# roff writes "-" as "\-": look for options in that form.
roff() { sed 's/-/\\-/g' <<<"$1"; }

# Every key of the documented example config is in mctfs(8).
keys=$(sed -nE 's/^[[:space:]]*(- )?([a-z_]+):.*/\2/p' "$src/config/backup_config.example.yaml" | sort -u)
missing=()
for k in $keys; do
    grep -qwF -- "$(roff "$k")" "$man/man8/mctfs.8" || missing+=("$k")
done
check "mctfs.8 documents every config key ($(wc -w <<<"$keys") keys)${missing[*]:+; missing: ${missing[*]}}" \
    test ${#missing[@]} -eq 0

# Every mctctl command (from the dispatch table) is in mctctl(1) and the completion.
cmds=$(sed -nE 's/^[[:space:]]*\{"([a-z-]+)", cmd_.*/\1/p' "$src/tools/installed/mctctl/main.c")
check "mctctl commands found in tools/installed/mctctl/main.c (${cmds//$'\n'/ })" test -n "$cmds"
missing=()
for c in $cmds; do
    grep -qF -- "\\fB$(roff "$c")\\fR" "$man/man1/mctctl.1" || missing+=("mctctl.1:$c")
    grep -qE "^[[:space:]]*local commands=.*[\" ]${c}[\" ]" "$compdir/mctctl" || missing+=("completion:$c")
done
check "every command in mctctl.1 and the completion${missing[*]:+; missing: ${missing[*]}}" \
    test ${#missing[@]} -eq 0

missing=()
for o in --config --verbose --version --json --no-color --help --dry-run --force-unverified \
    --start-date --end-date --checksum --days --allow-root; do
    grep -qF -- "$(roff "$o")" "$man/man1/mctctl.1" || missing+=("$o")
done
for o in --config --help --version --allow-root; do
    grep -qF -- "$(roff "$o")" "$man/man8/mctfs.8" || missing+=("mctfs.8:$o")
done
check "every option documented${missing[*]:+; missing: ${missing[*]}}" test ${#missing[@]} -eq 0

missing=()
for w in EPERM EBUSY EINVAL EACCES EIO EROFS ENOENT SYNC VERIFY DELETE \
    .status .status.json .backup_status .safe_to_delete .control \
    MCTFS_CONFIG MCTFS_ALLOW_ROOT DJ_HOST DJ_PORT DJ_USER DJ_PASS verified unverified missing unreachable \
    user_allow_other service.user; do
    grep -qF -- "$(roff "$w")" "$man/man8/mctfs.8" || missing+=("mctfs.8:$w")
done
for w in MCTFS_CONFIG MCTFS_ALLOW_ROOT DJ_HOST DJ_PORT DJ_USER DJ_PASS NO_COLOR MCTCTL_BATCH_DAYS "EXIT STATUS" service.user; do
    grep -qF -- "$(roff "$w")" "$man/man1/mctctl.1" || missing+=("mctctl.1:$w")
done
check "virtual files, control commands, errnos, environment documented${missing[*]:+; missing: ${missing[*]}}" \
    test ${#missing[@]} -eq 0

# ---------------------------------------------------------------- completion
comp=$compdir/mctctl
err=$(bash --norc --noprofile -c 'source "$1" && complete -p mctctl' _ "$comp" 2>&1 >/dev/null)
check "completion: sourced by bash without error${err:+ (got: $err)}" test -z "$err"
check "completion: complete -p mctctl is set" \
    bash --norc --noprofile -c 'source "$1" && complete -p mctctl | grep -q "_mctctl mctctl"' _ "$comp"

mkdir -p "$tmp/lab/data"/{p001,p002,xyz}/{20250104,20250105} "$tmp/lab/data/p003/20250301" \
    "$tmp/lab/inv"/20250301/{p009,TR1}
touch "$tmp/lab/data/recordings.db"
cat >"$tmp/lab/a.yaml" <<EOF
backup:
  destinations:
    - name: "share"
      mount_point: "/mnt/CottonLab"
      base_path: "/mnt/CottonLab/not-this"   # a destination's base_path
  source:
    base_path: "$tmp/lab/data"   # the source
    path_structure: "{participant_id}/{session_date}"
  filters:
    participant_prefixes: ["m", 'p', TR]
EOF
cat >"$tmp/lab/b.yaml" <<EOF
backup:
  source:
    path_structure: '{session_date}/{participant_id}'
    base_path: $tmp/lab/inv
  filters:
    participant_prefixes:
      - "TR"
EOF
# complete WORD...: what completing the last word offers, space-separated.
complete_words() {
    (cd "$tmp/lab" && bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mctctl
        echo "${COMPREPLY[*]}"' _ "$comp" "$@")
}
expect_completion() {
    local want=$1
    shift
    local got
    got=$(complete_words "$@")
    if [ "$got" = "$want" ]; then
        ok "completion: '$*' -> '$want'"
    else
        not_ok "completion: '$*' -> '$want' (got '$got')"
    fi
}
A=$tmp/lab/a.yaml
expect_completion "sync batch status status-range verify delete bulk-delete audit reclaim config metrics" mctctl ""
expect_completion "status status-range" mctctl -c "$A" st
expect_completion "p001 p002 p003" mctctl -c "$A" sync ""
expect_completion "20250104 20250105" mctctl -c "$A" delete p001 ""
expect_completion "20250301" mctctl --config="$A" verify p003 ""
expect_completion "p001 p002 p003 20250104 20250105 20250301" mctctl -c "$A" status ""
expect_completion "20250104 20250105 20250301" mctctl -c "$A" status-range --start-date ""
expect_completion "20250104 20250105 20250301" mctctl -c "$A" batch ""
expect_completion "--dry-run --force-unverified --include-unmanaged --json --no-color --help" mctctl -c "$A" delete p001 20250104 --
expect_completion "--start-date --end-date --dry-run --json --no-color --help" mctctl bulk-delete --
expect_completion "--checksum" mctctl verify p001 20250104 --ch
expect_completion "-c --config -v --verbose --json --no-color -h --help --version" mctctl -
expect_completion "TR1" mctctl -c "$tmp/lab/b.yaml" sync ""
expect_completion "20250301" mctctl -c "$tmp/lab/b.yaml" sync TR1 ""
got=$(cd "$tmp/lab" && MCTFS_CONFIG=$tmp/lab/b.yaml bash --norc --noprofile -c '
    source "$1"; COMP_WORDS=(mctctl sync ""); COMP_CWORD=2; _mctctl; echo "${COMPREPLY[*]}"' _ "$comp")
check "completion: \$MCTFS_CONFIG is read (got '$got')" test "$got" = TR1

# ---------------------------------------------------------------- mount helper
# A fake mctfs that records its argument vector, one argument a line.
fake=$tmp/fake-mctfs
cat >"$fake" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$tmp/argv"
EOF
chmod +x "$fake"

# helper_case NAME EXPECTED_ARGV(|-separated, or "NOT RUN") HELPER ARGS...
helper_case() {
    local name=$1 want=$2 helper=$3
    shift 3
    rm -f "$tmp/argv"
    MCTFS_BIN=$fake "$helper" "$@" >"$tmp/helper.out" 2>&1
    local rc=$? got
    if [ -f "$tmp/argv" ]; then
        got=$(paste -sd'|' "$tmp/argv")
    else
        got="NOT RUN"
    fi
    if [ "$got" = "$want" ]; then
        ok "mount helper: $name -> $want (exit $rc)"
    else
        not_ok "mount helper: $name -> $want (got: $got, exit $rc: $(cat "$tmp/helper.out"))"
    fi
    return $rc
}
H=$helperdir/mount.mctfs
helper_case "fstab options" "-c|/etc/mctfs/backup_config.yaml|/mctfs|-o|rw,allow_other" \
    "$H" /etc/mctfs/backup_config.yaml /mctfs -o rw,allow_other,_netdev,defaults,nofail,noauto,x-systemd.requires-mounts-for=/mnt/CottonLab,comment=x
helper_case "mctfs#CONFIG source" "-c|/etc/mctfs/lab.yaml|/mctfs|-o|allow_other" \
    "$H" "mctfs#/etc/mctfs/lab.yaml" /mctfs -o allow_other
helper_case "as mount.fuse.mctfs, with -t fuse.mctfs" "-c|/etc/mctfs/lab.yaml|/mctfs|-o|allow_other,default_permissions" \
    "$helperdir/mount.fuse.mctfs" /etc/mctfs/lab.yaml /mctfs -o allow_other -t fuse.mctfs -o default_permissions
helper_case "a config path with a space" "-c|/etc/mctfs/my lab.yaml|/mnt/my view" \
    "$H" "/etc/mctfs/my lab.yaml" "/mnt/my view" -o defaults
helper_case "source 'none': mctfs searches for the config" "/mctfs" "$H" none /mctfs -n -s
helper_case "-f (fake): nothing run" "NOT RUN" "$H" /etc/mctfs/lab.yaml /mctfs -fv
if helper_case "a relative config path is refused" "NOT RUN" "$H" lab.yaml /mctfs; then
    not_ok "mount helper: relative path: non-zero exit"
else
    ok "mount helper: relative path: non-zero exit"
fi
if helper_case "setuid= is refused" "NOT RUN" "$H" /etc/mctfs/lab.yaml /mctfs -o setuid=bob; then
    not_ok "mount helper: setuid=: non-zero exit"
else
    ok "mount helper: setuid=: non-zero exit"
fi
rm -f "$tmp/argv"
MCTFS_BIN=$fake "$H" >/dev/null 2>&1
check "mount helper: usage error without arguments" test $? -ne 0 -a ! -f "$tmp/argv"

# mount(8) itself finding the helper: only root can, in a private mount
# namespace, so the host is untouched. First with a fake mctfs: the
# installed helper dir bound over /usr/sbin (= /sbin) and a test fstab over
# /etc/fstab.
can_mount=false
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    can_mount=true
fi
if $can_mount; then
    mkdir -p "$tmp/mnt"
    printf '%s\n' "$tmp/lab/a.yaml  $tmp/mnt  mctfs  defaults,allow_other,_netdev  0 0" >"$tmp/fstab"
    rm -f "$tmp/argv"
    out=$(MCTFS_BIN=$fake unshare -m bash -c '
        set -e
        mount --make-rprivate /
        mount --bind "$1" /usr/sbin
        mount -t mctfs -o allow_other,_netdev "$2" "$3"' _ "$helperdir" "$tmp/lab/a.yaml" "$tmp/mnt" 2>&1)
    got=$(paste -sd'|' "$tmp/argv" 2>/dev/null)
    check "mount -t mctfs CONFIG DIR runs the installed helper (got: ${got:-$out})" \
        test "$got" = "-c|$tmp/lab/a.yaml|$tmp/mnt|-o|rw,allow_other"
    rm -f "$tmp/argv"
    out=$(MCTFS_BIN=$fake unshare -m bash -c '
        set -e
        mount --make-rprivate /
        mount --bind "$1" /usr/sbin
        mount --bind "$2" /etc/fstab
        mount "$3"' _ "$helperdir" "$tmp/fstab" "$tmp/mnt" 2>&1)
    got=$(paste -sd'|' "$tmp/argv" 2>/dev/null)
    check "mount DIR with an fstab line of type mctfs runs the helper (got: ${got:-$out})" \
        test "$got" = "-c|$tmp/lab/a.yaml|$tmp/mnt|-o|rw,allow_other"
    # The fuse form of an fstab line: "mctfs#CONFIG DIR fuse.mctfs ..."
    # (mount.fuse.mctfs).
    printf '%s\n' "mctfs#$tmp/lab/a.yaml  $tmp/mnt  fuse.mctfs  defaults,allow_other,_netdev  0 0" >"$tmp/fstab"
    rm -f "$tmp/argv"
    out=$(MCTFS_BIN=$fake unshare -m bash -c '
        set -e
        mount --make-rprivate /
        mount --bind "$1" /usr/sbin
        mount --bind "$2" /etc/fstab
        mount "$3"' _ "$helperdir" "$tmp/fstab" "$tmp/mnt" 2>&1)
    got=$(paste -sd'|' "$tmp/argv" 2>/dev/null)
    check "mount DIR with an fstab line 'mctfs#CONFIG ... fuse.mctfs' runs the helper (got: ${got:-$out})" \
        test "$got" = "-c|$tmp/lab/a.yaml|$tmp/mnt|-o|rw,allow_other"
else
    skip "mount(8) -> mount.mctfs: needs root and unshare -m"
fi

# And for real, as an admin does it: `meson install` (no DESTDIR) of a build
# with PREFIX, then the admin guide's fstab line and `mount DIR`. In a
# private mount namespace whose /usr is an overlay on a tmpfs, so the
# install lands there and the host is untouched; mount(8) then finds the
# helper where the install put it, or not at all.
real_mount() { # PREFIX BUILD_DIR
    local prefix=$1 b=$2 out
    printf '%s\n' 'backup:' '  destinations: []' '  source:' \
        "    base_path: \"$tmp/lab/data\"" 'datajoint:' '  host: "127.0.0.1"' '  port: 9' \
        'deletion:' "  log_path: \"$tmp/deletions.log\"" 'timeouts:' '  share_seconds: 1' \
        '  database_seconds: 1' >"$tmp/real.yaml"
    # The admin guide's line (section 2, fstab) with this test's paths.
    printf '%s\n' "$tmp/real.yaml  $tmp/mnt  mctfs  defaults,allow_other,_netdev  0 0" >"$tmp/fstab"
    mkdir -p "$tmp/mnt" "$tmp/ovl"
    out=$(env -u MCTFS_BIN timeout 240 unshare -m bash -c '
        mount --make-rprivate / || exit 1
        mount -t tmpfs tmpfs "$4" || exit 1
        mkdir "$4/upper" "$4/work" || exit 1
        mount -t overlay overlay -o "lowerdir=/usr,upperdir=$4/upper,workdir=$4/work" /usr ||
            { echo "no overlay on /usr"; exit 1; }
        [ -L /sbin ] || mount -t tmpfs tmpfs /sbin || exit 1
        "${@:6}" install -C "$5" --no-rebuild --quiet >/dev/null || { echo "meson install failed"; exit 1; }
        mount --bind "$2" /etc/fstab || exit 1
        mount "$3" || { echo "mount failed"; exit 1; }
        for _ in $(seq 50); do mountpoint -q "$3" && break; sleep 0.1; done
        echo "type: $(findmnt -n -o FSTYPE "$3")"
        echo "ls: $(ls "$3" | tr "\n" " ")"
        echo "safe: $(head -c 3 "$3/p001/20250104/.safe_to_delete")"
        # A second mount on it is refused, and leaves one mount.
        mount "$3" >/dev/null 2>&1 && echo "second mount: exit 0"
        echo "mounts: $(grep -c " $3 " /proc/self/mountinfo)"
        fusermount3 -u "$3" || umount -l "$3"' _ "$prefix" "$tmp/fstab" "$tmp/mnt" "$tmp/ovl" \
        "$b" "${meson_cmd[@]}" 2>&1)
    echo "# prefix $prefix: meson install, then mount from fstab: $(tr '\n' ';' <<<"$out")"
    check "prefix $prefix: the fstab line mounts the installed mctfs (fuse.mctfs)" \
        grep -qx "type: fuse.mctfs" <<<"$out"
    check "prefix $prefix: the mounted view lists the sessions" grep -q "^ls: .*p001 p002 p003" <<<"$out"
    check "prefix $prefix: the mounted view serves .safe_to_delete (no: nothing enabled)" \
        grep -qx "safe: no:" <<<"$out"
    check "prefix $prefix: a second mount on it fails and leaves one mount" \
        bash -c '! grep -q "second mount: exit 0" <<<"$1" && grep -qx "mounts: 1" <<<"$1"' _ "$out"
}
if $can_mount && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
    real_mount "$MCT_PREFIX" "$build"
    # The prefix README.md and the admin guide document, when this build
    # has another: a build of its own, without the tests.
    if [ "$MCT_PREFIX" != /usr ]; then
        if "${meson_cmd[@]}" setup --prefix=/usr -Dtests=false -Dbuildtype=plain "$tmp/build-usr" \
            "$src" >"$tmp/setup.log" 2>&1 && ninja -C "$tmp/build-usr" >>"$tmp/setup.log" 2>&1; then
            real_mount /usr "$tmp/build-usr"
        else
            not_ok "a build with --prefix=/usr"
            sed 's/^/#   /' "$tmp/setup.log"
        fi
    fi
else
    skip "real mount through fstab after meson install: needs root, unshare -m, /dev/fuse, fusermount3"
fi

# ---------------------------------------------------------------- batch wrapper
fakectl=$tmp/fake-mctctl
# The metrics call after the batch keeps its arguments apart.
cat >"$fakectl" <<EOF
#!/bin/sh
case " \$* " in *" metrics "*) out=$tmp/metrics-argv ;; *) out=$tmp/argv ;; esac
printf '%s\n' "\$@" >"\$out"
printf '%s' "\${DJ_PASS:-}" >"$tmp/djpass"
EOF
chmod +x "$fakectl"
W=$bin/mctctl-batch-recent
today=$(date +%Y%m%d)
week=$(date -d "today - 7 days" +%Y%m%d)
batch_case() {
    local name=$1 want=$2
    shift 2
    rm -f "$tmp/argv"
    env -u MCTCTL_BATCH_DAYS MCTCTL="$fakectl" "$@" >/dev/null 2>&1
    local got
    got=$(paste -sd'|' "$tmp/argv" 2>/dev/null || echo "NOT RUN")
    [ -n "$got" ] || got="NOT RUN"
    if [ "$got" = "$want" ]; then ok "mctctl-batch-recent: $name"; else not_ok "mctctl-batch-recent: $name (want $want, got $got)"; fi
}
batch_case "default: every session not yet verified (no dates)" "batch" "$W"
batch_case "MCTCTL_BATCH_DAYS=7: the last 7 days" "batch|$week|$today" MCTCTL_BATCH_DAYS=7 "$W"
batch_case "MCTCTL_BATCH_DAYS=0: today" "batch|$today|$today" MCTCTL_BATCH_DAYS=0 "$W"
batch_case "--days 30 -c FILE --dry-run" \
    "-c|/etc/mctfs/x.yaml|batch|$(date -d 'today - 30 days' +%Y%m%d)|$today|--dry-run" \
    MCTCTL_BATCH_DAYS=3 "$W" --days 30 -c /etc/mctfs/x.yaml --dry-run
batch_case "a bad day count is refused" "NOT RUN" MCTCTL_BATCH_DAYS=seven "$W"
# The fake keeps the last call's arguments: reclaim comes after batch.
batch_case "--reclaim: then reclaim --if-enabled" "-c|/etc/mctfs/x.yaml|reclaim|--if-enabled|--dry-run" \
    "$W" --reclaim -c /etc/mctfs/x.yaml --dry-run
rm -f "$tmp/metrics-argv"
MCTCTL="$fakectl" "$W" -c /etc/mctfs/x.yaml >/dev/null 2>&1
check "mctctl-batch-recent: then metrics --if-configured --record batch=STATUS" \
    test "$(paste -sd'|' "$tmp/metrics-argv" 2>/dev/null)" = \
    "-c|/etc/mctfs/x.yaml|metrics|--if-configured|--record|batch=0"
rm -f "$tmp/metrics-argv"
MCTCTL="$fakectl" "$W" --dry-run >/dev/null 2>&1
check "mctctl-batch-recent: no metrics after a dry run" test ! -e "$tmp/metrics-argv"
mkdir -p "$tmp/creds" && printf 's3cret\n' >"$tmp/creds/dj-password"
env -u DJ_PASS MCTCTL="$fakectl" CREDENTIALS_DIRECTORY="$tmp/creds" "$W" >/dev/null 2>&1
check "mctctl-batch-recent: DJ_PASS from \$CREDENTIALS_DIRECTORY/dj-password" \
    test "$(cat "$tmp/djpass" 2>/dev/null)" = s3cret
env DJ_PASS=mine MCTCTL="$fakectl" CREDENTIALS_DIRECTORY="$tmp/creds" "$W" >/dev/null 2>&1
check "mctctl-batch-recent: a DJ_PASS already set wins" test "$(cat "$tmp/djpass" 2>/dev/null)" = mine
check "mctctl-batch-recent: the password is not on the command line" \
    bash -c '! grep -q s3cret "$1"' _ "$tmp/argv"

# ---------------------------------------------------------------- failure hook
N=$libexec/mctfs-notify-failure
out=$(env -u MCTFS_ON_FAILURE MCTFS_ON_FAILURE="$tmp/no-hook" "$N" mctctl-batch.service 2>&1)
check "mctfs-notify-failure without a hook: one line at priority err (got: $out)" \
    test "$out" = "<3>mctfs-notify-failure: mctctl-batch.service failed: journalctl -u mctctl-batch.service (no $tmp/no-hook to tell anyone; see the admin guide)"
printf '#!/bin/sh\necho "hook: $1" >"%s/hook.out"\n' "$tmp" >"$tmp/hook"
chmod 0755 "$tmp/hook"
MCTFS_ON_FAILURE=$tmp/hook "$N" mctctl-batch.service >/dev/null 2>&1
check "mctfs-notify-failure runs the hook with the failed unit" \
    test "$(cat "$tmp/hook.out" 2>/dev/null)" = "hook: mctctl-batch.service"
chmod 0777 "$tmp/hook"
rm -f "$tmp/hook.out"
if MCTFS_ON_FAILURE=$tmp/hook "$N" mctctl-batch.service >/dev/null 2>&1 || [ -e "$tmp/hook.out" ]; then
    not_ok "mctfs-notify-failure refuses a hook others may write"
else
    ok "mctfs-notify-failure refuses a hook others may write"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
