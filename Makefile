# dcs.etcd: the two commands of the README are `make sandbox` and `make test`.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION := python
export ANSIBLE_FORCE_COLOR := 0
TESTBED := $(VENV)/bin/python tests/testbed/testbed.py
SANDBOX_INV := .cache/sandbox/inventory.yml
COLLECTION_COPY := .cache/collection/ansible_collections/dcs/etcd
SCENARIOS := single three five scale rolling upgrade monitor backup maintain security

.PHONY: bootstrap images archive sandbox sandbox-down lint sanity units integration molecule test bench clean

bootstrap:
	scripts/bootstrap

images: bootstrap
	$(TESTBED) image bookworm
	$(TESTBED) image trixie

archive: images
	set -e; for s in distro bookworm trixie; do $(TESTBED) archive $$s; done

# A local 3-member cluster (Debian 13 containers, Debian's etcd package), deployed by ./etcd.yml.
sandbox: images
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
	git ls-files -co --exclude-standard | grep -v -e '^\.collections/' -e '^etcd\.yml$$' | tar -cf - -T - | tar -xf - -C $(COLLECTION_COPY)
	cd $(COLLECTION_COPY) && git init -q && git add -A
FORCE:

ANSIBLE_TEST := PATH=$(CURDIR)/.cache/venv-ansible-test/bin:$$PATH ansible-test
sanity: bootstrap $(COLLECTION_COPY)
	cd $(COLLECTION_COPY) && $(ANSIBLE_TEST) sanity --local --requirements --python 3.11 --color no

units: bootstrap $(COLLECTION_COPY)
	cd $(COLLECTION_COPY) && $(ANSIBLE_TEST) units --local --requirements --python 3.11 --color no

# Checks that need no test-bed host: bad input is refused before any host is contacted, and the modules
# against real etcd processes on loopback (etcd 3.5.1 and Debian 12's 3.4.23, fetched in its image).
integration: images
	python -m pytest -q tests/integration

molecule: images archive
	set -e; for s in $(SCENARIOS); do echo "=== molecule scenario $$s"; molecule test -s $$s; done

test: lint sanity units integration molecule

bench: images archive
	python tests/bench.py

clean: sandbox-down
	for s in $(SCENARIOS); do $(TESTBED) down $$s; done
	rm -rf .cache/collection
