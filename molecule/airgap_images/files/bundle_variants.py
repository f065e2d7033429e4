#!/usr/bin/env python3
"""Bundle variants for the airgap_images scenario, made from the real bundle on the controller.

    bundle_variants.py BUNDLE OUTDIR

OUTDIR/corrupt     the bundle's images with one byte flipped in the etcd archive (SHA256SUMS and
                   manifest unchanged, other archives symlinked)
OUTDIR/compressed  pause as gzip (.tar.gz) and etcd as zstd (.tar.zst), the rest symlinked;
                   manifest.json and SHA256SUMS rewritten for the new file names
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def variant(bundle, out, name):
    root = os.path.join(out, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, 'images'))
    with open(os.path.join(bundle, 'images', 'manifest.json')) as handle:
        return root, json.load(handle)


def main():
    bundle, out = sys.argv[1], sys.argv[2]

    root, entries = variant(bundle, out, 'corrupt')
    for entry in entries:
        target = os.path.join(root, entry['file'])
        if '_etcd_' in entry['file']:
            shutil.copyfile(os.path.join(bundle, entry['file']), target)
            with open(target, 'r+b') as handle:
                handle.seek(os.path.getsize(target) // 2)
                byte = handle.read(1)
                handle.seek(-1, 1)
                handle.write(bytes([byte[0] ^ 0x01]))
        else:
            os.symlink(os.path.join(bundle, entry['file']), target)
    shutil.copyfile(os.path.join(bundle, 'images', 'manifest.json'), os.path.join(root, 'images', 'manifest.json'))
    shutil.copyfile(os.path.join(bundle, 'SHA256SUMS'), os.path.join(root, 'SHA256SUMS'))

    root, entries = variant(bundle, out, 'compressed')
    sums = []
    for entry in entries:
        source = os.path.join(bundle, entry['file'])
        if '_pause_' in entry['file']:
            entry['file'] += '.gz'
            with open(source, 'rb') as raw, gzip.open(os.path.join(root, entry['file']), 'wb', compresslevel=1) as packed:
                shutil.copyfileobj(raw, packed)
        elif '_etcd_' in entry['file']:
            entry['file'] += '.zst'
            subprocess.run(['zstd', '-q', '-1', '-o', os.path.join(root, entry['file']), source], check=True)
        else:
            os.symlink(source, os.path.join(root, entry['file']))
        sums.append('%s  %s\n' % (sha256(os.path.join(root, entry['file'])), entry['file']))
    with open(os.path.join(root, 'images', 'manifest.json'), 'w') as handle:
        json.dump(entries, handle, indent=2)
    with open(os.path.join(root, 'SHA256SUMS'), 'w') as handle:
        handle.writelines(sums)


if __name__ == '__main__':
    main()
