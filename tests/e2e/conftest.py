"""Fixtures of the end-to-end suite: one lab for the suite (scripts/lab up --no-cluster,
under the suite's own prefix, subnets and inventory), the edge cluster deployed into it by
site.yml from the offline bundle, and the lab taken down at the end, failed or not."""

from __future__ import annotations

import pytest

import edge_testlib
from edge_e2e import Lab

# Figures printed at the end of the session (seconds), filled in by the tests.
FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _e2e_progress(request):
    edge_testlib.capture_progress(request)


@pytest.fixture(scope='module')
def figures():
    yield FIGURES
    edge_testlib.report_figures('e2e', FIGURES)


@pytest.fixture(scope='module')
def lab(tmp_path_factory, figures):
    """The suite's lab: nodes up, no cluster yet. Taken down when the suite's tests are done."""
    with edge_testlib.suite_lab(Lab(tmp_path_factory.mktemp('e2e')), '1 control plane, 2 edge nodes, 1 worker, services') as lab:
        yield lab


@pytest.fixture(scope='module')
def cluster(lab, figures):
    """site.yml from bare nodes to every node Ready, offline (the bundle's package and images)."""
    done = lab.playbook('site.yml', log_name='site-bring-up')
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['bring-up (site.yml, bare nodes to all Ready)'] = done.seconds
    return done
