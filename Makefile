# virtops.compute — the two commands users need are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= $(shell command -v python3.11 || command -v python3)
PY313       ?= $(shell ls -d /root/.pyenv/versions/3.13*/bin/python3 2>/dev/null | tail -n1 || command -v python3.13)
VENV        := .venv
VENV313     := .venv-3.13
BIN         := $(VENV)/bin
BUILD       := .build
COLL_DIR    := $(BUILD)/ansible_collections/virtops/compute
COLL_LINK   := $(BUILD)/collections/ansible_collections/virtops/compute
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(BUILD)/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false

.PHONY: sanity-tree install-check getpip help deps apt vcsim venv venv313 collection lint sanity sanity-311 sanity-313 units integration integration-module-path integration-313 reliability xl test demo build bench clean

help:
	@echo "make demo   - start the XenAPI simulator, run playbooks/demo.yml against it, stop it"
	@echo "make test   - install everything needed and run lint, sanity, unit and integration tests"
	@echo "make xl     - boot a real Xen host in QEMU and run the xl tier against it (part of make test)"
	@echo "make bench  - side-by-side benchmarks against the peer collections"
	@echo "make build  - build the collection tarball"

apt:
	bash scripts/apt-packages.sh

$(BIN)/.stamp: requirements/test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/test.txt
	touch $@

venv: $(BIN)/.stamp

$(VENV313)/bin/.stamp: requirements/sanity-py3.13.txt
	test -x $(VENV313)/bin/python || $(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --disable-pip-version-check -r requirements/sanity-py3.13.txt
	touch $@

venv313: $(VENV313)/bin/.stamp

# The collection as Ansible finds it: a symlink, for running playbooks and importing in tests.
collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

# A copy of the tracked tree for ansible-test (it must sit under ansible_collections/NS/NAME).
sanity-tree:
	@rm -rf $(COLL_DIR) && mkdir -p $(COLL_DIR)
	@git ls-files -co --exclude-standard -z | grep -zvE '^(\.ci|bench)/' | xargs -0 -I{} cp --parents {} $(COLL_DIR)/
	@cd $(COLL_DIR) && git init -q && git add -A >/dev/null 2>&1

lint: venv collection
	$(BIN)/ruff check .
	$(BIN)/python scripts/option-coverage.py
	$(BIN)/mypy --config-file mypy.ini plugins/module_utils/_common
	cd $(BUILD)/collections && MYPYPATH=. $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/mypy.ini \
		-p ansible_collections.virtops.compute.plugins.module_utils._xl
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint --offline --profile production --nocolor playbooks/

sanity: sanity-311 sanity-313

# ansible-test downloads a pip bootstrap script from a host outside the package registries;
# give it ours (ensurepip + pip from the index) under every name it may ask for.
GETPIP_CACHE := $(HOME)/.ansible/test/cache
getpip:
	@mkdir -p $(GETPIP_CACHE)
	@for v in $$(grep -hoE "pip='[0-9.]+'" $(VENV)/lib/python*/site-packages/ansible_test/_internal/python_requirements.py \
		$(VENV313)/lib/python*/site-packages/ansible_test/_internal/python_requirements.py | grep -oE '[0-9][0-9.]*' | sort -u); do \
		cp scripts/ansible-test-get-pip.py $(GETPIP_CACHE)/get_pip_$${v//./_}.py; done

sanity-311: venv venv313 sanity-tree getpip
	cd $(COLL_DIR) && PATH=$(CURDIR)/$(BIN):$$PATH $(CURDIR)/$(BIN)/ansible-test sanity --python 3.11 --requirements --color no

sanity-313: venv venv313 sanity-tree getpip
	cd $(COLL_DIR) && PATH=$(CURDIR)/$(VENV313)/bin:$$PATH $(CURDIR)/$(VENV313)/bin/ansible-test sanity --python 3.13 --requirements --color no

# vcsim, built from Debian's govmomi source package with the project's patch (cached in .cache/vcsim).
vcsim: apt
	bash scripts/build-vcsim.sh >/dev/null

PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider --timeout 600
# Integration suites spend their time in ansible-playbook processes: run two at once, a file per worker
# (module-scoped peers such as the 5,000-VM vcsim start once).
PYTEST_PAR := $(PYTEST) -n 2 --dist loadfile

units: venv collection
	$(PYTEST) tests/unit tests/simulators/xapi/tests tests/simulators/vcsim/tests

# The modules run in-process on the controller by default (plugins/action); the suite runs once that way and
# once through AnsiballZ, and the harness fails any task that did not take the path asked for.
integration: venv collection
	VIRTOPS_IN_PROCESS=true $(PYTEST_PAR) tests/integration

integration-module-path: venv collection
	VIRTOPS_IN_PROCESS=false $(PYTEST_PAR) tests/integration

# The in-process comparison on the newest ansible-core (.venv-3.13); the SDKs are pure Python, borrowed from .venv.
SDK313 := $(BUILD)/sdk-py3.13
integration-313: venv venv313 collection
	@rm -rf $(SDK313) && mkdir -p $(SDK313)
	@for p in XenAPI pyVim pyVmomi; do ln -s $$(ls -d $(CURDIR)/$(VENV)/lib/python*/site-packages/$$p) $(SDK313)/$$p; done
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$(CURDIR)/$(SDK313) VIRTOPS_ANSIBLE_BIN=$(CURDIR)/$(VENV313)/bin \
		$(PYTEST) tests/integration/test_in_process.py

reliability: venv collection
	$(PYTEST_PAR) tests/reliability

# The xl tier: a real Xen 4.17 host booted under QEMU (TCG) from Debian packages (scripts/xenlab; the image
# is cached in ~/.cache/virtops/xenlab), driven by ansible over ssh. Under CI=true it fails when QEMU cannot run.
# Under TCG on 2 shared cores the boot alone can take minutes: a longer per-test timeout than the others.
xl: apt venv collection
	$(BIN)/python -m pytest -q -p no:cacheprovider --timeout 3600 tests/xl

test: apt vcsim venv lint sanity units integration integration-module-path reliability install-check xl
	@echo "make test: all suites passed"

demo: venv collection
	bash scripts/demo.sh

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist .

# Build the tarball and install it into a scratch path: proves the artifact users get is complete.
install-check: build
	rm -rf $(BUILD)/install-check
	env -u ANSIBLE_COLLECTIONS_PATH $(BIN)/ansible-galaxy collection install --offline --force \
		-p $(BUILD)/install-check $(BUILD)/dist/virtops-compute-*.tar.gz
	for m in $$(ls plugins/modules | sed -n 's/\.py$$//p'); do \
		ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(BUILD)/install-check $(BIN)/ansible-doc --json -t module virtops.compute.$$m \
		| grep -q '"module": "'$$m'"' || { echo "ansible-doc cannot render $$m from the installed tarball"; exit 1; }; done
	@echo "install-check: the built collection installs and its docs render"

# --- make bench: side-by-side benchmarks against the peer collections (bench/README.md) ---
BENCH_VENV   := .venv-bench
BENCH_PYTHON ?= $(or $(wildcard /root/.pyenv/versions/3.11.7/bin/python),$(PYTHON))
BENCH_ARGS   ?=

$(BENCH_VENV)/bin/.stamp: bench/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(BENCH_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements-peers.txt
	touch $@

bench: venv collection vcsim $(BENCH_VENV)/bin/.stamp
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) tests/output .pytest_cache .ruff_cache .mypy_cache
