/* cgroups: layout detection, the container handle, knob-file I/O, and the
 * operations that are the same on every layout (join, list, kill, wait,
 * destroy).  Layout-specific work lives behind struct cgroup_ops in
 * cgroup_v1.c and cgroup_v2.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

#define KNOB_MAX_BYTES (4u << 20)
#define NAME_MAX_LEN 1024
#define ENTER_RETRIES 5
#define ENTER_RETRY_MS 30
#define RMDIR_TIMEOUT_MS 1000
#define UNFROZEN_KILL_ROUNDS 20

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_MODE_AUTO:
		return "auto";
	case CGROUP_MODE_NONE:
		return "none";
	case CGROUP_MODE_V1:
		return "v1";
	case CGROUP_MODE_HYBRID:
		return "v1 (hybrid)";
	case CGROUP_MODE_V2:
		return "v2";
	}
	return "unknown";
}

/* ---- detection ---------------------------------------------------------- */

bool cg_fs_is(const char *path, unsigned long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == magic;
}

static bool has_v1_hierarchy(const char *root)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	if (d == NULL)
		return false;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = path_join(root, e->d_name);
		if (cg_fs_is(p, CGROUP_SUPER_MAGIC))
			return true;
	}
	return false;
}

/* As opencontainers/cgroups: cgroup2 at the root is unified; cgroup2 at
 * root/unified is hybrid; otherwise v1 if any v1 hierarchy is mounted. */
static enum cgroup_mode detect_uncached(const char *root)
{
	if (cg_fs_is(root, CGROUP2_SUPER_MAGIC))
		return CGROUP_MODE_V2;
	_cleanup_free_ char *unified = path_join(root, "unified");
	bool v1 = has_v1_hierarchy(root);
	if (v1 && cg_fs_is(unified, CGROUP2_SUPER_MAGIC))
		return CGROUP_MODE_HYBRID;
	return v1 ? CGROUP_MODE_V1 : CGROUP_MODE_NONE;
}

enum cgroup_mode cgroup_detect_mode(const char *root)
{
	static enum cgroup_mode cached = CGROUP_MODE_AUTO;
	if (root != NULL && strcmp(root, CGROUP_DEFAULT_ROOT) != 0)
		return detect_uncached(root);
	if (cached == CGROUP_MODE_AUTO)
		cached = detect_uncached(CGROUP_DEFAULT_ROOT);
	return cached;
}

/* ---- knob files ---------------------------------------------------------- */

int cg_open_knob(const struct cgroup *cg, const char *dir, const char *file, bool append, struct mctr_err *err)
{
	int flags = O_WRONLY | O_CLOEXEC;
	if (cg->fake_fs)
		flags |= O_CREAT | (append ? O_APPEND : O_TRUNC);
	_cleanup_free_ char *path = path_join(dir, file);
	int fd = open(path, flags, 0644);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", path);
	return fd;
}

int cg_write_fd(const struct cgroup *cg, int fd, const char *file, const char *value, bool append,
                struct mctr_err *err)
{
	_cleanup_free_ char *line = xasprintf("%s%s", value, cg->fake_fs && append ? "\n" : "");
	/* One write(2) per value: cgroupfs parses each write as a whole (so
	 * one open fd takes a series of rules). */
	ssize_t n = write(fd, line, strlen(line));
	if (n < 0)
		return mctr_fail_errno(err, "write %s to %s", value, file);
	if ((size_t)n != strlen(line))
		return mctr_fail(err, EIO, "write %s to %s: short write", value, file);
	return 0;
}

int cg_write(const struct cgroup *cg, const char *dir, const char *file, const char *value, bool append,
             struct mctr_err *err)
{
	_cleanup_close_ int fd = cg_open_knob(cg, dir, file, append, err);
	if (fd < 0)
		return -1;
	if (cg_write_fd(cg, fd, file, value, append, err) < 0)
		return mctr_err_wrap(err, "%s", dir);
	return 0;
}

int cg_write_i64(const struct cgroup *cg, const char *dir, const char *file, int64_t value,
                 const char *unlimited, struct mctr_err *err)
{
	char buf[32];
	if (value == CGROUP_UNLIMITED)
		snprintf(buf, sizeof buf, "%s", unlimited);
	else
		snprintf(buf, sizeof buf, "%" PRId64, value);
	return cg_write(cg, dir, file, buf, false, err);
}

int cg_read(const char *dir, const char *file, char **out, struct mctr_err *err)
{
	_cleanup_free_ char *path = path_join(dir, file);
	return file_read_at(AT_FDCWD, path, KNOB_MAX_BYTES, out, NULL, err);
}

int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *value, struct mctr_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cg_read(dir, file, &text, err) < 0)
		return -1;
	size_t klen = strlen(key);
	for (char *line = text; line != NULL && *line != '\0';) {
		char *next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno != 0 || end == line + klen + 1)
				return mctr_fail(err, EINVAL, "%s/%s: bad value for %s", dir, file, key);
			*value = v;
			return 0;
		}
		line = next;
	}
	return 1;
}

bool cg_file_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *path = path_join(dir, file);
	return access(path, F_OK) == 0;
}

bool cg_list_has(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (len == wlen && strncmp(p, word, len) == 0)
			return true;
		p += len;
	}
	return false;
}

static int mkdir_name_once(const struct cgroup *cg, const char *mount, cg_dir_fn *on_dir, const void *data,
                           struct mctr_err *err)
{
	_cleanup_free_ char *parent = xstrdup(mount);
	for (const char *p = cg->name; *p != '\0';) {
		size_t len = strcspn(p, "/");
		_cleanup_free_ char *comp = xstrndup(p, len);
		char *dir = path_join(parent, comp);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			mctr_fail_errno(err, "mkdir %s", dir);
			free(dir);
			return -1;
		}
		if (on_dir != NULL && on_dir(cg, parent, dir, data, err) < 0) {
			free(dir);
			return -1;
		}
		free(parent);
		parent = dir;
		p += len;
		p += strspn(p, "/");
	}
	return 0;
}

int cg_mkdir_name(const struct cgroup *cg, const char *mount, cg_dir_fn *on_dir, const void *data,
                  struct mctr_err *err)
{
	/* Another mctr removing an emptied parent ("mctr") between our mkdir
	 * of it and of the leaf makes the leaf's mkdir fail with ENOENT: start
	 * over a few times. */
	for (int attempt = 0;; attempt++) {
		struct mctr_err e = { 0 };
		if (mkdir_name_once(cg, mount, on_dir, data, &e) == 0)
			return 0;
		if (e.errnum != ENOENT || attempt == 5) {
			if (err != NULL)
				*err = e;
			return -1;
		}
	}
}

/* Remove the parents of a removed leaf that are empty now (the shared
 * "mctr" cgroup when this was the last container), up to the hierarchy's
 * root.  A parent still used by another container stays (EBUSY/ENOTEMPTY),
 * and a concurrent create starts over (see cg_mkdir_name). */
static void rmdir_empty_parents(const struct cgroup_hier *h)
{
	_cleanup_free_ char *dir = xstrdup(h->leaf);
	size_t root_len = strlen(h->mount);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL || (size_t)(slash - dir) <= root_len)
			return;
		*slash = '\0';
		if (rmdir(dir) < 0)
			return;
	}
}

/* ---- the "none" layout --------------------------------------------------- */

static int none_discover(struct cgroup *cg, struct mctr_err *err)
{
	cg->n_hier = 0;
	return 0;
}

static int none_create(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	const char *what = NULL;
	if (res->has_memory || res->has_memory_swap)
		what = "memory";
	else if (res->has_cpu_shares || res->has_cpu_quota || res->has_cpu_period)
		what = "cpu";
	else if (res->has_pids_limit)
		what = "pids";
	else if (res->cpuset_cpus != NULL || res->cpuset_mems != NULL)
		what = "cpuset";
	if (what != NULL)
		return mctr_fail(err, ENOTSUP, "cannot apply the %s limit: no cgroup hierarchy under %s", what,
		                 cg->root);
	if (res->has_devices)
		cg->devices = CG_DEVICES_UNENFORCED;
	return 0;
}

static int none_freeze(struct cgroup *cg, bool on, struct mctr_err *err)
{
	return 0;
}

static int none_oom_kill_count(struct cgroup *cg, uint64_t *count, struct mctr_err *err)
{
	return mctr_fail(err, ENOTSUP, "no cgroup hierarchy under %s to count OOM kills in", cg->root);
}

static bool none_probe(struct cgroup *cg)
{
	return false;
}

const struct cgroup_ops cgroup_ops_none = {
	.discover = none_discover,
	.create = none_create,
	.freeze = none_freeze,
	.oom_kill_count = none_oom_kill_count,
	.probe_devices = none_probe,
	.probe_swap = none_probe,
};

/* ---- the handle ----------------------------------------------------------- */

static int validate_name(const char *name, struct mctr_err *err)
{
	size_t len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN)
		return mctr_fail(err, EINVAL, "cgroup name \"%s\" is empty or too long", name);
	bool at_start = true;
	for (const char *p = name; *p != '\0'; p++) {
		char c = *p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (c == '/') {
			if (at_start)
				break;
			at_start = true;
			continue;
		}
		if (at_start ? !alnum : !(alnum || c == '_' || c == '.' || c == '-'))
			return mctr_fail(err, EINVAL,
			                 "cgroup name \"%s\": components must be [A-Za-z0-9][A-Za-z0-9_.-]*", name);
		at_start = false;
	}
	if (at_start)
		return mctr_fail(err, EINVAL, "cgroup name \"%s\" has an empty component", name);
	return 0;
}

int cgroup_open(const struct cgroup_opts *opts, const char *name, struct cgroup **out, struct mctr_err *err)
{
	static const struct cgroup_opts defaults = { 0 };
	if (opts == NULL)
		opts = &defaults;
	if (validate_name(name, err) < 0)
		return -1;
	struct cgroup *cg = xcalloc(1, sizeof *cg);
	cg->root = xstrdup(opts->root != NULL ? opts->root : CGROUP_DEFAULT_ROOT);
	cg->name = xstrdup(name);
	cg->fake_fs = opts->fake_fs;
	cg->mode = opts->mode != CGROUP_MODE_AUTO ? opts->mode : cgroup_detect_mode(cg->root);
	switch (cg->mode) {
	case CGROUP_MODE_V1:
	case CGROUP_MODE_HYBRID:
		cg->ops = &cgroup_ops_v1;
		break;
	case CGROUP_MODE_V2:
		cg->ops = &cgroup_ops_v2;
		break;
	default:
		cg->ops = &cgroup_ops_none;
		break;
	}
	if (cg->ops->discover(cg, err) < 0) {
		mctr_err_wrap(err, "cgroup %s (%s under %s)", name, cgroup_mode_name(cg->mode), cg->root);
		cgroup_free(cg);
		return -1;
	}
	*out = cg;
	return 0;
}

void cgroup_free(struct cgroup *cg)
{
	if (cg == NULL)
		return;
	for (size_t i = 0; i < cg->n_hier; i++) {
		free(cg->hier[i].mount);
		free(cg->hier[i].leaf);
	}
	free(cg->hier);
	free(cg->root);
	free(cg->name);
	free(cg);
}

enum cgroup_mode cgroup_get_mode(const struct cgroup *cg)
{
	return cg->mode;
}

const char *cgroup_get_name(const struct cgroup *cg)
{
	return cg->name;
}

/* ---- generic operations --------------------------------------------------- */

static void rmdir_leaf_quietly(struct cgroup *cg);

int cgroup_create(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	struct cgroup_resources empty;
	cgroup_resources_init(&empty);
	if (res == NULL)
		res = &empty;
	if (cgroup_resources_validate(res, err) < 0)
		return mctr_err_wrap(err, "cgroup %s", cg->name);
	cg->devices = CG_DEVICES_UNKNOWN;
	if (cg->ops->create(cg, res, err) < 0) {
		rmdir_leaf_quietly(cg);
		return mctr_err_wrap(err, "create cgroup %s", cg->name);
	}
	if (res->has_devices && cg->devices == CG_DEVICES_UNKNOWN)
		cg->devices = CG_DEVICES_UNENFORCED;
	return 0;
}

bool cgroup_can_restrict_devices(struct cgroup *cg)
{
	if (cg->devices != CG_DEVICES_UNKNOWN)
		return cg->devices == CG_DEVICES_ENFORCED;
	return cg->ops->probe_devices(cg);
}

bool cgroup_swap_limit_supported(const struct cgroup_opts *opts)
{
	struct cgroup *cg = NULL;
	struct mctr_err ignored = { 0 };
	if (cgroup_open(opts, CGROUP_DEFAULT_PARENT, &cg, &ignored) < 0)
		return false;
	bool supported = cg->ops->probe_swap(cg);
	cgroup_free(cg);
	return supported;
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct mctr_err *err)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++) {
		struct mctr_err e = { 0 };
		int r;
		for (int attempt = 1;; attempt++) {
			r = cg_write(cg, cg->hier[i].leaf, "cgroup.procs", buf, true, &e);
			if (r == 0 || e.errnum != EINVAL || attempt == ENTER_RETRIES)
				break;
			sleep_ms(ENTER_RETRY_MS);
		}
		if (r < 0) {
			if (err != NULL)
				*err = e;
			return mctr_err_wrap(err, "move pid %d into cgroup %s", (int)pid, cg->name);
		}
	}
	return 0;
}

struct pid_list {
	pid_t *pids;
	size_t n, cap;
};

static void pid_list_add(struct pid_list *l, pid_t pid)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->pids[i] == pid)
			return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->pids = xrealloc(l->pids, l->cap * sizeof *l->pids);
	}
	l->pids[l->n++] = pid;
}

/* cgroup.procs of dir and of every cgroup below it.  A vanished directory
 * is empty: processes and cgroups come and go while we read. */
static int collect_pids(const char *dir, struct pid_list *l, struct mctr_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct mctr_err e = { 0 };
	if (cg_read(dir, "cgroup.procs", &text, &e) < 0) {
		if (e.errnum == ENOENT || e.errnum == ENODEV)
			return 0;
		if (err != NULL)
			*err = e;
		return -1;
	}
	for (char *p = text; *p != '\0';) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 0)
			pid_list_add(l, (pid_t)v);
		p = end + strspn(end, " \n");
	}
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *ent;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_type != DT_DIR || strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *sub = path_join(dir, ent->d_name);
		if (collect_pids(sub, l, err) < 0)
			return -1;
	}
	return 0;
}

/* The hierarchy whose cgroup.procs lists the container: cgroup2 when there
 * is one (it sees every process), else the v1 freezer (kill freezes it). */
static const struct cgroup_hier *primary_hier(const struct cgroup *cg)
{
	const struct cgroup_hier *best = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cgroup_hier *h = &cg->hier[i];
		if (h->unified)
			return h;
		if (best == NULL || (h->ctrl & CG_CTRL_FREEZER))
			best = h;
	}
	return best;
}

static int list_pids(struct cgroup *cg, struct pid_list *l, struct mctr_err *err)
{
	const struct cgroup_hier *h = primary_hier(cg);
	if (h != NULL && collect_pids(h->leaf, l, err) < 0)
		return mctr_err_wrap(err, "list processes of cgroup %s", cg->name);
	return 0;
}

int cgroup_list_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct mctr_err *err)
{
	struct pid_list l = { 0 };
	if (list_pids(cg, &l, err) < 0) {
		free(l.pids);
		return -1;
	}
	*pids = l.pids;
	*n = l.n;
	return 0;
}

static int hier_is_empty(const struct cgroup_hier *h, bool *empty, struct mctr_err *err)
{
	if (h->unified) {
		uint64_t populated;
		struct mctr_err e = { 0 };
		int r = cg_read_key(h->leaf, "cgroup.events", "populated", &populated, &e);
		if (r == 0) {
			*empty = populated == 0;
			return 0;
		}
		if (r < 0 && e.errnum != ENOENT) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		/* No cgroup.events (a fake tree): fall back to cgroup.procs. */
	}
	struct pid_list l = { 0 };
	int r = collect_pids(h->leaf, &l, err);
	*empty = l.n == 0;
	free(l.pids);
	return r;
}

int cgroup_is_empty(struct cgroup *cg, bool *empty, struct mctr_err *err)
{
	/* Every process of the container is in its cgroup of every hierarchy:
	 * one hierarchy answers for all (the unified one's cgroup.events in a
	 * single read where there is one).  A straggler elsewhere only makes
	 * the rmdir retry. */
	*empty = true;
	const struct cgroup_hier *h = primary_hier(cg);
	if (h != NULL && hier_is_empty(h, empty, err) < 0)
		return mctr_err_wrap(err, "cgroup %s", cg->name);
	return 0;
}

int cgroup_wait_empty(struct cgroup *cg, int timeout_ms, struct mctr_err *err)
{
	int64_t deadline = monotonic_ms() + timeout_ms;
	unsigned delay = 1;
	for (;;) {
		bool empty;
		if (cgroup_is_empty(cg, &empty, err) < 0)
			return -1;
		if (empty)
			return 0;
		if (monotonic_ms() >= deadline)
			break;
		sleep_ms(delay);
		delay = delay < 50 ? delay * 2 : 50;
	}
	struct pid_list l = { 0 };
	list_pids(cg, &l, NULL);
	mctr_fail(err, ETIMEDOUT, "cgroup %s still holds %zu process(es) (first pid %d) after %d ms", cg->name,
	          l.n, l.n > 0 ? (int)l.pids[0] : 0, timeout_ms);
	free(l.pids);
	return -1;
}

/* Signal every listed pid once; without a freezer repeat until a round finds
 * no pid it has not signalled (catches processes forked in between). */
static int signal_listed(struct cgroup *cg, int sig, bool frozen, struct mctr_err *err)
{
	struct pid_list done = { 0 };
	int rc = 0;
	for (int round = 0; round < (frozen ? 1 : UNFROZEN_KILL_ROUNDS); round++) {
		struct pid_list now = { 0 };
		if (list_pids(cg, &now, err) < 0) {
			rc = -1;
			break;
		}
		size_t fresh = 0;
		for (size_t i = 0; i < now.n; i++) {
			size_t before = done.n;
			pid_list_add(&done, now.pids[i]);
			if (done.n == before || now.pids[i] == getpid())
				continue;
			fresh++;
			if (kill(now.pids[i], sig) < 0 && errno != ESRCH) {
				rc = mctr_fail_errno(err, "kill %d in cgroup %s", (int)now.pids[i], cg->name);
				break;
			}
		}
		free(now.pids);
		if (rc < 0 || fresh == 0)
			break;
	}
	free(done.pids);
	return rc;
}

/* cgroup.kill (>= 5.14) on the cgroup2 hierarchy, if there is one. */
static int kill_via_cgroup_kill(struct cgroup *cg, bool *done, struct mctr_err *err)
{
	*done = false;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cgroup_hier *h = &cg->hier[i];
		if (!h->unified || !cg_file_exists(h->leaf, "cgroup.kill"))
			continue;
		struct mctr_err e = { 0 };
		if (cg_write(cg, h->leaf, "cgroup.kill", "1", false, &e) < 0) {
			if (e.errnum == ENOENT)
				return 0; /* the cgroup is gone: nothing to kill */
			if (err != NULL)
				*err = e;
			return -1;
		}
		*done = true;
		return 0;
	}
	return 0;
}

int cgroup_kill(struct cgroup *cg, int sig, struct mctr_err *err)
{
	if (cg->n_hier == 0)
		return 0;
	if (sig == SIGKILL) {
		bool done;
		if (kill_via_cgroup_kill(cg, &done, err) < 0)
			return mctr_err_wrap(err, "kill cgroup %s", cg->name);
		if (done) {
			/* A v1-frozen task would not die until thawed (a crashed kill
			 * may have left the freezer on). */
			struct mctr_err ignored = { 0 };
			cg->ops->freeze(cg, false, &ignored);
			return 0;
		}
	}
	struct mctr_err ferr = { 0 };
	int frozen = cg->ops->freeze(cg, true, &ferr);
	if (frozen < 0) {
		mctr_debug("cgroup %s: signalling without freezing: %s", cg->name, ferr.msg);
		frozen = 0;
	}
	int rc = signal_listed(cg, sig, frozen == 1, err);
	if (frozen == 1 && cg->ops->freeze(cg, false, rc < 0 ? &ferr : err) < 0 && rc == 0)
		rc = -1;
	return rc < 0 ? mctr_err_wrap(err, "signal %d to cgroup %s", sig, cg->name) : 0;
}

int cgroup_oom_kill_count(struct cgroup *cg, uint64_t *count, struct mctr_err *err)
{
	*count = 0;
	return cg->ops->oom_kill_count(cg, count, err);
}

/* rmdir dir after its child cgroups, deepest first.  rmdir only: on
 * cgroupfs a directory holds nothing but its knob files, which go with it;
 * a fake tree's regular files are unlinked first. */
static int rmdir_tree(const struct cgroup *cg, const char *dir, struct mctr_err *err)
{
	/* The common case first: a leaf without child cgroups goes at once
	 * (listing a cgroupfs directory means dozens of knob entries). */
	if (!cg->fake_fs && (rmdir(dir) == 0 || errno == ENOENT))
		return 0;
	if (!cg->fake_fs && errno != ENOTEMPTY && errno != EEXIST)
		return mctr_fail_errno(err, "rmdir %s", dir);
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : mctr_fail_errno(err, "open %s", dir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type == DT_DIR) {
			_cleanup_free_ char *sub = path_join(dir, e->d_name);
			if (rmdir_tree(cg, sub, err) < 0)
				return -1;
		} else if (cg->fake_fs && e->d_type == DT_REG) {
			if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
				return mctr_fail_errno(err, "unlink %s/%s", dir, e->d_name);
		}
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return mctr_fail_errno(err, "rmdir %s", dir);
	return 0;
}

/* A just-emptied cgroup can answer EBUSY for a moment while its last tasks
 * finish exiting: retry briefly. */
static int rmdir_with_retry(const struct cgroup *cg, const char *dir, struct mctr_err *err)
{
	int64_t deadline = monotonic_ms() + RMDIR_TIMEOUT_MS;
	unsigned delay = 1;
	for (;;) {
		if (rmdir_tree(cg, dir, err) == 0)
			return 0;
		if (err->errnum != EBUSY || monotonic_ms() >= deadline)
			return -1;
		sleep_ms(delay);
		delay = delay < 50 ? delay * 2 : 50;
	}
}

static void rmdir_leaf_quietly(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		struct mctr_err ignored = { 0 };
		if (rmdir_tree(cg, cg->hier[i].leaf, &ignored) < 0)
			mctr_debug("cgroup %s: %s", cg->name, ignored.msg);
	}
}

int cgroup_destroy(struct cgroup *cg, struct mctr_err *err)
{
	bool empty;
	if (cgroup_is_empty(cg, &empty, err) < 0)
		return mctr_err_wrap(err, "destroy");
	if (!empty) {
		if (cgroup_kill(cg, SIGKILL, err) < 0 ||
		    cgroup_wait_empty(cg, CGROUP_DESTROY_TIMEOUT_MS, err) < 0)
			return mctr_err_wrap(err, "destroy");
	}
	int rc = 0;
	for (size_t i = 0; i < cg->n_hier; i++) {
		struct mctr_err e = { 0 };
		if (rmdir_with_retry(cg, cg->hier[i].leaf, &e) < 0) {
			if (rc == 0 && err != NULL)
				*err = e;
			rc = -1;
		} else if (!cg->fake_fs) {
			rmdir_empty_parents(&cg->hier[i]);
		}
	}
	return rc < 0 ? mctr_err_wrap(err, "destroy cgroup %s", cg->name) : 0;
}
