"""Helpers shared by the bundle tests (a uniquely named module, so suites never shadow each other)."""

import gzip
import hashlib
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


def verified_image(archive):
    """(index descriptor, manifest, config) of a one-image OCI archive, after checking every blob against
    its digest, each layer's size, and the config's diff_ids against the uncompressed layers."""
    with tarfile.open(archive) as tar:
        blobs = {m.name.rsplit("/", 1)[1]: tar.extractfile(m).read()
                 for m in tar.getmembers() if m.name.startswith("blobs/sha256/") and m.isfile()}
        (desc,) = json.load(tar.extractfile("index.json"))["manifests"]
    for name, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == name, (archive, name)

    def get(digest):
        return blobs[digest.split(":", 1)[1]]
    manifest = json.loads(get(desc["digest"]))
    config = json.loads(get(manifest["config"]["digest"]))
    assert [len(get(layer["digest"])) for layer in manifest["layers"]] == [layer["size"] for layer in manifest["layers"]]
    diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(get(layer["digest"]))).hexdigest() for layer in manifest["layers"]]
    assert diff_ids == config["rootfs"]["diff_ids"], archive
    return desc, manifest, config


def run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(a) for a in argv], **kw)
