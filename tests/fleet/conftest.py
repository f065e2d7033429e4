"""Fixtures of the fleet suite: one lab for the suite (scripts/lab up --no-cluster under the
suite's prefix and subnets), a control plane with no edge nodes brought up by site.yml, and the
lab taken down when the suite's tests are done, failed or not."""

from __future__ import annotations

import pytest

import edge_fleet
import edge_testlib
from edge_fleet import FleetLab

FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _fleet_progress(request):
    edge_testlib.capture_progress(request)


@pytest.fixture(scope='module')
def figures():
    yield FIGURES
    edge_testlib.report_figures('fleet', FIGURES)


@pytest.fixture(scope='module')
def lab(tmp_path_factory, figures):
    """The suite's lab: 1 control plane, direct edge nodes and site nodes behind a proxy, no
    cluster yet. Taken down when the suite's tests are done."""
    with edge_testlib.suite_lab(FleetLab(tmp_path_factory.mktemp('fleet')),
                                '1 control plane, %d direct edge nodes, %d site nodes behind a proxy'
                                % (edge_fleet.DIRECT, edge_fleet.SITE)) as lab:
        yield lab


@pytest.fixture(scope='module')
def control_plane(lab, figures):
    """site.yml on an inventory with the control plane only: a cluster with zero edge nodes."""
    inventory = lab.write_inventory('cp-only', with_edges=False)
    done = lab.playbook('site.yml', inventory, log_name='control-plane')
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['control plane (site.yml)'] = done.seconds
    return done
