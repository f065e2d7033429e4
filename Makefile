# The two commands a newcomer needs (README):
#   make lab    bring up the lab (node containers on this machine) and deploy an edge cluster into it
#   make test   every test suite, as CI runs it (.ci/run calls exactly this)
# Heavy artifacts (Kubernetes build, node image, pip wheels) are cached under
# $(EDGE_CLUSTER_CACHE) (default ~/.cache/edge-cluster), never in the repo.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SUITES ?=

.PHONY: help lab lab-down test bundle image bench venv host docs release conformance-kit conformance

help:
	@echo "make lab       bring up the lab and deploy an edge cluster into it"
	@echo "make lab-down  remove every container, network, volume and key the lab made"
	@echo "make test      run all test suites (SUITES='unit static' to pick some)"
	@echo "make bundle    build (or reuse) the offline Kubernetes bundle"
	@echo "make bench     run the benchmark scripts and print their figures"
	@echo "make docs      lint the collection docs and build the HTML site into artifacts/docs/html"
	@echo "make release VERSION=x.y.z   version galaxy.yml and turn changelog fragments into CHANGELOG.*"
	@echo "make conformance-kit  build (or reuse) the offline conformance kit (e2e.test, test images)"
	@echo "make conformance      run the [Conformance] suite on the lab (CONFORMANCE_ARGS='--ci' for the CI subset)"

host:
	scripts/setup-host

venv:
	scripts/venv

bundle: host
	scripts/bundle

conformance-kit: host
	scripts/bundle --conformance

conformance:
	scripts/conformance $(CONFORMANCE_ARGS)

image: host
	scripts/lab-image

lab:
	scripts/lab up

lab-down:
	scripts/lab down

test:
	scripts/test $(SUITES)

bench:
	scripts/bench

docs:
	scripts/docs

release:
	scripts/release $(VERSION)
