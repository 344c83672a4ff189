/* config.json (OCI runtime-spec) -> struct rt_spec: process, root, mounts,
 * hostname, annotations (the "linux" object is spec_linux.c's).  Everything
 * is checked here, in the parent, so the child's setup path only fails on
 * what the kernel refuses.  A field mctr cannot honour is an error naming
 * it: running a container with less isolation than its spec asks for is
 * worse than not running it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "rt_internal.h"

/* ---- small typed getters ------------------------------------------------ */

int rt_json_bool(const json_t *obj, const char *key, bool *out, const char *where, struct mctr_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return mctr_fail(err, 0, "%s.%s: expected true or false", where, key);
	*out = json_is_true(v);
	return 0;
}

int rt_json_str(const json_t *obj, const char *key, char **out, const char *where, struct mctr_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return mctr_fail(err, 0, "%s.%s: expected a string", where, key);
	free(*out);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An integer in [min, max]; *has tells whether it was present. */
int rt_json_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, bool *has,
                const char *where, struct mctr_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (has != NULL)
		*has = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return mctr_fail(err, 0, "%s.%s: expected an integer", where, key);
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return mctr_fail(err, 0, "%s.%s: %lld is out of range", where, key, (long long)i);
	*out = i;
	if (has != NULL)
		*has = true;
	return 0;
}

/* Whether obj.key is absent, null, false, 0, "" or empty. */
static bool is_unset(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return true;
	if (json_is_string(v))
		return json_string_length(v) == 0;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	return false;
}

int rt_json_refuse(const json_t *obj, const char *where, const char *const *keys, struct mctr_err *err)
{
	for (; *keys != NULL; keys++)
		if (!is_unset(obj, *keys))
			return mctr_fail(err, ENOTSUP, "%s.%s is not supported by mctr's runtime", where, *keys);
	return 0;
}

bool rt_path_is_abs(const char *p)
{
	return p != NULL && p[0] == '/';
}

/* ---- process ------------------------------------------------------------ */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(const json_t *arr, struct rt_process_spec *p, struct mctr_err *err)
{
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mctr_fail(err, 0, "process.rlimits: expected an array");
	size_t n = json_array_size(arr);
	p->rlimits = xcalloc(n ? n : 1, sizeof *p->rlimits);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(arr, i);
		const char *type = json_get_str(r, "type");
		if (type == NULL)
			return mctr_fail(err, 0, "process.rlimits[%zu]: missing \"type\"", i);
		size_t k = 0;
		while (k < sizeof rlimit_names / sizeof rlimit_names[0] && strcmp(rlimit_names[k].name, type) != 0)
			k++;
		if (k == sizeof rlimit_names / sizeof rlimit_names[0])
			return mctr_fail(err, EINVAL, "process.rlimits: unknown type \"%s\"", type);
		for (size_t j = 0; j < p->n_rlimits; j++)
			if (p->rlimits[j].resource == rlimit_names[k].resource)
				return mctr_fail(err, EINVAL, "process.rlimits: %s is given twice", type);
		json_t *soft = json_object_get(r, "soft"), *hard = json_object_get(r, "hard");
		if (!json_is_integer(soft) || !json_is_integer(hard) || json_integer_value(soft) < 0 ||
		    json_integer_value(hard) < 0)
			return mctr_fail(err, EINVAL, "process.rlimits: %s needs non-negative \"soft\" and \"hard\"",
			                 type);
		/* jansson integers are signed: UINT64_MAX (RLIM_INFINITY) does not
		 * parse, so accept INT64_MAX as "unlimited" too. */
		rlim_t s = (rlim_t)json_integer_value(soft), h = (rlim_t)json_integer_value(hard);
		if (s == (rlim_t)INT64_MAX)
			s = RLIM_INFINITY;
		if (h == (rlim_t)INT64_MAX)
			h = RLIM_INFINITY;
		if (s > h)
			return mctr_fail(err, EINVAL,
			                 "process.rlimits: %s soft limit %llu is above its hard limit %llu", type,
			                 (unsigned long long)s, (unsigned long long)h);
		p->rlimits[p->n_rlimits++] = (struct rt_rlimit){ rlimit_names[k].resource, rlimit_names[k].name, s, h };
	}
	return 0;
}

static int parse_cap_set(const json_t *caps, const char *key, uint64_t *out, struct mctr_err *err)
{
	json_t *arr = json_object_get(caps, key);
	*out = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mctr_fail(err, 0, "process.capabilities.%s: expected an array", key);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		if (name == NULL)
			return mctr_fail(err, 0, "process.capabilities.%s[%zu]: expected a string", key, i);
		int cap;
		if (rt_cap_from_name(name, &cap, err) < 0)
			return mctr_err_wrap(err, "process.capabilities.%s", key);
		if (cap >= 0)
			*out |= UINT64_C(1) << cap;
	}
	return 0;
}

static int parse_caps(const json_t *caps, struct rt_process_spec *p, struct mctr_err *err)
{
	if (caps == NULL || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return mctr_fail(err, 0, "process.capabilities: expected an object");
	p->has_caps = true;
	uint64_t inh = 0, amb = 0;
	if (parse_cap_set(caps, "bounding", &p->caps.bounding, err) < 0 ||
	    parse_cap_set(caps, "effective", &p->caps.effective, err) < 0 ||
	    parse_cap_set(caps, "permitted", &p->caps.permitted, err) < 0 ||
	    parse_cap_set(caps, "inheritable", &inh, err) < 0 || parse_cap_set(caps, "ambient", &amb, err) < 0)
		return -1;
	/* Inheritable and ambient capabilities let a process keep privileges
	 * across execve of programs that were never meant to have them
	 * (CVE-2022-24769); mctr always leaves both empty. */
	if (inh != 0 || amb != 0)
		mctr_debug("runtime: ignoring the inheritable and ambient capability sets of the spec");
	return 0;
}

static int parse_user(const json_t *user, struct rt_process_spec *p, struct mctr_err *err)
{
	if (user == NULL || json_is_null(user))
		return 0;
	if (!json_is_object(user))
		return mctr_fail(err, 0, "process.user: expected an object");
	int64_t v = 0;
	if (rt_json_int(user, "uid", 0, UINT32_MAX - 1, &v, NULL, "process.user", err) < 0)
		return -1;
	p->uid = (uid_t)v;
	v = 0;
	if (rt_json_int(user, "gid", 0, UINT32_MAX - 1, &v, NULL, "process.user", err) < 0)
		return -1;
	p->gid = (gid_t)v;
	bool has_umask = false;
	v = 0;
	if (rt_json_int(user, "umask", 0, 0777, &v, &has_umask, "process.user", err) < 0)
		return -1;
	if (has_umask)
		p->umask = (mode_t)v;
	json_t *groups = json_object_get(user, "additionalGids");
	if (groups != NULL && !json_is_null(groups)) {
		if (!json_is_array(groups))
			return mctr_fail(err, 0, "process.user.additionalGids: expected an array");
		size_t n = json_array_size(groups);
		p->additional_gids = xcalloc(n ? n : 1, sizeof *p->additional_gids);
		for (size_t i = 0; i < n; i++) {
			json_t *g = json_array_get(groups, i);
			if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= UINT32_MAX)
				return mctr_fail(err, 0, "process.user.additionalGids[%zu]: expected a gid", i);
			p->additional_gids[p->n_additional_gids++] = (gid_t)json_integer_value(g);
		}
	}
	return 0;
}

int rt_process_parse(const json_t *proc, struct rt_process_spec *p, struct mctr_err *err)
{
	static const char *const unsupported[] = { "apparmorProfile", "selinuxLabel", "ioPriority", "scheduler",
		                                   "execCPUAffinity", "commandLine", NULL };
	memset(p, 0, sizeof *p);
	p->umask = 022;
	if (!json_is_object(proc))
		return mctr_fail(err, 0, "process: missing or not an object");
	if (rt_json_refuse(proc, "process", unsupported, err) < 0)
		return -1;
	if (rt_json_bool(proc, "terminal", &p->terminal, "process", err) < 0 ||
	    rt_json_bool(proc, "noNewPrivileges", &p->no_new_privileges, "process", err) < 0 ||
	    rt_json_str(proc, "cwd", &p->cwd, "process", err) < 0)
		return -1;
	if (p->cwd == NULL)
		p->cwd = xstrdup("/");
	if (!rt_path_is_abs(p->cwd))
		return mctr_fail(err, EINVAL, "process.cwd \"%s\" is not an absolute path", p->cwd);
	if (json_to_strv(json_object_get(proc, "args"), "process.args", &p->args, err) < 0 ||
	    json_to_strv(json_object_get(proc, "env"), "process.env", &p->env, err) < 0)
		return -1;
	if (p->args[0] == NULL || p->args[0][0] == '\0')
		return mctr_fail(err, EINVAL, "process.args: no command given");
	for (char **e = p->env; *e != NULL; e++)
		if (strchr(*e, '=') == NULL || **e == '=')
			return mctr_fail(err, EINVAL, "process.env: \"%s\" is not NAME=VALUE", *e);
	if (parse_user(json_object_get(proc, "user"), p, err) < 0 ||
	    parse_caps(json_object_get(proc, "capabilities"), p, err) < 0 ||
	    parse_rlimits(json_object_get(proc, "rlimits"), p, err) < 0)
		return -1;
	int64_t adj = 0;
	if (rt_json_int(proc, "oomScoreAdj", -1000, 1000, &adj, &p->has_oom_score_adj, "process", err) < 0)
		return -1;
	p->oom_score_adj = (int)adj;
	return 0;
}

void rt_process_free(struct rt_process_spec *p)
{
	mctr_strv_free(p->args);
	mctr_strv_free(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->user_name);
	free(p->rlimits);
	memset(p, 0, sizeof *p);
}

/* ---- mounts -------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "defaults", 0, 0 },
	{ "ro", MS_RDONLY, 0 },           { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },       { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },         { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },       { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },    { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 },     { "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 },   { "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
	{ "lazytime", MS_LAZYTIME, 0 },   { "nolazytime", 0, MS_LAZYTIME },
	{ "mand", 0, 0 },                 { "nomand", 0, 0 },
	{ "bind", MS_BIND, 0 },           { "rbind", MS_BIND | MS_REC, 0 },
};

static const struct {
	const char *name;
	unsigned long flags;
} propagation_flags[] = {
	{ "private", MS_PRIVATE },     { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },       { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },         { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

bool rt_parse_propagation(const char *s, unsigned long *out)
{
	for (size_t i = 0; i < sizeof propagation_flags / sizeof propagation_flags[0]; i++)
		if (strcmp(s, propagation_flags[i].name) == 0) {
			*out = propagation_flags[i].flags;
			return true;
		}
	return false;
}

int rt_mount_parse_options(const json_t *opts, struct rt_mount *m, struct mctr_err *err)
{
	if (opts == NULL || json_is_null(opts))
		return 0;
	if (!json_is_array(opts))
		return mctr_fail(err, 0, "mount %s: options: expected an array", m->destination);
	size_t data_len = 0;
	char *data = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v) {
		const char *o = json_string_value(v);
		if (o == NULL) {
			free(data);
			return mctr_fail(err, 0, "mount %s: options[%zu]: expected a string", m->destination, i);
		}
		size_t k = 0;
		while (k < sizeof mount_flags / sizeof mount_flags[0] && strcmp(mount_flags[k].name, o) != 0)
			k++;
		if (k < sizeof mount_flags / sizeof mount_flags[0]) {
			m->flags = (m->flags & ~mount_flags[k].clear) | mount_flags[k].set;
			continue;
		}
		if (rt_parse_propagation(o, &m->propagation))
			continue;
		if (strcmp(o, "tmpcopyup") == 0 || strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0 ||
		    strcmp(o, "remount") == 0) {
			free(data);
			return mctr_fail(err, ENOTSUP, "mount %s: option \"%s\" is not supported", m->destination, o);
		}
		size_t len = strlen(o);
		data = xrealloc(data, data_len + len + 2);
		if (data_len > 0)
			data[data_len++] = ',';
		memcpy(data + data_len, o, len + 1);
		data_len += len;
	}
	free(m->data);
	m->data = data;
	return 0;
}

static char *bundle_path(const char *bundle, const char *p)
{
	return p[0] == '/' ? xstrdup(p) : path_join(bundle, p);
}

static int parse_mounts(const json_t *arr, struct rt_spec *spec, struct mctr_err *err)
{
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mctr_fail(err, 0, "mounts: expected an array");
	size_t n = json_array_size(arr);
	spec->mounts = xcalloc(n ? n : 1, sizeof *spec->mounts);
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_array_get(arr, i);
		struct rt_mount *m = &spec->mounts[spec->n_mounts++];
		if (!json_is_object(j))
			return mctr_fail(err, 0, "mounts[%zu]: expected an object", i);
		if (rt_json_str(j, "destination", &m->destination, "mounts[]", err) < 0 ||
		    rt_json_str(j, "type", &m->type, "mounts[]", err) < 0 ||
		    rt_json_str(j, "source", &m->source, "mounts[]", err) < 0)
			return -1;
		if (!rt_path_is_abs(m->destination))
			return mctr_fail(err, EINVAL, "mounts[%zu]: destination \"%s\" is not an absolute path", i,
			                 m->destination ? m->destination : "");
		static const char *const idmaps[] = { "uidMappings", "gidMappings", NULL };
		if (rt_json_refuse(j, "mounts[]", idmaps, err) < 0)
			return -1;
		if (rt_mount_parse_options(json_object_get(j, "options"), m, err) < 0)
			return -1;
		if (m->type == NULL || m->type[0] == '\0') {
			free(m->type);
			m->type = xstrdup((m->flags & MS_BIND) ? "bind" : "none");
		}
		if (strcmp(m->type, "bind") == 0)
			m->flags |= MS_BIND;
		if (m->flags & MS_BIND) {
			if (m->source == NULL || m->source[0] == '\0')
				return mctr_fail(err, EINVAL, "mount %s: a bind mount needs a source", m->destination);
			char *abs = bundle_path(spec->bundle, m->source);
			free(m->source);
			m->source = abs;
		} else if (m->source == NULL) {
			m->source = xstrdup(m->type);
		}
	}
	return 0;
}

/* ---- annotations ---------------------------------------------------------- */

static int parse_annotations(const json_t *ann, struct rt_spec *spec, struct mctr_err *err)
{
	if (ann == NULL || json_is_null(ann))
		return 0;
	if (!json_is_object(ann))
		return mctr_fail(err, 0, "annotations: expected an object");
	const char *lower = json_get_str(ann, RT_ANN_OVERLAY_LOWER);
	const char *upper = json_get_str(ann, RT_ANN_OVERLAY_UPPER);
	const char *work = json_get_str(ann, RT_ANN_OVERLAY_WORK);
	const char *user = json_get_str(ann, RT_ANN_USER);
	const char *init = json_get_str(ann, RT_ANN_INIT);
	const char *vol = json_get_str(ann, RT_ANN_OVERLAY_VOLATILE);
	spec->overlay_volatile = vol != NULL && strcmp(vol, "true") == 0;
	if (lower != NULL && lower[0] != '\0') {
		size_t n = 1;
		for (const char *c = lower; *c; c++)
			n += *c == ':';
		spec->overlay_lower = xcalloc(n + 1, sizeof *spec->overlay_lower);
		const char *start = lower;
		for (size_t i = 0; i < n; i++) {
			const char *end = strchr(start, ':');
			size_t len = end ? (size_t)(end - start) : strlen(start);
			spec->overlay_lower[i] = xstrndup(start, len);
			if (!rt_path_is_abs(spec->overlay_lower[i]) || strchr(spec->overlay_lower[i], ',') != NULL)
				return mctr_fail(err, EINVAL,
				                 "annotation %s: \"%s\" is not an absolute path without ','",
				                 RT_ANN_OVERLAY_LOWER, spec->overlay_lower[i]);
			start = end ? end + 1 : start + len;
		}
		if ((upper == NULL) != (work == NULL))
			return mctr_fail(err, EINVAL, "annotations %s and %s go together", RT_ANN_OVERLAY_UPPER,
			                 RT_ANN_OVERLAY_WORK);
		if (upper != NULL) {
			if (!rt_path_is_abs(upper) || !rt_path_is_abs(work) || strpbrk(upper, ",:") ||
			    strpbrk(work, ",:"))
				return mctr_fail(err, EINVAL, "overlay upperdir/workdir must be absolute paths "
				                 "without ',' or ':'");
			spec->overlay_upper = xstrdup(upper);
			spec->overlay_work = xstrdup(work);
		}
	} else if (upper != NULL || work != NULL) {
		return mctr_fail(err, EINVAL, "annotation %s is missing", RT_ANN_OVERLAY_LOWER);
	}
	if (user != NULL && user[0] != '\0')
		spec->process.user_name = xstrdup(user);
	if (init != NULL) {
		if (strcmp(init, "true") != 0 && strcmp(init, "false") != 0)
			return mctr_fail(err, EINVAL, "annotation %s: expected \"true\" or \"false\"", RT_ANN_INIT);
		spec->init = strcmp(init, "true") == 0;
	}
	return 0;
}

/* ---- the whole document ----------------------------------------------------- */

int rt_spec_parse(const json_t *root, const char *bundle, struct rt_spec *spec, struct mctr_err *err)
{
	static const char *const unsupported[] = { "hooks", "solaris", "windows", "vm", "zos", NULL };
	memset(spec, 0, sizeof *spec);
	cgroup_resources_init(&spec->resources);
	spec->bundle = xstrdup(bundle);
	if (!json_is_object(root))
		return mctr_fail(err, 0, "config.json: not an object");
	if (rt_json_refuse(root, "config", unsupported, err) < 0)
		return -1;
	if (rt_process_parse(json_object_get(root, "process"), &spec->process, err) < 0)
		return -1;
	json_t *r = json_get_obj(root, "root");
	const char *rp = json_get_str(r, "path");
	if (rp == NULL || rp[0] == '\0')
		return mctr_fail(err, EINVAL, "root.path is missing");
	spec->root_path = bundle_path(bundle, rp);
	if (rt_json_bool(r, "readonly", &spec->root_readonly, "root", err) < 0)
		return -1;
	if (rt_json_str(root, "hostname", &spec->hostname, "config", err) < 0 ||
	    rt_json_str(root, "domainname", &spec->domainname, "config", err) < 0)
		return -1;
	if (parse_mounts(json_object_get(root, "mounts"), spec, err) < 0)
		return -1;
	if (rt_spec_parse_linux(json_object_get(root, "linux"), spec, err) < 0)
		return -1;
	if ((spec->hostname != NULL || spec->domainname != NULL) && !spec->ns_new[RT_NS_UTS])
		return mctr_fail(err, EINVAL, "hostname and domainname need a new uts namespace "
		                 "(setting them would rename the host)");
	if (parse_annotations(json_object_get(root, "annotations"), spec, err) < 0)
		return -1;
	return 0;
}

int rt_spec_load(const char *bundle, struct rt_spec *spec, struct mctr_err *err)
{
	_cleanup_free_ char *abs = NULL;
	if (bundle[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd) == NULL)
			return mctr_fail_errno(err, "getcwd");
		abs = path_join(cwd, bundle);
	} else {
		abs = xstrdup(bundle);
	}
	_cleanup_close_ int dfd = open(abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		memset(spec, 0, sizeof *spec);
		return mctr_fail_errno(err, "bundle %s", abs);
	}
	_cleanup_json_ json_t *root = json_load_at(dfd, "config.json", err);
	if (root == NULL) {
		memset(spec, 0, sizeof *spec);
		return mctr_err_wrap(err, "bundle %s", abs);
	}
	if (rt_spec_parse(root, abs, spec, err) < 0)
		return mctr_err_wrap(err, "%s/config.json", abs);
	return 0;
}

void rt_spec_free(struct rt_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->bundle);
	rt_process_free(&spec->process);
	free(spec->root_path);
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		free(spec->mounts[i].destination);
		free(spec->mounts[i].type);
		free(spec->mounts[i].source);
		free(spec->mounts[i].data);
	}
	free(spec->mounts);
	for (int i = 0; i < RT_NS_COUNT; i++)
		free(spec->ns_path[i]);
	mctr_strv_free(spec->masked_paths);
	mctr_strv_free(spec->readonly_paths);
	for (size_t i = 0; i < spec->n_devices; i++)
		free(spec->devices[i].path);
	free(spec->devices);
	for (size_t i = 0; i < spec->n_sysctls; i++) {
		free(spec->sysctls[i].key);
		free(spec->sysctls[i].value);
	}
	free(spec->sysctls);
	cgroup_resources_free(&spec->resources);
	free(spec->cgroups_path);
	mctr_strv_free(spec->overlay_lower);
	free(spec->overlay_upper);
	free(spec->overlay_work);
	memset(spec, 0, sizeof *spec);
}
