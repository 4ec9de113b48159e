#!/usr/bin/env bash
# lint.sh: `make lint`, the first stage of `make test`. The checks that hold the style and the
# rules no compiler checks; each prints "lint: <check> ok" or "lint: <check> FAILED" with what
# to fix, and the run closes with "lint: P passed, F failed" (counted by scripts/lib/stages.sh).
#   clang-format   every C++ file of src/, test/ and bench/ as .clang-format lays it out
#                  (clang-format-14 -i FILE fixes one)
#   sql-literals   no SQL text built at run time in src/decide and src/pg
#   shell          every shell script under shellcheck, warnings included
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit

CLANG_FORMAT=clang-format-14
passed=0
failed=0

check() {  # check NAME CMD...: runs CMD, its output shown only when it fails
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "lint: $name ok"
        passed=$((passed + 1))
    else
        echo "lint: $name FAILED"
        printf '%s\n' "$out" | head -n 60
        failed=$((failed + 1))
    fi
}

clang_format_check() {
    command -v "$CLANG_FORMAT" >/dev/null || { echo "$CLANG_FORMAT not found (Debian package clang-format-14)"; return 1; }
    local files
    mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'test/*.cpp' 'test/*.hpp' 'bench/*.cpp')
    "$CLANG_FORMAT" --dry-run --Werror "${files[@]}" || {
        echo "fix with: $CLANG_FORMAT -i FILE (the files named above)"
        return 1
    }
}

shellcheck_check() {
    command -v shellcheck >/dev/null || { echo "shellcheck not found (Debian package shellcheck)"; return 1; }
    local files
    mapfile -t files < <(git ls-files '*.sh')
    shellcheck -S warning "${files[@]}"
}

check clang-format clang_format_check
check sql-literals /usr/bin/python3 scripts/check-sql-literals.py --root .
check shell shellcheck_check
echo "lint: $passed passed, $failed failed"
((failed == 0))
