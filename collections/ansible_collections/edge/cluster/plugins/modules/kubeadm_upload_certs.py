#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_upload_certs
short_description: Upload the control-plane certificates again, for a control-plane join
version_added: 0.1.0
description:
  - Runs C(kubeadm init phase upload-certs --upload-certs) on a running control-plane node. kubeadm encrypts the
    cluster's control-plane certificates (CA keys, service-account key, front-proxy and etcd CAs) with
    O(certificate_key) and stores them in the C(kube-system/kubeadm-certs) Secret, which
    C(kubeadm join --control-plane --certificate-key) downloads.
  - kubeadm deletes that Secret two hours after it was made. A control plane that joins later (a re-run that adds
    one, or a join after a failure) needs it uploaded again, encrypted with the key it joins with.
  - The key reaches kubeadm only through a 0600 configuration file that is removed afterwards, never on its
    command line, and kubeadm is told not to print it. Failure messages never contain it.
notes:
  - The configuration given to kubeadm holds only the key and the Kubernetes version, so kubeadm uploads the
    certificates from its default C(/etc/kubernetes/pki) with a stacked etcd. A cluster initialised with another
    C(certificatesDir) or an external etcd is not supported by this module.
extends_documentation_fragment:
  - edge.cluster._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports a change without running kubeadm.
  diff_mode:
    support: none
    details:
      - Nothing on the node is kept; the Secret is encrypted.
  idempotent:
    support: none
    details:
      - Every run uploads again (new encryption, two more hours). Run it only when a control-plane join is due,
        as P(edge.cluster.node_join#role) does with C(node_join_upload_certs).
options:
  certificate_key:
    description:
      - Key (64 hex characters) to encrypt the certificates with, for example from the
        P(edge.cluster.certificate_key#lookup) lookup. The joining control planes use the same key.
    type: str
    required: true
  kubeconfig:
    description: Kubeconfig of a cluster administrator on this control-plane node.
    type: path
    default: /etc/kubernetes/admin.conf
  config_path:
    description: Where the configuration with the key is written while kubeadm runs (0600, removed afterwards).
    type: path
    default: /etc/kubernetes/kubeadm-upload-certs.yaml
  kubeadm:
    description: The kubeadm binary on the node, a name looked up in C(PATH) or a path.
    type: path
    default: kubeadm
  cri_socket:
    description: CRI endpoint of the container runtime, given to kubeadm's configuration.
    type: str
    default: unix:///run/containerd/containerd.sock
requirements:
  - kubeadm on a control-plane node that has the cluster's certificates (C(/etc/kubernetes/pki)).
seealso:
  - module: edge.cluster.kubeadm_init
  - module: edge.cluster.kubeadm_join
  - plugin: edge.cluster.certificate_key
    plugin_type: lookup
  - name: kubeadm init phase upload-certs
    description: What kubeadm uploads, and for how long.
    link: https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/high-availability/#steps-for-the-first-control-plane-node
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Draw a certificate key on the controller, once
  ansible.builtin.set_fact:
    edge_cluster_certificate_key: "{{ lookup('edge.cluster.certificate_key') }}"
  no_log: true
  run_once: true

- name: Upload the certificates again on an existing control plane before a late control-plane join
  edge.cluster.kubeadm_upload_certs:
    certificate_key: "{{ edge_cluster_certificate_key }}"
    kubeadm: /usr/local/bin/kubeadm
  delegate_to: "{{ groups['control_plane'][0] }}"
  run_once: true
"""

RETURN = r"""
secret:
  description: Namespace and name of the Secret that holds the encrypted certificates.
  returned: success
  type: str
  sample: kube-system/kubeadm-certs
kubernetes_version:
  description: The version kubeadm was told (its own), so that it looks nothing up online.
  returned: success, outside check mode
  type: str
  sample: v1.34.12
cmd:
  description: The kubeadm command line (it holds no secret).
  returned: success, outside check mode
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    is_certificate_key,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import (
    exit_module,
    module_runner,
    run_checked,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_cli import (
    KubeadmFailure,
    find_binary,
    run_with_config,
    version_argv,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import KubeadmConfigError
from ansible_collections.edge.cluster.plugins.module_utils._upload_certs import (
    SECRET_NAME,
    upload_certs_argv,
    upload_certs_documents,
)
from ansible_collections.edge.cluster.plugins.module_utils._yaml import to_yaml


def run_module(module):
    params = module.params
    if not is_certificate_key(params['certificate_key']):
        module.fail_json(msg='certificate_key must be 64 hex characters (32 bytes), as the '
                             'edge.cluster.certificate_key lookup makes (value not shown)')
    if not os.path.exists(params['kubeconfig']):
        module.fail_json(msg='%s does not exist: run this on a control-plane node of a running cluster, or set '
                             'kubeconfig' % params['kubeconfig'])
    result = dict(changed=True, secret='kube-system/%s' % SECRET_NAME)
    if module.check_mode:
        return result
    run = module_runner(module)
    kubeadm = find_binary(module, params['kubeadm'], 'kubeadm')
    version = run_checked(run, version_argv(kubeadm), 'kubeadm version').strip().splitlines()[-1:]
    try:
        documents = upload_certs_documents(params['certificate_key'], ''.join(version), params['cri_socket'])
    except KubeadmConfigError as exc:
        module.fail_json(msg=str(exc))
    argv = upload_certs_argv(kubeadm, params['config_path'], params['kubeconfig'])
    rc, stdout, stderr = run_with_config(run, argv, params['config_path'], to_yaml(documents))
    if rc != 0:
        # The key is masked twice: Ansible's no_log values, and scrubbed out of kubeadm's words here.
        failure = KubeadmFailure(stdout, stderr, (params['certificate_key'],))
        module.fail_json(msg='kubeadm init phase upload-certs failed: %s. Check that this is a control-plane '
                             'node whose API server answers through %s' % (failure.error, params['kubeconfig']),
                         rc=rc, cmd=argv, error_tail=failure.tail())
    result.update(kubernetes_version=documents[1]['kubernetesVersion'], cmd=argv)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificate_key=dict(type='str', required=True, no_log=True),
            kubeconfig=dict(type='path', default='/etc/kubernetes/admin.conf'),
            config_path=dict(type='path', default='/etc/kubernetes/kubeadm-upload-certs.yaml'),
            kubeadm=dict(type='path', default='kubeadm'),
            cri_socket=dict(type='str', default='unix:///run/containerd/containerd.sock'),
        ),
        supports_check_mode=True,
    )
    exit_module(module, run_module)


if __name__ == '__main__':
    main()
