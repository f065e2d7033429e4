"""Helpers shared by the bundle tests (a uniquely named module, so suites never shadow each other)."""

import json
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def extract_image_rootfs(archive, dest):
    """Apply an OCI archive's layers in order into dest (no whiteouts are produced by our builder)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))
        man_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.load(tar.extractfile("blobs/sha256/" + man_digest))
        for layer in manifest["layers"]:
            blob = tar.extractfile("blobs/sha256/" + layer["digest"].split(":")[1])
            with tarfile.open(fileobj=blob, mode="r:gz") as lt:
                lt.extractall(dest, filter="tar")
    return dest


def run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(a) for a in argv], **kw)
