# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""One run of edge.cluster.static_package: find the package (node path, URL, or ask the action
plugin to send it), check its checksum, and install only what differs, then the systemd work.

The order is what keeps a node untouched by a bad package: the package is read and verified
(_static_package_archive), the changes planned (_static_package_files), and only then written
(_static_package_write). The install record makes a no-op run cheap: when the checksum matches
the record, the package is not opened at all.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ansible_collections.edge.cluster.plugins.module_utils import _hashing
from ansible_collections.edge.cluster.plugins.module_utils._files import write_atomic
from ansible_collections.edge.cluster.plugins.module_utils._static_package_archive import (
    PackageError,
    RUNTIME_BINARIES,
    read_package,
    staged_paths,
    verify,
)
from ansible_collections.edge.cluster.plugins.module_utils._static_package_files import (
    Options,
    desired_files,
    diff_for,
    plan,
    verified_fingerprints,
)
from ansible_collections.edge.cluster.plugins.module_utils._static_package_write import (
    apply,
    load_state,
    make_dirs,
    record_from_contents,
    save_state,
    summary,
)

_NEEDS_PACKAGE = ('bin', 'cni', 'runtime')


class Request:
    """The module's options, as plain values (see plugins/modules/static_package.py)."""

    def __init__(self, src=None, url=None, checksum=None, options=None, state_file='/var/lib/edge-cluster/static-package.json',
                 cache_dir='/var/cache/edge-cluster', cache_as=None, transfer=False, daemon_reload=True,
                 enable_kubelet=True, check_mode=False, diff=False):
        self.src = src
        self.url = url
        self.checksum = checksum
        self.options = options or Options()
        self.state_file = state_file
        self.cache_dir = cache_dir
        self.cache_as = cache_as        # move a verified transfer here (set by the action plugin)
        self.transfer = transfer        # the action plugin can send the package: ask instead of failing
        self.daemon_reload = daemon_reload
        self.enable_kubelet = enable_kubelet
        self.check_mode = check_mode
        self.diff = diff


def _needs_package(changes):
    return [c for c in changes if c.desired.kind in _NEEDS_PACKAGE and c.action != 'attributes']


def _expected_checksum(request, path):
    """(sha256, where it came from) from the checksum option or a SHA256SUMS beside path."""
    if request.checksum:
        return _hashing.parse_sha256(request.checksum, error=PackageError), 'the checksum option'
    if path:
        sums = os.path.join(os.path.dirname(path), 'SHA256SUMS')
        try:
            with open(sums, 'r', encoding='utf-8') as handle:
                found = _hashing.checksum_from_sums(handle.read(), os.path.basename(path))
        except OSError:
            found = None
        if found:
            return found, sums
    return None, None


def _scratch_dir(request):
    """A private folder for staging that leaves no trace: the cache dir if it exists, else /var/tmp."""
    base = request.cache_dir if os.path.isdir(request.cache_dir) else '/var/tmp'
    return tempfile.mkdtemp(prefix='edge-cluster-static-package.', dir=base)


def _services(run, changes, request):
    """systemd work after the files are in place; returns (changed, restart_needed)."""
    changed = False
    kinds = set(c.desired.kind for c in changes)
    if request.daemon_reload and 'unit' in kinds and not request.check_mode:
        _systemctl(run, ['daemon-reload'], 'systemctl daemon-reload')
    if request.enable_kubelet:
        rc, out, _err = run(['systemctl', 'is-enabled', 'kubelet.service'])
        if out.strip() not in ('enabled', 'enabled-runtime', 'alias', 'static'):
            changed = True
            if not request.check_mode:
                _systemctl(run, ['enable', 'kubelet.service'], 'systemctl enable kubelet')
    restart = []
    touched = set(c.desired.key for c in changes if c.action != 'attributes')
    for service, keys in (('containerd', ['container/' + n for n in RUNTIME_BINARIES]), ('kubelet', ['bin/kubelet'])):
        if touched.intersection(keys) or (service + '.service') in set(
                os.path.basename(c.desired.path) for c in changes if c.desired.kind == 'unit'):
            rc, out, _err = run(['systemctl', 'is-active', service + '.service'])
            if out.strip() == 'active':
                restart.append(service)
    return changed, restart


def _systemctl(run, args, action):
    rc, out, err = run(['systemctl'] + args)
    if rc != 0:
        raise PackageError('%s failed (rc=%s): %s' % (action, rc, (err or out).strip() or 'no output'))


def install(request, machine, run, download=None):
    """Do one module run; returns the result dict (changed, package, installed, diff, ...).

    run(argv) -> (rc, stdout, stderr) runs systemctl; download(url, path) fetches a URL into path.
    Raises PackageError before anything on the node changes when the package is not acceptable.
    """
    opts = request.options
    record = load_state(request.state_file)
    expected, expected_from = _expected_checksum(request, None if request.url else request.src)
    result = dict(changed=False, installed=[], restart_needed=[])

    # Cheapest path: the node already holds what this checksum installed.
    if record and expected and record['package'].get('sha256') == expected:
        changes = plan(desired_files(record, opts), verified=record.get('verified'))
        if not _needs_package(changes):
            return _finish(request, run, result, record, changes, {})

    scratch = None
    try:
        source = request.src
        if request.url:
            scratch = _scratch_dir(request)
            source = os.path.join(scratch, os.path.basename(request.url.split('?')[0]) or 'package.tar.gz')
            download(request.url, source)
        elif not source or not os.path.isfile(source):
            if request.transfer:
                result['transfer_required'] = True
                return result
            raise PackageError('package %s does not exist on the node: copy it there, or give the controller '
                               'path (remote_src: false) or a url' % source)
        actual = _hashing.sha256_file(source)
        if expected and actual != expected:
            if request.transfer and not request.cache_as:
                # A stale cached copy from an earlier version: ask for the right one.
                result['transfer_required'] = True
                return result
            raise PackageError('package %s has sha256 %s, but %s says %s: the file is corrupt or not the '
                               'package you meant; nothing was changed'
                               % (request.url or source, actual, expected_from, expected))
        if record and record['package'].get('sha256') == actual:
            changes = plan(desired_files(record, opts), verified=record.get('verified'))
            if not _needs_package(changes):
                _keep_in_cache(request, source)
                return _finish(request, run, result, record, changes, {})

        staging = None
        if not request.check_mode:
            staging = scratch or _scratch_dir(request)
            scratch = staging
        label = os.path.basename(request.url.split('?')[0]) if request.url else os.path.basename(source)
        if request.cache_as:
            label = os.path.basename(request.cache_as)
        contents = read_package(source, staging)
        verify(contents, machine, label)
        new_record = record_from_contents(contents, actual, label)
        changes = plan(desired_files(new_record, opts), verified=(record or {}).get('verified'))
        staged = staged_paths(contents) if staging else {}
        _keep_in_cache(request, source)
        return _finish(request, run, result, new_record, changes, staged)
    finally:
        if scratch and os.path.isdir(scratch):
            shutil.rmtree(scratch, ignore_errors=True)


def _keep_in_cache(request, source):
    """Keep a verified transferred/downloaded package in the node's cache for later runs."""
    if request.check_mode:
        return
    target = request.cache_as
    if request.url and not target:
        target = os.path.join(request.cache_dir, os.path.basename(source))
    if not target or os.path.abspath(target) == os.path.abspath(source):
        return
    make_dirs(os.path.dirname(target), [])
    os.chmod(os.path.dirname(target), 0o700)
    write_atomic(target, source=source, mode=0o600)


def _finish(request, run, result, record, changes, staged):
    if changes and not request.check_mode:
        result['installed'] = apply(changes, staged)
    elif changes:
        result['installed'] = [c.desired.path for c in changes]
    if not request.check_mode:
        # Every binary is now as the record says: remember how each looks, for the next plan().
        record = dict(record, verified=verified_fingerprints(desired_files(record, request.options)))
        if changes or load_state(request.state_file) != record:
            save_state(request.state_file, record)
    enabled_changed, restart = _services(run, changes, request)
    result['changed'] = bool(changes) or enabled_changed
    result['restart_needed'] = restart
    result['package'] = summary(record)
    result['versions'] = dict(record['package'].get('versions') or {})
    result['kubernetes_version'] = record['package'].get('kubernetes_version')
    if request.diff:
        diff = diff_for(changes)
        if enabled_changed:
            diff.append(dict(before_header='kubelet.service', after_header='kubelet.service',
                             before='disabled\n', after='enabled\n'))
        result['diff'] = diff
    return result
