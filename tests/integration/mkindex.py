#!/usr/bin/python3
"""Usage: mkindex.py SRC_LAYOUT DEST_LAYOUT

Builds a multi-platform OCI layout for mctr's pull tests from a one-image
layout (the gzip busybox fixture): an image index with
  - linux/amd64: SRC's image, unchanged;
  - linux/arm64/v8: a fake image whose one layer holds /arch = "arm64";
  - an attestation manifest (platform unknown/unknown), which clients skip;
tagged "latest".  Standard library only; deterministic.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def put(root, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def jbytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def arch_layer():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"arm64\n"
        ti = tarfile.TarInfo("arch")
        ti.size, ti.mtime, ti.mode = len(data), 1700000000, 0o644
        t.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(tar)
    return tar, gz.getvalue()


def main():
    src, dst = sys.argv[1], sys.argv[2]
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    with open(os.path.join(dst, "index.json")) as f:
        amd64 = json.load(f)["manifests"][0]
    amd64 = {"mediaType": amd64["mediaType"], "digest": amd64["digest"], "size": amd64["size"],
             "platform": {"architecture": "amd64", "os": "linux"}}

    tar, gz = arch_layer()
    layer = {"mediaType": MT_GZIP, "digest": put(dst, gz), "size": len(gz)}
    cfg = jbytes({"architecture": "arm64", "variant": "v8", "os": "linux", "created": "2023-11-14T22:13:20Z",
                  "config": {"Cmd": ["cat", "/arch"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}})
    man = jbytes({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                  "config": {"mediaType": MT_CONFIG, "digest": put(dst, cfg), "size": len(cfg)},
                  "layers": [layer]})
    arm64 = {"mediaType": MT_MANIFEST, "digest": put(dst, man), "size": len(man),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}

    att = jbytes({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                  "config": {"mediaType": MT_CONFIG, "digest": put(dst, cfg), "size": len(cfg)},
                  "layers": [layer], "annotations": {"mctr.test": "attestation"}})
    attestation = {"mediaType": MT_MANIFEST, "digest": put(dst, att), "size": len(att),
                   "platform": {"architecture": "unknown", "os": "unknown"},
                   "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                   "vnd.docker.reference.digest": amd64["digest"]}}

    idx = jbytes({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [arm64, attestation, amd64]})
    top = {"schemaVersion": 2, "mediaType": MT_INDEX,
           "manifests": [{"mediaType": MT_INDEX, "digest": put(dst, idx), "size": len(idx),
                          "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(dst, "index.json"), "wb") as f:
        f.write(jbytes(top))
    print("sha256:" + hashlib.sha256(idx).hexdigest())


if __name__ == "__main__":
    main()
