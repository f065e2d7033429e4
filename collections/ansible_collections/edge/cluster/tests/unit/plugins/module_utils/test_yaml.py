# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_yaml: the optional PyYAML import, the reader's kubectl fallback, and the writer (read back
with PyYAML, an implementation independent of it)."""

from __future__ import annotations

import builtins

import pytest
import yaml

from ansible_collections.edge.cluster.plugins.module_utils import _yaml as ky


@pytest.fixture
def no_pyyaml(monkeypatch):
    """A node without PyYAML: importing yaml fails."""
    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == 'yaml':
            raise ImportError('no yaml here')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_yaml)


def test_optional_yaml_is_pyyaml_when_installed():
    assert ky.optional_yaml() is yaml


def test_optional_yaml_is_none_without_pyyaml(no_pyyaml):
    assert ky.optional_yaml() is None


@pytest.mark.parametrize('text, expected', [
    ('kind: ClusterConfiguration\na: 1\n', {'kind': 'ClusterConfiguration', 'a': 1}),
    ('a: [1, "2"]\nb: {c: null}\n', {'a': [1, '2'], 'b': {'c': None}}),
    ('', None),
])
def test_load_yaml_document_with_pyyaml_ignores_the_converter(text, expected):
    def convert(dummy):
        raise AssertionError('the converter must not run when PyYAML is there')

    assert ky.load_yaml_document(text, convert) == expected


@pytest.mark.parametrize('converted, expected', [
    ('{"kind": "ClusterConfiguration", "metadata": {"labels": {"x": "y"}}, "a": 1}',
     {'kind': 'ClusterConfiguration', 'a': 1}),
    ('{"a": [1, 2]}', {'a': [1, 2]}),
    ('[1, 2]', [1, 2]),
])
def test_load_yaml_document_without_pyyaml_uses_the_converter(no_pyyaml, converted, expected):
    seen = []

    def convert(text):
        seen.append(text)
        return converted

    assert ky.load_yaml_document('a: 1\n', convert) == expected
    assert seen == ['a: 1\n']


def test_load_yaml_document_without_pyyaml_or_converter_fails(no_pyyaml):
    with pytest.raises(ValueError, match='no YAML reader'):
        ky.load_yaml_document('a: 1')


@pytest.mark.parametrize('value', [
    {'a': 'true', 'b': '0600', 'c': '1.30', 'd': 'null', 'e': '', 'f': 'x: y', 'g': '- z',
     'h': "quote\"s and 'single'", 'i': 'multi\nline', 'j': '#hash', 'k': 'üñí'},
    {'on': 1, 'yes': True, 'no': False, 'key with space': None, 'n': 3.5, 'empty': {}, 'none': []},
    {'list': [[1, 2], [], {}, {'a': [{'b': {'c': ['d']}}]}, 'x']},
    {'nested': {'deep': {'deeper': {'leaf': 'v'}}}},
])
def test_yaml_reads_back_as_the_same_data(value):
    text = ky.to_yaml([value], header='line one\n\nline three')
    assert yaml.safe_load(text) == value
    assert text.startswith('# line one\n#\n# line three\n')
