#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The alert rules a lab loads as they are (docs/prometheus/alerts.yml):
# promtool check rules, and promtool test rules with the unit tests beside
# this script. Prints "N passed, M failed"; exit 77 (skipped) without
# promtool (Debian's prometheus package; tools/bootstrap installs it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rules=$here/../../docs/prometheus/alerts.yml
command -v promtool >/dev/null || { echo "promtool not found: skipped"; exit 77; }

passed=0 failed=0
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok: $name"
        passed=$((passed + 1))
    else
        echo "FAILED: $name"
        failed=$((failed + 1))
    fi
}
check "promtool check rules docs/prometheus/alerts.yml" promtool check rules "$rules"
# promtool resolves rule_files against the test file's folder.
check "promtool test rules tests/prometheus/alerts_test.yml" \
    bash -c 'cd "$1" && promtool test rules alerts_test.yml' _ "$here"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
