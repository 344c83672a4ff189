"""Build OCI image layouts, docker-archives and layer tarballs for mctr's tests.

Python 3 standard library only (zstd goes through the `zstd` CLI when asked
for).  Used by tools/ocitool.py (the fixtures) and tools/hostile.py (the
hostile-input corpus).  Everything is deterministic: fixed timestamps, numeric
owners, sorted archive members, gzip without a name or mtime, so the same
inputs always give the same digests.

Vocabulary: a *descriptor* is the OCI dict {"mediaType","digest","size",...};
a *diff_id* is the sha256 of a layer's uncompressed tar.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

FIXED_EPOCH = 1700000000  # 2023-11-14T22:13:20Z, same as mkimage-busybox.sh
FIXED_CREATED = "2023-11-14T22:13:20Z"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# ---- hashing and JSON ------------------------------------------------------

def digest_bytes(data, alg="sha256"):
    return alg + ":" + hashlib.new(alg, data).hexdigest()


def digest_file(path, alg="sha256"):
    h = hashlib.new(alg)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return alg + ":" + h.hexdigest()


def hex_of(digest):
    return digest.split(":", 1)[1]


def json_bytes(obj):
    """Compact JSON as Go's encoding/json writes it (key order kept)."""
    return json.dumps(obj, separators=(",", ":")).encode()


# ---- compression -----------------------------------------------------------

def compress_bytes(data, how):
    if how == "none":
        return data
    if how == "gzip":
        # mtime=0 and no file name keep the output byte-identical across runs.
        return gzip.compress(data, compresslevel=6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    raise ValueError("unknown compression " + how)


def compress_file(src, dst, how):
    if how == "none":
        shutil.copyfile(src, dst)
    elif how == "gzip":
        with open(src, "rb") as fi, open(dst, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as fo:
                shutil.copyfileobj(fi, fo, 1 << 20)
    elif how == "zstd":
        subprocess.run(["zstd", "-q", "-3", "-f", "-o", dst, src], check=True)
    else:
        raise ValueError("unknown compression " + how)


# ---- layer tarballs --------------------------------------------------------

class TarBuilder:
    """Writes a layer tar entry by entry, in the order given (order matters for
    whiteout tests).  Names are used verbatim: pass "../x" to get "../x"."""

    def __init__(self, fmt=tarfile.PAX_FORMAT):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=fmt)

    def _info(self, name, kind, mode, uid=0, gid=0, mtime=FIXED_EPOCH, pax=None):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = mtime
        if pax:
            ti.pax_headers = dict(pax)
        return ti

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))
        return self

    def file(self, name, data=b"", mode=0o644, **kw):
        if isinstance(data, str):
            data = data.encode()
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))
        return self

    def symlink(self, name, target, **kw):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, **kw)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def hardlink(self, name, target, **kw):
        ti = self._info(name, tarfile.LNKTYPE, 0o644, **kw)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def fifo(self, name, mode=0o644, **kw):
        self.tar.addfile(self._info(name, tarfile.FIFOTYPE, mode, **kw))
        return self

    def whiteout(self, name, **kw):
        # Docker writes whiteouts as empty files; some tools use mode 0, mtime 0.
        return self.file(name, b"", **kw)

    def getvalue(self):
        self.tar.close()
        return self.buf.getvalue()


def tar_directory(src_dir, out_path):
    """Pack a directory (an OCI layout, a docker-archive tree) as a tar with
    sorted members, numeric owner 0 and fixed mtimes.  Symlinks and FIFOs are
    stored as such, never followed, which hostile cases rely on."""
    entries = []
    for root, dirs, files in os.walk(src_dir):
        dirs.sort()
        for name in dirs + files:
            full = os.path.join(root, name)
            entries.append(os.path.relpath(full, src_dir))
    entries.sort()
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel in entries:
            ti = tar.gettarinfo(os.path.join(src_dir, rel), arcname=rel)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = FIXED_EPOCH
            if ti.isreg():
                ti.mode = 0o644
                with open(os.path.join(src_dir, rel), "rb") as f:
                    tar.addfile(ti, f)
            else:
                if ti.isdir():
                    ti.mode = 0o755
                tar.addfile(ti)


# ---- image config and manifests --------------------------------------------

def image_config(diff_ids, container_config=None, arch="amd64", created=FIXED_CREATED, history=None):
    cfg = {
        "created": created,
        "architecture": arch,
        "os": "linux",
        "config": container_config if container_config is not None else {"Env": [DEFAULT_PATH_ENV]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    cfg["history"] = history if history is not None else [
        {"created": created, "created_by": "mctr tools/ocilib.py"} for _ in diff_ids]
    return cfg


def oci_manifest(config_desc, layer_descs, annotations=None):
    m = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config_desc, "layers": list(layer_descs)}
    if annotations:
        m["annotations"] = annotations
    return m


def descriptor(media_type, digest, size, annotations=None, platform=None):
    d = {"mediaType": media_type, "digest": digest, "size": size}
    if platform:
        d["platform"] = platform
    if annotations:
        d["annotations"] = annotations
    return d


# ---- OCI image layout ------------------------------------------------------

class Layout:
    """An OCI image layout being written.  Blobs land in blobs/<alg>/<hex>;
    index.json is written by save_index() from the descriptors added with
    add_to_index()."""

    def __init__(self, root):
        self.root = root
        self.index_manifests = []
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "wb") as f:
            f.write(json_bytes({"imageLayoutVersion": "1.0.0"}))

    def blob_path(self, digest):
        alg, hx = digest.split(":", 1)
        return os.path.join(self.root, "blobs", alg, hx)

    def put_bytes(self, data, alg="sha256"):
        d = digest_bytes(data, alg)
        p = self.blob_path(d)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return d, len(data)

    def put_file(self, src, move=False):
        d = digest_file(src)
        p = self.blob_path(d)
        if move:
            os.replace(src, p)
        else:
            shutil.copyfile(src, p)
        return d, os.path.getsize(p)

    def add_layer_bytes(self, tar_bytes, compression="none"):
        """Returns (descriptor, diff_id)."""
        blob = compress_bytes(tar_bytes, compression)
        d, size = self.put_bytes(blob)
        return descriptor(MT_LAYER[compression], d, size), digest_bytes(tar_bytes)

    def add_layer_file(self, tar_path, compression="none"):
        diff_id = digest_file(tar_path)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".layer-")
        os.close(fd)
        compress_file(tar_path, tmp, compression)
        d, size = self.put_file(tmp, move=True)
        return descriptor(MT_LAYER[compression], d, size), diff_id

    def add_json(self, obj, media_type):
        d, size = self.put_bytes(json_bytes(obj))
        return descriptor(media_type, d, size)

    def add_image(self, layers, container_config=None, refs=(), arch="amd64", history=None):
        """layers: [(descriptor, diff_id)].  Writes config + manifest blobs,
        records one index entry per ref (or one unnamed entry if refs is
        empty) and returns the manifest descriptor."""
        cfg = image_config([dd for _, dd in layers], container_config, arch, history=history)
        cfg_desc = self.add_json(cfg, MT_CONFIG)
        man_desc = self.add_json(oci_manifest(cfg_desc, [ld for ld, _ in layers]), MT_MANIFEST)
        for ref in refs or [None]:
            self.add_to_index(man_desc, ref)
        return man_desc

    def add_to_index(self, man_desc, ref=None, extra_annotations=None):
        ann = dict(extra_annotations or {})
        if ref is not None:
            ann[REF_NAME] = ref
        self.index_manifests.append(descriptor(man_desc["mediaType"], man_desc["digest"], man_desc["size"],
                                               annotations=ann or None))

    def save_index(self):
        idx = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": self.index_manifests}
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(json_bytes(idx))

    def read_json(self, digest):
        with open(self.blob_path(digest), "rb") as f:
            return json.load(f)


def read_layout_image(root, ref=None):
    """Returns (manifest_desc, manifest, config) for ref (or the only entry)."""
    with open(os.path.join(root, "index.json")) as f:
        idx = json.load(f)
    entries = idx["manifests"]
    if ref is not None:
        entries = [m for m in entries if m.get("annotations", {}).get(REF_NAME) == ref]
    if not entries:
        raise KeyError("%s: no manifest for ref %r" % (root, ref))
    desc = entries[0]

    def blob(d):
        with open(os.path.join(root, "blobs", *d.split(":", 1)), "rb") as fb:
            return json.load(fb)
    manifest = blob(desc["digest"])
    return desc, manifest, blob(manifest["config"]["digest"])


def decompressed_layer(root, layer_desc, out_path):
    """Writes the uncompressed tar of a layer blob to out_path (by magic bytes)."""
    src = os.path.join(root, "blobs", *layer_desc["digest"].split(":", 1))
    with open(src, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(src, "rb") as fi, open(out_path, "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
    elif magic == b"\x28\xb5\x2f\xfd":
        subprocess.run(["zstd", "-q", "-d", "-f", "-o", out_path, src], check=True)
    else:
        shutil.copyfile(src, out_path)


# ---- docker-archive (docker save) -----------------------------------------

def write_docker_archive_new(layout_root, ref, repo_tag, out_path, image_name=None):
    """Write the Docker >= 25 `docker save` layout for one image of an OCI
    layout: blobs/sha256/<hex> for config and layers (layers uncompressed,
    named by diff_id), manifest.json, index.json, oci-layout, repositories,
    plus the legacy per-layer v1 JSON blobs Docker still writes."""
    _, manifest, config = read_layout_image(layout_root, ref)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out_path))) as tmp:
        lay = Layout(tmp)
        layer_descs, layer_paths = [], []
        parent = ""
        for i, ld in enumerate(manifest["layers"]):
            raw = os.path.join(tmp, ".raw")
            decompressed_layer(layout_root, ld, raw)
            d, size = lay.put_file(raw, move=True)
            if d != config["rootfs"]["diff_ids"][i]:
                raise ValueError("layer %d: diff_id mismatch in source layout" % i)
            layer_descs.append(descriptor(MT_LAYER["none"], d, size))
            layer_paths.append("blobs/sha256/" + hex_of(d))
            # Docker keeps writing the pre-1.10 per-layer JSON; an importer must ignore it.
            v1 = {"id": hashlib.sha256((parent + d).encode()).hexdigest(), "created": "1970-01-01T00:00:00Z",
                  "os": "linux"}
            if parent:
                v1["parent"] = parent
            lay.put_bytes(json_bytes(v1))
            parent = v1["id"]
        with open(os.path.join(layout_root, "blobs", *manifest["config"]["digest"].split(":", 1)), "rb") as f:
            cfg_bytes = f.read()
        cfg_d, cfg_size = lay.put_bytes(cfg_bytes)
        platform = {"architecture": config.get("architecture", "amd64"), "os": config.get("os", "linux")}
        man = oci_manifest(descriptor(MT_CONFIG, cfg_d, cfg_size, platform=platform), layer_descs)
        man_desc = lay.add_json(man, MT_MANIFEST)
        repo_tags = []
        if repo_tag:
            repo, tag = repo_tag.rsplit(":", 1)
            full = image_name or ("docker.io/library/" + repo_tag if "/" not in repo else repo_tag)
            lay.index_manifests.append(descriptor(MT_MANIFEST, man_desc["digest"], man_desc["size"],
                                                  platform=platform,
                                                  annotations={"io.containerd.image.name": full, REF_NAME: tag}))
            repo_tags.append(repo_tag)
            with open(os.path.join(tmp, "repositories"), "wb") as f:
                f.write(json_bytes({repo: {tag: hex_of(layer_descs[-1]["digest"])}}) + b"\n")
        lay.save_index()
        # Go's json.Encoder appends a newline; keep it, real files have it.
        with open(os.path.join(tmp, "manifest.json"), "wb") as f:
            f.write(json_bytes([{"Config": "blobs/sha256/" + hex_of(cfg_d), "RepoTags": repo_tags,
                                 "Layers": layer_paths}]) + b"\n")
        tar_directory(tmp, out_path)
