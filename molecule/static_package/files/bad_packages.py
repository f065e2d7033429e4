#!/usr/bin/env python3
"""Make broken copies of a real static package for the negative cases of the static_package scenario.

    bad_packages.py PACKAGE OUTDIR

OUTDIR/<case>/<file> for each case, each dir without SHA256SUMS unless the case says otherwise:
  flipped-with-sums  one byte flipped in the middle; SHA256SUMS of the good package beside it
  flipped            the same file, nothing vouching for it
  truncated          the first half of the package
  arm64              repacked with manifest.json saying arch arm64 (binaries untouched)
  missing-kubelet    repacked without bin/kubelet (manifest unchanged, so it lists it)
Repacks use gzip level 1: speed matters here, not size.
"""
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def repack(src, dst, arch=None, drop=None):
    with tarfile.open(src, 'r|gz') as old, tarfile.open(dst, 'w:gz', compresslevel=1) as new:
        for info in old:
            rel = info.name.split('/', 1)[1] if '/' in info.name else ''
            if drop and rel == drop:
                continue
            data = old.extractfile(info) if info.isfile() else None
            if rel == 'manifest.json' and arch:
                manifest = json.load(data)
                manifest['arch'] = arch
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info.size = len(body)
                data = io.BytesIO(body)
            new.addfile(info, data)


def main():
    package, outdir = sys.argv[1], sys.argv[2]
    name = os.path.basename(package)
    good = sha256(package)
    for case in ('flipped-with-sums', 'flipped', 'truncated', 'arm64', 'missing-kubelet'):
        os.makedirs(os.path.join(outdir, case), exist_ok=True)
    flipped = os.path.join(outdir, 'flipped', name)
    shutil.copyfile(package, flipped)
    with open(flipped, 'r+b') as handle:
        handle.seek(os.path.getsize(flipped) // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))
    shutil.copyfile(flipped, os.path.join(outdir, 'flipped-with-sums', name))
    with open(os.path.join(outdir, 'flipped-with-sums', 'SHA256SUMS'), 'w') as handle:
        handle.write('%s  %s\n' % (good, name))
    with open(package, 'rb') as source, open(os.path.join(outdir, 'truncated', name), 'wb') as out:
        out.write(source.read(os.path.getsize(package) // 2))
    repack(package, os.path.join(outdir, 'arm64', name.replace('amd64', 'arm64')), arch='arm64')
    repack(package, os.path.join(outdir, 'missing-kubelet', name), drop='bin/kubelet')


if __name__ == '__main__':
    main()
