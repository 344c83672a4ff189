#!/usr/bin/env python3
"""Usage:
  ocitool.py layout OUT --layer TAR [--layer TAR ...] [--compress none|gzip|zstd]
             [--config JSON] [--ref REF ...] [--no-ref]
      Write a one-image OCI layout OUT from uncompressed layer tarballs.  JSON
      is the image config's "config" object (Env, Cmd, WorkingDir, ...).
      Each --ref becomes an index.json entry with that ref.name; --no-ref
      writes one entry without any annotation.
  ocitool.py docker-new LAYOUT REF REPO:TAG OUT.tar
      Convert one image of an OCI layout to the Docker >= 25 `docker save` format.
  ocitool.py layer-tars DIR
      Write the hand-made layers of the "layered" and "shared-base" fixtures
      (layered-2.tar, layered-3.tar, shared-2.tar) into DIR.
  ocitool.py summary DIR
      Print one line per image fixture in DIR: name, format, size, manifest
      digest, image ID (config digest).

Helper of tools/fixtures.sh; stdlib only (see ocilib.py).
"""

import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib  # noqa: E402


def cmd_layout(args):
    out, layers, compress, config, refs, no_ref = None, [], "none", None, [], False
    it = iter(args)
    for a in it:
        if a == "--layer":
            layers.append(next(it))
        elif a == "--compress":
            compress = next(it)
        elif a == "--config":
            config = json.loads(next(it))
        elif a == "--ref":
            refs.append(next(it))
        elif a == "--no-ref":
            no_ref = True
        elif out is None:
            out = a
        else:
            sys.exit("ocitool layout: unexpected argument " + a)
    if out is None or not layers or (refs and no_ref) or (not refs and not no_ref):
        sys.exit("usage: ocitool.py layout OUT --layer TAR ... (--ref REF ...|--no-ref)")
    lay = ocilib.Layout(out)
    descs = [lay.add_layer_file(t, compress) for t in layers]
    lay.add_image(descs, config, refs)
    lay.save_index()


def cmd_docker_new(args):
    if len(args) != 4:
        sys.exit("usage: ocitool.py docker-new LAYOUT REF REPO:TAG OUT.tar")
    ocilib.write_docker_archive_new(args[0], args[1], args[2], args[3])


def cmd_layer_tars(args):
    (d,) = args
    os.makedirs(d, exist_ok=True)
    # Layer 2: plain additions on top of the busybox rootfs.
    t = ocilib.TarBuilder()
    t.dir("data").file("data/a", "a\n").file("data/b", "b\n").file("data/c", "c\n")
    t.dir("data/dir").file("data/dir/x", "x\n").file("data/dir/y", "y\n")
    t.file("etc/motd", "welcome to the layered fixture\n")
    with open(os.path.join(d, "layered-2.tar"), "wb") as f:
        f.write(t.getvalue())
    # Layer 3: a whiteout, an opaque dir, a symlink and a hardlink.  Written
    # here rather than with `umoci insert --opaque`, which truncates the tar.
    t = ocilib.TarBuilder()
    t.dir("data")
    t.whiteout("data/.wh.a")
    t.dir("data/dir")
    t.whiteout("data/dir/.wh..wh..opq")
    t.file("data/dir/z", "z\n")
    t.symlink("data/link", "/etc/motd")
    t.hardlink("data/hard", "data/dir/z")
    with open(os.path.join(d, "layered-3.tar"), "wb") as f:
        f.write(t.getvalue())
    # The shared-base image: same layer 1, a different layer 2.
    t = ocilib.TarBuilder()
    t.dir("shared").file("shared/hello", "hello from shared-base\n")
    with open(os.path.join(d, "shared-2.tar"), "wb") as f:
        f.write(t.getvalue())


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def _describe(path):
    """(format, [(ref, manifest digest or '-', image id)]) for an image fixture."""
    name = os.path.basename(path)
    if "rootfs" in name:
        return "rootfs-tar" + name.split(".tar", 1)[1], [("-", "-", "file " + ocilib.digest_file(path))]
    if os.path.isdir(path):
        with open(os.path.join(path, "index.json")) as f:
            idx = json.load(f)
        rows = []
        for m in idx["manifests"]:
            with open(os.path.join(path, "blobs", *m["digest"].split(":", 1))) as f:
                man = json.load(f)
            ref = m.get("annotations", {}).get(ocilib.REF_NAME, "<none>")
            rows.append((ref, m["digest"], man["config"]["digest"]))
        return "oci-layout", rows
    with tarfile.open(path) as tar:
        names = tar.getnames()
        if "manifest.json" in names:
            items = json.load(tar.extractfile("manifest.json"))
            fmt = "docker-archive-new" if "oci-layout" in names else "docker-archive"
            rows = []
            for it in items:
                cfg = tar.extractfile(it["Config"]).read()
                rows.append((",".join(it["RepoTags"] or []) or "<none>", "-", ocilib.digest_bytes(cfg)))
            return fmt, rows
        idx = json.load(tar.extractfile("index.json"))
        rows = []
        for m in idx["manifests"]:
            man = json.load(tar.extractfile("blobs/" + m["digest"].replace(":", "/")))
            rows.append((m.get("annotations", {}).get(ocilib.REF_NAME, "<none>"), m["digest"],
                         man["config"]["digest"]))
        return "oci-archive", rows


def cmd_summary(args):
    """One line per (fixture, ref): name, format, size, ref, manifest digest, image ID."""
    (d,) = args
    fmt_line = "%-27s %-18s %9s  %-34s %-71s %s"
    print(fmt_line % ("fixture", "format", "size", "ref", "manifest", "image id (config digest)"))
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.startswith(".") or name in ("hostile", "work") or name.endswith(".txt"):
            continue
        fmt, rows = _describe(p)
        for ref, man, img in rows:
            print(fmt_line % (name, fmt, _human(_size(p)), ref, man, img))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmds = {"layout": cmd_layout, "docker-new": cmd_docker_new, "layer-tars": cmd_layer_tars,
            "summary": cmd_summary}
    if sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
