"""Functions shared by the suites under tests/ (import them: `from edge_testlib import run`):
repository paths, a subprocess runner that shows the output when a command fails, and CA
certificates made with the openssl CLI (independent of the collection's own code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTION = REPO / 'collections' / 'ansible_collections' / 'edge' / 'cluster'
VENV_BIN = Path(sys.executable).parent


def tool_env(**extra):
    """os.environ with this interpreter's bin directory first on PATH (ansible-*, the venv's)
    and the repository's ansible.cfg, plus extra (a value of None removes the variable)."""
    env = dict(os.environ)
    env['PATH'] = '%s%s%s' % (VENV_BIN, os.pathsep, env.get('PATH', ''))
    env['ANSIBLE_CONFIG'] = str(REPO / 'ansible.cfg')
    env.setdefault('ANSIBLE_NOCOLOR', '1')
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(argv, cwd=REPO, env=None, timeout=600, check=True, stdin=None):
    """Run argv (a list); on an unexpected rc fail the test with the command and its output."""
    done = subprocess.run([str(arg) for arg in argv], cwd=str(cwd), env=env or tool_env(),
                          input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and done.returncode != 0:
        pytest.fail('command failed (rc=%d): %s\n--- stdout (last 6000 chars)\n%s\n'
                    '--- stderr (last 6000 chars)\n%s' % (
                        done.returncode, ' '.join(str(arg) for arg in argv),
                        done.stdout[-6000:], done.stderr[-6000:]), pytrace=False)
    return done


OPENSSL_KEYS = {
    'rsa2048': ['-newkey', 'rsa:2048'],
    'p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
}


def openssl_certificate(directory, name, key='p256', ca=True, common_name=None):
    """Self-signed certificate made by `openssl req -x509`; returns its path."""
    directory = Path(directory)
    cert = directory / ('%s.crt' % name)
    constraints = 'basicConstraints=critical,CA:%s' % ('TRUE' if ca else 'FALSE')
    run(['openssl', 'req', '-x509', '-nodes', '-days', '1', '-subj',
         '/CN=%s' % (common_name or name), '-addext', constraints,
         '-keyout', directory / ('%s.key' % name), '-out', cert] + OPENSSL_KEYS[key])
    return cert


def openssl_ca_hash(cert):
    """kubeadm's documented recipe: sha256 of the DER public key, via openssl and sha256sum."""
    done = run(['bash', '-c', 'set -o pipefail; openssl x509 -pubkey -noout -in "$1" | '
                'openssl pkey -pubin -outform DER | sha256sum', 'hash', cert])
    return 'sha256:' + done.stdout.split()[0]
