/* cgroup v2: one unified hierarchy at <root>.  Controllers must be enabled
 * top-down in every ancestor's cgroup.subtree_control, and only cgroups
 * without processes may enable them ("no internal processes"), so the
 * "mctr" parent never holds a process.  Device rules become a BPF program
 * (cgroup_bpf.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

#define FREEZE_TIMEOUT_MS 2000

/* Enabled for every container when the parent offers them, so usage stats
 * and later updates work; a limit whose controller is missing fails. */
static const char *const wanted_controllers[] = { "cpuset", "cpu", "io", "memory", "pids" };

static int v2_discover(struct cgroup *cg, struct mctr_err *err)
{
	cg->hier = xcalloc(1, sizeof *cg->hier);
	cg->hier[0].mount = xstrdup(cg->root);
	cg->hier[0].leaf = path_join(cg->root, cg->name);
	cg->hier[0].unified = true;
	cg->n_hier = 1;
	return 0;
}

/* The controllers the limits in res cannot do without. */
static bool needed(const struct cgroup_resources *res, const char *ctrl)
{
	if (strcmp(ctrl, "memory") == 0)
		return res->has_memory || res->has_memory_swap;
	if (strcmp(ctrl, "cpu") == 0)
		return res->has_cpu_shares || res->has_cpu_quota || res->has_cpu_period;
	if (strcmp(ctrl, "cpuset") == 0)
		return res->cpuset_cpus != NULL || res->cpuset_mems != NULL;
	if (strcmp(ctrl, "pids") == 0)
		return res->has_pids_limit;
	return false;
}

/* Enable the wanted controllers in parent (each listed in its
 * cgroup.controllers and not already on), so that dir gets them. */
static int v2_enable_in_parent(const struct cgroup *cg, const char *parent, const char *dir, const void *data,
                               struct mctr_err *err)
{
	const struct cgroup_resources *res = data;
	_cleanup_free_ char *available = NULL, *enabled = NULL;
	struct mctr_err e = { 0 };
	if (cg_read(parent, "cgroup.controllers", &available, &e) < 0) {
		if (!(cg->fake_fs && e.errnum == ENOENT)) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		available = xstrdup("");
	}
	if (cg_read(parent, "cgroup.subtree_control", &enabled, &e) < 0) {
		if (!(cg->fake_fs && e.errnum == ENOENT)) {
			if (err != NULL)
				*err = e;
			return -1;
		}
		enabled = xstrdup("");
	}
	for (size_t i = 0; i < sizeof wanted_controllers / sizeof wanted_controllers[0]; i++) {
		const char *ctrl = wanted_controllers[i];
		bool must = needed(res, ctrl);
		if (cg_list_has(enabled, ctrl))
			continue;
		if (!cg_list_has(available, ctrl)) {
			if (must)
				return mctr_fail(err, ENOTSUP, "a %s limit needs the %s controller, "
				                 "which %s/cgroup.controllers lacks", ctrl, ctrl, parent);
			continue;
		}
		char token[32];
		snprintf(token, sizeof token, "+%s", ctrl);
		if (cg_write(cg, parent, "cgroup.subtree_control", token, true, &e) < 0) {
			if (must) {
				if (err != NULL)
					*err = e;
				return -1;
			}
			mctr_debug("cgroup %s: %s", cg->name, e.msg);
		}
	}
	return 0;
}

static int v2_set_limits(struct cgroup *cg, const char *leaf, const struct cgroup_resources *res,
                         struct mctr_err *err)
{
	if (res->has_memory && cg_write_i64(cg, leaf, "memory.max", res->memory, "max", err) < 0)
		return -1;
	if (res->has_memory_swap) {
		int64_t swap_max;
		if (cgroup_memory_swap_to_v2(res->has_memory, res->memory, res->memory_swap, &swap_max, err) < 0)
			return -1;
		if (!cg->fake_fs && !cg_file_exists(leaf, "memory.swap.max"))
			return mctr_fail(err, ENOTSUP, "a memory+swap limit needs swap accounting "
			                 "(no memory.swap.max in %s)", leaf);
		if (cg_write_i64(cg, leaf, "memory.swap.max", swap_max, "max", err) < 0)
			return -1;
	}
	if (res->has_cpu_shares &&
	    cg_write_i64(cg, leaf, "cpu.weight", (int64_t)cgroup_cpu_shares_to_weight(res->cpu_shares), "", err) < 0)
		return -1;
	if (res->has_cpu_quota || res->has_cpu_period) {
		/* "$MAX $PERIOD"; without a period the kernel keeps the current one. */
		char buf[64];
		int n = (res->has_cpu_quota && res->cpu_quota != CGROUP_UNLIMITED)
		                ? snprintf(buf, sizeof buf, "%" PRId64, res->cpu_quota)
		                : snprintf(buf, sizeof buf, "max");
		if (res->has_cpu_period)
			snprintf(buf + n, sizeof buf - (size_t)n, " %" PRIu64, res->cpu_period);
		if (cg_write(cg, leaf, "cpu.max", buf, false, err) < 0)
			return -1;
	}
	if (res->has_pids_limit && cg_write_i64(cg, leaf, "pids.max", res->pids_limit, "max", err) < 0)
		return -1;
	if (res->cpuset_cpus != NULL && cg_write(cg, leaf, "cpuset.cpus", res->cpuset_cpus, false, err) < 0)
		return -1;
	if (res->cpuset_mems != NULL && cg_write(cg, leaf, "cpuset.mems", res->cpuset_mems, false, err) < 0)
		return -1;
	return 0;
}

static int v2_set_devices(struct cgroup *cg, const char *leaf, const struct cgroup_resources *res,
                          struct mctr_err *err)
{
	if (!res->has_devices)
		return 0;
	if (cg->fake_fs) {
		cg->devices = CG_DEVICES_UNENFORCED; /* a plain directory takes no BPF program */
		return 0;
	}
	struct mctr_err e = { 0 };
	if (cgroup_bpf_attach_devices(leaf, res->devices, res->n_devices, &e) == 0) {
		cg->devices = CG_DEVICES_ENFORCED;
		return 0;
	}
	/* Refused outright (no CAP_BPF/CAP_SYS_ADMIN, no CGROUP_BPF): report it
	 * through cgroup_can_restrict_devices().  Refused although the kernel
	 * takes device programs: a real error. */
	if (cgroup_bpf_devices_supported()) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	mctr_debug("cgroup %s: device rules not enforced: %s", cg->name, e.msg);
	cg->devices = CG_DEVICES_UNENFORCED;
	return 0;
}

static int v2_create(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err)
{
	const char *leaf = cg->hier[0].leaf;
	if (cg_mkdir_name(cg, cg->hier[0].mount, v2_enable_in_parent, res, err) < 0)
		return -1;
	if (v2_set_limits(cg, leaf, res, err) < 0)
		return -1;
	return v2_set_devices(cg, leaf, res, err);
}

/* cgroup.freeze (>= 5.2); the cgroup is frozen once cgroup.events says
 * "frozen 1". */
static int v2_freeze(struct cgroup *cg, bool on, struct mctr_err *err)
{
	const char *leaf = cg->hier[0].leaf;
	if (!cg_file_exists(leaf, "cgroup.freeze"))
		return 0;
	if (cg_write(cg, leaf, "cgroup.freeze", on ? "1" : "0", false, err) < 0)
		return err != NULL && err->errnum == ENOENT ? 0 : -1;
	if (!on)
		return 1;
	int64_t waited = 0;
	unsigned delay = 1;
	for (;;) {
		uint64_t frozen = 0;
		struct mctr_err e = { 0 };
		if (cg_read_key(leaf, "cgroup.events", "frozen", &frozen, &e) != 0)
			break; /* cannot tell: treat as not frozen */
		if (frozen == 1)
			return 1;
		if (waited >= FREEZE_TIMEOUT_MS)
			break;
		sleep_ms(delay);
		waited += delay;
		delay = delay < 20 ? delay * 2 : 20;
	}
	mctr_debug("cgroup %s: not frozen after %d ms, thawing", cg->name, FREEZE_TIMEOUT_MS);
	cg_write(cg, leaf, "cgroup.freeze", "0", false, NULL);
	return 0;
}

static int v2_oom_kill_count(struct cgroup *cg, uint64_t *count, struct mctr_err *err)
{
	const char *leaf = cg->hier[0].leaf;
	if (!cg_file_exists(leaf, "memory.events"))
		return mctr_fail(err, ENOTSUP, "no memory controller in %s to count OOM kills in", leaf);
	int r = cg_read_key(leaf, "memory.events", "oom_kill", count, err);
	if (r < 0)
		return mctr_err_wrap(err, "cgroup %s", cg->name);
	if (r > 0)
		return mctr_fail(err, ENOTSUP, "%s/memory.events has no oom_kill counter", leaf);
	return 0;
}

static bool v2_probe_devices(struct cgroup *cg)
{
	return !cg->fake_fs && cgroup_bpf_devices_supported();
}

/* As Docker's sysinfo: the memory controller is available.  (The swap
 * files only exist below the root, so a kernel without swap accounting is
 * only found out by cgroup_create(), which then names memory.swap.max.) */
static bool v2_probe_swap(struct cgroup *cg)
{
	_cleanup_free_ char *controllers = NULL;
	struct mctr_err ignored = { 0 };
	return cg_read(cg->root, "cgroup.controllers", &controllers, &ignored) == 0 &&
	       cg_list_has(controllers, "memory");
}

const struct cgroup_ops cgroup_ops_v2 = {
	.discover = v2_discover,
	.create = v2_create,
	.freeze = v2_freeze,
	.oom_kill_count = v2_oom_kill_count,
	.probe_devices = v2_probe_devices,
	.probe_swap = v2_probe_swap,
};
