"""requirements.txt is pinned, and requirements.yml is met without Galaxy: the collections it
lists come with the pinned `ansible` package, in versions inside its bounds."""

from __future__ import annotations

import json
import re

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
from edge_testlib import REPO, run

PIN = re.compile(r'^[A-Za-z0-9._-]+(\[[A-Za-z0-9,_-]+\])?==[A-Za-z0-9.+!-]+$')


def test_requirements_txt_pins_every_package():
    lines = [line.strip() for line in (REPO / 'requirements.txt').read_text().splitlines()]
    packages = [line for line in lines if line and not line.startswith('#')]
    unpinned = [line for line in packages if not PIN.match(line)]
    assert packages and unpinned == []
    names = [re.split(r'[\[=]', line)[0].lower() for line in packages]
    assert len(names) == len(set(names)), 'listed twice: %s' % sorted(
        name for name in names if names.count(name) > 1)
    for needed in ('ansible', 'ansible-core', 'ansible-runner', 'molecule', 'molecule-plugins',
                   'cryptography', 'jmespath', 'pytest', 'ansible-lint'):
        assert needed in names


def test_bundled_collections_meet_requirements_yml():
    wanted = yaml.safe_load((REPO / 'requirements.yml').read_text())['collections']
    listing = json.loads(run(['ansible-galaxy', 'collection', 'list', '--format', 'json']).stdout)
    available = {}
    for collections in listing.values():
        for name, info in collections.items():
            available.setdefault(name, []).append(info['version'])
    assert available.get('edge.cluster'), 'ansible.cfg does not find the in-repo collection'
    for requirement in wanted:
        versions = available.get(requirement['name'], [])
        assert any(meets_requirements(version, requirement['version']) for version in versions), (
            '%s %s is not installed (found %s); the ansible package in requirements.txt should '
            'bundle it' % (requirement['name'], requirement['version'], versions or 'none'))


def test_galaxy_dependencies_agree_with_requirements_yml():
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    wanted = {item['name']: item['version']
              for item in yaml.safe_load((REPO / 'requirements.yml').read_text())['collections']}
    for name, bound in (galaxy.get('dependencies') or {}).items():
        assert wanted.get(name) == bound, (
            'galaxy.yml needs %s %s, requirements.yml says %s' % (name, bound, wanted.get(name)))
