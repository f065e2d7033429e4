"""Run the Kubernetes conformance suite (the offline kit's e2e.test) against an edge cluster.

scripts/conformance calls main(); the pure parts (skip list, ginkgo argv, progress lines, the
JUnit summary) are plain functions that tests/bundle/test_conformance_runner.py checks.

Steps: the kit (scripts/bundle --conformance, cached) -> the admin kubeconfig from the first
control plane -> the kit's images imported on every node by the edge.cluster.airgap_images role
(offline) -> the skip list checked against the suite's own spec names (an entry that names no
spec is an error, so nothing is skipped silently) -> ginkgo, parallel where the suite allows
([Serial] specs run alone at the end), progress every 30 s -> JUnit XML + summary in the results
folder, printed.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_FOCUS = r'\[Conformance\]'
# The CI subset (make test, tests/e2e): DNS and Services of sig-network, and sig-node's Pods.
CI_FOCUS = r'\[sig-network\] (DNS|Services) .*\[Conformance\]|\[sig-node\] Pods should .*\[Conformance\]'
SKIPS = os.path.join(REPO, 'bundle', 'conformance', 'skips.yaml')
_T0 = time.monotonic()
_RE2_SPECIAL = set('\\.+*?()|[]{}^$')


def say(msg):
    print('[conformance +%4ds] %s' % (time.monotonic() - _T0, msg), file=sys.stderr, flush=True)


class ConformanceError(Exception):
    """A refusal with a message that says what to do."""


def re2_escape(text):
    """Escape text for Go's regexp (RE2 rejects Python's escaped spaces)."""
    return ''.join('\\' + c if c in _RE2_SPECIAL else c for c in text)


def load_skips(path):
    """[(test name, reason)] from the skip list; every entry needs both."""
    with open(path) as f:
        data = yaml.safe_load(f) or []
    if not isinstance(data, list):
        raise ConformanceError('%s must be a list of {test, reason} entries' % path)
    skips = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not str(item.get('test', '')).strip() or not str(item.get('reason', '')).strip():
            raise ConformanceError('%s entry %d needs a "test" (the full spec name) and a "reason": %r' % (path, index, item))
        skips.append((item['test'].strip(), item['reason'].strip()))
    return skips


def skip_regex(skips):
    return '|'.join(re2_escape(name) for name, _ in skips)


def unmatched_skips(skips, spec_names):
    """Skip entries that name no conformance spec (a typo would otherwise skip nothing, silently)."""
    return [name for name, _ in skips if not any(name in spec for spec in spec_names)]


def ginkgo_argv(kit, results, kubeconfig, focus, skip, nodes, timeout, dry_run=False):
    argv = [os.path.join(kit, 'bin', 'ginkgo'), '--no-color', '-v', '--timeout=%s' % timeout,
            '--focus=%s' % focus]
    if skip:
        argv.append('--skip=%s' % skip)
    if dry_run:
        argv.append('--dry-run')
    else:
        argv += ['--nodes=%d' % nodes, '--output-dir=%s' % results, '--junit-report=junit.xml',
                 '--json-report=report.json']
    argv += [os.path.join(kit, 'bin', 'e2e.test'), '--',
             '--kubeconfig=%s' % kubeconfig, '--provider=skeleton',
             '--kubectl-path=%s' % os.path.join(kit, 'bin', 'kubectl'),
             '--kube-test-repo-list=%s' % os.path.join(kit, 'repo-list.yaml')]
    return argv


def suite_env(kit):
    """The environment for e2e.test: KUBE_TEST_REPO_LIST too, since the suite reads it when its
    packages initialise (image names held in package variables), before --kube-test-repo-list is
    parsed; with the flag alone, those specs ask for registry.k8s.io's images."""
    return dict(os.environ, KUBE_TEST_REPO_LIST=os.path.join(kit, 'repo-list.yaml'))


# ginkgo -v prints one line per finished spec: "• [12.3 seconds]", "• [FAILED] [..]", "S [SKIPPED] [..]"
_SPEC_END = re.compile(r'^(•|S) (?:\[(FAILED|PANICKED|TIMEDOUT|INTERRUPTED|SKIPPED|PENDING)\] )?\[[0-9.]+ seconds\]')
_WILL_RUN = re.compile(r'Will run (\d+) of (\d+) specs')


class Progress:
    """Counts finished specs from ginkgo's verbose output; a line every `every` seconds."""

    def __init__(self, step, every=30):
        self.step, self.every = step, every
        self.total = None
        self.counts = collections.Counter()
        self.last = time.monotonic()
        self.started = time.monotonic()

    def feed(self, line):
        m = _WILL_RUN.search(line)
        if m and self.total is None:
            self.total = int(m.group(1))
        m = _SPEC_END.match(line)
        if m:
            state = m.group(2) or 'PASSED'
            self.counts['skipped' if state == 'SKIPPED' else 'passed' if state == 'PASSED' else 'failed'] += 1
        if time.monotonic() - self.last >= self.every:
            self.report()

    def line(self):
        done = sum(self.counts.values())
        return '%s: %d/%s specs done (%d passed, %d failed, %d skipped), %ds' % (
            self.step, done, self.total if self.total is not None else '?', self.counts['passed'],
            self.counts['failed'], self.counts['skipped'], time.monotonic() - self.started)

    def report(self):
        self.last = time.monotonic()
        say(self.line())


def run_streamed(argv, log_path, progress, timeout=None, env=None):
    """Run argv, its output to log_path and through progress; returns the exit code."""
    deadline = time.monotonic() + timeout if timeout else None
    with open(log_path, 'w') as log, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                      text=True, errors='replace', env=env) as proc:
        for line in proc.stdout:
            log.write(line)
            progress.feed(line)
            if deadline and time.monotonic() > deadline:
                proc.terminate()
        return proc.wait()


def summarize(junit_path, focus, expected=()):
    """{'total', 'passed', 'failed', 'skipped', 'by_sig': {sig: Counter}, 'failures': [(name, message)]}
    over the JUnit testcases whose name matches the focus (ginkgo also lists filtered-out specs);
    an expected spec name (the release's conformance specs under the focus) that the report does
    not hold at all counts as skipped."""
    focus_re = re.compile(focus)
    root = ET.parse(junit_path).getroot()
    out = {'total': 0, 'passed': 0, 'failed': 0, 'skipped': 0, 'by_sig': {}, 'failures': [], 'skipped_names': []}
    seen = []
    for case in root.iter('testcase'):
        name = re.sub(r'^\[It\]\s+', '', case.get('name', ''))
        if not focus_re.search(name):
            continue
        status = case.get('status') or ''
        if case.find('failure') is not None or case.find('error') is not None or status in ('failed', 'panicked', 'timedout', 'interrupted'):
            state = 'failed'
            node = case.find('failure') if case.find('failure') is not None else case.find('error')
            out['failures'].append((name, (node.get('message') if node is not None else status or '')[:500]))
        elif case.find('skipped') is not None or status in ('skipped', 'pending'):
            state = 'skipped'
            out['skipped_names'].append(name)
        else:
            state = 'passed'
        sig = re.match(r'^\[(sig-[a-z-]+)\]', name)
        counts = out['by_sig'].setdefault(sig.group(1) if sig else 'other', collections.Counter())
        counts[state] += 1
        out['total'] += 1
        out[state] += 1
        seen.append(name)
    for name in expected:
        if focus_re.search(name) and not any(name in s for s in seen):
            sig = re.match(r'^\[(sig-[a-z-]+)\]', name)
            out['by_sig'].setdefault(sig.group(1) if sig else 'other', collections.Counter())['skipped'] += 1
            out['skipped_names'].append(name)
            out['total'] += 1
            out['skipped'] += 1
    return out


def format_summary(s, wall, focus):
    lines = ['conformance summary (focus %s): %d specs, %d run, %d passed, %d failed, %d skipped; wall time %dm%02ds'
             % (focus, s['total'], s['passed'] + s['failed'], s['passed'], s['failed'], s['skipped'], wall // 60, wall % 60),
             '  %-22s %6s %6s %6s %6s' % ('SIG', 'specs', 'passed', 'failed', 'skipped')]
    for sig in sorted(s['by_sig']):
        c = s['by_sig'][sig]
        lines.append('  %-22s %6d %6d %6d %6d' % (sig, sum(c.values()), c['passed'], c['failed'], c['skipped']))
    for name, message in s['failures']:
        lines.append('  FAILED %s\n         %s' % (name, ' '.join(message.split())[:300]))
    return '\n'.join(lines) + '\n'


def ansible(args, inventory):
    argv = ['ansible'] + args + ['-i', inventory]
    done = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise ConformanceError('%s failed (rc=%d):\n%s' % (' '.join(argv), done.returncode, done.stdout[-4000:]))
    return done.stdout


def fetch_kubeconfig(inventory, dest):
    """The first control plane's admin.conf, 0600 from its first byte (it holds the cluster-admin key)."""
    umask = os.umask(0o077)   # fetch writes with the umask's mode; the child inherits this one
    try:
        ansible(['control_plane[0]', '-m', 'ansible.builtin.fetch', '-a',
                 'src=/etc/kubernetes/admin.conf dest=%s flat=true' % dest], inventory)
    finally:
        os.umask(umask)
    os.chmod(dest, 0o600)


def import_images(inventory, kit, hosts):
    """edge.cluster.airgap_images with the kit as the bundle folder: only missing archives are sent.
    No Kubernetes version: the role then checks the kit's images only, not kubeadm's (a cluster
    deployed online holds kubeadm's images only where it runs them)."""
    ansible([hosts, '-m', 'ansible.builtin.include_role', '-a', 'name=edge.cluster.airgap_images',
             '-e', 'airgap_images_bundle_dir=%s' % kit, '-e', 'airgap_images_kubernetes_version='], inventory)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog='scripts/conformance', description=__doc__.split('\n')[0])
    ap.add_argument('-i', '--inventory', default=os.path.join(REPO, 'inventories', 'lab', 'hosts.yml'))
    ap.add_argument('--kubeconfig', help='use this kubeconfig instead of fetching admin.conf from control_plane[0]')
    ap.add_argument('--focus', default=DEFAULT_FOCUS, help='ginkgo focus regex (default %(default)s; --ci for the CI subset)')
    ap.add_argument('--ci', action='store_const', dest='focus', const=CI_FOCUS, help='the CI subset: %s' % CI_FOCUS)
    ap.add_argument('--skips', default=SKIPS, help='the skip list, a reason per entry (default %(default)s)')
    ap.add_argument('--nodes', type=int, default=int(os.environ.get('EDGE_CONFORMANCE_NODES', '4')),
                    help='ginkgo processes; 1 runs serially (default %(default)s)')
    ap.add_argument('--timeout', default='3h', help='ginkgo --timeout for the whole run (default %(default)s)')
    ap.add_argument('--hosts', default='control_plane:edge_nodes:nodes', help='inventory pattern of the nodes that get the images')
    ap.add_argument('--no-import', action='store_true', help='the nodes have the kit images already')
    ap.add_argument('--kit', help='the kit folder (default: scripts/bundle --conformance builds or reuses it)')
    ap.add_argument('--results', help='results folder (default results/conformance/<UTC time>)')
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    try:
        if not os.path.exists(args.inventory):
            raise ConformanceError('inventory %s does not exist: bring the lab up (make lab) or pass -i <inventory>' % args.inventory)
        skips = load_skips(args.skips)
        results = args.results or os.path.join(REPO, 'results', 'conformance',
                                                datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ'))
        os.makedirs(results, mode=0o700, exist_ok=True)   # it may hold the admin kubeconfig
        kit = args.kit
        if not kit:
            say('step 1/5 conformance kit (scripts/bundle --conformance; cached when built before)')
            kit = subprocess.run([os.path.join(REPO, 'scripts', 'bundle'), '--conformance'], stdout=subprocess.PIPE,
                                 text=True, check=True).stdout.strip().splitlines()[-1]
        kubeconfig = args.kubeconfig
        if not kubeconfig:
            say('step 2/5 kubeconfig: admin.conf of control_plane[0] (%s)' % args.inventory)
            kubeconfig = os.path.join(results, 'admin.conf')
            fetch_kubeconfig(args.inventory, kubeconfig)
        if args.no_import:
            say('step 3/5 image import skipped (--no-import)')
        else:
            say('step 3/5 kit images onto %s (edge.cluster.airgap_images, offline)' % args.hosts)
            t = time.monotonic()
            import_images(args.inventory, kit, args.hosts)
            say('  imported in %ds' % (time.monotonic() - t))
        say('step 4/5 skip list: %d entries (%s), checked against the suite' % (len(skips), args.skips))
        with open(os.path.join(kit, 'conformance.yaml')) as f:
            names = [' '.join(t['codename'].split()) for t in yaml.safe_load(f)]
        missing = unmatched_skips(skips, names)
        if missing:
            raise ConformanceError('the skip list %s names specs that are not conformance specs of this release '
                                   '(%s/conformance.yaml): %s' % (args.skips, kit, missing))
        dry = Progress('dry run')
        run_streamed(ginkgo_argv(kit, results, kubeconfig, args.focus, skip_regex(skips), 1, args.timeout, dry_run=True),
                     os.path.join(results, 'dry-run.log'), dry, env=suite_env(kit))
        focus_re = re.compile(args.focus)
        skipped_here = [n for n, _ in skips if any(focus_re.search(c) and n in c for c in names)]
        say('  %d conformance specs in this release; the focus selects %d of them, %d skipped by name, '
            'ginkgo will run %s' % (len(names), sum(1 for c in names if focus_re.search(c)), len(skipped_here), dry.total))
        say('step 5/5 e2e.test on %d ginkgo process(es), focus %s (log %s)' % (args.nodes, args.focus,
                                                                            os.path.join(results, 'e2e.log')))
        progress = Progress('run')
        rc = run_streamed(ginkgo_argv(kit, results, kubeconfig, args.focus, skip_regex(skips), args.nodes,
                                      args.timeout), os.path.join(results, 'e2e.log'), progress, env=suite_env(kit))
        progress.report()
        junit = os.path.join(results, 'junit.xml')
        if not os.path.exists(junit):
            raise ConformanceError('ginkgo wrote no %s (rc=%d): see %s' % (junit, rc, os.path.join(results, 'e2e.log')))
        summary = summarize(junit, args.focus, names)
        text = format_summary(summary, int(time.monotonic() - started), args.focus)
        with open(os.path.join(results, 'summary.txt'), 'w') as f:
            f.write(text)
        with open(os.path.join(results, 'summary.json'), 'w') as f:
            json.dump(dict(summary, focus=args.focus, wall_seconds=int(time.monotonic() - started), ginkgo_rc=rc,
                           skip_list=[{'test': n, 'reason': r} for n, r in skips]), f, indent=2, default=dict)
        latest = os.path.join(os.path.dirname(results), 'latest')
        if os.path.islink(latest):
            os.remove(latest)
        if not os.path.exists(latest):
            os.symlink(os.path.basename(results), latest)
        print(text, end='')
        say('results: %s' % results)
        return 0 if summary['failed'] == 0 and rc == 0 else 1
    except (ConformanceError, subprocess.CalledProcessError) as exc:
        say('ERROR: %s' % exc)
        return 2


if __name__ == '__main__':
    sys.exit(main())
