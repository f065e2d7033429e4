"""The execution environment: `ansible-builder create` on the EE definition the README gives, with
the real Galaxy tarball, makes a build context that installs edge.cluster; the introspection the
image build runs over the installed collection yields the collection's own Python and system
requirements (meta/execution-environment.yml -> requirements.txt, bindep.txt). No image is built:
no container registry is reachable here."""

from __future__ import annotations

import re

import yaml
from edge_testlib import COLLECTION, REPO, run, tool_env


def _requirement_lines(path):
    """Non-empty lines of a pip or bindep file, without comments."""
    lines = (line.split('#', 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _readme_definition():
    """The execution-environment.yml block of the README (the one with `version: 3`)."""
    blocks = re.findall(r'```yaml\n(.*?)```', (REPO / 'README.md').read_text(), re.S)
    definitions = [block for block in blocks if 'execution-environment.yml' in block.splitlines()[0]]
    assert len(definitions) == 1, 'README.md should hold one execution-environment.yml block'
    return yaml.safe_load(definitions[0])


def test_collection_declares_its_ee_dependencies():
    meta = yaml.safe_load((COLLECTION / 'meta' / 'execution-environment.yml').read_text())
    assert meta['dependencies'] == {'python': 'requirements.txt', 'system': 'bindep.txt'}
    assert 'cryptography>=3.3' in _requirement_lines(COLLECTION / 'requirements.txt')
    assert set(_requirement_lines(COLLECTION / 'bindep.txt')) == {
        'openssh-client [platform:dpkg]', 'openssh-clients [platform:rpm]'}
    # bindep parses the file and resolves it for this (Debian) host to the SSH client.
    listed = run(['bindep', '--file', COLLECTION / 'bindep.txt', '--list_all', 'newline'],
                 check=False)
    assert listed.stdout.split() == ['openssh-client'], listed.stdout + listed.stderr


def test_ansible_builder_context_installs_the_collection_and_its_dependencies(tmp_path):
    version = yaml.safe_load((COLLECTION / 'galaxy.yml').read_text())['version']
    tarball_name = 'edge-cluster-%s.tar.gz' % version
    definition = _readme_definition()
    assert definition['additional_build_files'] == [{'src': tarball_name, 'dest': 'collections'}], (
        'README.md: the EE definition should name the current tarball %s' % tarball_name)

    workdir = tmp_path / 'ee'
    workdir.mkdir()
    env = tool_env(ANSIBLE_CONFIG=None)
    run(['ansible-galaxy', 'collection', 'build', COLLECTION, '--output-path', workdir],
        cwd=workdir, env=env)
    (workdir / 'execution-environment.yml').write_text(yaml.safe_dump(definition))
    run(['ansible-builder', 'create', '--file', 'execution-environment.yml', '--context', 'context',
         '--output-filename', 'Containerfile'], cwd=workdir, env=env)

    context = workdir / 'context'
    build = context / '_build'
    assert (build / 'collections' / tarball_name).read_bytes() == (workdir / tarball_name).read_bytes()
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text())
    assert galaxy['collections'] == [{'name': 'collections/%s' % tarball_name, 'type': 'file'}]
    containerfile = (context / 'Containerfile').read_text()
    for step in ('ARG EE_BASE_IMAGE="quay.io/fedora/fedora:41"', 'ansible-galaxy collection install',
                 'ansible-core==2.19.14', 'ansible-runner==2.4.3', 'introspect',
                 'install-from-bindep'):
        assert step in containerfile, step

    # What the image build does next: install the tarball's collection, then introspect the
    # installed collections into the Python and system requirement lists it installs.
    installed = tmp_path / 'installed'
    run(['ansible-galaxy', 'collection', 'install', '--offline', build / 'collections' / tarball_name,
         '-p', installed], cwd=build, env=tool_env(ANSIBLE_CONFIG=None,
                                                    ANSIBLE_COLLECTIONS_PATH=str(installed)))
    own = installed / 'ansible_collections' / 'edge' / 'cluster'
    for name in ('meta/execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        assert (own / name).is_file(), '%s is missing from the tarball' % name
    run(['python', build / 'scripts' / 'introspect.py', 'introspect', installed,
         '--write-pip', tmp_path / 'pip.txt', '--write-bindep', tmp_path / 'bindep.txt'],
        cwd=build, env=env)
    pip_lines = (tmp_path / 'pip.txt').read_text().splitlines()
    bindep_lines = (tmp_path / 'bindep.txt').read_text().splitlines()
    assert 'cryptography>=3.3  # from collection edge.cluster' in pip_lines, pip_lines
    assert 'openssh-client [platform:dpkg]  # from collection edge.cluster' in bindep_lines, bindep_lines
    assert 'openssh-clients [platform:rpm]  # from collection edge.cluster' in bindep_lines, bindep_lines
