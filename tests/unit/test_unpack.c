/* Unit tests for src/unpack: decompression, diff_id, safe layer application,
 * whiteouts, refusals and the threaded feed/finish/free lifecycle.  Tars are
 * built here with libarchive's writer; the tests run as root. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/sha256.h"
#include "mctr/unpack.h"
#include "testutil.h"

/* ---- building tars in memory ------------------------------------------------ */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static la_ssize_t tar_write_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	buf_add(arg, p, n);
	return (la_ssize_t)n;
}

struct ent {
	const char *name;
	mode_t type; /* AE_IFREG if 0 */
	mode_t mode;
	int uid, gid;
	time_t mtime;
	long nsec;
	const char *data;
	const char *symlink;
	const char *hardlink;
	unsigned rmajor, rminor;
	const char *xattrs[10]; /* name, value, ..., NULL */
};

#define MTIME 1600000000

static struct archive *tar_new(int format, struct buf *out)
{
	struct archive *a = archive_write_new();
	ck_assert_int_eq(archive_write_set_format(a, format), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_add_filter_none(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open(a, out, NULL, tar_write_cb, NULL), ARCHIVE_OK);
	return a;
}

static void tar_add(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, e->name);
	mode_t type = e->type ? e->type : AE_IFREG;
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, e->mode ? e->mode : (type == AE_IFDIR ? 0755 : 0644));
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime ? e->mtime : MTIME, e->nsec);
	if (e->symlink != NULL)
		archive_entry_set_symlink(ae, e->symlink);
	if (e->hardlink != NULL)
		archive_entry_set_hardlink(ae, e->hardlink);
	if (type == AE_IFCHR || type == AE_IFBLK) {
		archive_entry_set_rdevmajor(ae, e->rmajor);
		archive_entry_set_rdevminor(ae, e->rminor);
	}
	for (int i = 0; e->xattrs[i] != NULL; i += 2)
		archive_entry_xattr_add_entry(ae, e->xattrs[i], e->xattrs[i + 1], strlen(e->xattrs[i + 1]));
	size_t size = e->data != NULL && e->hardlink == NULL ? strlen(e->data) : 0;
	archive_entry_set_size(ae, (la_int64_t)size);
	ck_assert_msg(archive_write_header(a, ae) >= ARCHIVE_WARN, "%s: %s", e->name, archive_error_string(a));
	if (size > 0)
		ck_assert_int_eq(archive_write_data(a, e->data, size), (la_ssize_t)size);
	archive_entry_free(ae);
}

static void tar_end(struct archive *a)
{
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* A pax tar of ents (terminated by a NULL name). */
static struct buf make_tar(const struct ent *ents)
{
	struct buf out = { 0 };
	struct archive *a = tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, &out);
	for (const struct ent *e = ents; e->name != NULL; e++)
		tar_add(a, e);
	tar_end(a);
	return out;
}

/* gzip in `members` concatenated members. */
static struct buf gzip_buf(const struct buf *in, int members)
{
	struct buf out = { 0 };
	size_t part = in->len / (size_t)members + 1;
	for (size_t off = 0; off < in->len; off += part) {
		size_t n = in->len - off < part ? in->len - off : part;
		z_stream z = { 0 };
		ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
		unsigned char chunk[65536];
		z.next_in = in->p + off;
		z.avail_in = (uInt)n;
		int r;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof chunk;
			r = deflate(&z, Z_FINISH);
			buf_add(&out, chunk, sizeof chunk - z.avail_out);
		} while (r == Z_OK);
		ck_assert_int_eq(r, Z_STREAM_END);
		deflateEnd(&z);
	}
	return out;
}

/* One gzip member whose header carries a name, a comment and an extra
 * field (as `gzip FILE` and some registries write), and a header CRC. */
static struct buf gzip_named_buf(const struct buf *in)
{
	struct buf out = { 0 };
	z_stream z = { 0 };
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	static unsigned char extra[] = { 'X', 'Y', 4, 0, 'd', 'a', 't', 'a' }; /* one subfield */
	gz_header h = { .name = (Bytef *)"layer.tar", .comment = (Bytef *)"a comment", .extra = extra,
		        .extra_len = sizeof extra, .hcrc = 1, .os = 3, .time = MTIME };
	ck_assert_int_eq(deflateSetHeader(&z, &h), Z_OK);
	unsigned char chunk[65536];
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	int r;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		r = deflate(&z, Z_FINISH);
		buf_add(&out, chunk, sizeof chunk - z.avail_out);
	} while (r == Z_OK);
	ck_assert_int_eq(r, Z_STREAM_END);
	deflateEnd(&z);
	return out;
}

/* zstd in `frames` concatenated frames. */
static struct buf zstd_buf(const struct buf *in, int frames)
{
	struct buf out = { 0 };
	size_t part = in->len / (size_t)frames + 1;
	for (size_t off = 0; off < in->len; off += part) {
		size_t n = in->len - off < part ? in->len - off : part;
		size_t bound = ZSTD_compressBound(n);
		unsigned char *tmp = xmalloc(bound);
		size_t z = ZSTD_compress(tmp, bound, in->p + off, n, 3);
		ck_assert(!ZSTD_isError(z));
		buf_add(&out, tmp, z);
		free(tmp);
	}
	return out;
}

/* ---- unpacking ------------------------------------------------------------------ */

struct result {
	char *dir;    /* the test's parent directory */
	int dirfd;
	int layer;    /* the layer directory, if it succeeded */
	int rc;
	char diff_id[DIGEST_LEN + 1];
	struct layer_stats stats;
	struct mctr_err err;
};

static void result_free(struct result *r)
{
	if (r->layer >= 0)
		close(r->layer);
	close(r->dirfd);
	test_rmtree(r->dir);
	free(r->dir);
}

static void unpack_opts(struct result *r, const void *p, size_t len, size_t chunk, bool rootless)
{
	memset(r, 0, sizeof *r);
	r->layer = -1;
	r->dir = test_mkdtemp("unpack");
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(r->dirfd, 0);
	struct layer_unpack_opts opts = {
		.parent_dirfd = r->dirfd, .dirname = "layer", .rootless = rootless, .what = "test",
	};
	struct layer_unpack *u = NULL;
	r->rc = layer_unpack_start(&opts, &u, &r->err);
	ck_assert_msg(r->rc == 0, "start: %s", r->err.msg);
	const unsigned char *b = p;
	for (size_t off = 0; off < len && r->rc == 0; off += chunk)
		r->rc = layer_unpack_feed(u, b + off, len - off < chunk ? len - off : chunk, &r->err);
	if (r->rc == 0)
		r->rc = layer_unpack_finish(u, r->diff_id, &r->stats, &r->err);
	layer_unpack_free(u, r->rc < 0);
	if (r->rc == 0) {
		r->layer = openat(r->dirfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(r->layer, 0);
	}
}

static void unpack(struct result *r, const struct buf *b)
{
	unpack_opts(r, b->p, b->len, 65536, false);
}

static void unpack_ok(struct result *r, const struct buf *b)
{
	unpack(r, b);
	ck_assert_msg(r->rc == 0, "unpack failed: %s", r->err.msg);
}

/* The entry was refused with a message naming it, and nothing stayed behind. */
static void assert_refused(const struct buf *b, const char *needle)
{
	struct result r;
	unpack(&r, b);
	ck_assert_msg(r.rc < 0, "expected a refusal mentioning %s", needle);
	ck_assert_msg(strstr(r.err.msg, needle) != NULL, "message \"%s\" lacks %s", r.err.msg, needle);
	ck_assert_msg(strncmp(r.err.msg, "layer test: ", 12) == 0, "message \"%s\" lacks the layer", r.err.msg);
	ck_assert_msg(strchr(r.err.msg, '\n') == NULL, "multi-line message");
	/* the layer directory is removed and nothing escaped next to it */
	DIR *d = opendir(r.dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(de->d_name[0] == '.', "left behind: %s", de->d_name);
	closedir(d);
	result_free(&r);
}

static struct stat lstat_at(int dirfd, const char *path)
{
	struct stat st;
	ck_assert_msg(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0, "%s: %s", path, strerror(errno));
	return st;
}

static void assert_missing(int dirfd, const char *path)
{
	struct stat st;
	ck_assert_msg(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT, "%s exists", path);
}

/* Value of an xattr of layer/path as a string, or NULL if absent. */
static char *xattr_of(struct result *r, const char *path, const char *name)
{
	char p[4096], v[256];
	snprintf(p, sizeof p, "%s/layer/%s", r->dir, path);
	ssize_t n = lgetxattr(p, name, v, sizeof v - 1);
	if (n < 0) {
		ck_assert_msg(errno == ENODATA, "%s %s: %s", path, name, strerror(errno));
		return NULL;
	}
	v[n] = '\0';
	return xstrdup(v);
}

static char *read_at(int dirfd, const char *path)
{
	char *s = NULL;
	struct mctr_err err = { 0 };
	ck_assert_msg(file_read_at(dirfd, path, 1 << 24, &s, NULL, &err) == 0, "%s", err.msg);
	return s;
}

static void assert_xattr(struct result *r, const char *path, const char *name, const char *want)
{
	_cleanup_free_ char *v = xattr_of(r, path, name);
	if (want == NULL)
		ck_assert_msg(v == NULL, "%s has %s=%s", path, name, v);
	else
		ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s: %s is %s, want %s", path, name, v, want);
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(detect_magic)
{
	ck_assert_int_eq(compression_detect("\x1f\x8b\x08\x00", 4), MCTR_COMPRESSION_GZIP);
	ck_assert_int_eq(compression_detect("\x28\xb5\x2f\xfd", 4), MCTR_COMPRESSION_ZSTD);
	ck_assert_int_eq(compression_detect("usr/", 4), MCTR_COMPRESSION_NONE);
	ck_assert_int_eq(compression_detect("\x1f\x8b", 2), MCTR_COMPRESSION_NONE);
	ck_assert_str_eq(compression_name(MCTR_COMPRESSION_ZSTD), "zstd");
}
END_TEST

static const struct ent basic_ents[] = {
	{ .name = "./", .type = AE_IFDIR, .mode = 0755, .mtime = 1000 },
	{ .name = "./etc/", .type = AE_IFDIR, .mode = 0750, .uid = 0, .gid = 42, .mtime = 1500000000 },
	{ .name = "./etc/hosts", .mode = 0644, .uid = 1000, .gid = 1000, .mtime = 1234567890, .nsec = 500,
	  .data = "127.0.0.1 localhost\n",
	  .xattrs = { "user.foo", "bar", "trusted.overlay.opaque", "y", "trusted.overlay.redirect", "/x",
	              "user.overlay.origin", "z" } },
	{ .name = "bin/su", .mode = 04755, .uid = 1000, .gid = 1000, .data = "#!setuid\n" },
	{ .name = "bin/sg", .mode = 02711, .uid = 0, .gid = 5, .data = "sg" },
	{ .name = "bin/sh", .type = AE_IFLNK, .symlink = "/bin/dash", .uid = 1000, .gid = 1001, .mtime = 1111 },
	{ .name = "bin/up", .type = AE_IFLNK, .symlink = "../../../etc" },
	{ .name = "bin/su2", .hardlink = "./bin/su" },
	{ .name = "run/fifo", .type = AE_IFIFO, .mode = 0600, .uid = 7, .gid = 8, .mtime = 2222 },
	{ .name = "dev/null", .type = AE_IFCHR, .mode = 0666, .rmajor = 1, .rminor = 3 },
	{ .name = "dev/sda", .type = AE_IFBLK, .mode = 0660, .gid = 6, .rmajor = 8, .rminor = 0 },
	{ .name = "deep/a/b/c/file", .mode = 0600, .data = "deep" },
	{ .name = "tmp/", .type = AE_IFDIR, .mode = 01777 },
	{ .name = "ro/", .type = AE_IFDIR, .mode = 0555, .mtime = 3333 },
	{ .name = "ro/file", .mode = 0444, .data = "x" },
	{ .name = "empty", .mode = 0640 },
	{ .name = "link-to-link", .hardlink = "bin/sh" },
	{ .name = NULL },
};

START_TEST(basic_entry_types)
{
	struct buf tar = make_tar(basic_ents);
	struct result r;
	unpack_ok(&r, &tar);
	int L = r.layer;

	struct stat st = lstat_at(L, "etc/hosts");
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_uid, 1000);
	ck_assert_int_eq(st.st_gid, 1000);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1234567890);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 500);
	_cleanup_free_ char *hosts = read_at(L, "etc/hosts");
	ck_assert_str_eq(hosts, "127.0.0.1 localhost\n");
	assert_xattr(&r, "etc/hosts", "user.foo", "bar");
	assert_xattr(&r, "etc/hosts", "trusted.overlay.opaque", NULL);
	assert_xattr(&r, "etc/hosts", "trusted.overlay.redirect", NULL);
	assert_xattr(&r, "etc/hosts", "user.overlay.origin", NULL);

	/* directory attributes, mtime set after its child was written */
	st = lstat_at(L, "etc");
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(st.st_gid, 42);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1500000000);
	st = lstat_at(L, ".");
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000);

	/* setuid survives the chown to 1000:1000; setgid too */
	st = lstat_at(L, "bin/su");
	ck_assert_int_eq(st.st_mode & 07777, 04755);
	ck_assert_int_eq(st.st_uid, 1000);
	ck_assert_int_eq(st.st_gid, 1000);
	ck_assert_int_eq(st.st_nlink, 2);
	struct stat st2 = lstat_at(L, "bin/su2");
	ck_assert(st.st_ino == st2.st_ino);
	st = lstat_at(L, "bin/sg");
	ck_assert_int_eq(st.st_mode & 07777, 02711);
	ck_assert_int_eq(st.st_gid, 5);

	/* symlinks stored verbatim, owned and timed themselves */
	char target[64];
	ssize_t n = readlinkat(L, "bin/sh", target, sizeof target);
	ck_assert_int_eq(n, 9);
	ck_assert(memcmp(target, "/bin/dash", 9) == 0);
	st = lstat_at(L, "bin/sh");
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(st.st_uid, 1000);
	ck_assert_int_eq(st.st_gid, 1001);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1111);
	n = readlinkat(L, "bin/up", target, sizeof target);
	ck_assert_int_eq(n, 12);
	/* a hardlink to a symlink links the symlink, never its target */
	st = lstat_at(L, "link-to-link");
	ck_assert(S_ISLNK(st.st_mode));

	st = lstat_at(L, "run/fifo");
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_uid, 7);
	ck_assert_int_eq(st.st_gid, 8);
	ck_assert_int_eq(st.st_mtim.tv_sec, 2222);
	st = lstat_at(L, "dev/null");
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert(st.st_rdev == makedev(1, 3));
	ck_assert_int_eq(st.st_mode & 07777, 0666);
	st = lstat_at(L, "dev/sda");
	ck_assert(S_ISBLK(st.st_mode));
	ck_assert(st.st_rdev == makedev(8, 0));
	ck_assert_int_eq(st.st_gid, 6);

	/* parents missing from the tar: 0755 root */
	st = lstat_at(L, "deep/a/b");
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(lstat_at(L, "deep/a/b/c/file").st_mode & 07777, 0600);

	ck_assert_int_eq(lstat_at(L, "tmp").st_mode & 07777, 01777);
	st = lstat_at(L, "ro");
	ck_assert_int_eq(st.st_mode & 07777, 0555);
	ck_assert_int_eq(st.st_mtim.tv_sec, 3333);
	ck_assert_int_eq(lstat_at(L, "ro/file").st_mode & 07777, 0444);
	ck_assert_int_eq(lstat_at(L, "empty").st_size, 0);

	ck_assert_int_eq(r.stats.entries, 17);
	ck_assert_int_eq(r.stats.compression, MCTR_COMPRESSION_NONE);
	result_free(&r);
	free(tar.p);
}
END_TEST

/* Order matters: chown (and writing data) clears security.capability, so
 * xattrs come after both; a directory's xattrs go through its parent fd;
 * user.* refused on symlinks and FIFOs is dropped, not fatal. */
START_TEST(xattrs_survive_chown_and_reach_every_kind)
{
	/* vfs_cap_data v2, effective, permitted = CAP_NET_BIND_SERVICE (bit 10) */
	static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };
	struct buf out = { 0 };
	struct archive *a = tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, &out);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, "bin/ping");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0755);
	archive_entry_set_uid(ae, 1000);
	archive_entry_set_gid(ae, 1000);
	archive_entry_set_size(ae, 4);
	archive_entry_xattr_add_entry(ae, "security.capability", cap, sizeof cap);
	ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, "ping", 4), 4);
	archive_entry_free(ae);
	const struct ent ents[] = {
		{ .name = "xdir/", .type = AE_IFDIR, .uid = 7, .xattrs = { "user.d", "dirval" } },
		{ .name = "xdir/sym", .type = AE_IFLNK, .symlink = "x", .xattrs = { "user.s", "v" } },
		{ .name = "xdir/fifo", .type = AE_IFIFO, .xattrs = { "user.f", "v" } },
		{ .name = "xdir/file", .data = "f", .xattrs = { "user.after", "fifo" } },
		{ .name = NULL },
	};
	for (const struct ent *e = ents; e->name != NULL; e++)
		tar_add(a, e);
	tar_end(a);
	struct result r;
	unpack_ok(&r, &out);
	char p[4096];
	unsigned char got[64];
	snprintf(p, sizeof p, "%s/layer/bin/ping", r.dir);
	ssize_t n = lgetxattr(p, "security.capability", got, sizeof got);
	ck_assert_msg(n == (ssize_t)sizeof cap, "security.capability: %zd (%s)", n, strerror(errno));
	ck_assert(memcmp(got, cap, sizeof cap) == 0);
	ck_assert_int_eq(lstat_at(r.layer, "bin/ping").st_uid, 1000);
	assert_xattr(&r, "xdir", "user.d", "dirval");
	ck_assert_int_eq(lstat_at(r.layer, "xdir").st_uid, 7);
	ck_assert(S_ISLNK(lstat_at(r.layer, "xdir/sym").st_mode));
	ck_assert(S_ISFIFO(lstat_at(r.layer, "xdir/fifo").st_mode));
	assert_xattr(&r, "xdir/file", "user.after", "fifo");
	result_free(&r);
	free(out.p);
}
END_TEST

START_TEST(umask_does_not_interfere)
{
	umask(077); /* this test runs in its own process */
	struct buf tar = make_tar(basic_ents);
	struct result r;
	unpack_ok(&r, &tar);
	ck_assert_int_eq(lstat_at(r.layer, "etc/hosts").st_mode & 07777, 0644);
	ck_assert_int_eq(lstat_at(r.layer, "bin/su").st_mode & 07777, 04755);
	ck_assert_int_eq(lstat_at(r.layer, "run/fifo").st_mode & 07777, 0600);
	ck_assert_int_eq(lstat_at(r.layer, "dev/null").st_mode & 07777, 0666);
	ck_assert_int_eq(lstat_at(r.layer, "deep/a").st_mode & 07777, 0755);
	ck_assert_int_eq(lstat_at(r.layer, "tmp").st_mode & 07777, 01777);
	result_free(&r);
	free(tar.p);
}
END_TEST

START_TEST(setgid_directory_children_keep_their_group)
{
	const struct ent ents[] = {
		{ .name = "sg/", .type = AE_IFDIR, .mode = 02775, .gid = 50 },
		{ .name = "sg/root-owned", .mode = 0644, .uid = 0, .gid = 0, .data = "x" },
		{ .name = "sg/group50", .mode = 0644, .uid = 0, .gid = 50, .data = "x" },
		{ .name = "sg/sub/", .type = AE_IFDIR, .mode = 0755 },
		{ .name = "sg/implicit/file", .mode = 0644, .gid = 50 },
		{ .name = NULL },
	};
	struct buf tar = make_tar(ents);
	struct result r;
	unpack_ok(&r, &tar);
	ck_assert_int_eq(lstat_at(r.layer, "sg").st_mode & 07777, 02775);
	ck_assert_int_eq(lstat_at(r.layer, "sg/root-owned").st_gid, 0);
	ck_assert_int_eq(lstat_at(r.layer, "sg/group50").st_gid, 50);
	struct stat st = lstat_at(r.layer, "sg/sub");
	ck_assert_int_eq(st.st_mode & 07777, 0755); /* not the inherited setgid */
	ck_assert_int_eq(st.st_gid, 0);
	result_free(&r);
	free(tar.p);
}
END_TEST

START_TEST(whiteouts_and_opaque_dirs)
{
	const struct ent ents[] = {
		{ .name = "a/", .type = AE_IFDIR },
		{ .name = "a/.wh.gone", .mode = 0, .mtime = 0 },
		/* opaque marker before its directory's own entry */
		{ .name = "b/.wh..wh..opq" },
		{ .name = "b/", .type = AE_IFDIR, .mode = 0700, .mtime = 4444,
		  .xattrs = { "trusted.overlay.opaque", "n" } },
		{ .name = "b/c/foo", .data = "foo" },
		/* and after it */
		{ .name = "d/", .type = AE_IFDIR },
		{ .name = "d/x", .data = "x" },
		{ .name = "d/.wh..wh..opq" },
		/* a whiteout never hides an entry of its own layer */
		{ .name = "e/keep", .data = "kept" },
		{ .name = "e/.wh.keep" },
		{ .name = "e/dir/child", .data = "c" },
		{ .name = "e/.wh.dir" },
		/* whited out, then recreated below: an opaque directory */
		{ .name = "f/.wh.x" },
		{ .name = "f/x/y", .data = "y" },
		{ .name = "g/.wh.z" },
		{ .name = "g/z/", .type = AE_IFDIR },
		/* a whiteout below a whiteout is moot */
		{ .name = ".wh.h" },
		{ .name = "h/.wh.i" },
		/* AUFS bookkeeping is ignored */
		{ .name = ".wh..wh.plnk/", .type = AE_IFDIR },
		{ .name = ".wh..wh.plnk/1234.5678", .data = "x" },
		{ .name = "a/.wh..wh.aufs" },
		{ .name = "rootopq/.wh..wh..opq" },
		{ .name = "owned/.wh.o", .uid = 0, .gid = 0 },
		{ .name = NULL },
	};
	struct buf tar = make_tar(ents);
	struct result r;
	unpack_ok(&r, &tar);
	int L = r.layer;
	struct stat st = lstat_at(L, "a/gone");
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert(st.st_rdev == makedev(0, 0));
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_gid, 0);
	assert_missing(L, "a/.wh.gone");
	assert_missing(L, "a/.wh..wh.aufs");

	assert_xattr(&r, "b", "trusted.overlay.opaque", "y");
	st = lstat_at(L, "b");
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(st.st_mtim.tv_sec, 4444);
	assert_missing(L, "b/.wh..wh..opq");
	_cleanup_free_ char *foo = read_at(L, "b/c/foo");
	ck_assert_str_eq(foo, "foo");
	assert_xattr(&r, "d", "trusted.overlay.opaque", "y");
	ck_assert(S_ISREG(lstat_at(L, "d/x").st_mode));
	assert_xattr(&r, "a", "trusted.overlay.opaque", NULL);

	ck_assert(S_ISREG(lstat_at(L, "e/keep").st_mode));
	ck_assert(S_ISREG(lstat_at(L, "e/dir/child").st_mode));
	assert_xattr(&r, "e/dir", "trusted.overlay.opaque", "y");
	ck_assert(S_ISDIR(lstat_at(L, "f/x").st_mode));
	assert_xattr(&r, "f/x", "trusted.overlay.opaque", "y");
	ck_assert(S_ISREG(lstat_at(L, "f/x/y").st_mode));
	ck_assert(S_ISDIR(lstat_at(L, "g/z").st_mode));
	assert_xattr(&r, "g/z", "trusted.overlay.opaque", "y");
	ck_assert(S_ISCHR(lstat_at(L, "h").st_mode));
	assert_missing(L, ".wh..wh.plnk");
	assert_xattr(&r, "rootopq", "trusted.overlay.opaque", "y");
	ck_assert(S_ISCHR(lstat_at(L, "owned/o").st_mode));
	result_free(&r);
	free(tar.p);
}
END_TEST

/* image-spec layer.md: an opaque marker applies to lower layers only,
 * wherever it sits among the directory's new children. */
START_TEST(opaque_marker_after_children)
{
	const struct ent ents[] = {
		{ .name = "a/", .type = AE_IFDIR },
		{ .name = "a/b/", .type = AE_IFDIR },
		{ .name = "a/b/c/", .type = AE_IFDIR },
		{ .name = "a/b/c/bar", .data = "bar" },
		{ .name = "a/.wh..wh..opq" },
		{ .name = NULL },
	};
	struct buf tar = make_tar(ents);
	struct result r;
	unpack_ok(&r, &tar);
	assert_xattr(&r, "a", "trusted.overlay.opaque", "y");
	ck_assert(S_ISREG(lstat_at(r.layer, "a/b/c/bar").st_mode));
	result_free(&r);
	free(tar.p);
}
END_TEST

START_TEST(rootless_opaque_and_devices)
{
	const struct ent ents[] = {
		{ .name = "d/.wh..wh..opq" },
		{ .name = "dev/null", .type = AE_IFCHR, .mode = 0666, .rmajor = 1, .rminor = 3 },
		{ .name = "fifo", .type = AE_IFIFO },
		{ .name = "x/.wh.y" },
		{ .name = NULL },
	};
	struct buf tar = make_tar(ents);
	struct result r;
	unpack_opts(&r, tar.p, tar.len, 4096, true);
	ck_assert_msg(r.rc == 0, "%s", r.err.msg);
	assert_xattr(&r, "d", "user.overlay.opaque", "y");
	assert_xattr(&r, "d", "trusted.overlay.opaque", NULL);
	assert_missing(r.layer, "dev/null");
	ck_assert(S_ISFIFO(lstat_at(r.layer, "fifo").st_mode));
	ck_assert(S_ISCHR(lstat_at(r.layer, "x/y").st_mode));
	result_free(&r);
	free(tar.p);
}
END_TEST

START_TEST(duplicate_entries_later_wins)
{
	const struct ent ents[] = {
		{ .name = "f", .data = "first" },
		{ .name = "f", .data = "second", .mode = 0600 },
		{ .name = "d/", .type = AE_IFDIR, .mode = 0700 },
		{ .name = "d/child", .data = "c" },
		{ .name = "d/", .type = AE_IFDIR, .mode = 0750, .gid = 3, .mtime = 5555 },
		{ .name = "file-then-dir", .data = "x" },
		{ .name = "file-then-dir/", .type = AE_IFDIR },
		{ .name = "dir-then-file/sub/x", .data = "x" },
		{ .name = "dir-then-file", .data = "now a file" },
		{ .name = "l", .type = AE_IFLNK, .symlink = "/etc" },
		{ .name = "l", .type = AE_IFDIR },
		{ .name = "l/passwd", .data = "inside" },
		{ .name = NULL },
	};
	struct buf tar = make_tar(ents);
	struct result r;
	unpack_ok(&r, &tar);
	int L = r.layer;
	_cleanup_free_ char *f = read_at(L, "f");
	ck_assert_str_eq(f, "second");
	ck_assert_int_eq(lstat_at(L, "f").st_mode & 07777, 0600);
	struct stat st = lstat_at(L, "d");
	ck_assert_int_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(st.st_gid, 3);
	ck_assert_int_eq(st.st_mtim.tv_sec, 5555);
	ck_assert(S_ISREG(lstat_at(L, "d/child").st_mode));
	ck_assert(S_ISDIR(lstat_at(L, "file-then-dir").st_mode));
	ck_assert(S_ISREG(lstat_at(L, "dir-then-file").st_mode));
	ck_assert(S_ISDIR(lstat_at(L, "l").st_mode));
	_cleanup_free_ char *p = read_at(L, "l/passwd");
	ck_assert_str_eq(p, "inside");
	result_free(&r);
	free(tar.p);
}
END_TEST

static void check_diff_id(const struct buf *blob, const struct buf *tar, enum mctr_compression kind, size_t chunk)
{
	char want[DIGEST_LEN + 1];
	sha256_digest_buf(tar->p, tar->len, want);
	struct result r;
	unpack_opts(&r, blob->p, blob->len, chunk, false);
	ck_assert_msg(r.rc == 0, "%s", r.err.msg);
	ck_assert_str_eq(r.diff_id, want);
	ck_assert_int_eq(r.stats.compression, kind);
	ck_assert_int_eq(r.stats.compressed_bytes, blob->len);
	ck_assert_int_eq(r.stats.uncompressed_bytes, tar->len);
	if (faccessat(r.layer, "etc", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		_cleanup_free_ char *hosts = read_at(r.layer, "etc/hosts");
		ck_assert_str_eq(hosts, "127.0.0.1 localhost\n");
	}
	result_free(&r);
}

START_TEST(diff_id_none_gzip_zstd)
{
	struct buf tar = make_tar(basic_ents);
	/* libarchive pads to 10 KiB records: the padding is hashed too */
	ck_assert_int_eq(tar.len % 10240, 0);
	check_diff_id(&tar, &tar, MCTR_COMPRESSION_NONE, 65536);
	struct buf gz = gzip_buf(&tar, 1);
	check_diff_id(&gz, &tar, MCTR_COMPRESSION_GZIP, 65536);
	struct buf gz3 = gzip_buf(&tar, 3);
	check_diff_id(&gz3, &tar, MCTR_COMPRESSION_GZIP, 1000);
	struct buf zs = zstd_buf(&tar, 1);
	check_diff_id(&zs, &tar, MCTR_COMPRESSION_ZSTD, 65536);
	struct buf zs4 = zstd_buf(&tar, 4);
	check_diff_id(&zs4, &tar, MCTR_COMPRESSION_ZSTD, 777);
	free(tar.p);
	free(gz.p);
	free(gz3.p);
	free(zs.p);
	free(zs4.p);
}
END_TEST

START_TEST(tiny_chunks)
{
	struct buf tar = make_tar(basic_ents);
	check_diff_id(&tar, &tar, MCTR_COMPRESSION_NONE, 1);
	struct buf gz = gzip_buf(&tar, 2);
	check_diff_id(&gz, &tar, MCTR_COMPRESSION_GZIP, 1);
	struct buf zs = zstd_buf(&tar, 2);
	check_diff_id(&zs, &tar, MCTR_COMPRESSION_ZSTD, 3);
	/* optional gzip header fields, a header CRC too (the pipeline always
	 * splits a header: the magic bytes go first; see also
	 * decompressor_push_api for later members) */
	struct buf named = gzip_named_buf(&tar);
	ck_assert_int_eq(named.p[3], 0x1e); /* FHCRC|FEXTRA|FNAME|FCOMMENT */
	check_diff_id(&named, &tar, MCTR_COMPRESSION_GZIP, 1);
	check_diff_id(&named, &tar, MCTR_COMPRESSION_GZIP, 65536);
	free(tar.p);
	free(gz.p);
	free(zs.p);
	free(named.p);
}
END_TEST

START_TEST(empty_blob_is_an_empty_layer)
{
	struct result r;
	unpack_opts(&r, "", 0, 1, false);
	ck_assert_msg(r.rc == 0, "%s", r.err.msg);
	ck_assert_str_eq(r.diff_id, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(r.stats.entries, 0);
	result_free(&r);
}
END_TEST

START_TEST(big_and_sparse_files)
{
	/* bigger than both pipes, so producer and consumers wrap and wait */
	size_t big = 11u << 20;
	char *data = xmalloc(big + 1);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + (i * 7919) % 26);
	data[big] = '\0';
	struct buf out = { 0 };
	struct archive *a = tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, &out);
	const struct ent e = { .name = "big", .data = data };
	tar_add(a, &e);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, "sparse");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 1 << 20);
	archive_entry_sparse_add_entry(ae, 0, 4096);
	archive_entry_sparse_add_entry(ae, 512 * 1024, 4096);
	ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
	archive_entry_free(ae);
	/* the writer takes the whole logical file and skips the holes */
	ck_assert_int_eq(archive_write_data(a, data, 1 << 20), 1 << 20);
	tar_end(a);
	struct buf gz = gzip_buf(&out, 1);
	check_diff_id(&gz, &out, MCTR_COMPRESSION_GZIP, 300000);

	struct result r;
	unpack_opts(&r, gz.p, gz.len, 1 << 20, false);
	ck_assert_msg(r.rc == 0, "%s", r.err.msg);
	_cleanup_free_ char *got = read_at(r.layer, "big");
	ck_assert(memcmp(got, data, big) == 0);
	struct stat st = lstat_at(r.layer, "sparse");
	ck_assert_int_eq(st.st_size, 1 << 20);
	_cleanup_free_ char *sp = read_at(r.layer, "sparse");
	ck_assert(memcmp(sp, data, 4096) == 0);
	ck_assert(memcmp(sp + 512 * 1024, data + 512 * 1024, 4096) == 0);
	for (size_t i = 4096; i < 512 * 1024; i++)
		ck_assert_int_eq(sp[i], 0);
	result_free(&r);
	free(out.p);
	free(gz.p);
	free(data);
}
END_TEST

START_TEST(long_and_non_ascii_names)
{
	char longname[400];
	snprintf(longname, sizeof longname, "%0150d/%0150d/file", 1, 2);
	const struct ent pax[] = {
		{ .name = longname, .data = "long" },
		{ .name = "caf\xc3\xa9/na\xc3\xafve", .data = "utf8" },
		{ .name = "lnk", .type = AE_IFLNK, .symlink = "caf\xc3\xa9/na\xc3\xafve" },
		{ .name = NULL },
	};
	struct buf out = { 0 };
	struct archive *a = tar_new(ARCHIVE_FORMAT_TAR_GNUTAR, &out);
	for (const struct ent *e = pax; e->name != NULL; e++)
		tar_add(a, e);
	const struct ent latin1 = { .name = "latin1-\xe9", .data = "raw" };
	tar_add(a, &latin1);
	tar_end(a);
	struct result r;
	unpack_ok(&r, &out);
	_cleanup_free_ char *l = read_at(r.layer, longname);
	ck_assert_str_eq(l, "long");
	_cleanup_free_ char *u = read_at(r.layer, "caf\xc3\xa9/na\xc3\xafve");
	ck_assert_str_eq(u, "utf8");
	_cleanup_free_ char *l1 = read_at(r.layer, "latin1-\xe9");
	ck_assert_str_eq(l1, "raw");
	result_free(&r);
	free(out.p);

	out.p = NULL;
	out.len = out.cap = 0;
	a = tar_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, &out);
	for (const struct ent *e = pax; e->name != NULL; e++)
		tar_add(a, e);
	tar_add(a, &latin1);
	tar_end(a);
	struct buf p = out;
	unpack_ok(&r, &p);
	_cleanup_free_ char *l2 = read_at(r.layer, "latin1-\xe9");
	ck_assert_str_eq(l2, "raw");
	_cleanup_free_ char *u2 = read_at(r.layer, "caf\xc3\xa9/na\xc3\xafve");
	ck_assert_str_eq(u2, "utf8");
	char target[64];
	ck_assert_int_eq(readlinkat(r.layer, "lnk", target, sizeof target), 12);
	result_free(&r);
	free(p.p);
}
END_TEST

static void refuse_one(const struct ent *ents, const char *needle)
{
	struct buf tar = make_tar(ents);
	assert_refused(&tar, needle);
	free(tar.p);
}

START_TEST(refuse_unsafe_names)
{
	refuse_one((const struct ent[]){ { .name = "../escape", .data = "x" }, { .name = NULL } }, "\"../escape\"");
	refuse_one((const struct ent[]){ { .name = "/abs", .data = "x" }, { .name = NULL } }, "\"/abs\"");
	refuse_one((const struct ent[]){ { .name = "a/", .type = AE_IFDIR }, { .name = "a/../../x", .data = "x" },
	                                   { .name = NULL } },
	           "\"a/../../x\"");
	refuse_one((const struct ent[]){ { .name = "ok", .data = "x" }, { .name = "dir/..", .type = AE_IFDIR },
	                                   { .name = NULL } },
	           "\"dir/..");
	refuse_one((const struct ent[]){ { .name = "a/.wh.", .data = "" }, { .name = NULL } }, "\"a/.wh.\"");
	refuse_one((const struct ent[]){ { .name = ".wh.", .data = "" }, { .name = NULL } }, "\".wh.\"");
	refuse_one((const struct ent[]){ { .name = ".wh..." }, { .name = NULL } }, "invalid whiteout");
	refuse_one((const struct ent[]){ { .name = ".wh.x/y" }, { .name = NULL } }, "\".wh.x/y\"");
}
END_TEST

START_TEST(refuse_paths_through_symlinks)
{
	struct stat before, after;
	ck_assert_int_eq(stat("/etc/passwd", &before), 0);
	refuse_one((const struct ent[]){ { .name = "link", .type = AE_IFLNK, .symlink = "/etc" },
	                                   { .name = "link/passwd", .data = "root::0:0::/:/bin/sh\n" },
	                                   { .name = NULL } },
	           "\"link/passwd\"");
	/* ".." resolves to the directory holding the layer: must stay empty */
	refuse_one((const struct ent[]){ { .name = "up", .type = AE_IFLNK, .symlink = ".." },
	                                   { .name = "up/escaped", .data = "x" }, { .name = NULL } },
	           "\"up/escaped\"");
	refuse_one((const struct ent[]){ { .name = "a/b", .type = AE_IFLNK, .symlink = "/tmp" },
	                                   { .name = "a/b/c/d", .type = AE_IFDIR }, { .name = NULL } },
	           "a/b is a symlink");
	refuse_one((const struct ent[]){ { .name = "up", .type = AE_IFLNK, .symlink = ".." },
	                                   { .name = "up/.wh..wh..opq" }, { .name = NULL } },
	           "\"up/.wh..wh..opq\"");
	/* a whiteout through it would mknod "victim" next to the layer */
	refuse_one((const struct ent[]){ { .name = "up", .type = AE_IFLNK, .symlink = ".." },
	                                   { .name = "up/.wh.victim" }, { .name = NULL } },
	           "\"up/.wh.victim\"");
	refuse_one((const struct ent[]){ { .name = "up", .type = AE_IFLNK, .symlink = ".." },
	                                   { .name = "f", .data = "x" }, { .name = "up/h", .hardlink = "f" },
	                                   { .name = NULL } },
	           "\"up/h\"");
	ck_assert_int_eq(stat("/etc/passwd", &after), 0);
	ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_size == after.st_size);
	ck_assert(before.st_ino == after.st_ino);
}
END_TEST

START_TEST(refuse_bad_hardlinks)
{
	refuse_one((const struct ent[]){ { .name = "h", .hardlink = "../../etc/shadow" }, { .name = NULL } },
	           "\"../../etc/shadow\"");
	refuse_one((const struct ent[]){ { .name = "h", .hardlink = "/etc/passwd" }, { .name = NULL } },
	           "\"/etc/passwd\"");
	refuse_one((const struct ent[]){ { .name = "h", .hardlink = "nowhere" }, { .name = NULL } },
	           "hardlink target \"nowhere\" is not in this layer");
	refuse_one((const struct ent[]){ { .name = "d/.wh.gone" }, { .name = "h", .hardlink = "d/gone" },
	                                   { .name = NULL } },
	           "\"d/gone\" is not in this layer");
	refuse_one((const struct ent[]){ { .name = "l", .type = AE_IFLNK, .symlink = "/etc" },
	                                   { .name = "h", .hardlink = "l/passwd" }, { .name = NULL } },
	           "\"l/passwd\": path goes through a symlink");
	refuse_one((const struct ent[]){ { .name = "dir/", .type = AE_IFDIR }, { .name = "h", .hardlink = "dir" },
	                                   { .name = NULL } },
	           "entry \"h\"");
}
END_TEST

START_TEST(refuse_bad_streams)
{
	struct buf tar = make_tar(basic_ents);
	struct buf gz = gzip_buf(&tar, 1);
	struct buf cut = { .p = gz.p, .len = gz.len - 9 };
	assert_refused(&cut, "truncated gzip stream");
	cut.len = gz.len / 2;
	assert_refused(&cut, "truncated gzip stream");
	struct buf zs = zstd_buf(&tar, 1);
	struct buf zcut = { .p = zs.p, .len = 20 };
	assert_refused(&zcut, "truncated zstd stream");
	/* a second frame that is not one (without checksums, damage inside a
	 * block may go unnoticed by zstd; the diff_id check catches that) */
	struct buf zbad = { 0 };
	buf_add(&zbad, zs.p, zs.len);
	buf_add(&zbad, zs.p, zs.len);
	zbad.p[zs.len + 1] ^= 0xff;
	assert_refused(&zbad, "corrupt zstd stream: Unknown frame descriptor");
	/* every member's CRC-32 and size are checked (by igzip or zlib alike) */
	struct buf gzbad = { 0 };
	buf_add(&gzbad, gz.p, gz.len);
	gzbad.p[gzbad.len - 8] ^= 0x01; /* CRC-32 */
	assert_refused(&gzbad, "corrupt gzip stream");
	gzbad.p[gzbad.len - 8] ^= 0x01;
	gzbad.p[gzbad.len - 1] ^= 0x01; /* ISIZE */
	assert_refused(&gzbad, "corrupt gzip stream");
	/* gzip followed by garbage */
	buf_add(&gz, "garbage!", 8);
	assert_refused(&gz, "corrupt gzip stream");

	struct buf junk = { 0 };
	for (int i = 0; i < 4000; i++)
		buf_add(&junk, "this is not a tar archive. ", 27);
	assert_refused(&junk, "not a tar archive");
	/* a format error is no system error: no strerror(EILSEQ) tacked on */
	struct result r;
	unpack(&r, &junk);
	ck_assert_int_lt(r.rc, 0);
	ck_assert_msg(r.err.errnum == 0, "errnum %d: %s", r.err.errnum, r.err.msg);
	result_free(&r);
	/* cut inside a file's data, and right after a pax header (where
	 * libarchive gives no message of its own) */
	char *data = xmalloc(100001);
	memset(data, 'd', 100000);
	data[100000] = '\0';
	struct buf big = make_tar((const struct ent[]){ { .name = "big", .data = data }, { .name = NULL } });
	struct buf tcut = { .p = big.p, .len = 50000 };
	assert_refused(&tcut, "entry \"big\": read data: Truncated tar archive");
	tcut = (struct buf){ .p = tar.p, .len = 1536 };
	assert_refused(&tcut, "reading tar: truncated or damaged tar archive");
	free(big.p);
	free(data);
	free(tar.p);
	free(gz.p);
	free(zs.p);
	free(zbad.p);
	free(gzbad.p);
	free(junk.p);
}
END_TEST

START_TEST(feed_fails_fast_after_worker_error)
{
	/* garbage much larger than the pipes: a feed must fail, not block */
	size_t len = 64u << 20;
	unsigned char *junk = xmalloc(len);
	memset(junk, 'j', len);
	_cleanup_free_ char *dir = test_mkdtemp("unpack");
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct layer_unpack_opts opts = { .parent_dirfd = dirfd, .dirname = "layer", .what = "junk" };
	struct layer_unpack *u = NULL;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(layer_unpack_start(&opts, &u, &err), 0);
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += 1 << 20)
		rc = layer_unpack_feed(u, junk + off, 1 << 20, &err);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err.msg, "layer junk: not a tar archive") != NULL, "%s", err.msg);
	/* finish repeats the worker's error */
	struct mctr_err err2 = { 0 };
	ck_assert_int_lt(layer_unpack_finish(u, NULL, NULL, &err2), 0);
	ck_assert_str_eq(err2.msg, err.msg);
	layer_unpack_free(u, true);
	assert_missing(dirfd, "layer");
	test_rmtree(dir);
	free(junk);
}
END_TEST

START_TEST(free_mid_stream)
{
	size_t big = 20u << 20;
	char *data = xmalloc(big + 1);
	memset(data, 'z', big);
	data[big] = '\0';
	const struct ent ents[] = { { .name = "a/big1", .data = data }, { .name = "a/big2", .data = data },
		                    { .name = NULL } };
	struct buf tar = make_tar(ents);
	_cleanup_free_ char *dir = test_mkdtemp("unpack");
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct layer_unpack_opts opts = { .parent_dirfd = dirfd, .dirname = "layer" };
	struct mctr_err err = { 0 };
	for (int round = 0; round < 3; round++) {
		struct layer_unpack *u = NULL;
		ck_assert_int_eq(layer_unpack_start(&opts, &u, &err), 0);
		/* round 0: nothing fed; 1: part of a file; 2: more than the pipes hold */
		size_t upto = round == 0 ? 0 : round == 1 ? 100000 : tar.len / 2;
		for (size_t off = 0; off < upto; off += 65536)
			ck_assert_int_eq(layer_unpack_feed(u, tar.p + off, upto - off < 65536 ? upto - off : 65536,
			                                   &err), 0);
		layer_unpack_free(u, true);
		assert_missing(dirfd, "layer");
	}
	/* the directory must not exist yet */
	ck_assert_int_eq(mkdirat(dirfd, "layer", 0755), 0);
	struct layer_unpack *u = NULL;
	ck_assert_int_lt(layer_unpack_start(&opts, &u, &err), 0);
	ck_assert_msg(strstr(err.msg, "create directory layer: File exists") != NULL, "%s", err.msg);
	test_rmtree(dir);
	free(tar.p);
	free(data);
}
END_TEST

START_TEST(unpack_from_fd)
{
	struct buf tar = make_tar(basic_ents);
	struct buf zs = zstd_buf(&tar, 1);
	_cleanup_free_ char *dir = test_mkdtemp("unpack");
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct mctr_err err = { 0 };
	ck_assert_int_eq(file_write_atomic_at(dirfd, "blob", zs.p, zs.len, 0644, &err), 0);
	_cleanup_close_ int fd = openat(dirfd, "blob", O_RDONLY | O_CLOEXEC);
	struct layer_unpack_opts opts = { .parent_dirfd = dirfd, .dirname = "layer" };
	char diff[DIGEST_LEN + 1], want[DIGEST_LEN + 1];
	struct layer_stats st;
	ck_assert_msg(layer_unpack_fd(&opts, fd, diff, &st, &err) == 0, "%s", err.msg);
	sha256_digest_buf(tar.p, tar.len, want);
	ck_assert_str_eq(diff, want);
	ck_assert_int_eq(st.compression, MCTR_COMPRESSION_ZSTD);
	ck_assert_int_eq(st.compressed_bytes, zs.len);
	ck_assert(S_ISREG(lstat_at(dirfd, "layer/etc/hosts").st_mode));
	/* a failing one removes its directory */
	ck_assert_int_eq(file_write_atomic_at(dirfd, "blob2", zs.p, zs.len / 2, 0644, &err), 0);
	_cleanup_close_ int fd2 = openat(dirfd, "blob2", O_RDONLY | O_CLOEXEC);
	opts.dirname = "layer2";
	ck_assert_int_lt(layer_unpack_fd(&opts, fd2, diff, &st, &err), 0);
	ck_assert_msg(strstr(err.msg, "layer layer2: truncated zstd stream") != NULL, "%s", err.msg);
	assert_missing(dirfd, "layer2");
	test_rmtree(dir);
	free(tar.p);
	free(zs.p);
}
END_TEST

static int collect_sink(void *arg, const void *p, size_t n, struct mctr_err *err)
{
	buf_add(arg, p, n);
	return 0;
}

START_TEST(decompressor_push_api)
{
	struct buf tar = make_tar(basic_ents);
	struct buf gz = gzip_buf(&tar, 2);
	struct buf out = { 0 };
	struct mctr_err err = { 0 };
	struct decompressor *d = decompressor_new(collect_sink, &out);
	for (size_t off = 0; off < gz.len; off += 3)
		ck_assert_int_eq(decompressor_feed(d, gz.p + off, gz.len - off < 3 ? gz.len - off : 3, &err), 0);
	ck_assert_int_eq(decompressor_finish(d, &err), 0);
	ck_assert_int_eq(decompressor_kind(d), MCTR_COMPRESSION_GZIP);
	ck_assert_int_eq(out.len, tar.len);
	ck_assert(memcmp(out.p, tar.p, tar.len) == 0);
	decompressor_free(d);

	/* a later member with a header CRC, its header split anywhere */
	struct buf half1 = { .p = tar.p, .len = tar.len / 2 };
	struct buf half2 = { .p = tar.p + half1.len, .len = tar.len - half1.len };
	struct buf mixed = gzip_buf(&half1, 1);
	struct buf named = gzip_named_buf(&half2);
	buf_add(&mixed, named.p, named.len);
	for (size_t chunk = 1; chunk <= 7; chunk += 3) {
		out.len = 0;
		d = decompressor_new(collect_sink, &out);
		for (size_t off = 0; off < mixed.len; off += chunk)
			ck_assert_msg(decompressor_feed(d, mixed.p + off, mixed.len - off < chunk ? mixed.len - off : chunk,
			                                &err) == 0,
			              "chunk %zu: %s", chunk, err.msg);
		ck_assert_msg(decompressor_finish(d, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(out.len, tar.len);
		ck_assert(memcmp(out.p, tar.p, tar.len) == 0);
		decompressor_free(d);
	}
	free(mixed.p);
	free(named.p);

	/* short, uncompressed */
	out.len = 0;
	d = decompressor_new(collect_sink, &out);
	ck_assert_int_eq(decompressor_feed(d, "ab", 2, &err), 0);
	ck_assert_int_eq(decompressor_finish(d, &err), 0);
	ck_assert_int_eq(decompressor_kind(d), MCTR_COMPRESSION_NONE);
	ck_assert_int_eq(out.len, 2);
	decompressor_free(d);

	/* truncated */
	d = decompressor_new(collect_sink, &out);
	ck_assert_int_eq(decompressor_feed(d, gz.p, gz.len / 3, &err), 0);
	ck_assert_int_lt(decompressor_finish(d, &err), 0);
	ck_assert_str_eq(err.msg, "truncated gzip stream");
	decompressor_free(d);
	free(tar.p);
	free(gz.p);
	free(out.p);
}
END_TEST

static Suite *unpack_suite(void)
{
	Suite *s = suite_create("unpack");
	TCase *tc = tcase_create("unpack");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, detect_magic);
	tcase_add_test(tc, basic_entry_types);
	tcase_add_test(tc, xattrs_survive_chown_and_reach_every_kind);
	tcase_add_test(tc, umask_does_not_interfere);
	tcase_add_test(tc, setgid_directory_children_keep_their_group);
	tcase_add_test(tc, whiteouts_and_opaque_dirs);
	tcase_add_test(tc, opaque_marker_after_children);
	tcase_add_test(tc, rootless_opaque_and_devices);
	tcase_add_test(tc, duplicate_entries_later_wins);
	tcase_add_test(tc, diff_id_none_gzip_zstd);
	tcase_add_test(tc, tiny_chunks);
	tcase_add_test(tc, empty_blob_is_an_empty_layer);
	tcase_add_test(tc, big_and_sparse_files);
	tcase_add_test(tc, long_and_non_ascii_names);
	tcase_add_test(tc, refuse_unsafe_names);
	tcase_add_test(tc, refuse_paths_through_symlinks);
	tcase_add_test(tc, refuse_bad_hardlinks);
	tcase_add_test(tc, refuse_bad_streams);
	tcase_add_test(tc, feed_fails_fast_after_worker_error);
	tcase_add_test(tc, free_mid_stream);
	tcase_add_test(tc, unpack_from_fd);
	tcase_add_test(tc, decompressor_push_api);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(unpack_suite());
}
