# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ca_cert_hash
short_description: The kubeadm discovery hash of a PEM CA certificate
version_added: 0.1.0
description:
  - Returns C(sha256:<64 hex digits>), the SHA-256 of the certificate's DER SubjectPublicKeyInfo, which
    C(kubeadm join --discovery-token-ca-cert-hash) pins.
  - Runs on the controller, on PEM text (for example from P(ansible.builtin.slurp#module) or a vault). To read
    the CA file on a node, use the M(edge.cluster.ca_cert_hash) module.
  - RSA of any size, ECDSA (P-256, P-384, P-521) and Ed25519 keys.
  - Fails with a message saying what is wrong when the input is not PEM, holds a key or other non-certificate
    block, holds several certificates (listed by subject, with the CA named), or holds a certificate that is
    not a CA.
options:
  _input:
    description: PEM text of exactly one CA certificate. Text around the PEM block is ignored.
    type: string
    required: true
seealso:
  - module: edge.cluster.ca_cert_hash
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Fetch the CA from the first control-plane node
  ansible.builtin.slurp:
    src: /etc/kubernetes/pki/ca.crt
  register: edge_cluster_ca_pem
  become: true

- name: Compute the discovery hash on the controller
  ansible.builtin.set_fact:
    edge_cluster_discovery_hash: "{{ edge_cluster_ca_pem.content | b64decode | edge.cluster.ca_cert_hash }}"
"""

RETURN = r"""
_value:
  description: C(sha256:) followed by the lowercase hex SHA-256 of the CA's DER SubjectPublicKeyInfo.
  type: string
  sample: sha256:3f4d2c3a0b1e6f9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.module_utils._ca_cert_hash import (
    CACertHashError,
    compute_ca_cert_hash,
)


def ca_cert_hash(pem):
    """PEM CA certificate -> 'sha256:<hex>'."""
    try:
        return compute_ca_cert_hash(pem).hash
    except CACertHashError as exc:
        raise AnsibleFilterError('edge.cluster.ca_cert_hash: %s' % exc)


class FilterModule:
    def filters(self):
        return {'ca_cert_hash': ca_cert_hash}
