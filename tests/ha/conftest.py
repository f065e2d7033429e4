"""Fixtures of the HA end-to-end suite: one lab for the suite (scripts/lab up
--no-cluster under the suite's prefix, subnets and inventory, with the HA settings in
group_vars), the HA cluster deployed into it by site.yml (-vvv --diff, while watchers on the
nodes record the token and certificate-key values kubeadm is handed), and the lab taken down at
the end, failed or not."""

from __future__ import annotations

import edge_testlib
import pytest
from edge_ha import NODES, HaLab, new_auth_pass
from edge_testlib import start_secret_watchers, stop_secret_watchers

# Figures printed at the end of the session (seconds), filled in by the tests.
FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _ha_progress(request):
    edge_testlib.capture_progress(request)


@pytest.fixture(scope='module')
def figures():
    yield FIGURES
    edge_testlib.report_figures('ha', FIGURES)


@pytest.fixture(scope='module')
def auth_pass():
    return new_auth_pass()


@pytest.fixture(scope='module')
def lab(tmp_path_factory, auth_pass, figures):
    """The suite's lab: 3 control planes and 2 edge nodes up, no cluster yet. Taken down at the end."""
    with edge_testlib.suite_lab(HaLab(tmp_path_factory.mktemp('ha'), auth_pass), '3 control planes, 2 edge nodes') as lab:
        yield lab


@pytest.fixture(scope='module')
def cluster(lab, figures):
    """site.yml -vvv --diff from bare nodes to every node Ready, offline; the watchers' findings."""
    start_secret_watchers(lab, NODES)
    try:
        done = lab.playbook('site.yml', '-vvv', '--diff', log_name='site-bring-up-vvv')
    finally:
        found = stop_secret_watchers(lab, NODES)
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['HA bring-up (site.yml -vvv, bare nodes to all Ready)'] = done.seconds
    done.secrets = found
    return done
