"""The collection's docs site as docs.ansible.com renders collections: scripts/docs (make docs)
lints the docs with antsibull-docs and builds the HTML site; headless Chromium then renders the
collection index (modules, plugins, roles, guides) and a role page (its argument spec), and the
test reads what the browser shows. Screenshots: artifacts/test-results/docs/ (git-ignored)."""

from __future__ import annotations

import shutil
import struct
from html.parser import HTMLParser

import pytest
import yaml
from edge_testlib import COLLECTION, REPO, run

CHROMIUM = shutil.which('chromium')
RESULTS = REPO / 'artifacts' / 'test-results' / 'docs'
ROLE = 'node_join'
GUIDES = {'architecture': 'Architecture', 'deploying': 'Deploying an edge cluster',
          'ha': 'HA control plane', 'fleet_join': 'Fleet join'}


class _Page(HTMLParser):
    """Visible text, link targets and element ids of a DOM as the browser serialised it."""

    def __init__(self):
        super().__init__()
        self.text, self.links, self.ids, self._skip = [], set(), set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip += tag in ('script', 'style')
        if tag == 'a' and attrs.get('href'):
            self.links.add(attrs['href'])
        if attrs.get('id'):
            self.ids.add(attrs['id'])

    def handle_endtag(self, tag):
        self._skip -= tag in ('script', 'style')

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(' '.join(data.split()))


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('docs')
    run([REPO / 'scripts' / 'docs', out], timeout=900)
    return out / 'html'


def _browse(page, name, tmp_path):
    """Render page in headless Chromium: the DOM after scripts ran, and a screenshot saved as
    RESULTS/<name>.png. Returns the parsed DOM."""
    assert CHROMIUM, 'chromium is not installed: scripts/setup-host installs it (Debian package chromium)'
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / ('%s.png' % name)
    png.unlink(missing_ok=True)
    common = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--window-size=1280,1600']
    dom = run([CHROMIUM, *common, '--user-data-dir=%s' % (tmp_path / ('%s-dom' % name)),
               '--dump-dom', page.as_uri()], timeout=120).stdout
    run([CHROMIUM, *common, '--user-data-dir=%s' % (tmp_path / ('%s-shot' % name)),
         '--screenshot=%s' % png, page.as_uri()], timeout=120)
    header = png.read_bytes()[:24]
    assert header[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', header[16:24]) == (1280, 1600)
    parsed = _Page()
    parsed.feed(dom)
    return parsed


def test_index_lists_every_module_plugin_role_and_guide(site, tmp_path):
    page = _browse(site / 'index.html', 'index', tmp_path)
    text = ' '.join(page.text)
    version = yaml.safe_load((COLLECTION / 'galaxy.yml').read_text())['version']
    assert 'Collection version %s' % version in text
    modules = sorted(path.stem for path in (COLLECTION / 'plugins' / 'modules').glob('[a-z]*.py'))
    roles = sorted(path.parent.parent.name for path in COLLECTION.glob('roles/*/meta/argument_specs.yml'))
    assert modules and roles
    for kind, names in (('module', modules), ('role', roles)):
        missing = [name for name in names if '%s_%s.html' % (name, kind) not in page.links]
        assert missing == [], 'the index does not link these %ss: %s' % (kind, missing)
    for plugin in COLLECTION.glob('plugins/[flt]*/[a-z]*.py'):   # filter, lookup, test
        assert '%s_%s.html' % (plugin.stem, plugin.parent.name) in page.links, plugin
    for guide, title in GUIDES.items():
        assert 'docsite/%s.html' % guide in page.links and title in page.text, guide


def test_role_page_shows_the_argument_spec(site, tmp_path):
    page = _browse(site / ('%s_role.html' % ROLE), '%s_role' % ROLE, tmp_path)
    spec = yaml.safe_load((COLLECTION / 'roles' / ROLE / 'meta' / 'argument_specs.yml').read_text())
    entry = spec['argument_specs']['main']
    assert any(line.startswith('edge.cluster.%s role' % ROLE) for line in page.text)
    assert entry['short_description'] in ' '.join(page.text)
    missing = [name for name in entry['options'] if 'parameter-main--%s' % name not in page.ids
               or name not in page.text]
    assert missing == [], 'options of %s not on its page: %s' % (ROLE, missing)
