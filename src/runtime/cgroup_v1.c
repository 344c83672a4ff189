/* cgroup v1 (and hybrid): one hierarchy per controller at <root>/<name>,
 * e.g. /sys/fs/cgroup/memory; co-mounted ones ("cpu,cpuacct" plus "cpu" and
 * "cpuacct" symlinks) are found once.  In hybrid mode the controller-less
 * cgroup2 at <root>/unified is joined too, for cgroup.kill and
 * cgroup.events; all limits go to v1. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

#define FREEZE_TIMEOUT_MS 2000

static const struct {
	const char *name;
	unsigned bit;
} v1_controllers[] = {
	{ "cpu", CG_CTRL_CPU },       { "cpuacct", CG_CTRL_CPUACCT }, { "cpuset", CG_CTRL_CPUSET },
	{ "memory", CG_CTRL_MEMORY }, { "devices", CG_CTRL_DEVICES }, { "freezer", CG_CTRL_FREEZER },
	{ "blkio", CG_CTRL_BLKIO },   { "pids", CG_CTRL_PIDS },
};

/* "cpu,cpuacct" -> CG_CTRL_CPU | CG_CTRL_CPUACCT. */
static unsigned controllers_of(const char *dirname)
{
	unsigned bits = 0;
	for (const char *p = dirname; *p != '\0';) {
		size_t len = strcspn(p, ",");
		for (size_t i = 0; i < sizeof v1_controllers / sizeof v1_controllers[0]; i++) {
			if (strlen(v1_controllers[i].name) == len && strncmp(p, v1_controllers[i].name, len) == 0)
				bits |= v1_controllers[i].bit;
		}
		p += len;
		p += strspn(p, ",");
	}
	return bits;
}

static const char *controller_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof v1_controllers / sizeof v1_controllers[0]; i++) {
		if (v1_controllers[i].bit == bit)
			return v1_controllers[i].name;
	}
	return "?";
}

static struct cgroup_hier *find_hier(const struct cgroup *cg, unsigned ctrl)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (cg->hier[i].ctrl & ctrl)
			return &cg->hier[i];
	}
	return NULL;
}

struct seen {
	dev_t dev;
	ino_t ino;
};

static void add_hier(struct cgroup *cg, const char *mount, unsigned ctrl, bool unified)
{
	cg->hier = xrealloc(cg->hier, (cg->n_hier + 1) * sizeof *cg->hier);
	struct cgroup_hier *h = &cg->hier[cg->n_hier++];
	h->mount = xstrdup(mount);
	h->leaf = path_join(mount, cg->name);
	h->ctrl = ctrl;
	h->unified = unified;
}

/* Every directory under root that is a v1 hierarchy (cgroupfs magic, not
 * checked on fake trees), deduplicated by inode so a co-mounted hierarchy
 * and its symlinks count once. */
static int v1_discover(struct cgroup *cg, struct mctr_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(cg->root, &names, NULL, alphasort);
	if (n < 0)
		return mctr_fail_errno(err, "list %s", cg->root);
	_cleanup_free_ struct seen *seen = xcalloc((size_t)n + 1, sizeof *seen);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		_cleanup_free_ char *path = path_join(cg->root, name);
		struct stat st;
		if (name[0] == '.' || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (strcmp(name, "unified") == 0) {
			if (cg->mode == CGROUP_MODE_HYBRID && (cg->fake_fs || cg_fs_is(path, CGROUP2_SUPER_MAGIC)))
				add_hier(cg, path, 0, true);
			continue;
		}
		if (!cg->fake_fs && !cg_fs_is(path, CGROUP_SUPER_MAGIC))
			continue;
		size_t j = 0;
		for (; j < cg->n_hier; j++) {
			if (!cg->hier[j].unified && seen[j].dev == st.st_dev && seen[j].ino == st.st_ino)
				break;
		}
		if (j < cg->n_hier) {
			cg->hier[j].ctrl |= controllers_of(name);
			continue;
		}
		seen[cg->n_hier] = (struct seen){ st.st_dev, st.st_ino };
		add_hier(cg, path, controllers_of(name), false);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].unified)
			return 0;
	}
	return mctr_fail(err, ENOENT, "no cgroup v1 hierarchy under %s", cg->root);
}

/* cpuset.cpus/mems start empty in a new v1 cpuset cgroup, and a task cannot
 * join until they are set: copy them down from the parent, level by level. */
static int v1_cpuset_inherit(const struct cgroup *cg, const char *parent, const char *dir, const void *data,
                             struct mctr_err *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *mine = NULL, *theirs = NULL;
		struct mctr_err e = { 0 };
		if (cg_read(dir, files[i], &mine, &e) < 0 && !(cg->fake_fs && e.errnum == ENOENT)) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		if (mine != NULL && mine[strspn(mine, " \n")] != '\0')
			continue;
		if (cg_read(parent, files[i], &theirs, err) < 0)
			return -1;
		theirs[strcspn(theirs, "\n")] = '\0';
		if (cg_write(cg, dir, files[i], theirs, false, err) < 0)
			return -1;
	}
	return 0;
}

static int need(const struct cgroup *cg, unsigned ctrl, const char *what, struct cgroup_hier **out,
                struct mctr_err *err)
{
	*out = find_hier(cg, ctrl);
	if (*out == NULL)
		return mctr_fail(err, ENOTSUP, "%s requested but the %s controller is not mounted under %s", what,
		                 controller_name(ctrl), cg->root);
	return 0;
}

static int v1_set_memory(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	struct cgroup_hier *h;
	if (!res->has_memory && !res->has_memory_swap)
		return 0;
	if (need(cg, CG_CTRL_MEMORY, "a memory limit", &h, err) < 0)
		return -1;
	/* The new cgroup starts unlimited, so memory then memsw keeps
	 * memsw >= memory at every step. */
	if (res->has_memory && cg_write_i64(cg, h->leaf, "memory.limit_in_bytes", res->memory, "-1", err) < 0)
		return -1;
	if (res->has_memory_swap) {
		if (!cg->fake_fs && !cg_file_exists(h->leaf, "memory.memsw.limit_in_bytes"))
			return mctr_fail(err, ENOTSUP, "a memory+swap limit needs swap accounting "
			                 "(no memory.memsw.limit_in_bytes in %s)", h->leaf);
		if (cg_write_i64(cg, h->leaf, "memory.memsw.limit_in_bytes", res->memory_swap, "-1", err) < 0)
			return -1;
	}
	return 0;
}

static int v1_set_cpu(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	struct cgroup_hier *h;
	if (res->has_cpu_shares || res->has_cpu_quota || res->has_cpu_period) {
		if (need(cg, CG_CTRL_CPU, "a cpu limit", &h, err) < 0)
			return -1;
		if (res->has_cpu_shares &&
		    cg_write_i64(cg, h->leaf, "cpu.shares", (int64_t)res->cpu_shares, "", err) < 0)
			return -1;
		/* Period first: the fresh cgroup has no quota, so any period is valid. */
		if (res->has_cpu_period &&
		    cg_write_i64(cg, h->leaf, "cpu.cfs_period_us", (int64_t)res->cpu_period, "", err) < 0)
			return -1;
		if (res->has_cpu_quota && cg_write_i64(cg, h->leaf, "cpu.cfs_quota_us", res->cpu_quota, "-1", err) < 0)
			return -1;
	}
	if (res->cpuset_cpus != NULL || res->cpuset_mems != NULL) {
		if (need(cg, CG_CTRL_CPUSET, "a cpuset", &h, err) < 0)
			return -1;
		if (res->cpuset_cpus != NULL && cg_write(cg, h->leaf, "cpuset.cpus", res->cpuset_cpus, false, err) < 0)
			return -1;
		if (res->cpuset_mems != NULL && cg_write(cg, h->leaf, "cpuset.mems", res->cpuset_mems, false, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_set_devices(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	struct cgroup_hier *h = find_hier(cg, CG_CTRL_DEVICES);
	if (!res->has_devices)
		return 0;
	if (h == NULL) {
		mctr_debug("cgroup %s: no devices hierarchy, device rules not enforced", cg->name);
		cg->devices = CG_DEVICES_UNENFORCED;
		return 0;
	}
	/* Start from deny-all, then apply the rules in order.  v1 keeps an
	 * exception list: "allow" adds an entry, "deny" removes a matching
	 * one, which gives "last match wins" for allow-list specs such as
	 * Docker's.  v1 "a" ignores major:minor and access, so a partial 'a'
	 * rule is written as the 'c' and 'b' rules it means. */
	/* Each write(2) is one rule: keep the two files open for the series. */
	_cleanup_close_ int deny = cg_open_knob(cg, h->leaf, "devices.deny", true, err);
	_cleanup_close_ int allow = deny < 0 ? -1 : cg_open_knob(cg, h->leaf, "devices.allow", true, err);
	if (allow < 0 || cg_write_fd(cg, deny, "devices.deny", "a", true, err) < 0)
		return -1;
	for (size_t i = 0; i < res->n_devices; i++) {
		struct cgroup_device_rule r = res->devices[i];
		int fd = r.allow ? allow : deny;
		const char *file = r.allow ? "devices.allow" : "devices.deny";
		char line[64];
		cgroup_device_rule_format(&r, line);
		if (i == 0 && !r.allow && strcmp(line, "a") == 0)
			continue; /* already written */
		if (r.type == 'a' && strcmp(line, "a") != 0) {
			r.type = 'c';
			cgroup_device_rule_format(&r, line);
			if (cg_write_fd(cg, fd, file, line, true, err) < 0)
				return -1;
			r.type = 'b';
			cgroup_device_rule_format(&r, line);
		}
		if (cg_write_fd(cg, fd, file, line, true, err) < 0)
			return -1;
	}
	cg->devices = CG_DEVICES_ENFORCED;
	return 0;
}

static int v1_create(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	struct cgroup_hier *unused;
	bool memory = res->has_memory || res->has_memory_swap;
	bool cpu = res->has_cpu_shares || res->has_cpu_quota || res->has_cpu_period;
	bool cpuset = res->cpuset_cpus != NULL || res->cpuset_mems != NULL;
	/* Refuse before any mkdir when a needed controller is missing. */
	if ((memory && need(cg, CG_CTRL_MEMORY, "a memory limit", &unused, err) < 0) ||
	    (cpu && need(cg, CG_CTRL_CPU, "a cpu limit", &unused, err) < 0) ||
	    (cpuset && need(cg, CG_CTRL_CPUSET, "a cpuset", &unused, err) < 0) ||
	    (res->has_pids_limit && need(cg, CG_CTRL_PIDS, "a pids limit", &unused, err) < 0))
		return -1;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cgroup_hier *h = &cg->hier[i];
		if (cg_mkdir_name(cg, h->mount, (h->ctrl & CG_CTRL_CPUSET) ? v1_cpuset_inherit : NULL, NULL, err) < 0)
			return -1;
	}
	if (v1_set_memory(cg, res, err) < 0 || v1_set_cpu(cg, res, err) < 0)
		return -1;
	if (res->has_pids_limit) {
		struct cgroup_hier *h = find_hier(cg, CG_CTRL_PIDS);
		if (cg_write_i64(cg, h->leaf, "pids.max", res->pids_limit, "max", err) < 0)
			return -1;
	}
	return v1_set_devices(cg, res, err);
}

static int v1_read_state(const char *leaf, char **state, struct mctr_err *err)
{
	if (cg_read(leaf, "freezer.state", state, err) < 0)
		return -1;
	(*state)[strcspn(*state, "\n")] = '\0';
	return 0;
}

/* freezer.state goes FREEZING -> FROZEN once every task has stopped; like
 * runc, keep re-asking and give up (thawing again) after a bounded wait. */
static int v1_freeze(struct cgroup *cg, bool on, struct mctr_err *err)
{
	struct cgroup_hier *h = find_hier(cg, CG_CTRL_FREEZER);
	const char *want = on ? "FROZEN" : "THAWED";
	if (h == NULL)
		return 0;
	int64_t waited = 0;
	unsigned delay = 1;
	for (;;) {
		struct mctr_err e = { 0 };
		_cleanup_free_ char *state = NULL;
		if (cg_write(cg, h->leaf, "freezer.state", want, false, &e) < 0 ||
		    v1_read_state(h->leaf, &state, &e) < 0) {
			if (e.errnum == ENOENT)
				return 0;
			if (err != NULL)
				*err = e;
			return -1;
		}
		if (strcmp(state, want) == 0)
			return 1;
		if (waited >= FREEZE_TIMEOUT_MS)
			break;
		sleep_ms(delay);
		waited += delay;
		delay = delay < 20 ? delay * 2 : 20;
	}
	if (!on)
		return mctr_fail(err, EBUSY, "%s/freezer.state did not become THAWED", h->leaf);
	mctr_debug("cgroup %s: freezer did not settle in %d ms, thawing", cg->name, FREEZE_TIMEOUT_MS);
	cg_write(cg, h->leaf, "freezer.state", "THAWED", false, NULL);
	return 0;
}

static int v1_oom_kill_count(struct cgroup *cg, uint64_t *count, struct mctr_err *err)
{
	struct cgroup_hier *h = find_hier(cg, CG_CTRL_MEMORY);
	if (h == NULL)
		return mctr_fail(err, ENOTSUP, "no memory controller under %s to count OOM kills in", cg->root);
	int r = cg_read_key(h->leaf, "memory.oom_control", "oom_kill", count, err);
	if (r < 0)
		return mctr_err_wrap(err, "cgroup %s", cg->name);
	if (r > 0)
		return mctr_fail(err, ENOTSUP, "%s/memory.oom_control has no oom_kill counter (kernel < 4.13)",
		                 h->leaf);
	return 0;
}

static bool v1_probe_devices(struct cgroup *cg)
{
	return find_hier(cg, CG_CTRL_DEVICES) != NULL;
}

/* Swap accounting (swapaccount=1, CONFIG_MEMCG_SWAP) gives every memory
 * cgroup, the root included, the memsw files (Docker's sysinfo test). */
static bool v1_probe_swap(struct cgroup *cg)
{
	const struct cgroup_hier *h = find_hier(cg, CG_CTRL_MEMORY);
	return h != NULL && cg_file_exists(h->mount, "memory.memsw.limit_in_bytes");
}

const struct cgroup_ops cgroup_ops_v1 = {
	.discover = v1_discover,
	.create = v1_create,
	.freeze = v1_freeze,
	.oom_kill_count = v1_oom_kill_count,
	.probe_devices = v1_probe_devices,
	.probe_swap = v1_probe_swap,
};
