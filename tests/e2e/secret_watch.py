#!/usr/bin/env python3
"""Runs on a lab node during one e2e playbook run (started and stopped by test_e2e.py).

While kubeadm runs, the collection hands it the bootstrap token and the certificate key in a
0600 configuration file (/etc/kubernetes/kubeadm-init.yaml or kubeadm-join.yaml), removed or
rewritten without them afterwards. This polls those files and records every token and key it
sees, so the test can search the playbook's output for the real values of that run.

    secret_watch.py OUT STOP SECONDS

Writes OUT (JSON, mode 0600) whenever it finds something new; exits when the file STOP exists
or after SECONDS.
"""
import json
import os
import re
import sys
import time

FILES = {'init_tokens': '/etc/kubernetes/kubeadm-init.yaml', 'join_tokens': '/etc/kubernetes/kubeadm-join.yaml'}
TOKEN = re.compile(r'(?<![a-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![a-z0-9])')
KEY = re.compile(r'certificateKey:\s*"?([0-9a-f]{64})\b')


def main():
    out, stop, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    found = {'init_tokens': [], 'join_tokens': [], 'certificate_keys': []}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not os.path.exists(stop):
        new = False
        for tokens, path in FILES.items():
            try:
                with open(path, encoding='utf-8') as handle:
                    text = handle.read()
            except OSError:
                continue
            for kind, values in ((tokens, TOKEN.findall(text)), ('certificate_keys', KEY.findall(text))):
                for value in values:
                    if value not in found[kind]:
                        found[kind].append(value)
                        new = True
        if new:
            tmp = out + '.tmp'
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
                json.dump(found, handle)
            os.replace(tmp, out)
        time.sleep(0.1)


if __name__ == '__main__':
    main()
