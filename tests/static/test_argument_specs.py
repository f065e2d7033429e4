"""Every role's meta/argument_specs.yml mirrors its defaults (STYLE point 11).

For each role under the collection's roles/: every variable in defaults/ is documented in the
argument spec, every documented default is set in defaults/ with the same value (templated
values are compared as written), and required options have no default. The checker is tested
on throwaway roles too, so it is known to fail on a mismatch even while no role exists yet.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from edge_testlib import COLLECTION

ROLES_DIR = COLLECTION / 'roles'


def _load_yaml(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _defaults(role):
    values = {}
    files = [role / 'defaults' / 'main.yml', role / 'defaults' / 'main.yaml']
    files += sorted((role / 'defaults' / 'main').glob('*.y*ml'))
    for path in files:
        if path.is_file():
            values.update(_load_yaml(path) or {})
    return values


def spec_problems(role):
    """List of human-readable mismatches between defaults/ and meta/argument_specs.yml."""
    role = Path(role)
    defaults = _defaults(role)
    spec_file = next((p for p in (role / 'meta' / 'argument_specs.yml',
                                  role / 'meta' / 'argument_specs.yaml') if p.is_file()), None)
    if spec_file is None:
        return ['%s has no meta/argument_specs.yml' % role.name]
    entry_points = (_load_yaml(spec_file) or {}).get('argument_specs') or {}
    if 'main' not in entry_points:
        return ['%s: meta/argument_specs.yml has no "main" entry point' % role.name]
    options = {}
    for entry in entry_points.values():
        options.update((entry or {}).get('options') or {})
    main_options = (entry_points['main'] or {}).get('options') or {}
    problems = []
    for name in sorted(set(defaults) - set(options)):
        problems.append('%s: defaults set %s, meta/argument_specs.yml does not document it'
                        % (role.name, name))
    for name, option in sorted(main_options.items()):
        option = option or {}
        if option.get('required') and name in defaults:
            problems.append('%s: %s is required but has a default in defaults/'
                            % (role.name, name))
        if 'default' in option and name not in defaults:
            problems.append('%s: meta/argument_specs.yml gives %s a default, defaults/ does not '
                            'set it' % (role.name, name))
        elif 'default' in option and option['default'] != defaults[name]:
            problems.append('%s: %s defaults to %r in defaults/ but %r in '
                            'meta/argument_specs.yml' % (role.name, name, defaults[name],
                                                         option['default']))
    return problems


def _roles():
    if not ROLES_DIR.is_dir():
        return []
    return sorted(path for path in ROLES_DIR.iterdir() if path.is_dir())


@pytest.mark.parametrize('role', _roles(), ids=lambda path: path.name)
def test_role_argument_specs_mirror_defaults(role):
    assert spec_problems(role) == []


# --- the checker itself, on throwaway roles ---

SPEC = textwrap.dedent("""\
    argument_specs:
      main:
        short_description: Demo
        options:
          demo_port:
            type: int
            default: 6443
          demo_image:
            type: str
            default: "{{ demo_registry }}/pause:3.10"
          demo_token:
            type: str
            required: true
      extra:
        options:
          demo_extra:
            type: bool
            default: false
""")
DEFAULTS = textwrap.dedent("""\
    demo_port: 6443
    demo_image: "{{ demo_registry }}/pause:3.10"
    demo_extra: false
""")


def _role(tmp_path, defaults=DEFAULTS, spec=SPEC):
    role = tmp_path / 'demo'
    (role / 'defaults').mkdir(parents=True)
    (role / 'meta').mkdir()
    (role / 'defaults' / 'main.yml').write_text(defaults)
    if spec is not None:
        (role / 'meta' / 'argument_specs.yml').write_text(spec)
    return role


def test_checker_accepts_a_matching_role(tmp_path):
    assert spec_problems(_role(tmp_path)) == []


@pytest.mark.parametrize('defaults, spec, problem', [
    (DEFAULTS + 'demo_undocumented: 1\n', SPEC,
     'defaults set demo_undocumented, meta/argument_specs.yml does not document it'),
    (DEFAULTS.replace('6443', '443'), SPEC,
     'demo_port defaults to 443 in defaults/ but 6443 in meta/argument_specs.yml'),
    (DEFAULTS.replace('demo_port: 6443\n', ''), SPEC,
     'meta/argument_specs.yml gives demo_port a default, defaults/ does not set it'),
    (DEFAULTS + 'demo_token: abc\n', SPEC, 'demo_token is required but has a default'),
    (DEFAULTS, None, 'demo has no meta/argument_specs.yml'),
    (DEFAULTS, SPEC.replace('  main:', '  other:'), 'no "main" entry point'),
])
def test_checker_reports_mismatches(tmp_path, defaults, spec, problem):
    problems = spec_problems(_role(tmp_path, defaults, spec))
    assert any(problem in line for line in problems), problems
