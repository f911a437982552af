# Two commands: `make run` (devboss + demo data + Redis + portal + worker) and `make test` (the whole suite).
#
# They install into .venv from lock files that `make lock` writes from pyproject.toml (exact versions with
# hashes, one resolution for all of them):
#   requirements/dev.txt      the portal's dependencies + devboss (the `dev` extra)        <- make run
#   requirements/test.txt     dev.txt + the test tools and the S3 backend (`test`, `s3`)  <- make test, make bench
#   requirements/runtime.txt  the portal's dependencies only: the Docker image
#   requirements/s3.txt       runtime.txt + the S3 backend: the image built with WITH_S3=1
# The installer (requirements/install.sh) is uv: the one on PATH, else the version in requirements/uv.txt,
# which pip installs into .venv/.uv; plain venv + pip only where uv can't run. A stamp per lock re-installs
# when that lock or pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALL := PYTHON="$(PYTHON)" sh requirements/install.sh
# uv also trusts the operating system's certificates (as pip does): a TLS-inspecting proxy's CA is there.
export UV_SYSTEM_CERTS ?= 1

.PHONY: run test install install-test lock bench clean

$(BIN)/.installed-run: requirements/dev.txt pyproject.toml requirements/install.sh
	@$(INSTALL) $(VENV) requirements/dev.txt
	@touch $@

# test.txt holds everything dev.txt holds, at the same versions (requirements/check.py): it serves `make run` too.
$(BIN)/.installed-test: requirements/test.txt pyproject.toml requirements/install.sh
	@$(INSTALL) $(VENV) requirements/test.txt
	@touch $@ $(BIN)/.installed-run

install: $(BIN)/.installed-run

install-test: $(BIN)/.installed-test

run: $(BIN)/.installed-run
	$(BIN)/python -m devboss.devrun

# PYTEST_ARGS: extra pytest arguments, e.g. `make test PYTEST_ARGS="-k cutout -x"`.
test: $(BIN)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed-test
	$(BIN)/python -m bench.devboss_throughput

# The locks, from pyproject.toml (whose pins they keep) for Python 3.11 on any platform. Versions already in a
# lock are kept: `make lock UPGRADE=1` moves the unpinned (transitive) ones to their newest releases.
# --python-version 3.11.1: the lowest 3.11 that ome-zarr (">3.11") accepts. UV_VERSION=x.y.z moves uv.
UV_VERSION ?= $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements/uv.txt)
LOCK := pip compile --universal --python-version 3.11.1 --generate-hashes --quiet \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock:
	@uv=$$($(INSTALL) --uv $(VENV)) && set -x \
	&& $$uv $(LOCK) pyproject.toml --extra dev --extra test --extra s3 -o requirements/test.txt \
	&& $$uv $(LOCK) pyproject.toml --extra dev -c requirements/test.txt -o requirements/dev.txt \
	&& $$uv $(LOCK) pyproject.toml -c requirements/test.txt -o requirements/runtime.txt \
	&& $$uv $(LOCK) pyproject.toml --extra s3 -c requirements/test.txt -o requirements/s3.txt \
	&& echo "uv==$(UV_VERSION)" | $$uv $(LOCK) - -o requirements/uv.txt
	$(PYTHON) requirements/check.py

clean:
	rm -rf var/ .pytest_cache
