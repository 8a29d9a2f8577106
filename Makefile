# dcs.etcd: the two commands of the README are `make sandbox` and `make test`.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION := python
export ANSIBLE_FORCE_COLOR := 0
TESTBED := $(VENV)/bin/python tests/testbed/testbed.py
SANDBOX_INV := .cache/sandbox/inventory.yml
COLLECTION_COPY := .cache/collection/ansible_collections/dcs/etcd
# The scenarios on the suite's own ansible-core, and the one on the oldest supported (make molecule-oldest).
SCENARIOS := single five scale rolling upgrade monitor backup maintain security clusters pigsty patroni
OLDEST_SCENARIOS := three
# The supported ansible-core releases (tests/matrix.yml): the suite's own is the newest (tests/requirements-sandbox.txt).
CORE := $(shell sed -n 's/^ansible-core==//p' tests/requirements-sandbox.txt)
MATRIX := $(shell sed -n 's/.*version: "\([0-9.]*\)".*/\1/p' tests/matrix.yml)
OLDEST := $(firstword $(MATRIX))

.PHONY: bootstrap images archive sandbox sandbox-down lint sanity units matrix docs integration molecule molecule-oldest test bench clean

bootstrap:
	scripts/bootstrap test

images: bootstrap
	$(TESTBED) image bookworm
	$(TESTBED) image trixie

archive: images
	set -e; for s in distro bookworm trixie; do $(TESTBED) archive $$s; done

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
sanity: bootstrap $(COLLECTION_COPY)
	$(call ANSIBLE_TEST,$(CORE)) sanity --local --requirements --python 3.11 --color no

units: bootstrap $(COLLECTION_COPY)
	$(call ANSIBLE_TEST,$(CORE)) units --local --requirements --python 3.11 --color no

# Sanity and unit tests on the other supported ansible-core releases (tests/matrix.yml).
matrix: bootstrap $(COLLECTION_COPY)
	set -e; for v in $(filter-out $(CORE),$(MATRIX)); do echo "=== ansible-core $$v"; \
	  ( $(call ANSIBLE_TEST,$$v) sanity --local --requirements --python 3.11 --color no ); \
	  ( $(call ANSIBLE_TEST,$$v) units --local --requirements --python 3.11 --color no ); done

# The docs site (antsibull-docs and Sphinx, warnings are errors): .cache/docs/build/build/html/index.html.
docs: bootstrap
	python scripts/docs_site.py

# Checks that need no test-bed host: bad input is refused before any host is contacted, and the modules
# against real etcd processes on loopback (etcd 3.5.1 and Debian 12's 3.4.23, fetched in its image).
integration: images
	python -m pytest -q tests/integration

molecule: images archive
	set -e; for s in $(SCENARIOS); do echo "=== molecule scenario $$s"; start=$$(date +%s); molecule test -s $$s; \
	  echo "=== molecule scenario $$s: $$(( $$(date +%s) - start )) s"; done

# The three scenario with the oldest supported ansible-core on the controller (the others run on the newest).
molecule-oldest: images archive
	set -e; bin=$$(scripts/core-env $(OLDEST) molecule); for s in $(OLDEST_SCENARIOS); do \
	  echo "=== molecule scenario $$s on ansible-core $(OLDEST)"; start=$$(date +%s); PATH=$$bin:$$PATH molecule test -s $$s; \
	  echo "=== molecule scenario $$s: $$(( $$(date +%s) - start )) s"; done

test: lint sanity units matrix docs integration molecule molecule-oldest

bench: images archive
	python tests/bench.py

clean: sandbox-down
	for s in $(SCENARIOS) $(OLDEST_SCENARIOS); do $(TESTBED) down $$s; done
	rm -rf .cache/collection
