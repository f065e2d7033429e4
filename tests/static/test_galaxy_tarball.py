"""The collection as others get it: build the Galaxy tarball, install it offline into an empty
path, and use it from a playbook outside the repository (no ansible.cfg of ours, no
collections path but the install path)."""

from __future__ import annotations

import json
import sys
import tarfile
import textwrap

import yaml
from edge_testlib import COLLECTION, REPO, openssl_ca_hash, run, tool_env

PLAYBOOK = textwrap.dedent("""\
    ---
    - name: Use the installed edge.cluster
      hosts: localhost
      gather_facts: false
      vars:
        ca_pem: "{{ lookup('ansible.builtin.file', ca_path) }}"
      tasks:
        - name: Hash with the filter (controller)
          ansible.builtin.set_fact:
            hash_from_filter: "{{ ca_pem | edge.cluster.ca_cert_hash }}"

        - name: Hash with the module, each backend (node)
          edge.cluster.ca_cert_hash:
            path: "{{ ca_path }}"
            backend: "{{ item }}"
          loop: [cryptography, pure]
          register: hash_from_module

        - name: A certificate key from the lookup
          ansible.builtin.set_fact:
            certificate_key: "{{ lookup('edge.cluster.certificate_key') }}"
          no_log: true

        - name: Everything agrees with openssl
          ansible.builtin.assert:
            that:
              - hash_from_filter == expected_hash
              - hash_from_module.results | map(attribute='hash') | unique == [expected_hash]
              - certificate_key is edge.cluster.certificate_key_valid
              - not ('0' * 63) is edge.cluster.certificate_key_valid
            fail_msg: "filter {{ hash_from_filter }}, module {{ hash_from_module.results | map(attribute='hash') }}, openssl {{ expected_hash }}"
""")


def _version_key(version):
    return tuple(int(part) for part in version.split('.'))


def _outside_env(collections_path):
    """Nothing from the repository: no ANSIBLE_CONFIG, only the install path for collections."""
    return tool_env(ANSIBLE_CONFIG=None, ANSIBLE_COLLECTIONS_PATH=str(collections_path),
                    ANSIBLE_COLLECTIONS_PATHS=None, PYTHONPATH=None)


def test_build_install_and_use_outside_the_repo(tmp_path, openssl_ca):
    version = yaml.safe_load((COLLECTION / 'galaxy.yml').read_text())['version']
    workdir = tmp_path / 'elsewhere'
    workdir.mkdir()
    installed = tmp_path / 'installed'
    installed.mkdir()
    env = _outside_env(installed)

    run(['ansible-galaxy', 'collection', 'build', COLLECTION, '--output-path', tmp_path / 'build'],
        cwd=workdir, env=env)
    tarball = tmp_path / 'build' / ('edge-cluster-%s.tar.gz' % version)
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile('MANIFEST.json'))
    assert manifest['collection_info']['namespace'] == 'edge'
    assert manifest['collection_info']['license'] == ['GPL-3.0-or-later']
    for wanted in ('plugins/modules/ca_cert_hash.py', 'plugins/module_utils/_der.py',
                   'meta/runtime.yml', 'COPYING', 'README.md', 'CHANGELOG.rst', 'CHANGELOG.md',
                   'meta/execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        assert wanted in names
    # The tarball is a release: its version is the changelog's newest (scripts/release VERSION).
    releases = yaml.safe_load((COLLECTION / 'changelogs' / 'changelog.yaml').read_text())['releases']
    assert manifest['collection_info']['version'] == version == max(releases, key=_version_key)
    unwanted = [name for name in names if '__pycache__' in name or name.endswith('.pyc')
                or name.startswith('tests/output') or name.endswith('.gitkeep')]
    assert unwanted == []

    run(['ansible-galaxy', 'collection', 'install', '--offline', tarball, '-p', installed],
        cwd=workdir, env=env)
    listing = json.loads(run(['ansible-galaxy', 'collection', 'list', 'edge.cluster',
                              '--format', 'json'], cwd=workdir, env=env).stdout)
    assert list(listing) == [str(installed / 'ansible_collections')]
    assert not str(REPO) in json.dumps(listing)

    ca = openssl_ca('ca', key='p384', common_name='kubernetes')
    (workdir / 'use.yml').write_text(PLAYBOOK)
    done = run(['ansible-playbook', '-i', 'localhost,', '-c', 'local', 'use.yml',
                '-e', 'ansible_python_interpreter=%s' % sys.executable,
                '-e', 'ca_path=%s' % ca, '-e', 'expected_hash=%s' % openssl_ca_hash(ca)],
               cwd=workdir, env=env)
    assert 'All assertions passed' in done.stdout and 'failed=0' in done.stdout, done.stdout

    # The flows, with their roles, resolve from the installed collection alone.
    names = ('site', 'single_master', 'ha', 'fleet_join', 'reset')
    flows = ['edge.cluster.%s' % name for name in names]
    checked = run(['ansible-playbook', '--syntax-check', '-i', 'localhost,'] + flows,
                  cwd=workdir, env=env)
    playbooks = installed / 'ansible_collections' / 'edge' / 'cluster' / 'playbooks'
    assert checked.stdout.split() == [word for name in names
                                      for word in ('playbook:', '%s/%s.yml' % (playbooks, name))]
