"""Fixtures of the end-to-end suite: one lab for the whole session (scripts/lab up --no-cluster,
under the suite's own prefix, subnets and inventory), the edge cluster deployed into it by
site.yml from the offline bundle, and the lab taken down at the end, failed or not."""

from __future__ import annotations

import os

import pytest

import edge_e2e
from edge_e2e import REPO, Lab, progress, run

# Figures printed at the end of the session (seconds), filled in by the tests.
FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _e2e_progress(request):
    edge_e2e.CAPTURE = request.config.pluginmanager.getplugin('capturemanager')


@pytest.fixture(scope='session')
def figures():
    yield FIGURES
    if FIGURES:
        progress('figures: ' + ', '.join('%s %.0fs' % item for item in FIGURES.items()))


@pytest.fixture(scope='session')
def lab(tmp_path_factory, figures):
    """The suite's lab: nodes up, no cluster yet. Taken down at the end of the session."""
    if os.geteuid() != 0:
        pytest.fail('the e2e suite needs root (podman runs privileged containers)', pytrace=False)
    progress('host prerequisites, offline bundle and lab images (cached when built before)')
    run([REPO / 'scripts' / 'setup-host'], timeout=900)
    run([REPO / 'scripts' / 'bundle'], timeout=4 * 3600)
    run([REPO / 'scripts' / 'lab-image'], timeout=1800)
    lab = Lab(tmp_path_factory.mktemp('e2e'))
    # Leftovers of an interrupted earlier session under the same prefix go first.
    lab.down()
    try:
        progress('lab up: 1 control plane, 2 edge nodes, 1 worker, services (scripts/lab up --no-cluster)')
        lab.up()
        progress('lab up')
        yield lab
    finally:
        progress('taking the lab down (scripts/lab down)')
        done = lab.down()
        if done.returncode != 0:
            progress('scripts/lab down failed (rc=%d): %s' % (done.returncode, done.stderr[-2000:]))


@pytest.fixture(scope='session')
def cluster(lab, figures):
    """site.yml from bare nodes to every node Ready, offline (the bundle's package and images)."""
    done = lab.playbook('site.yml', log_name='site-bring-up')
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['bring-up (site.yml, bare nodes to all Ready)'] = done.seconds
    return done
