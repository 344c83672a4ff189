/* linux.resources and process.rlimits as dockerd fills them: moby
 * daemon/daemon_unix.go (adaptContainerSettings, verifyPlatformContainer-
 * Resources, getMemoryResources, getCPUResources, getPidsLimit) and
 * daemon/oci_linux.go (WithDevices, withRlimits). */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "spec_internal.h"

/* Not a kernel limit: dockerd's floor for a container that can start. */
#define SPEC_MIN_MEMORY 6291456
#define NANOCPUS_PER_CPU 1000000000LL

/* ---- devices ------------------------------------------------------------------------ */

/* One rule as OCI JSON; "a" and "*" are left out, as moby writes them. */
static json_t *device_rule_json(const struct cgroup_device_rule *r)
{
	json_t *j = json_object();
	json_object_set_new(j, "allow", json_boolean(r->allow));
	if (r->type != 'a')
		json_object_set_new(j, "type", json_sprintf("%c", r->type));
	if (r->major != CGROUP_DEV_ANY)
		json_object_set_new(j, "major", json_integer(r->major));
	if (r->minor != CGROUP_DEV_ANY)
		json_object_set_new(j, "minor", json_integer(r->minor));
	json_object_set_new(j, "access", json_string(r->access));
	return j;
}

/* Docker's default rules (deny all, then the standard nodes), the same list
 * the cgroup module applies by default; --privileged allows everything. */
static json_t *devices_json(const struct spec_options *o)
{
	json_t *arr = json_array();
	if (o->privileged) {
		const struct cgroup_device_rule all = { true, 'a', CGROUP_DEV_ANY, CGROUP_DEV_ANY, "rwm" };
		json_array_append_new(arr, device_rule_json(&all));
		return arr;
	}
	struct cgroup_resources defaults;
	cgroup_resources_init(&defaults);
	cgroup_resources_set_default_devices(&defaults);
	for (size_t i = 0; i < defaults.n_devices; i++)
		json_array_append_new(arr, device_rule_json(&defaults.devices[i]));
	cgroup_resources_free(&defaults);
	return arr;
}

/* ---- memory ---------------------------------------------------------------------------- */

static int memory_json(const struct spec_options *o, json_t **out, struct mctr_err *err)
{
	int64_t mem = o->has_memory ? o->memory : 0;
	int64_t swap = o->has_memory_swap ? o->memory_swap : 0;
	*out = NULL;
	if (mem < 0)
		return mctr_fail(err, 0, "--memory %" PRId64 ": a memory limit cannot be negative", mem);
	if (mem != 0 && mem < SPEC_MIN_MEMORY)
		return mctr_fail(err, 0, "--memory %" PRId64 ": the minimum memory limit allowed is 6MB", mem);
	if (swap < -1)
		return mctr_fail(err, 0, "--memory-swap %" PRId64 ": expected -1 (unlimited) or a size", swap);
	/* By default the swap limit (memory + swap) is twice the memory limit. */
	if (mem > 0 && swap == 0)
		swap = mem <= INT64_MAX / 2 ? mem * 2 : -1;
	if (mem > 0 && swap != -1 && o->swap_limit_unsupported) {
		mctr_warn("your kernel does not support swap limit capabilities or the cgroup is not mounted: "
		          "memory limited without swap");
		swap = -1;
	}
	if (mem > 0 && swap > 0 && swap < mem)
		return mctr_fail(err, 0, "--memory-swap %" PRId64 " is smaller than --memory %" PRId64
		                 ": the memory+swap limit must be at least the memory limit", swap, mem);
	if (mem == 0 && swap > 0)
		return mctr_fail(err, 0, "--memory-swap %" PRId64 " needs a --memory limit as well", swap);
	if (mem == 0)
		return 0;
	/* moby writes no swap for -1: a new cgroup's swap is unlimited anyway. */
	*out = swap > 0 ? json_pack("{s:I, s:I}", "limit", (json_int_t)mem, "swap", (json_int_t)swap)
	                : json_pack("{s:I}", "limit", (json_int_t)mem);
	return 0;
}

/* ---- cpu ---------------------------------------------------------------------------------- */

/* Go's runtime.NumCPU(): the CPUs this process may run on. */
static int usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int cpu_json(const struct spec_options *o, json_t **out, struct mctr_err *err)
{
	json_t *cpu = json_object();
	*out = NULL;
	if (o->has_cpus && o->nanocpus != 0) {
		int ncpu = usable_cpus();
		if (o->nanocpus < 0 || o->nanocpus > (int64_t)ncpu * NANOCPUS_PER_CPU) {
			json_decref(cpu);
			return mctr_fail(err, 0, "--cpus: the range of CPUs is from 0.01 to %d.00, as there are "
			                 "only %d CPUs available", ncpu, ncpu);
		}
		struct cgroup_resources r;
		cgroup_resources_init(&r);
		int rc = cgroup_resources_set_cpus(&r, o->nanocpus, err);
		if (rc == 0) {
			json_object_set_new(cpu, "quota", json_integer(r.cpu_quota));
			json_object_set_new(cpu, "period", json_integer((json_int_t)r.cpu_period));
		}
		cgroup_resources_free(&r);
		if (rc < 0) {
			json_decref(cpu);
			return mctr_err_wrap(err, "--cpus");
		}
	}
	/* 0 is "unset"; moby passes any other value through (the kernel clamps
	 * v1 shares to 2..262144). */
	if (o->has_cpu_shares && o->cpu_shares != 0) {
		if (o->cpu_shares > INT64_MAX) {
			json_decref(cpu);
			return mctr_fail(err, 0, "--cpu-shares %" PRIu64 " is out of range", o->cpu_shares);
		}
		json_object_set_new(cpu, "shares", json_integer((json_int_t)o->cpu_shares));
	}
	if (json_object_size(cpu) == 0)
		json_decref(cpu);
	else
		*out = cpu;
	return 0;
}

int spec_resources_build(const struct spec_options *o, json_t **out, struct mctr_err *err)
{
	_cleanup_json_ json_t *res = json_object();
	json_t *mem, *cpu;
	json_object_set_new(res, "devices", devices_json(o));
	if (memory_json(o, &mem, err) < 0)
		return -1;
	if (mem != NULL)
		json_object_set_new(res, "memory", mem);
	if (cpu_json(o, &cpu, err) < 0)
		return -1;
	if (cpu != NULL)
		json_object_set_new(res, "cpu", cpu);
	/* Docker: 0 or negative means unlimited, which a new cgroup already is. */
	if (o->has_pids_limit && o->pids_limit > 0)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
	*out = steal_pointer(&res);
	return 0;
}

/* ---- rlimits --------------------------------------------------------------------------------- */

/* uint64 -> JSON: RLIM_INFINITY becomes INT64_MAX, which spec_load.c reads
 * back as unlimited (a jansson integer cannot hold UINT64_MAX). */
static int rlimit_value(const char *type, const char *which, uint64_t v, json_int_t *out, struct mctr_err *err)
{
	if (v == (uint64_t)RLIM_INFINITY) {
		*out = INT64_MAX;
		return 0;
	}
	if (v >= (uint64_t)INT64_MAX)
		return mctr_fail(err, 0, "ulimit %s: %s limit %" PRIu64 " is out of range", type, which, v);
	*out = (json_int_t)v;
	return 0;
}

int spec_rlimits_build(const struct spec_options *o, json_t **out, struct mctr_err *err)
{
	_cleanup_json_ json_t *arr = json_array();
	*out = NULL;
	for (size_t i = 0; i < o->n_ulimits; i++) {
		const struct spec_ulimit *u = &o->ulimits[i];
		const char *type = spec_rlimit_type(u->resource);
		if (type == NULL)
			return mctr_fail(err, 0, "ulimit: unknown resource %d", u->resource);
		if (u->soft > u->hard)
			return mctr_fail(err, 0, "ulimit %s: the soft limit is above the hard limit", type);
		json_int_t soft = 0, hard = 0;
		if (rlimit_value(type, "soft", u->soft, &soft, err) < 0 ||
		    rlimit_value(type, "hard", u->hard, &hard, err) < 0)
			return -1;
		json_t *r = json_pack("{s:s, s:I, s:I}", "type", type, "soft", soft, "hard", hard);
		/* A type may appear once (runtime-spec); as Docker's --ulimit map,
		 * the last one given wins. */
		size_t k;
		json_t *prev;
		bool replaced = false;
		json_array_foreach(arr, k, prev) {
			if (strcmp(json_string_value(json_object_get(prev, "type")), type) == 0) {
				json_array_set_new(arr, k, r);
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(arr, r);
	}
	if (json_array_size(arr) > 0)
		*out = steal_pointer(&arr);
	return 0;
}
