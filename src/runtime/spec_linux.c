/* The "linux" object of config.json -> struct rt_spec: namespaces, device
 * nodes, sysctls (only those of namespaces the container owns), cgroup
 * resources (-> struct cgroup_resources, plus the device rules the runtime
 * needs), cgroupsPath, masked and read-only paths, root propagation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "rt_internal.h"

/* ---- linux ---------------------------------------------------------------- */

static const char *const ns_names[RT_NS_COUNT] = {
	[RT_NS_MOUNT] = "mount", [RT_NS_PID] = "pid", [RT_NS_UTS] = "uts",
	[RT_NS_IPC] = "ipc",     [RT_NS_NET] = "network", [RT_NS_CGROUP] = "cgroup",
};

static int parse_namespaces(const json_t *arr, struct rt_spec *spec, struct mctr_err *err)
{
	bool seen[RT_NS_COUNT] = { false };
	if (arr != NULL && !json_is_null(arr) && !json_is_array(arr))
		return mctr_fail(err, 0, "linux.namespaces: expected an array");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *type = json_get_str(v, "type");
		const char *path = json_get_str(v, "path");
		if (type == NULL)
			return mctr_fail(err, 0, "linux.namespaces[%zu]: missing \"type\"", i);
		int k = 0;
		while (k < RT_NS_COUNT && strcmp(ns_names[k], type) != 0)
			k++;
		if (k == RT_NS_COUNT) {
			if (strcmp(type, "user") == 0 || strcmp(type, "time") == 0)
				return mctr_fail(err, ENOTSUP, "linux.namespaces: %s namespaces are not supported",
				                 type);
			return mctr_fail(err, EINVAL, "linux.namespaces: unknown type \"%s\"", type);
		}
		if (seen[k])
			return mctr_fail(err, EINVAL, "linux.namespaces: %s is given twice", type);
		seen[k] = true;
		if (path != NULL && path[0] != '\0') {
			if (k != RT_NS_NET && k != RT_NS_IPC && k != RT_NS_UTS)
				return mctr_fail(err, ENOTSUP, "linux.namespaces: joining an existing %s namespace "
				                 "(%s) is not supported", type, path);
			if (!rt_path_is_abs(path))
				return mctr_fail(err, EINVAL, "linux.namespaces: %s path \"%s\" is not absolute", type,
				                 path);
			spec->ns_path[k] = xstrdup(path);
		} else {
			spec->ns_new[k] = true;
		}
	}
	/* Without its own mount namespace every mount would land on the host. */
	if (!spec->ns_new[RT_NS_MOUNT])
		return mctr_fail(err, ENOTSUP, "linux.namespaces: a new mount namespace is required");
	return 0;
}

static int parse_devices(const json_t *arr, struct rt_spec *spec, struct mctr_err *err)
{
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mctr_fail(err, 0, "linux.devices: expected an array");
	size_t n = json_array_size(arr);
	spec->devices = xcalloc(n ? n : 1, sizeof *spec->devices);
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_array_get(arr, i);
		struct rt_device *d = &spec->devices[spec->n_devices++];
		_cleanup_free_ char *type = NULL;
		int64_t mode = 0666, uid = 0, gid = 0;
		if (rt_json_str(j, "path", &d->path, "linux.devices[]", err) < 0 ||
		    rt_json_str(j, "type", &type, "linux.devices[]", err) < 0 ||
		    rt_json_int(j, "major", 0, UINT32_MAX, &d->major, NULL, "linux.devices[]", err) < 0 ||
		    rt_json_int(j, "minor", 0, UINT32_MAX, &d->minor, NULL, "linux.devices[]", err) < 0 ||
		    rt_json_int(j, "fileMode", 0, 07777, &mode, NULL, "linux.devices[]", err) < 0 ||
		    rt_json_int(j, "uid", 0, UINT32_MAX - 1, &uid, NULL, "linux.devices[]", err) < 0 ||
		    rt_json_int(j, "gid", 0, UINT32_MAX - 1, &gid, NULL, "linux.devices[]", err) < 0)
			return -1;
		if (!rt_path_is_abs(d->path) || strncmp(d->path, "/dev/", 5) != 0)
			return mctr_fail(err, EINVAL, "linux.devices[%zu]: path \"%s\" is not under /dev", i,
			                 d->path ? d->path : "");
		if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
			return mctr_fail(err, EINVAL, "linux.devices %s: type must be c, b, u or p", d->path);
		d->type = type[0] == 'u' ? 'c' : type[0];
		d->mode = (mode_t)mode;
		d->uid = (uid_t)uid;
		d->gid = (gid_t)gid;
	}
	return 0;
}

/* Only sysctls of a namespace the container has its own copy of: any
 * other one would be written for the whole host (runc's list). */
static bool sysctl_is_namespaced(const struct rt_spec *spec, const char *key)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
		                           "kernel.shm_rmid_forced", NULL };
	bool own_ipc = spec->ns_new[RT_NS_IPC] || spec->ns_path[RT_NS_IPC];
	bool own_net = spec->ns_new[RT_NS_NET] || spec->ns_path[RT_NS_NET];
	bool own_uts = spec->ns_new[RT_NS_UTS] || spec->ns_path[RT_NS_UTS];
	for (size_t i = 0; ipc[i] != NULL; i++)
		if (strcmp(key, ipc[i]) == 0)
			return own_ipc;
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return own_ipc;
	if (strncmp(key, "net.", 4) == 0)
		return own_net;
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return own_uts;
	return false;
}

static int parse_sysctl(const json_t *obj, struct rt_spec *spec, struct mctr_err *err)
{
	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return mctr_fail(err, 0, "linux.sysctl: expected an object");
	spec->sysctls = xcalloc(json_object_size(obj) + 1, sizeof *spec->sysctls);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		if (!json_is_string(v))
			return mctr_fail(err, 0, "linux.sysctl.%s: expected a string", key);
		if (key[0] == '\0' || key[0] == '.' || key[0] == '/' || strstr(key, "..") != NULL)
			return mctr_fail(err, EINVAL, "linux.sysctl: bad name \"%s\"", key);
		if (!sysctl_is_namespaced(spec, key))
			return mctr_fail(err, EPERM,
			                 "linux.sysctl: %s is not namespaced (or the container does not have its own "
			                 "namespace for it): setting it would change the host", key);
		struct rt_sysctl *s = &spec->sysctls[spec->n_sysctls++];
		s->key = xstrdup(key);
		s->value = xstrdup(json_string_value(v));
	}
	return 0;
}

/* ---- linux.resources -> struct cgroup_resources --------------------------- */

static int parse_device_rules(const json_t *arr, struct cgroup_resources *res, struct mctr_err *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		struct cgroup_device_rule r = { .type = 'a', .major = CGROUP_DEV_ANY, .minor = CGROUP_DEV_ANY };
		const char *type = json_get_str(v, "type");
		const char *access = json_get_str(v, "access");
		bool allow = false;
		if (rt_json_bool(v, "allow", &allow, "linux.resources.devices[]", err) < 0 ||
		    rt_json_int(v, "major", CGROUP_DEV_ANY, UINT32_MAX, &r.major, NULL, "linux.resources.devices[]",
		                err) < 0 ||
		    rt_json_int(v, "minor", CGROUP_DEV_ANY, UINT32_MAX, &r.minor, NULL, "linux.resources.devices[]",
		                err) < 0)
			return -1;
		r.allow = allow;
		if (type != NULL && type[0] != '\0')
			r.type = type[0];
		snprintf(r.access, sizeof r.access, "%s", access != NULL && access[0] ? access : "rwm");
		if (access != NULL && strlen(access) >= sizeof r.access)
			return mctr_fail(err, EINVAL, "linux.resources.devices[%zu]: bad access \"%s\"", i, access);
		if (cgroup_resources_add_device(res, &r, err) < 0)
			return mctr_err_wrap(err, "linux.resources.devices[%zu]", i);
	}
	return 0;
}

/* The nodes every container gets (devices.c) must stay usable whatever the
 * spec's rules say, as runc does: append the default allow rules (the
 * defaults minus their leading "deny all"), and one for each spec device. */
static int add_runtime_device_rules(struct rt_spec *spec, struct mctr_err *err)
{
	struct cgroup_resources *res = &spec->resources;
	if (!res->has_devices) {
		cgroup_resources_set_default_devices(res);
	} else {
		struct cgroup_resources defaults;
		cgroup_resources_init(&defaults);
		cgroup_resources_set_default_devices(&defaults);
		for (size_t i = 0; i < defaults.n_devices; i++) {
			if (!defaults.devices[i].allow)
				continue;
			if (cgroup_resources_add_device(res, &defaults.devices[i], err) < 0) {
				cgroup_resources_free(&defaults);
				return -1;
			}
		}
		cgroup_resources_free(&defaults);
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct rt_device *d = &spec->devices[i];
		if (d->type == 'p')
			continue;
		struct cgroup_device_rule r = { true, d->type, d->major, d->minor, "rwm" };
		if (cgroup_resources_add_device(res, &r, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_memory(const json_t *mem, struct cgroup_resources *res, struct mctr_err *err)
{
	static const char *const unsupported[] = { "reservation", "kernel", "kernelTCP", "disableOOMKiller", NULL };
	if (mem == NULL)
		return 0;
	if (rt_json_refuse(mem, "linux.resources.memory", unsupported, err) < 0)
		return -1;
	json_t *sw = json_object_get(mem, "swappiness");
	if (sw != NULL && !json_is_null(sw))
		return mctr_fail(err, ENOTSUP, "linux.resources.memory.swappiness is not supported by mctr's runtime");
	const char *w = "linux.resources.memory";
	if (rt_json_int(mem, "limit", -1, INT64_MAX, &res->memory, &res->has_memory, w, err) < 0 ||
	    rt_json_int(mem, "swap", -1, INT64_MAX, &res->memory_swap, &res->has_memory_swap, w, err) < 0)
		return -1;
	return 0;
}

static int parse_cpu(const json_t *cpu, struct cgroup_resources *res, struct mctr_err *err)
{
	static const char *const unsupported[] = { "realtimeRuntime", "realtimePeriod", "idle", NULL };
	if (cpu == NULL)
		return 0;
	if (rt_json_refuse(cpu, "linux.resources.cpu", unsupported, err) < 0)
		return -1;
	int64_t shares = 0, period = 0;
	const char *w = "linux.resources.cpu";
	if (rt_json_int(cpu, "shares", 0, INT64_MAX, &shares, &res->has_cpu_shares, w, err) < 0 ||
	    rt_json_int(cpu, "quota", -1, INT64_MAX, &res->cpu_quota, &res->has_cpu_quota, w, err) < 0 ||
	    rt_json_int(cpu, "period", 0, INT64_MAX, &period, &res->has_cpu_period, w, err) < 0 ||
	    rt_json_str(cpu, "cpus", &res->cpuset_cpus, w, err) < 0 ||
	    rt_json_str(cpu, "mems", &res->cpuset_mems, w, err) < 0)
		return -1;
	res->cpu_shares = (uint64_t)shares;
	res->cpu_period = (uint64_t)period;
	/* "" means unset, as in runc. */
	if (res->cpuset_cpus != NULL && res->cpuset_cpus[0] == '\0') {
		free(res->cpuset_cpus);
		res->cpuset_cpus = NULL;
	}
	if (res->cpuset_mems != NULL && res->cpuset_mems[0] == '\0') {
		free(res->cpuset_mems);
		res->cpuset_mems = NULL;
	}
	return 0;
}

static int parse_resources(const json_t *r, struct rt_spec *spec, struct mctr_err *err)
{
	static const char *const unsupported[] = { "blockIO", "hugepageLimits", "network", "rdma", "unified", NULL };
	struct cgroup_resources *res = &spec->resources;
	if (r != NULL && !json_is_null(r)) {
		if (!json_is_object(r))
			return mctr_fail(err, 0, "linux.resources: expected an object");
		if (rt_json_refuse(r, "linux.resources", unsupported, err) < 0)
			return -1;
		json_t *pids = json_get_obj(r, "pids");
		if (parse_memory(json_get_obj(r, "memory"), res, err) < 0 ||
		    parse_cpu(json_get_obj(r, "cpu"), res, err) < 0)
			return -1;
		if (pids != NULL) {
			if (rt_json_int(pids, "limit", -1, INT64_MAX, &res->pids_limit, &res->has_pids_limit,
			                "linux.resources.pids", err) < 0)
				return -1;
		}
		json_t *devs = json_object_get(r, "devices");
		if (devs != NULL && !json_is_null(devs)) {
			if (!json_is_array(devs))
				return mctr_fail(err, 0, "linux.resources.devices: expected an array");
			if (parse_device_rules(devs, res, err) < 0)
				return -1;
		}
	}
	if (add_runtime_device_rules(spec, err) < 0)
		return -1;
	spec->has_resources = true;
	if (cgroup_resources_validate(res, err) < 0)
		return mctr_err_wrap(err, "linux.resources");
	return 0;
}

static int parse_cgroups_path(const char *p, struct rt_spec *spec, struct mctr_err *err)
{
	if (p == NULL || p[0] == '\0')
		return 0;
	if (strchr(p, ':') != NULL)
		return mctr_fail(err, ENOTSUP, "linux.cgroupsPath \"%s\": systemd slice paths are not supported", p);
	while (*p == '/')
		p++;
	size_t len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return mctr_fail(err, EINVAL, "linux.cgroupsPath must not be the root cgroup");
	spec->cgroups_path = xstrndup(p, len);
	return 0;
}

int rt_spec_parse_linux(const json_t *lx, struct rt_spec *spec, struct mctr_err *err)
{
	static const char *const unsupported[] = { "uidMappings", "gidMappings", "seccomp", "mountLabel",
		                                   "intelRdt", "personality", "timeOffsets", "memoryPolicy",
		                                   "netDevices", NULL };
	if (!json_is_object(lx))
		return mctr_fail(err, 0, "linux: missing or not an object");
	if (rt_json_refuse(lx, "linux", unsupported, err) < 0)
		return -1;
	if (parse_namespaces(json_object_get(lx, "namespaces"), spec, err) < 0 ||
	    parse_devices(json_object_get(lx, "devices"), spec, err) < 0 ||
	    parse_sysctl(json_object_get(lx, "sysctl"), spec, err) < 0 ||
	    parse_resources(json_object_get(lx, "resources"), spec, err) < 0 ||
	    parse_cgroups_path(json_get_str(lx, "cgroupsPath"), spec, err) < 0)
		return -1;
	if (json_to_strv(json_object_get(lx, "maskedPaths"), "linux.maskedPaths", &spec->masked_paths, err) < 0 ||
	    json_to_strv(json_object_get(lx, "readonlyPaths"), "linux.readonlyPaths", &spec->readonly_paths,
	                 err) < 0)
		return -1;
	for (char **p = spec->masked_paths; *p != NULL; p++)
		if (!rt_path_is_abs(*p))
			return mctr_fail(err, EINVAL, "linux.maskedPaths: \"%s\" is not absolute", *p);
	for (char **p = spec->readonly_paths; *p != NULL; p++)
		if (!rt_path_is_abs(*p))
			return mctr_fail(err, EINVAL, "linux.readonlyPaths: \"%s\" is not absolute", *p);
	const char *prop = json_get_str(lx, "rootfsPropagation");
	spec->root_propagation = MS_PRIVATE | MS_REC;
	if (prop != NULL && prop[0] != '\0') {
		if (!rt_parse_propagation(prop, &spec->root_propagation) || (spec->root_propagation & MS_SHARED) ||
		    (spec->root_propagation & MS_UNBINDABLE))
			return mctr_fail(err, ENOTSUP, "linux.rootfsPropagation \"%s\" is not supported "
			                 "(private, rprivate, slave or rslave)", prop);
	}
	return 0;
}

