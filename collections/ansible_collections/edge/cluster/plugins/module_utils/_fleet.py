# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not use it from elsewhere.

"""Fleet join logic: node names (Penetrator's <prefix>-<6 random [a-z0-9]>, recorded on the node so
they are stable), which inventory hosts are members already (from one node listing), and the
report (rows, summary, table). Pure functions; the module and the filters are thin wrappers."""

from __future__ import annotations

import hashlib
import re
import secrets

# Penetrator's alphabet (webhook.go): lowercase letters and digits, so the name is a DNS label.
NAME_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
NAME_RANDOM_LENGTH = 6
# A Node name is a DNS-1123 subdomain; we keep to 63 so it is also a valid label value
# (superedge.io.hostname carries it) and a hostname.
_NAME_RE = re.compile(r'^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$')
_LABEL_VALUE_RE = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')

RESULTS = ('joined', 'reinstalled', 'already a member', 'failed', 'skipped')


class FleetError(ValueError):
    """Bad input, with a message that says what is wrong and how to fix it."""


def validate_node_name(name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise FleetError('%r is not a usable node name: it must be 1-63 characters of lowercase letters, digits, '
                         "'-' and '.', starting and ending with a letter or digit" % (name,))
    return name


def validate_prefix(prefix):
    """The prefix as used: trailing '-' dropped (the '-' before the random part is added)."""
    if not isinstance(prefix, str):
        raise FleetError('the node name prefix must be a string, got %r' % (prefix,))
    stem = prefix.rstrip('-')
    if not stem:
        raise FleetError('the node name prefix %r is empty: set fleet_join_node_name_prefix to something like edge '
                         '(names become edge-<6 random characters>), or leave it unset to keep hostnames' % prefix)
    if len(stem) > 63 - 1 - NAME_RANDOM_LENGTH or not _NAME_RE.match(stem):
        raise FleetError('node name prefix %r is not usable: up to %d lowercase letters, digits, \'-\' and \'.\', '
                         'starting and ending with a letter or digit (trailing \'-\' aside): set '
                         'fleet_join_node_name_prefix to something like edge' % (prefix, 63 - 1 - NAME_RANDOM_LENGTH))
    return stem


# A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters.
_LABEL_NAME_RE = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$')
_DNS_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')

# The settings validate_settings knows, and what kind of value each one is.
LABEL_VALUE_SETTINGS = ('fleet_join_run_id',)
LABEL_KEY_SETTINGS = ('fleet_join_label_key', 'fleet_join_inventory_label_key')
PREFIX_SETTINGS = ('fleet_join_node_name_prefix',)


def is_label_key(key):
    if not isinstance(key, str) or key.count('/') > 1:
        return False
    prefix, dummy, name = key.rpartition('/')
    if '/' in key and not (len(prefix) <= 253 and _DNS_SUBDOMAIN_RE.match(prefix)):
        return False
    return bool(_LABEL_NAME_RE.match(name))


def validate_settings(settings=None, host_settings=None):
    """Check the run's settings before any host is touched; raise FleetError naming what to set.

    settings       {setting: value} for the whole run (None values are unset, not checked).
    host_settings  {host: {setting: value}} as each host sees them.
    Settings: fleet_join_run_id (a label value), fleet_join_label_key and fleet_join_inventory_label_key
    (label keys), fleet_join_node_name_prefix ('' for none, else validate_prefix's rule)."""
    scopes = [('', settings or {})] + [(' (host %s)' % host, values or {})
                                       for host, values in sorted((host_settings or {}).items())]
    for where, values in scopes:
        for setting, value in sorted(values.items()):
            if value is None:
                continue
            if setting in LABEL_VALUE_SETTINGS:
                if not isinstance(value, str) or not _LABEL_VALUE_RE.match(value):
                    raise FleetError('%s%s is %r, not a usable Kubernetes label value: set it to 1-63 letters, digits, '
                                     "'-', '_' and '.', starting and ending with a letter or digit, or leave it unset "
                                     '(a run id is made up)' % (setting, where, value))
            elif setting in LABEL_KEY_SETTINGS:
                if not is_label_key(value):
                    raise FleetError('%s%s is %r, not a usable Kubernetes label key: set it to [prefix/]name, the '
                                     "name 1-63 letters, digits, '-', '_' and '.' starting and ending with a letter or "
                                     'digit, the prefix a lowercase DNS subdomain (e.g. example.com/fleet-run)'
                                     % (setting, where, value))
            elif setting in PREFIX_SETTINGS:
                if value != '':
                    try:
                        validate_prefix(value)
                    except FleetError as exc:
                        raise FleetError('%s%s: %s' % (setting, where, exc))
            else:
                raise FleetError('unknown setting %r' % (setting,))


def matches_prefix(name, prefix):
    """Whether name has the shape <prefix>-<6 of [a-z0-9]>."""
    stem = prefix.rstrip('-')
    tail = name[len(stem) + 1:]
    return (name.startswith(stem + '-') and len(tail) == NAME_RANDOM_LENGTH
            and all(c in NAME_ALPHABET for c in tail))


def generate_node_name(prefix, taken=(), choice=secrets.choice, attempts=100):
    """<prefix>-<6 random [a-z0-9]> not in taken."""
    stem = validate_prefix(prefix)
    taken = set(taken)
    for dummy in range(attempts):
        name = '%s-%s' % (stem, ''.join(choice(NAME_ALPHABET) for dummy in range(NAME_RANDOM_LENGTH)))
        if name not in taken:
            return name
    raise FleetError('no free node name with prefix %r after %d attempts: use another prefix' % (prefix, attempts))


def choose_node_name(recorded=None, prefix=None, override=None, default=None, taken=(), rename=False,
                     choice=secrets.choice):
    """(name, source) for a node about to join.

    override  an explicit name (Penetrator's nodeNamesOverride) wins.
    recorded  the name written on the node by an earlier run is kept (stable across re-runs), unless rename is
              asked, it no longer fits the prefix, or another Node carries it (taken).
    prefix    a new <prefix>-<6 random> name, unique among taken.
    default   otherwise (no prefix): the hostname-derived name.
    """
    taken = set(taken or ())
    if override:
        name = validate_node_name(override)
        if name in taken:
            raise FleetError('node name %s (fleet_join_node_name) is already a Node of the cluster: choose another '
                             'name, or reinstall that node instead' % name)
        return name, 'override'
    recorded = (recorded or '').strip()
    if recorded and not rename and recorded not in taken and _NAME_RE.match(recorded) \
            and (not prefix or matches_prefix(recorded, prefix)):
        return recorded, 'recorded'
    if prefix:
        avoid = taken | ({recorded} if recorded else set())
        return generate_node_name(prefix, avoid, choice=choice), 'generated'
    if not default:
        raise FleetError('no node name: set fleet_join_node_name_prefix or fleet_join_node_name')
    name = validate_node_name(default.lower())
    if name in taken:
        raise FleetError('node name %s is already a Node of the cluster but this host is not recorded as that node: '
                         'set fleet_join_node_name_prefix for generated names, or fleet_join_node_name' % name)
    return name, 'default'


def inventory_label_value(host):
    """The label value that records an inventory host on its Node: the name itself when it is a valid label
    value, else a stable digest of it."""
    if isinstance(host, str) and _LABEL_VALUE_RE.match(host):
        return host
    return 'h-' + hashlib.sha256(str(host).encode('utf-8')).hexdigest()[:40]


def plan(hosts, nodes, label_key, reinstall=()):
    """Decide, from one node listing, what each inventory host needs.

    hosts      inventory host names.
    nodes      node_info's nodes ({name: {labels: {...}, ...}}).
    label_key  the label that records the inventory host on its Node.
    reinstall  hosts to reset and join again.
    Returns {host: {'action': 'member'|'join'|'reinstall', 'node_name': <current Node name or None>,
    'inventory_label': <the label value to record the host with>}}.
    A Node named exactly like the host (joined by another flow with its hostname) counts as its Node too.
    """
    if not isinstance(nodes, dict):
        raise FleetError('nodes must be node_info\'s nodes dict, got %s' % type(nodes).__name__)
    by_value = {}
    for name, node in sorted(nodes.items()):
        value = ((node or {}).get('labels') or {}).get(label_key)
        if value:
            by_value.setdefault(value, name)
    reinstall = set(reinstall or ())
    out = {}
    for host in hosts:
        name = by_value.get(inventory_label_value(host))
        if name is None and str(host).lower() in nodes:
            name = str(host).lower()
        if name is None:
            action = 'join'
        elif host in reinstall:
            action = 'reinstall'
        else:
            action = 'member'
        out[host] = {'action': action, 'node_name': name, 'inventory_label': inventory_label_value(host)}
    return out


def report_rows(plan_, outcomes, unreachable=None):
    """One row per planned host: host, node_name, result, reason, step, duration (seconds), and for a
    failure the task that failed (task).

    plan_        plan()'s result.
    outcomes     {host: {'result', 'node_name', 'reason', 'step', 'duration'}} for hosts that ran.
    unreachable  {host: reason} for hosts the probe could not reach.
    """
    unreachable = unreachable or {}
    rows = []
    for host in sorted(plan_):
        planned = plan_[host]
        outcome = outcomes.get(host) or {}
        if planned['action'] == 'member':
            row = {'result': 'already a member', 'node_name': planned.get('node_name'), 'reason': '',
                   'step': '', 'duration': 0.0}
        elif host in unreachable:
            row = {'result': 'failed', 'node_name': planned.get('node_name'), 'step': 'reach',
                   'reason': 'unreachable: %s' % unreachable[host], 'duration': 0.0}
        elif outcome.get('result'):
            row = {'result': outcome['result'], 'node_name': outcome.get('node_name') or planned.get('node_name'),
                   'reason': outcome.get('reason') or '', 'step': outcome.get('step') or '',
                   'task': outcome.get('task') or '',
                   'duration': round(float(outcome.get('duration') or 0.0), 1)}
        else:
            row = {'result': 'failed', 'node_name': planned.get('node_name'), 'step': '',
                   'reason': 'the run ended before this host was done (see the log)', 'duration': 0.0}
        if row['result'] not in RESULTS:
            raise FleetError('unknown result %r for %s' % (row['result'], host))
        row['host'] = host
        row.setdefault('task', '')
        row['reason'] = one_line(row['reason'])
        rows.append(row)
    return rows


def one_line(text, limit=400):
    text = ' '.join(str(text or '').split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def summary(rows):
    counts = dict((result, 0) for result in RESULTS)
    for row in rows:
        counts[row['result']] += 1
    return counts


def render_table(rows, run_id=''):
    """A fixed-width text table, then a summary line."""
    headers = ('HOST', 'NODE', 'RESULT', 'SECONDS', 'REASON')
    cells = [(r['host'], r.get('node_name') or '-', r['result'], '%.1f' % r.get('duration', 0.0),
              ('[%s] %s' % (r['step'], r['reason']) if r.get('step') else r['reason']) or '-') for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers[:-1])]
    lines = []
    for row in [headers] + cells:
        lines.append('  '.join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + '  ' + row[-1])
    counts = summary(rows)
    lines.append('fleet join %s: %d hosts - %s' % (
        run_id, len(rows), ', '.join('%d %s' % (counts[k], k) for k in RESULTS if counts[k]) or 'nothing to do'))
    return '\n'.join(line.rstrip() for line in lines)


def report_document(rows, run_id='', label=None, started=None):
    """The JSON report's content."""
    return {'run_id': run_id, 'batch_label': label, 'started': started, 'summary': summary(rows), 'hosts': rows}
