# dcs.etcd: the two commands of the README are `make sandbox` and `make test`.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION := python
export ANSIBLE_FORCE_COLOR := 0
TESTBED := $(VENV)/bin/python tests/testbed/testbed.py
SANDBOX_INV := .cache/sandbox/inventory.yml
# The copy ansible-test works on (tests/suite.py gives each of its lanes its own).
COLLECTION_COPY ?= .cache/collection/ansible_collections/dcs/etcd
# The scenarios on the suite's own ansible-core, and the one on the oldest supported (make molecule-oldest):
# default, the 1-, 3- and 5-member clusters side by side.
SCENARIOS := scale rolling upgrade monitor backup maintain security clusters pigsty patroni
OLDEST_SCENARIOS := default
# The supported ansible-core releases (tests/matrix.yml): the suite's own is the newest (tests/requirements-sandbox.txt).
CORE := $(shell sed -n 's/^ansible-core==//p' tests/requirements-sandbox.txt)
MATRIX := $(shell sed -n 's/.*version: "\([0-9.]*\)".*/\1/p' tests/matrix.yml)
OLDEST := $(firstword $(MATRIX))

.PHONY: bootstrap images archive builds sandbox sandbox-down lint sanity units sanity-core units-core matrix docs \
  integration molecule molecule-oldest scenario scenario-oldest test bench clean

# make print-VAR: a variable's value (tests/suite.py reads the scenario lists and the matrix from here).
print-%:
	@echo $($*)

bootstrap:
	scripts/bootstrap test

# The scenarios' images: Debian 12 and 13, and Debian 12 with what the maintain, monitor and patroni scenarios
# need beside etcd (tests/testbed/testbed.py FLAVORS), each built once per machine.
IMAGES := bookworm trixie bookworm-fio bookworm-prometheus bookworm-postgresql

images: bootstrap
	set -e; for i in $(IMAGES); do $(TESTBED) image $$i; done

archive: images
	set -e; for s in distro bookworm trixie; do $(TESTBED) archive $$s; done

# etcd 3.5, 3.6 and 3.7, the newest patch of each that Go's module proxy serves, and the releases the scenarios
# pin, built from etcd's Go modules as official-layout archives (tests/testbed/testbed.py build; cached per
# version outside the checkout).
BUILDS := 3.5 3.6 3.7 3.6.17 3.7.4
builds: bootstrap
	$(TESTBED) build $(BUILDS)

# A local 3-member cluster (Debian 13 containers, Debian's etcd package), deployed by ./etcd.yml. It needs
# only the Debian 13 image: no archive, no Debian 12 image, no ansible-test environment.
sandbox:
	scripts/bootstrap sandbox
	$(TESTBED) image trixie
	$(TESTBED) up sandbox 3 --image trixie --subnet-id 50 --inventory $(SANDBOX_INV)
	./etcd.yml -i $(SANDBOX_INV)
	@echo; echo "Cluster status, from member 1 (ssh root@10.89.50.11, then: etcdctl endpoint status --cluster -w table):"
	@ssh -q -i .cache/ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@10.89.50.11 \
	  '. /etc/profile.d/etcdctl.sh && etcdctl endpoint status --cluster -w table'

sandbox-down:
	$(TESTBED) down sandbox
	rm -rf .cache/sandbox

lint: bootstrap
	ansible-lint --profile production

# ansible-test needs the collection under ansible_collections/dcs/etcd: test a copy of the working tree,
# as the built collection holds it (without the checkout-only ./etcd.yml entry point, see galaxy.yml).
$(COLLECTION_COPY): FORCE
	rm -rf $(COLLECTION_COPY) && mkdir -p $(COLLECTION_COPY)
	git ls-files -co --exclude-standard | grep -v -e '^collections/' -e '^etcd\.yml$$' | tar -cf - -T - | tar -xf - -C $(COLLECTION_COPY)
	cd $(COLLECTION_COPY) && git init -q && git add -A
FORCE:

ANSIBLE_TEST = bin=$$(scripts/core-env $(1) test) && cd $(COLLECTION_COPY) && PATH=$$bin:$$PATH ansible-test
# Sanity or unit tests on the suite's own ansible-core, or on another supported release:
# make sanity-core CORE_VERSION=2.16.19.
CORE_VERSION ?= $(CORE)
sanity: sanity-core
units: units-core

sanity-core: bootstrap $(COLLECTION_COPY)
	$(call ANSIBLE_TEST,$(CORE_VERSION)) sanity --local --requirements --python 3.11 --color no

units-core: bootstrap $(COLLECTION_COPY)
	$(call ANSIBLE_TEST,$(CORE_VERSION)) units --local --requirements --python 3.11 --color no

# Unit tests on the other supported ansible-core releases (tests/matrix.yml), sanity on the oldest: sanity runs on
# both ends of the supported range (the newest is make sanity), units on every release; a sanity run costs minutes.
matrix: bootstrap
	set -e; for v in $(filter-out $(CORE),$(MATRIX)); do echo "=== ansible-core $$v"; \
	  if [ "$$v" = "$(OLDEST)" ]; then $(MAKE) --no-print-directory sanity-core CORE_VERSION=$$v; fi; \
	  $(MAKE) --no-print-directory units-core CORE_VERSION=$$v; done

# The docs site (antsibull-docs and Sphinx, warnings are errors): .cache/docs/build/build/html/index.html.
docs: bootstrap
	python scripts/docs_site.py

# Checks that need no test-bed host: bad input is refused before any host is contacted, and the modules
# against real etcd processes on loopback (etcd 3.5.1 and Debian 12's 3.4.23, fetched in its image).
integration: images builds
	python -m pytest -q --durations=15 tests/integration

molecule: images archive builds
	set -e; for s in $(SCENARIOS); do $(MAKE) --no-print-directory scenario PREPARE= SCENARIO=$$s; done

# The default scenario (1-, 3- and 5-member clusters) with the oldest supported ansible-core on the controller (the
# others run on the newest).
molecule-oldest: images archive builds
	set -e; for s in $(OLDEST_SCENARIOS); do $(MAKE) --no-print-directory scenario-oldest PREPARE= SCENARIO=$$s; done

# One scenario, timed: make scenario SCENARIO=backup (scenario-oldest: on the oldest supported ansible-core).
# tests/suite.py prepares the images and archives once and passes PREPARE= (empty).
PREPARE ?= images archive builds
scenario: $(PREPARE)
	set -e; start=$$(date +%s); molecule test -s $(SCENARIO); \
	  echo "=== molecule scenario $(SCENARIO): $$(( $$(date +%s) - start )) s"

scenario-oldest: $(PREPARE)
	set -e; bin=$$(scripts/core-env $(OLDEST) molecule); start=$$(date +%s); PATH=$$bin:$$PATH molecule test -s $(SCENARIO); \
	  echo "=== molecule scenario $(SCENARIO) on ansible-core $(OLDEST): $$(( $$(date +%s) - start )) s"

# Every part above, the static checks in two lanes at once, with a table of each part's time at the end.
test:
	python3 tests/suite.py

bench: images archive
	python tests/bench.py

# Also the test beds of scenarios merged into default (single, three, five), should a run have left one.
clean: sandbox-down
	for s in $(SCENARIOS) $(OLDEST_SCENARIOS) single three five; do $(TESTBED) down $$s; done
	rm -rf .cache/collection .cache/collection-1 .cache/collection-2
