"""Fixtures of the edge-site suite: one lab (a control plane and a cloud worker on the main
network, two nodes of the site "lab-site" behind the proxy node's NAT), the edge cluster deployed
into it by site.yml from the offline bundle with the default edge mode, the conformance kit's test
images on every node, and the lab taken down at the end, failed or not."""

from __future__ import annotations

import subprocess

import pytest

import edge_testlib
from edge_sites import SitesLab, kit_dir, progress
from edge_testlib import REPO, lab_env

FIGURES = {}


@pytest.fixture(scope='session', autouse=True)
def _sites_progress(request):
    edge_testlib.capture_progress(request)


@pytest.fixture(scope='module')
def figures():
    yield FIGURES
    edge_testlib.report_figures('sites', FIGURES)


@pytest.fixture(scope='module')
def lab(tmp_path_factory, figures):
    with edge_testlib.suite_lab(SitesLab(tmp_path_factory.mktemp('sites')),
                                '1 control plane, 1 worker, 2 site nodes behind the proxy') as lab:
        yield lab


@pytest.fixture(scope='module')
def cluster(lab, figures):
    """site.yml, edge mode on (the default), from bare nodes to every kubelet reached through the tunnel."""
    done = lab.playbook('site.yml', log_name='site-bring-up')
    if done.rc != 0:
        pytest.fail(done.failure(), pytrace=False)
    figures['bring-up, edge mode (site.yml, bare nodes to every kubelet reached)'] = done.seconds
    return done


@pytest.fixture(scope='module')
def kit_images(lab, cluster):
    """The conformance kit's images (agnhost, busybox, ...) on every node, as scripts/conformance
    imports them (edge.cluster.airgap_images with the kit as the bundle folder, offline)."""
    kit = kit_dir()
    progress('kit images onto every node (%s)' % kit)
    argv = ['ansible', 'control_plane:edge_nodes:nodes', '-i', str(lab.inventory), '-m', 'ansible.builtin.include_role',
            '-a', 'name=edge.cluster.airgap_images', '-e', 'airgap_images_bundle_dir=%s' % kit,
            '-e', 'airgap_images_kubernetes_version=']
    done = subprocess.run(argv, cwd=str(REPO), env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:]
    return kit
