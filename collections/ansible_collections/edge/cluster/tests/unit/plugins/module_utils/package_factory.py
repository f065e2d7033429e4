# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small synthetic edgeadm-style packages and image archives for unit tests.

They have the real layout (edge-install/manifest.json, bin/, cni/*.tgz, container/*.tar.gz) and
ELF headers with a real e_machine, but tiny bodies: enough to test reading, verifying and
installing, never a stand-in for the real bundle (the molecule suite uses that).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

ELF_MACHINE = {'amd64': 62, 'arm64': 183}


def elf(arch, body):
    """A file that starts like a 64-bit little-endian ELF executable for arch."""
    header = bytearray(64)
    header[0:4] = b'\x7fELF'
    header[4] = 2   # 64-bit
    header[5] = 1   # little endian
    header[6] = 1
    header[16:18] = (2).to_bytes(2, 'little')   # ET_EXEC
    header[18:20] = ELF_MACHINE[arch].to_bytes(2, 'little')
    return bytes(header) + body.encode()


def _add(tar, name, data, mode=0o755):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1700000000
    tar.addfile(info, io.BytesIO(data))


def tgz(files):
    """A .tar.gz (bytes) of {name: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in files.items():
            _add(tar, name, data)
    return buf.getvalue()


def package_members(arch='amd64', binary_arch=None, version='v1.34.12', tag='1'):
    """{relpath: bytes} of a package; tag changes every binary (a 'new build')."""
    binary_arch = binary_arch or arch
    members = {
        'bin/kubeadm': elf(binary_arch, 'kubeadm %s %s' % (version, tag)),
        'bin/kubelet': elf(binary_arch, 'kubelet %s %s' % (version, tag)),
        'bin/kubectl': elf(binary_arch, 'kubectl %s %s' % (version, tag)),
        'bin/crictl': elf(binary_arch, 'crictl v1.34.0 %s' % tag),
        'cni/cni-plugins-linux-%s-v1.9.1.tgz' % arch: tgz({
            './bridge': elf(binary_arch, 'bridge %s' % tag),
            './host-local': elf(binary_arch, 'host-local %s' % tag),
            './loopback': elf(binary_arch, 'loopback %s' % tag),
        }),
        'container/containerd-1.6.20-linux-%s.tar.gz' % arch: tgz({
            'bin/containerd': elf(binary_arch, 'containerd 1.6.20 %s' % tag),
            'bin/containerd-shim-runc-v2': elf(binary_arch, 'shim %s' % tag),
            'bin/ctr': elf(binary_arch, 'ctr %s' % tag),
            'bin/runc': elf(binary_arch, 'runc 1.1.5 %s' % tag),
        }),
    }
    return members


def manifest_for(members, arch='amd64', version='v1.34.12'):
    return {
        'name': 'kube-linux-%s-%s' % (arch, version),
        'arch': arch,
        'kubernetes_version': version,
        'versions': {'kubernetes': version, 'containerd': '1.6.20', 'crictl': 'v1.34.0', 'cni_plugins': 'v1.9.1'},
        'files': {rel: {'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data),
                        'mode': '0755' if rel.startswith('bin/') else '0644'}
                  for rel, data in members.items()},
    }


def write_package(path, members=None, manifest=None, arch='amd64', extra=None, top='edge-install',
                  manifest_first=False, sums=True):
    """Write a package to path; return its sha256. extra: list of (TarInfo, bytes|None) added raw."""
    members = package_members(arch) if members is None else members
    manifest = manifest_for(members, arch) if manifest is None else manifest
    entries = list(members.items())
    manifest_entry = ('manifest.json', json.dumps(manifest, indent=2, sort_keys=True).encode())
    entries = ([manifest_entry] + entries) if manifest_first else (entries + [manifest_entry])
    with tarfile.open(path, 'w:gz') as tar:
        info = tarfile.TarInfo(top)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for rel, data in entries:
            _add(tar, '%s/%s' % (top, rel), data, 0o755 if rel.startswith('bin/') else 0o644)
        for info, data in extra or []:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    with open(path, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    if sums:
        with open(os.path.join(os.path.dirname(path), 'SHA256SUMS'), 'a', encoding='utf-8') as handle:
            handle.write('%s  %s\n' % (digest, os.path.basename(path)))
    return digest


def tree_snapshot(root):
    """{relative path: (mode, sha256 or 'dir' or link target)} of everything under root."""
    snap = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                snap[rel] = ('link', os.readlink(path))
            elif os.path.isdir(path):
                snap[rel] = (oct(st.st_mode), 'dir')
            else:
                with open(path, 'rb') as handle:
                    snap[rel] = (oct(st.st_mode), hashlib.sha256(handle.read()).hexdigest())
    return snap


def oci_archive(name, payload='layer'):
    """(bytes of a plain-tar OCI image layout for image name, its manifest digest)."""
    layer = payload.encode()
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [
        'sha256:' + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                           'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'size': len(config),
                                      'digest': 'sha256:' + hashlib.sha256(config).hexdigest()},
                           'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'size': len(layer),
                                       'digest': 'sha256:' + hashlib.sha256(layer).hexdigest()}]}).encode()
    digest = 'sha256:' + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({'schemaVersion': 2, 'manifests': [{
        'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': digest, 'size': len(manifest),
        'annotations': {'io.containerd.image.name': name}}]}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT) as tar:
        for blob in (layer, config, manifest):
            _add(tar, 'blobs/sha256/' + hashlib.sha256(blob).hexdigest(), blob, 0o644)
        _add(tar, 'oci-layout', b'{"imageLayoutVersion": "1.0.0"}', 0o644)
        _add(tar, 'index.json', index, 0o644)
    return buf.getvalue(), digest


def image_in_archive(data):
    """(name, digest) that ctr would import from plain-tar OCI layout bytes."""
    with tarfile.open(fileobj=io.BytesIO(data), mode='r') as tar:
        index = json.load(tar.extractfile('index.json'))
    entry = index['manifests'][0]
    return entry['annotations']['io.containerd.image.name'], entry['digest']
