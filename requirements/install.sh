#!/bin/sh
# Install one lock file (requirements/*.txt: exact versions with hashes) and the project itself (editable,
# without dependencies: the lock has them all) into a virtual environment. The Makefile's stamps call it.
#
#   sh requirements/install.sh VENV LOCK    install
#   sh requirements/install.sh --uv VENV    print the uv to use (installing it first if needed), for `make lock`
#
# PYTHON: the interpreter for the venv (python3). UV: a uv to use (default: `uv` on PATH). Without one,
# the uv of requirements/uv.txt is installed by pip into VENV/.uv (hash-checked, a binary wheel); only where
# that fails (no pip, no wheel for this platform) does the install fall back to `python -m venv` + pip.
set -eu
here=$(dirname "$0")
python=${PYTHON:-python3}
say() { echo "[install] $*" >&2; }

find_uv() {  # VENV -> the path of a uv that runs, or nothing
    if [ -n "${UV:-}" ] && "$UV" --version >/dev/null 2>&1; then echo "$UV"; return; fi
    if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then command -v uv; return; fi
    boot=$1/.uv/bin/uv
    want=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$here/uv.txt")
    if [ "$("$boot" --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
        say "no uv on PATH: installing uv $want into $1/.uv with pip"
        rm -rf "$1/.uv"
        PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install --quiet \
            --only-binary :all: --require-hashes --target "$1/.uv" -r "$here/uv.txt" >&2 || true
    fi
    if "$boot" --version >/dev/null 2>&1; then echo "$boot"; fi
}

if [ "$1" = "--uv" ]; then
    uv=$(find_uv "$2")
    [ -n "$uv" ] || { say "no uv, and pip could not install it"; exit 1; }
    echo "$uv"
    exit 0
fi

venv=$1
lock=$2
"$python" "$here/check.py" "$lock"
uv=$(find_uv "$venv")
if [ -n "$uv" ]; then
    say "$lock -> $venv ($("$uv" --version))"
    [ -f "$venv/pyvenv.cfg" ] || "$uv" venv --quiet --allow-existing --python "$python" "$venv"
    "$uv" pip install --quiet --python "$venv/bin/python" --require-hashes --compile-bytecode -r "$lock"
    "$uv" pip install --quiet --python "$venv/bin/python" --no-deps -e .
else
    say "uv cannot run here: $lock -> $venv with pip"
    [ -f "$venv/pyvenv.cfg" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip --quiet
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
    "$venv/bin/python" -m pip install --quiet --require-hashes -r "$lock"
    "$venv/bin/python" -m pip install --quiet --no-deps -e .
fi
# The project's own modules compiled too (pip and uv --compile-bytecode do the dependencies'): where
# PYTHONDONTWRITEBYTECODE is set (this machine, many images) nothing is ever cached otherwise, and every
# process compiles from source: tifffile alone is 0.25 s and ~37 MB of heap a worker keeps (README: Memory).
"$venv/bin/python" -m compileall -q -j 0 portal cutouts bossdb devboss bench >/dev/null || true
