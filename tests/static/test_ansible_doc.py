"""`ansible-doc edge.cluster.<name>` renders full documentation for every module and plugin.

Plugins are found from the files under plugins/ (one plugin per file, named after it), so a
new module or filter is covered without editing this test.
"""

from __future__ import annotations

import json

import pytest
from edge_testlib import COLLECTION, run

PLUGIN_DIRS = {'modules': 'module', 'filter': 'filter', 'lookup': 'lookup', 'test': 'test',
               'inventory': 'inventory', 'callback': 'callback', 'connection': 'connection'}


def _plugins_on_disk():
    found = []
    for directory, plugin_type in sorted(PLUGIN_DIRS.items()):
        for path in sorted((COLLECTION / 'plugins' / directory).glob('*.py')):
            if not path.name.startswith('_'):
                found.append((plugin_type, 'edge.cluster.' + path.stem))
    return found


PLUGINS = _plugins_on_disk()


def test_plugins_found():
    assert ('module', 'edge.cluster.ca_cert_hash') in PLUGINS
    assert ('filter', 'edge.cluster.ca_cert_hash') in PLUGINS


@pytest.mark.parametrize('plugin_type', sorted(
    kind for directory, kind in PLUGIN_DIRS.items()
    if (COLLECTION / 'plugins' / directory).is_dir()))
def test_ansible_doc_lists_every_plugin_file(plugin_type):
    listed = json.loads(run(['ansible-doc', '-t', plugin_type, '--list', '--json',
                             'edge.cluster']).stdout)
    on_disk = {name for kind, name in PLUGINS if kind == plugin_type}
    assert set(listed) == on_disk


@pytest.mark.parametrize('plugin_type, name', PLUGINS, ids=['%s:%s' % p for p in PLUGINS])
def test_ansible_doc_renders(plugin_type, name):
    data = json.loads(run(['ansible-doc', '-t', plugin_type, '--json', name]).stdout)[name]
    doc = data['doc']
    assert doc['short_description'] and doc['description']
    assert doc['author'] and doc.get('version_added'), 'author and version_added are needed'
    assert data['examples'].strip(), 'EXAMPLES is empty'
    assert data['return'], 'RETURN is empty'
    text = run(['ansible-doc', '-t', plugin_type, name]).stdout
    assert text.startswith('> %s ' % plugin_type.upper()), text[:200]
    assert 'EXAMPLES:' in text
    assert ('RETURN VALUES:' in text), text[-2000:]
    if plugin_type == 'module':
        assert 'ATTRIBUTES:' in text and 'check_mode' in text
