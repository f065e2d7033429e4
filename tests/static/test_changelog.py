"""Release notes: the changelog fragments lint clean with antsibull-changelog (a bad one is caught),
and CHANGELOG.rst / CHANGELOG.md describe the version galaxy.yml carries (scripts/release VERSION
writes all three; the Galaxy tarball test installs that version)."""

from __future__ import annotations

import shutil

import yaml
from edge_testlib import COLLECTION, run


def _lint(collection):
    return run(['antsibull-changelog', 'lint'], cwd=collection, check=False)


def test_fragments_lint_clean():
    done = _lint(COLLECTION)
    assert done.returncode == 0 and done.stdout.strip() == '', done.stdout + done.stderr


def test_lint_catches_a_bad_fragment(tmp_path):
    copy = tmp_path / 'cluster'
    copy.mkdir()
    shutil.copy(COLLECTION / 'galaxy.yml', copy)
    shutil.copytree(COLLECTION / 'changelogs', copy / 'changelogs')
    (copy / 'changelogs' / 'fragments' / 'bad.yml').write_text('minor_change:\n  - misspelled section\n')
    done = _lint(copy)
    assert done.returncode != 0 and 'minor_change' in done.stdout + done.stderr, done.stdout


def test_changelogs_describe_the_galaxy_version():
    version = yaml.safe_load((COLLECTION / 'galaxy.yml').read_text())['version']
    assert version in yaml.safe_load((COLLECTION / 'changelogs' / 'changelog.yaml').read_text())['releases']
    rst = (COLLECTION / 'CHANGELOG.rst').read_text().splitlines()
    assert 'v%s' % version in rst, 'CHANGELOG.rst has no section v%s: run scripts/release %s' % (version, version)
    md = (COLLECTION / 'CHANGELOG.md').read_text()
    assert '## v%s' % version.replace('.', '\\.') in md, 'CHANGELOG.md has no v%s' % version
