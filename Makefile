# CloudForge platform collection — task runner.
# Quick start: `make site` (set up, then run the main job) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(CURDIR)/tests:$(CURDIR)/.build/collections
INVENTORY ?= inventories/local/hosts.yml
PYTEST ?= $(VENV)/bin/pytest

.PHONY: help setup site test lint sanity unit integration build-check docs changelog docs-site \
        testbed-build testbed-up testbed-down testbed-status demo clean molecule molecule-multi

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## Create the virtualenv, install pinned dependencies, link the collection
	@hack/setup.sh

site: setup ## Set up, then run the main job: ansible-playbook site.yml on $(INVENTORY)
	ansible-playbook -i $(INVENTORY) site.yml

test: setup ## Everything CI runs: static gates, sanity, unit, build-install, integration on the testbed, hosts layer on a VM
	@hack/test.sh

lint: setup ## yamllint, ruff, ruff format --check, ansible-lint (production profile), antsibull-docs and antsibull-changelog lint
	@hack/lint.sh

sanity: setup ## ansible-test sanity from an ansible_collections/cloudforge/platform copy
	@hack/sanity.sh

unit: setup ## Unit tests (pure Python: filters, module_utils, fact parsers)
	$(PYTEST) tests/unit

build-check: setup ## Build the collection tarball, install it in an empty path, ansible-doc every module
	$(PYTEST) tests/build

docs: setup ## Regenerate docs/variables.md from the roles' argument specs
	python hack/gen_variables_doc.py

changelog: setup ## Regenerate CHANGELOG.rst from changelogs/ (the unreleased galaxy.yml version; fragments stay)
	python hack/gen_changelog.py

docs-site: setup ## HTML module and role reference from the plugins' own docs (antsibull-docs + Sphinx, offline): .build/docs-site/html
	@hack/docs_site.sh

molecule: setup ## Hosts layer on a real qemu VM: molecule create/converge/idempotence/check/verify/reset (~see docs/testing.md)
	CLOUDFORGE_HOSTVM_SCOPE=full $(PYTEST) -s tests/hosts_vm

molecule-multi: setup ## 3 servers + 1 agent, four qemu VMs: token hand-over and one-at-a-time joins (heavy; docs/testing.md)
	ANSIBLE_NOCOLOR=1 molecule test --scenario-name multi

integration: testbed-up ## Integration tests against the real-server testbed
	$(PYTEST) tests/integration

testbed-build: setup ## Build/download every testbed component into the cache (pinned)
	python -m testbed build

testbed-up: setup ## Start the testbed on loopback; writes .testbed/inventory.yml and .testbed/kubeconfig
	python -m testbed up

testbed-down: ## Stop the testbed and delete its state
	@[ -x $(VENV)/bin/python ] && python -m testbed down || true

testbed-status: ## Show testbed endpoints and health
	python -m testbed status

demo: setup ## The playbooks end to end on the offline test bed: platform layer, tenants, a model, each twice
	@hack/demo.sh

clean: testbed-down ## Remove local build state (keeps the download/build cache)
	rm -rf .build tests/output

.PHONY: ee-context awx-surveys

ee-context: setup ## Build the collection and the AWX execution environment's ansible-builder context (.build/ee/context)
	@hack/ee_context.sh

awx-surveys: setup ## Regenerate the AWX surveys (playbooks/awx/surveys/) from playbooks/argument_specs/
	python hack/gen_awx_surveys.py
