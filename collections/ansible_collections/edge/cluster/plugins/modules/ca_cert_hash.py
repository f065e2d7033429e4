#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ca_cert_hash
short_description: The kubeadm discovery hash of the cluster CA certificate on a node
version_added: 0.1.0
description:
  - Reads a PEM CA certificate on the managed node and returns C(sha256:<64 hex digits>), the SHA-256 of the
    certificate's DER SubjectPublicKeyInfo. That is the value C(kubeadm join --discovery-token-ca-cert-hash) pins.
  - Works for RSA keys of any size, ECDSA (P-256, P-384, P-521) and Ed25519.
  - Needs no Python library on the node. With O(backend=auto) it uses the C(cryptography) library when the node has
    it, and otherwise a small DER reader built into this collection; both give the same hash.
  - Fails without changing anything, and says why, when the file is not PEM, holds a key or other non-certificate
    block, holds several certificates (the message lists their subjects and names the CA), or holds a certificate
    that is not a CA (basicConstraints CA:FALSE or missing).
  - For PEM text already on the controller use the P(edge.cluster.ca_cert_hash#filter) filter instead.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.READ_ONLY
options:
  path:
    description:
      - The PEM file holding the CA certificate, and only it.
    type: path
    default: /etc/kubernetes/pki/ca.crt
  backend:
    description:
      - How the certificate is read.
      - V(auto) uses V(cryptography) when that library is importable on the node, else V(pure).
      - V(cryptography) requires the C(cryptography) library (Debian package C(python3-cryptography)) and fails
        with an installation hint when it is missing.
      - V(pure) uses the built-in DER reader, which takes the SubjectPublicKeyInfo bytes exactly as they are in
        the certificate (what kubeadm hashes).
    type: str
    default: auto
    choices: [auto, cryptography, pure]
requirements:
  - Python 3.8 or newer on the node.
  - C(cryptography) only for O(backend=cryptography).
seealso:
  - plugin: edge.cluster.ca_cert_hash
    plugin_type: filter
  - module: edge.cluster.bootstrap_token
  - name: kubeadm join, discovery by token with CA pinning
    description: What the hash protects against.
    link: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Read the CA hash on the first control-plane node
  edge.cluster.ca_cert_hash:
  register: edge_cluster_ca
  become: true

- name: Share it with the nodes that join
  ansible.builtin.set_fact:
    edge_cluster_discovery_hash: "{{ hostvars[groups['control_plane'][0]].edge_cluster_ca.hash }}"

- name: A CA kept elsewhere, read without the cryptography library
  edge.cluster.ca_cert_hash:
    path: /etc/pki/edge/ca.pem
    backend: pure
"""

RETURN = r"""
hash:
  description: C(sha256:) followed by the lowercase hex SHA-256 of the CA's DER SubjectPublicKeyInfo.
  returned: success
  type: str
  sample: sha256:3f4d2c3a0b1e6f9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e
subject:
  description: The CA certificate's subject, in RFC 4514 form.
  returned: success
  type: str
  sample: CN=kubernetes
backend:
  description: The backend that read the certificate (V(cryptography) or V(pure)).
  returned: success
  type: str
  sample: pure
path:
  description: The file that was read.
  returned: always
  type: str
  sample: /etc/kubernetes/pki/ca.crt
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.edge.cluster.plugins.module_utils._ca_cert_hash import (
    BACKENDS,
    CACertHashError,
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    compute_ca_cert_hash,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import exit_module

# A CA certificate is a few KiB; refuse to slurp anything far larger.
_MAX_BYTES = 1024 * 1024


def _read_file(module, path):
    try:
        with open(path, 'rb') as handle:
            content = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        module.fail_json(path=path, msg='CA certificate %s does not exist: run this on a control-plane '
                                        'node after kubeadm init, or set path' % path)
    except OSError as exc:
        module.fail_json(path=path, msg='cannot read CA certificate %s: %s (root-owned files need '
                                        'become: true)' % (path, exc.strerror or exc))
    if len(content) > _MAX_BYTES:
        module.fail_json(path=path, msg='%s is larger than 1 MiB: that is not a CA certificate' % path)
    return content


def run_module(module):
    path = module.params['path']
    if module.params['backend'] == 'cryptography' and not HAS_CRYPTOGRAPHY:
        module.fail_json(path=path, msg=missing_required_lib('cryptography'),
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    content = _read_file(module, path)
    try:
        result = compute_ca_cert_hash(content, module.params['backend'])
    except CACertHashError as exc:
        module.fail_json(path=path, msg='%s: %s' % (path, exc))
    return dict(changed=False, hash=result.hash, subject=result.subject, backend=result.backend, path=path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/kubernetes/pki/ca.crt'),
            backend=dict(type='str', default='auto', choices=list(BACKENDS)),
        ),
        supports_check_mode=True,
    )
    path = module.params['path']
    exit_module(module, run_module, unexpected='unexpected error reading %s' % path, context=dict(path=path))


if __name__ == '__main__':
    main()
