"""Reproducible OCI image archives from plain files, with no container engine.

An image here is a list of layers (each a mapping of in-image path -> source file, symlink or
directory) plus an image config. The archive is an OCI image layout in a tar, which both
`ctr images import` and `skopeo copy oci-archive:` read. Timestamps, owners and gzip headers are
fixed, so the same inputs always give the same digests: a rebuilt bundle re-imports as a no-op.
"""

import datetime
import gzip
import hashlib
import io
import json
import os
import tarfile

EPOCH = 0  # set by the builder from the Kubernetes release date (SOURCE_DATE_EPOCH)

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


class Entry:
    """One path inside a layer: a file copied from `src`, a symlink, or a directory."""

    def __init__(self, kind, mode=0o755, src=None, target=None, data=None, uid=0, gid=0):
        self.kind, self.mode, self.src, self.target, self.data = kind, mode, src, target, data
        self.uid, self.gid = uid, gid


def file(src, mode=None):
    return Entry("file", mode if mode is not None else (os.stat(src).st_mode & 0o7777), src=src)


def data(content, mode=0o644):
    return Entry("file", mode, data=content.encode() if isinstance(content, str) else content)


def symlink(target):
    return Entry("symlink", 0o777, target=target)


def directory(mode=0o755):
    return Entry("dir", mode)


def _parents(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def layer_tar(entries):
    """Return the uncompressed tar bytes of one layer, entries sorted, parents created."""
    entries = dict(entries)
    for path in list(entries):
        for parent in _parents(path):
            entries.setdefault(parent, directory())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            e = entries[path]
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid, info.mode = EPOCH, e.uid, e.gid, e.mode
            info.uname = info.gname = ""
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.target
                tar.addfile(info)
            else:
                payload = e.data
                if payload is None:
                    with open(e.src, "rb") as f:
                        payload = f.read()
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _gzip(raw):
    out = io.BytesIO()
    # mtime=0 and no file name keep the compressed bytes identical for identical input
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
        gz.write(raw)
    return out.getvalue()


def _sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def build_archive(dest, name, layers, config, arch="amd64"):
    """Write an OCI layout tar for image `name` (e.g. registry.k8s.io/pause:3.10.1).

    Returns the manifest digest, which is what containerd reports as the image's digest.
    """
    blobs = {}
    diff_ids, layer_descs = [], []
    for entries in layers:
        raw = layer_tar(entries)
        gz = _gzip(raw)
        diff_ids.append(_sha(raw))
        digest = _sha(gz)
        blobs[digest] = gz
        layer_descs.append({"mediaType": MEDIA_LAYER, "digest": digest, "size": len(gz)})
    created = datetime.datetime.fromtimestamp(EPOCH, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "edge.cluster bundle builder"} for _ in layers],
    }
    cfg_bytes = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    cfg_digest = _sha(cfg_bytes)
    blobs[cfg_digest] = cfg_bytes
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": cfg_digest, "size": len(cfg_bytes)},
        "layers": layer_descs,
    }
    man_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    man_digest = _sha(man_bytes)
    blobs[man_digest] = man_bytes
    tag = name.rsplit(":", 1)[1]
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": man_digest, "size": len(man_bytes),
            "platform": {"architecture": arch, "os": "linux"},
            # containerd names the image from the first, skopeo/OCI tools from the second
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
        }],
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True, separators=(",", ":")).encode(),
    }
    for digest, blob in blobs.items():
        files["blobs/sha256/" + digest.split(":", 1)[1]] = blob
    tmp = dest + ".part"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in ["blobs", "blobs/sha256"]:
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for path in sorted(files):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(files[path]), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(files[path]))
    os.replace(tmp, dest)
    return man_digest
