"""ansible-test sanity over the collection, as Galaxy and Ansible's CI would run it.

Run from collections/ansible_collections/edge/cluster against the working tree: ansible-test
lists files through git (tracked plus untracked-not-ignored), so new files count before they
are committed. No ignore-*.txt files: code is fixed instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from edge_testlib import COLLECTION, REPO, run, tool_env

PYTHON = '3.11'
GET_PIP_STANDIN = Path(__file__).with_name('get_pip_offline.py')


def _wanted_pip_version():
    """The pip version ansible-test bootstraps into its venvs (its get_pip_<v>.py name)."""
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:
        version = PYTHON

    return get_venv_packages(_Python())['pip']


@pytest.fixture(scope='module')
def offline_get_pip():
    """ansible-test downloads get-pip.py from a host that is not reachable here, and says to
    save it at this path by hand; put the standard-library stand-in there (never over a real
    one)."""
    version = _wanted_pip_version()
    cache = Path(os.path.expanduser('~/.ansible/test/cache'))
    target = cache / ('get_pip_%s.py' % version.replace('.', '_'))
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(GET_PIP_STANDIN, target)
    return target


def test_no_broad_sanity_ignores():
    """Ignore files are allowed only as single, commented exceptions."""
    for ignore in (COLLECTION / 'tests' / 'sanity').glob('ignore-*.txt'):
        lines = ignore.read_text().splitlines()
        for number, line in enumerate(lines):
            if not line.strip() or line.startswith('#'):
                continue
            assert number > 0 and lines[number - 1].startswith('#'), (
                '%s:%d needs a comment on the line above saying why it cannot be fixed'
                % (ignore, number + 1))
            path = line.split()[0]
            assert '*' not in path and not path.endswith('/'), (
                '%s:%d ignores more than one file' % (ignore, number + 1))


def test_gitignore_does_not_hide_the_collection():
    """ansible-test lists files through git; an ignored file would be silently skipped."""
    if not (REPO / '.git').exists():
        pytest.skip('not a git checkout')
    probes = ['plugins/modules/ca_cert_hash.py', 'plugins/module_utils/_der.py', 'galaxy.yml',
              'meta/runtime.yml', 'tests/unit/conftest.py']
    done = run(['git', 'check-ignore', '--no-index'] + [COLLECTION / probe for probe in probes],
               check=False)
    assert done.returncode == 1 and done.stdout == '', 'git ignores: %s' % done.stdout


def test_ansible_test_sanity(offline_get_pip):
    env = tool_env(PIP_DISABLE_PIP_VERSION_CHECK='1')
    done = run(['ansible-test', 'sanity', '--python', PYTHON, '--color', 'no'],
               cwd=COLLECTION, env=env, timeout=3000, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, 'ansible-test sanity failed:\n%s' % '\n'.join(
        line for line in output.splitlines()
        if re.match(r'^(ERROR|FATAL|WARNING: (?!Using locale))', line) or 'Running sanity' in line)
    assert 'Running sanity test "validate-modules"' in output
    assert 'Running sanity test "pylint"' in output
