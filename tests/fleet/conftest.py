"""Fixtures of the fleet suite: one lab for the session (scripts/lab up --no-cluster under the
suite's prefix and subnets), a control plane with no edge nodes brought up by site.yml, and the
lab taken down at the end, failed or not."""

from __future__ import annotations

import os

import pytest

import edge_fleet
import edge_testlib
from edge_fleet import REPO, FleetLab, progress, run

FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _fleet_progress(request):
    edge_testlib.capture_progress(request)


@pytest.fixture(scope='session')
def figures():
    yield FIGURES
    if FIGURES:
        progress('figures: ' + ', '.join('%s %.1fs' % item for item in FIGURES.items()))


@pytest.fixture(scope='session')
def lab(tmp_path_factory, figures):
    if os.geteuid() != 0:
        pytest.fail('the fleet suite needs root (podman runs privileged containers)', pytrace=False)
    progress('host prerequisites, offline bundle and lab images (cached when built before)')
    run([REPO / 'scripts' / 'setup-host'], timeout=900)
    run([REPO / 'scripts' / 'bundle'], timeout=4 * 3600)
    run([REPO / 'scripts' / 'lab-image'], timeout=1800)
    lab = FleetLab(tmp_path_factory.mktemp('fleet'))
    # Leftovers of an earlier session under the same prefix go first; their state volumes would
    # otherwise hand the new nodes an old kubelet's files. podman under load can fail once.
    for attempt in (1, 2):
        done = lab.down()
        if done.returncode == 0:
            break
        progress('scripts/lab down failed (rc=%d, attempt %d): %s' % (done.returncode, attempt, done.stdout[-1500:]))
    else:
        pytest.fail('could not remove the earlier %s lab: scripts/lab down failed twice' % edge_fleet.PREFIX,
                    pytrace=False)
    try:
        progress('lab up: 1 control plane, %d direct edge nodes, %d site nodes behind a proxy'
                 % (edge_fleet.DIRECT, edge_fleet.SITE))
        lab.up()
        yield lab
    finally:
        progress('taking the lab down (scripts/lab down)')
        done = lab.down()
        if done.returncode != 0:
            progress('scripts/lab down failed (rc=%d): %s' % (done.returncode, done.stdout[-2000:]))


@pytest.fixture(scope='session')
def control_plane(lab, figures):
    """site.yml on an inventory with the control plane only: a cluster with zero edge nodes."""
    inventory = lab.write_inventory('cp-only', with_edges=False)
    done = lab.playbook('site.yml', inventory, log_name='control-plane')
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['control plane (site.yml)'] = done.seconds
    return done
