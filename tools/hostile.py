#!/usr/bin/env python3
"""Usage: tools/hostile.py OUTDIR

Generates mctr's hostile-input corpus: each case is one plain rootfs tarball
(for `mctr import`) or one docker-archive / OCI layout / oci-archive (for
`mctr load`) that is correct in every respect (digests, sizes, diff_ids,
counts) except the one fault the case is about, so a test exercises exactly
that fault.  Python 3 standard library only.

Writes:
  OUTDIR/cases.tsv        one line per case, tab-separated, first line a header:
      name     case name
      path     file or dir, relative to OUTDIR
      command  load | import
      expect   what must happen:
                 "OK:"       must succeed, then the checks must hold;
                 "ANY:SUBS"  either fails with a message matching SUBS, or
                             succeeds with the checks holding (cases where more
                             than one safe policy exists);
                 otherwise   must fail (exit 125) with a message matching SUBS.
               SUBS is a |-separated list of alternatives, matched
               case-insensitively as plain substrings of the error message
               after the input's path and the case name are removed from it
               (file names like docker-diffid-mismatch.tar would otherwise
               match "diff"); an empty SUBS matches any message.  Failures
               must exit 125, never crash or hang (FIFO cases block a naive
               reader), and leave the store unchanged.
      check    ;-separated checks on the resulting image's root filesystem:
                 file:P  nofile:P  content:P=TEXT (file content without its
                 trailing newline)  noxattr:P=NAME  notsymlink:P
      image    the reference the image gets (import NAME / RepoTags / ref.name)
      description
  OUTDIR/canary/          template of the canary dir; tests copy it to
                          /var/tmp/mctr-canary before running the corpus and
                          verify afterwards that it is unchanged.
  OUTDIR/host-targets.txt host paths that cases try to create; none may exist
                          after a run.  Every file a case tries to plant
                          outside the store is also named mctr-pwned-*.
  OUTDIR/README.txt       this description and the list of cases.

Whatever an unsafe implementation would write lies in /var/tmp/mctr-canary, so
a broken mctr damages only the canary, never the real /etc.  The exceptions
are harmless and detected: import-absolute would create /abs/path, and the two
import-hardlink-*shadow cases would hardlink (not modify) the real /etc/shadow,
which raises its link count.
"""

import gzip
import io
import json
import os
import shutil
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilib  # noqa: E402
from ocilib import TarBuilder, digest_bytes, hex_of, json_bytes  # noqa: E402

CANARY = "/var/tmp/mctr-canary"
UP = "../" * 12  # enough ".." to reach / from any store directory
TRUNCATION = "truncat|unexpected end|premature|short read|incomplete|eof|corrupt"


def prefix(digest):
    """What a good error message names: the blob digest (12 hex chars match
    the full digest, a short ID and a blobs/sha256/<hex> path alike)."""
    return hex_of(digest)[:12]


# ---- the canary --------------------------------------------------------------

def secret_tar():
    return TarBuilder().file("secret", "canary secret\n").getvalue()


def canary_config():
    return ocilib.image_config([digest_bytes(secret_tar())])


def write_canary(root, docker_manifest):
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "keep"))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:canary:/root:/bin/sh\n")
    with open(os.path.join(root, "etc", "shadow"), "w") as f:
        f.write("root:CANARY-SHADOW-HASH:19000:0:99999:7:::\n")
    os.chmod(os.path.join(root, "etc", "shadow"), 0o600)
    for n in ("file1", "file2"):
        with open(os.path.join(root, "keep", n), "w") as f:
            f.write("canary " + n + "\n")
    with open(os.path.join(root, "secret.tar"), "wb") as f:
        f.write(secret_tar())
    with open(os.path.join(root, "config.json"), "wb") as f:
        f.write(json_bytes(canary_config()))
    with open(os.path.join(root, "manifest.json"), "wb") as f:
        f.write(docker_manifest)


# ---- image writers -------------------------------------------------------------

def base_tar():
    """A tiny but real first layer."""
    t = TarBuilder()
    t.dir("etc").file("etc/hostile-base", "base\n")
    t.dir("data").file("data/x", "x\n").file("data/y", "y\n").file("data/keep", "keep\n")
    return t.getvalue()


def member(name, data=b"", kind=tarfile.REGTYPE, linkname="", mode=0o444):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = kind, mode, ocilib.FIXED_EPOCH
    ti.linkname = linkname
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        return ti, data
    return ti, None


def write_members(path, members):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for ti, data in members:
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)


class DockerImage:
    """The pieces of a skopeo-style docker-archive, editable before writing."""

    def __init__(self, layer_tars, repo_tag, config_mutate=None):
        self.layer_tars = list(layer_tars)
        cfg = ocilib.image_config([digest_bytes(t) for t in self.layer_tars])
        if config_mutate:
            config_mutate(cfg)
        self.config = json_bytes(cfg)
        self.config_name = hex_of(digest_bytes(self.config)) + ".json"
        self.layer_names = [hex_of(digest_bytes(t)) + ".tar" for t in self.layer_tars]
        self.manifest_obj = [{"Config": self.config_name, "RepoTags": [repo_tag] if repo_tag else [],
                              "Layers": list(self.layer_names)}]
        self.manifest = None  # bytes override

    def members(self):
        out = [member(self.config_name, self.config)]
        out += [member(n, t) for n, t in zip(self.layer_names, self.layer_tars)]
        out.append(member("manifest.json", self.manifest if self.manifest is not None
                          else json_bytes(self.manifest_obj)))
        return out

    def write(self, path, members=None):
        write_members(path, members if members is not None else self.members())


def oci_layout(root, layer_tars, ref, compression="none", config_mutate=None, manifest_mutate=None):
    """Writes a one-image OCI layout; returns (layout, manifest, config dict).
    The mutate hooks edit the dicts before they are hashed, so every digest
    stays consistent with what is written."""
    lay = ocilib.Layout(root)
    layers = [lay.add_layer_bytes(t, compression) for t in layer_tars]
    cfg = ocilib.image_config([d for _, d in layers])
    if config_mutate:
        config_mutate(cfg)
    cfg_desc = lay.add_json(cfg, ocilib.MT_CONFIG)
    man = ocilib.oci_manifest(cfg_desc, [ld for ld, _ in layers])
    if manifest_mutate:
        manifest_mutate(man, lay)
    man_desc = lay.add_json(man, ocilib.MT_MANIFEST)
    lay.add_to_index(man_desc, ref)
    lay.save_index()
    return lay, man, cfg


# ---- the corpus --------------------------------------------------------------

class Corpus:
    def __init__(self, out):
        self.out = out
        self.rows = []
        self.targets = set()

    def path(self, name, ext=""):
        return os.path.join(self.out, name + ext)

    def image(self, name):
        return "localhost/hostile/" + name + ":latest"

    def add(self, name, path, command, expect, desc, check="", targets=()):
        rel = os.path.relpath(path, self.out)
        self.rows.append((name, rel, command, expect, check, self.image(name), desc))
        self.targets.update(targets)

    def set_expect(self, name, expect):
        """For cases whose expected message depends on digests known only after writing."""
        self.rows = [r[:3] + (expect,) + r[4:] if r[0] == name else r for r in self.rows]


def import_cases(c):
    def rootfs(name, build, expect, desc, check="", targets=(), raw=None, ext=".tar"):
        p = c.path(name, ext)
        with open(p, "wb") as f:
            f.write(raw if raw is not None else build(TarBuilder().dir("etc").file("etc/ok", "ok\n")).getvalue())
        c.add(name, p, "import", expect, desc, check, targets)

    rootfs("import-dotdot", lambda t: t.file("../mctr-pwned-escape", "pwned\n"),
           "mctr-pwned-escape", "entry ../mctr-pwned-escape climbs out of the layer dir")
    rootfs("import-dotdot-deep", lambda t: t.file(UP + "var/tmp/mctr-canary/mctr-pwned-deep", "pwned\n"),
           "mctr-pwned-deep", "entry ../../(x12)/var/tmp/mctr-canary/mctr-pwned-deep reaches the host",
           targets=[CANARY + "/mctr-pwned-deep"])
    rootfs("import-dotdot-middle", lambda t: t.dir("a").file("a/../../mctr-pwned-middle", "pwned\n"),
           "mctr-pwned-middle", "entry a/../../mctr-pwned-middle: the .. is not at the start")
    # Two safe policies exist: strip the leading / (GNU tar, Docker) or reject.
    rootfs("import-absolute", lambda t: t.dir("/abs").file("/abs/path", "inside\n"),
           "ANY:/abs", "absolute entries /abs/, /abs/path: rejected, or stripped so they land in the image",
           "file:/abs/path;content:/abs/path=inside", targets=["/abs/path"])
    rootfs("import-absolute-canary", lambda t: t.file(CANARY + "/mctr-pwned-abs", "inside\n"),
           "ANY:mctr-pwned-abs", "absolute entry naming a host path: rejected, or stripped so it lands in "
           "the image, never on the host", "file:" + CANARY + "/mctr-pwned-abs",
           targets=[CANARY + "/mctr-pwned-abs"])
    rootfs("import-pax-path-escape",
           lambda t: t.file("innocent", "pwned\n", pax={"path": "../mctr-pwned-pax"}),
           "mctr-pwned-pax", "ustar name 'innocent', PAX path=../mctr-pwned-pax (the PAX name wins)")

    def longname(t):
        t.tar.format = tarfile.GNU_FORMAT  # ././@LongLink instead of PAX
        return t.file("../" + "l" * 120 + "/mctr-pwned-long", "pwned\n")
    rootfs("import-gnu-longname-escape", longname, "mctr-pwned-long",
           "GNU ././@LongLink name starting with ../ (longer than 100 bytes)")
    rootfs("import-symlink-dir-escape",
           lambda t: t.symlink("link", CANARY + "/etc").file("link/passwd", "pwned\n"),
           "ANY:link/passwd",
           "symlink link -> /var/tmp/mctr-canary/etc, then file link/passwd: writing through the link must "
           "not reach the host (reject, or resolve inside the rootfs)")
    rootfs("import-symlink-relative-escape",
           lambda t: t.symlink("rel", "../../..").file("rel/mctr-pwned-rel", "pwned\n"),
           "ANY:rel/mctr-pwned-rel", "symlink rel -> ../../.., then file rel/mctr-pwned-rel")
    rootfs("import-symlink-relative-deep",
           lambda t: t.symlink("deeprel", UP + "var/tmp/mctr-canary").file("deeprel/mctr-pwned-reldeep", "p\n"),
           "ANY:deeprel/mctr-pwned-reldeep",
           "symlink deeprel -> ../(x12)/var/tmp/mctr-canary, then file deeprel/mctr-pwned-reldeep",
           targets=[CANARY + "/mctr-pwned-reldeep"])
    rootfs("import-symlink-then-file",
           lambda t: t.symlink("f", CANARY + "/etc/passwd").file("f", "replaced\n"),
           "OK:", "symlink f -> canary passwd, then regular file f: f must be replaced, not written through",
           "content:/f=replaced;notsymlink:/f")
    rootfs("import-hardlink-etc-shadow", lambda t: t.hardlink("shadow", "/etc/shadow"),
           "etc/shadow", "hardlink shadow -> /etc/shadow (absolute link target)")
    rootfs("import-hardlink-dotdot", lambda t: t.hardlink("shadow", "../../etc/shadow"),
           "etc/shadow", "hardlink shadow -> ../../etc/shadow")
    rootfs("import-hardlink-canary-write",
           lambda t: t.hardlink("pw", CANARY + "/etc/passwd").file("pw", "pwned\n"),
           "mctr-canary/etc/passwd",
           "hardlink pw -> /var/tmp/mctr-canary/etc/passwd, then a file pw written through it")
    rootfs("import-hardlink-dotdot-deep",
           lambda t: t.hardlink("pw", UP + "var/tmp/mctr-canary/etc/passwd").file("pw", "pwned\n"),
           "mctr-canary/etc/passwd", "hardlink pw -> ../(x12)/var/tmp/mctr-canary/etc/passwd, then file pw")
    rootfs("import-hardlink-via-symlink",
           lambda t: t.symlink("canarylink", CANARY).hardlink("hardlink-via-symlink", "canarylink/etc/shadow"),
           "canarylink/etc/shadow|hardlink-via-symlink",
           "symlink canarylink -> /var/tmp/mctr-canary, hardlink -> canarylink/etc/shadow")
    rootfs("import-xattr-overlay",
           lambda t: t.dir("data", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                                        "SCHILY.xattr.user.overlay.opaque": "y"})
           .dir("redir", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc",
                              "SCHILY.xattr.user.overlay.redirect": "/etc"})
           .file("data/f", "f\n", pax={"SCHILY.xattr.trusted.overlay.metacopy": ""}),
           "OK:", "PAX SCHILY.xattr trusted/user.overlay.{opaque,redirect,metacopy}: loads, xattrs dropped",
           "file:/data/f;noxattr:/data=trusted.overlay.opaque;noxattr:/data=user.overlay.opaque;"
           "noxattr:/redir=trusted.overlay.redirect;noxattr:/redir=user.overlay.redirect;"
           "noxattr:/data/f=trusted.overlay.metacopy")
    rootfs("import-missing-parent", lambda t: t.file("a/b/c/file", "deep\n"),
           "OK:", "quirk: a/b/c/file with no entries for a, a/b, a/b/c", "content:/a/b/c/file=deep")
    rootfs("import-deep-path",
           lambda t: t.file("/".join(["d" * 200] * 30) + "/f", "deep\n"),
           "ANY:", "a 6,000-byte path (longer than PATH_MAX): must not crash or hang")

    full = TarBuilder().dir("etc").file("etc/ok", "ok\n").file("etc/big", b"z" * 65536).getvalue()
    gz = gzip.compress(full, mtime=0)
    rootfs("import-truncated-gzip", None, TRUNCATION, "gzip'ed rootfs tarball cut in half",
           raw=gz[:len(gz) // 2], ext=".tar.gz")
    rootfs("import-not-a-tar", None, "tar|archive|format|unrecognized",
           "a rootfs 'tarball' that is plain text", raw=b"this is not a tar archive\n" * 64)


def docker_cases(c):
    base = base_tar()

    def dock(name, expect, desc, layers=None, check="", targets=(), config_mutate=None, edit=None, members=None):
        p = c.path(name, ".tar")
        img = DockerImage(layers if layers is not None else [base], c.image(name), config_mutate)
        if edit:
            edit(img)
        img.write(p, members(img) if members else None)
        c.add(name, p, "load", expect, desc, check, targets)
        return img

    def set_diff_wrong(img):
        other = digest_bytes(b"not the layer")
        cfg = json.loads(img.config)
        cfg["rootfs"]["diff_ids"][0] = other
        img.config = json_bytes(cfg)
        img.config_name = hex_of(digest_bytes(img.config)) + ".json"
        img.manifest_obj[0]["Config"] = img.config_name
    dock("docker-diffid-mismatch", "diff", "docker-archive whose layer's sha256 is not the config's diff_id",
         edit=set_diff_wrong)
    dock("docker-layers-count", "layer", "config lists 2 diff_ids, manifest.json 1 layer",
         config_mutate=lambda cfg: cfg["rootfs"]["diff_ids"].append(digest_bytes(b"extra")))

    def bad_manifest(data):
        def e(img):
            img.manifest = data
        return e
    dock("docker-manifest-badjson", "manifest.json", "manifest.json is not JSON",
         edit=bad_manifest(b'[{"Config": "x.json", "RepoTags": ['))
    dock("docker-manifest-null", "manifest.json", "manifest.json is the JSON value null",
         edit=bad_manifest(b"null"))
    dock("docker-manifest-empty", "ANY:manifest.json|no image", "manifest.json is [] (Docker loads nothing)",
         edit=bad_manifest(b"[]"))
    dock("docker-rootfs-type", "rootfs", 'config rootfs.type is "layerz", not "layers"',
         config_mutate=lambda cfg: cfg["rootfs"].update(type="layerz"))
    not_tar = b"this is not a tar archive\n" * 64
    dock("docker-layer-not-tar", prefix(digest_bytes(not_tar)) + "|tar|archive",
         "the layer is plain text (its diff_id matches)", layers=[not_tar])

    def two_layers(second):
        return [base, second.getvalue()]
    dock("docker-whiteout-bare", ".wh.", "layer 2 holds a bare '.wh.' entry (whiteout of nothing)",
         layers=two_layers(TarBuilder().dir("data").whiteout("data/.wh.")))
    dock("docker-whiteout-dot", ".wh..", "layer 2 holds data/.wh.. (a whiteout of '.', i.e. of data itself)",
         layers=two_layers(TarBuilder().dir("data").whiteout("data/.wh..")))
    dock("docker-whiteout-dotdot", ".wh...", "layer 2 holds data/.wh... (a whiteout of '..')",
         layers=two_layers(TarBuilder().dir("data").whiteout("data/.wh...")))

    sym1 = TarBuilder().dir("etc").symlink("wl", CANARY + "/etc").getvalue()
    dock("docker-whiteout-through-symlink", "ANY:wl", "layer 1: wl -> /var/tmp/mctr-canary/etc; "
         "layer 2: wl/.wh.passwd (must not delete the canary passwd)",
         layers=[sym1, TarBuilder().whiteout("wl/.wh.passwd").getvalue()])
    sym2 = TarBuilder().dir("etc").symlink("ol", CANARY + "/keep").getvalue()
    dock("docker-opaque-through-symlink", "ANY:ol", "layer 1: ol -> /var/tmp/mctr-canary/keep; "
         "layer 2: ol/.wh..wh..opq (must not empty the canary keep/)",
         layers=[sym2, TarBuilder().whiteout("ol/.wh..wh..opq").getvalue()])

    l2 = TarBuilder().dir("data", pax={"SCHILY.xattr.trusted.overlay.opaque": "y"}).file("data/new", "new\n")
    l2.dir("redir", pax={"SCHILY.xattr.trusted.overlay.redirect": "/data"})
    dock("docker-xattr-overlay", "OK:",
         "layer 2 forges trusted.overlay.opaque on data/ (would hide layer 1's data/keep) and a redirect",
         layers=two_layers(l2), check="file:/data/keep;file:/data/new;noxattr:/data=trusted.overlay.opaque;"
         "noxattr:/redir=trusted.overlay.redirect")

    # Quirks seen in real archives; all must load.
    dock("quirk-opq-before-dir", "OK:", "layer 2: data/.wh..wh..opq comes before the data/ entry",
         layers=two_layers(TarBuilder().whiteout("data/.wh..wh..opq").dir("data").file("data/z", "z\n")),
         check="file:/data/z;nofile:/data/x;nofile:/data/keep")
    dock("quirk-opq-after-children", "OK:", "layer 2: data/z, then data/.wh..wh..opq (must not hide data/z)",
         layers=two_layers(TarBuilder().dir("data").file("data/z", "z\n").whiteout("data/.wh..wh..opq")),
         check="content:/data/z=z;nofile:/data/x")
    dock("quirk-whiteout-mode0", "OK:", "layer 2: whiteout data/.wh.x with mode 0 and mtime 0",
         layers=two_layers(TarBuilder().dir("data").whiteout("data/.wh.x", mode=0, mtime=0)),
         check="nofile:/data/x;content:/data/y=y")

    # Faults of the outer archive.
    p = c.path("docker-truncated-outer", ".tar")
    big = TarBuilder().dir("etc").file("etc/big", b"b" * 200000).getvalue()
    DockerImage([big], c.image("docker-truncated-outer")).write(p)
    with open(p, "r+b") as f:
        f.truncate(os.path.getsize(p) * 6 // 10)  # in the middle of the layer member
    c.add("docker-truncated-outer", p, "load", TRUNCATION, "docker-archive cut off in the middle of its layer")

    secret = secret_tar()

    def layer_escape(img):
        img.layer_tars = []  # the only layer comes from outside the archive
        img.layer_names = []
        cfg = json.loads(img.config)
        cfg["rootfs"]["diff_ids"] = [digest_bytes(secret)]
        img.config = json_bytes(cfg)
        img.config_name = hex_of(digest_bytes(img.config)) + ".json"
        img.manifest_obj[0].update(Config=img.config_name, Layers=[UP + CANARY.lstrip("/") + "/secret.tar"])
    dock("docker-layer-path-escape", "secret.tar",
         "manifest.json Layers path ../(x12)/var/tmp/mctr-canary/secret.tar (diff_id matches that file)",
         edit=layer_escape)

    def config_abs(img):
        img.layer_tars, img.layer_names = [secret], [hex_of(digest_bytes(secret)) + ".tar"]
        img.manifest_obj[0].update(Config=CANARY + "/config.json", Layers=img.layer_names)
    dock("docker-config-path-abs", "config.json",
         "manifest.json Config is /var/tmp/mctr-canary/config.json (a valid config for the layer)",
         edit=config_abs)

    # manifest.json is a symlink to a valid manifest outside the archive that
    # names this archive's members: a loader that follows it succeeds.
    img = DockerImage([base], c.image("docker-manifest-symlink"))
    canary_manifest = json_bytes(img.manifest_obj)
    ms = [m for m in img.members() if m[0].name != "manifest.json"]
    ms.append(member("manifest.json", kind=tarfile.SYMTYPE, linkname=CANARY + "/manifest.json"))
    p = c.path("docker-manifest-symlink", ".tar")
    write_members(p, ms)
    c.add("docker-manifest-symlink", p, "load", "manifest.json",
          "manifest.json member is a symlink to /var/tmp/mctr-canary/manifest.json (valid for this archive)")

    def layer_symlink(img):
        name = hex_of(digest_bytes(secret)) + ".tar"
        cfg = json.loads(img.config)
        cfg["rootfs"]["diff_ids"] = [digest_bytes(secret)]
        img.config = json_bytes(cfg)
        img.config_name = hex_of(digest_bytes(img.config)) + ".json"
        img.manifest_obj[0].update(Config=img.config_name, Layers=[name])
        out = [member(img.config_name, img.config)]
        out.append(member(name, kind=tarfile.SYMTYPE, linkname=CANARY + "/secret.tar"))
        out.append(member("manifest.json", json_bytes(img.manifest_obj)))
        return out
    dock("docker-layer-symlink", prefix(digest_bytes(secret)) + "|symlink|symbolic link|mctr-canary/secret.tar",
         "the layer member is a symlink to /var/tmp/mctr-canary/secret.tar (whose diff_id matches)",
         members=layer_symlink)

    def layer_fifo(img):
        ms = img.members()
        for i, (ti, _) in enumerate(ms):
            if ti.name == img.layer_names[0]:
                ms[i] = member(ti.name, kind=tarfile.FIFOTYPE, mode=0o644)
        return ms
    dock("docker-layer-fifo", prefix(digest_bytes(base)) + "|fifo|regular",
         "the layer member is a FIFO (a loader that opens it blocks forever)", members=layer_fifo)

    def outer_dotdot(img):
        return img.members() + [member(UP + CANARY.lstrip("/") + "/mctr-pwned-outer", b"pwned\n")]
    dock("docker-outer-dotdot", "ANY:mctr-pwned-outer",
         "an extra archive member ../(x12)/var/tmp/mctr-canary/mctr-pwned-outer", members=outer_dotdot,
         targets=[CANARY + "/mctr-pwned-outer"])
    return canary_manifest


def oci_cases(c):
    base = base_tar()

    def lay(name, expect, desc, layers=None, check="", targets=(), compression="none", **kw):
        root = c.path(name)
        out = oci_layout(root, layers if layers is not None else [base], c.image(name), compression, **kw)
        c.add(name, root, "load", expect, desc, check, targets)
        return out

    def layer_blob(l, man, i=0):
        return l.blob_path(man["layers"][i]["digest"])

    # Blob content and descriptors.
    l, man, _ = lay("oci-blob-digest-mismatch", prefix(digest_bytes(base)),
                    "a layer blob's content does not match its digest (same size)")
    with open(layer_blob(l, man), "r+b") as f:
        f.seek(1024)
        f.write(b"X")

    l, man, _ = lay("oci-config-digest-mismatch", "", "the config blob's content does not match its digest")
    cfgp = l.blob_path(man["config"]["digest"])
    data = open(cfgp, "rb").read().replace(b'"os":"linux"', b'"os":"linuX"')
    open(cfgp, "wb").write(data)
    c.set_expect("oci-config-digest-mismatch", prefix(man["config"]["digest"]))

    def shrink_size(man, layout):
        man["layers"][0]["size"] -= 10
    lay("oci-blob-larger-than-size", prefix(digest_bytes(base)) + "|size",
        "a layer blob is 10 bytes larger than its descriptor's size (the digest is of the whole blob)",
        manifest_mutate=shrink_size)

    def grow_size(man, layout):
        man["layers"][0]["size"] += 10
    lay("oci-blob-smaller-than-size", prefix(digest_bytes(base)) + "|size",
        "a layer blob is 10 bytes smaller than its descriptor's size", manifest_mutate=grow_size)

    secret = secret_tar()
    for name, target_of, what in (
            ("oci-blob-symlink-abs", lambda d: CANARY + "/secret.tar", "an absolute symlink"),
            ("oci-blob-symlink-rel", lambda d: os.path.relpath(CANARY + "/secret.tar", d),
             "a relative symlink leaving the layout")):
        l, man, _ = lay(name, prefix(digest_bytes(secret)) + "|symlink|symbolic link|regular",
                        "the layer blob is %s to /var/tmp/mctr-canary/secret.tar (digest matches it)" % what,
                        layers=[secret])
        p = layer_blob(l, man)
        os.unlink(p)
        os.symlink(target_of(os.path.dirname(p)), p)

    l, man, _ = lay("oci-blob-fifo", prefix(digest_bytes(base)) + "|fifo|regular",
                    "the layer blob is a FIFO (a loader that opens it blocks forever)")
    p = layer_blob(l, man)
    os.unlink(p)
    os.mkfifo(p)

    l, man, _ = lay("oci-blob-missing", prefix(digest_bytes(base)), "a referenced layer blob is absent")
    os.unlink(layer_blob(l, man))

    # index.json and digests.
    l, _, _ = lay("oci-index-badjson", "index.json", "index.json is not JSON")
    open(os.path.join(l.root, "index.json"), "wb").write(b'{"schemaVersion":2,"manifests":[')

    l, _, _ = lay("oci-no-oci-layout-file", "oci-layout", "the layout lacks its oci-layout file")
    os.unlink(os.path.join(l.root, "oci-layout"))

    # blobs/sha256/../../etc is <layout>/etc, which holds a valid manifest: a
    # loader that joins the digest into a path loads it.
    l, man, _ = lay("oci-index-digest-traversal", "../../etc",
                    'index.json names the manifest as "sha256:../../etc" (and <layout>/etc is that manifest)')
    with open(os.path.join(l.root, "etc"), "wb") as f:
        f.write(json_bytes(man))
    idx = json.load(open(os.path.join(l.root, "index.json")))
    idx["manifests"][0]["digest"] = "sha256:../../etc"
    open(os.path.join(l.root, "index.json"), "wb").write(json_bytes(idx))

    def sha512_layer(man, layout):
        data = open(layout.blob_path(man["layers"][0]["digest"]), "rb").read()
        d, size = layout.put_bytes(data, "sha512")
        man["layers"][0]["digest"] = d
    lay("oci-manifest-sha512", "sha512", "the layer is referenced by a sha512: digest (stored in blobs/sha512)",
        manifest_mutate=sha512_layer)

    lay("oci-rootfs-type", "rootfs", 'config rootfs.type is "layerz"',
        config_mutate=lambda cfg: cfg["rootfs"].update(type="layerz"))
    lay("oci-layers-count", "layer", "config lists 2 diff_ids, the manifest 1 layer",
        config_mutate=lambda cfg: cfg["rootfs"]["diff_ids"].append(digest_bytes(b"extra")))

    not_tar = b"this is not a tar archive\n" * 64
    lay("oci-layer-not-tar", prefix(digest_bytes(gzip.compress(not_tar, mtime=0, compresslevel=6))) + "|tar|archive",
        "the gzip layer decompresses to plain text (digest and diff_id match)", layers=[not_tar],
        compression="gzip")

    def truncated_gzip(man, layout):
        p = layout.blob_path(man["layers"][0]["digest"])
        data = open(p, "rb").read()
        os.unlink(p)
        d, size = layout.put_bytes(data[:len(data) // 2])
        man["layers"][0].update(digest=d, size=size)
    big = TarBuilder().dir("etc").file("etc/big", bytes(range(256)) * 512).getvalue()
    l, man, _ = lay("oci-truncated-gzip-layer", "", "a gzip layer blob cut in half (its digest and size match the "
                    "truncated blob, the diff_id is the full tar's)", layers=[big], compression="gzip",
                    manifest_mutate=truncated_gzip)
    c.set_expect("oci-truncated-gzip-layer", prefix(man["layers"][0]["digest"]) + "|" + TRUNCATION)

    def unknown_layer_type(man, layout):
        man["layers"][0]["mediaType"] = "application/vnd.mctr.test.unknown"
    lay("oci-layer-unknown-mediatype", "vnd.mctr.test.unknown",
        "a layer of media type application/vnd.mctr.test.unknown (not a layer mctr can unpack)",
        manifest_mutate=unknown_layer_type)

    # An index entry of unknown media type MUST be skipped, not fail the load.
    l, man, _ = lay("oci-index-unknown-entry", "OK:",
                    "index.json starts with an entry of unknown mediaType (must be ignored)",
                    check="content:/etc/hostile-base=base")
    idx = json.load(open(os.path.join(l.root, "index.json")))
    junk_d, junk_size = l.put_bytes(b"{}")
    idx["manifests"].insert(0, ocilib.descriptor("application/vnd.mctr.test.unknown", junk_d, junk_size))
    open(os.path.join(l.root, "index.json"), "wb").write(json_bytes(idx))

    # 1000 nested indexes around a valid manifest.
    l, man, _ = lay("oci-index-deep-nesting", "depth|nest|deep|too many|level",
                    "1000 nested image indexes around a valid manifest")
    idx = json.load(open(os.path.join(l.root, "index.json")))
    inner = dict(idx["manifests"][0])
    inner.pop("annotations", None)
    for _ in range(1000):
        nested = {"schemaVersion": 2, "mediaType": ocilib.MT_INDEX, "manifests": [inner]}
        inner = l.add_json(nested, ocilib.MT_INDEX)
    inner["annotations"] = {ocilib.REF_NAME: c.image("oci-index-deep-nesting")}
    idx["manifests"] = [inner]
    open(os.path.join(l.root, "index.json"), "wb").write(json_bytes(idx))

    def huge(man, layout):
        man["annotations"] = {"org.example.padding": "p" * (16 << 20)}
    lay("oci-manifest-huge", "large|size|too big|exceed|limit", "a 16 MiB manifest (valid, digest matches)",
        manifest_mutate=huge)

    # oci-archive faults.
    def archive(name, expect, desc, build, layers, targets=()):
        tmp = c.path(name + ".d")
        l, man, _ = oci_layout(tmp, layers, c.image(name))
        build(l, man)
        p = c.path(name, ".tar")
        ocilib.tar_directory(tmp, p)
        shutil.rmtree(tmp)
        c.add(name, p, "load", expect, desc, targets=targets)

    def arch_symlink(l, man):
        p = l.blob_path(man["layers"][0]["digest"])
        os.unlink(p)
        os.symlink(CANARY + "/secret.tar", p)
    archive("ociarchive-blob-symlink", prefix(digest_bytes(secret)) + "|symlink|symbolic link|regular|"
            "mctr-canary/secret.tar",
            "oci-archive whose layer blob member is a symlink to /var/tmp/mctr-canary/secret.tar (digest "
            "matches it)", arch_symlink, [secret])
    p = c.path("ociarchive-dotdot", ".tar")
    tmp = c.path("ociarchive-dotdot.d")
    oci_layout(tmp, [base], c.image("ociarchive-dotdot"))
    ocilib.tar_directory(tmp, p)
    shutil.rmtree(tmp)
    with tarfile.open(p, "a") as tar:
        ti, data = member(UP + CANARY.lstrip("/") + "/mctr-pwned-ociarchive", b"pwned\n")
        tar.addfile(ti, io.BytesIO(data))
    c.add("ociarchive-dotdot", p, "load", "ANY:mctr-pwned-ociarchive",
          "oci-archive with an extra member ../(x12)/var/tmp/mctr-canary/mctr-pwned-ociarchive",
          targets=[CANARY + "/mctr-pwned-ociarchive"])

    p = c.path("ociarchive-truncated", ".tar")
    tmp = c.path("ociarchive-truncated.d")
    oci_layout(tmp, [TarBuilder().dir("etc").file("etc/big", b"b" * 200000).getvalue()],
               c.image("ociarchive-truncated"))
    ocilib.tar_directory(tmp, p)
    shutil.rmtree(tmp)
    with open(p, "r+b") as f:
        f.truncate(os.path.getsize(p) * 6 // 10)
    c.add("ociarchive-truncated", p, "load", TRUNCATION, "oci-archive cut off in the middle")


def write_readme(c):
    with open(os.path.join(c.out, "README.txt"), "w") as f:
        f.write(__doc__.replace("Usage: tools/hostile.py OUTDIR\n\n", "mctr hostile-input corpus ("
                                "generated by tools/hostile.py)\n\n"))
        f.write("\nCases:\n")
        for row in c.rows:
            f.write("  %-34s %-6s %s\n" % (row[0], row[2], row[6]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = os.path.abspath(sys.argv[1])
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    c = Corpus(out)
    import_cases(c)
    canary_manifest = docker_cases(c)
    oci_cases(c)
    write_canary(os.path.join(out, "canary"), canary_manifest)
    for row in c.rows:
        for field in row:
            assert "\t" not in field and "\n" not in field, row
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("name\tpath\tcommand\texpect\tcheck\timage\tdescription\n")
        for row in c.rows:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(out, "host-targets.txt"), "w") as f:
        f.write("".join(t + "\n" for t in sorted(c.targets)))
    write_readme(c)
    print("%s: %d cases" % (out, len(c.rows)))


if __name__ == "__main__":
    main()
