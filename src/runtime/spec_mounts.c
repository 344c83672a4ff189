/* The "mounts" array and the masked/read-only path lists, as moby builds
 * them: DefaultLinuxSpec()'s mounts (daemon/pkg/oci/defaults.go), then
 * withMounts() (daemon/oci_linux.go): user mounts (--tmpfs, -v, and the
 * /etc/{resolv.conf,hostname,hosts} files) replace defaults with the same
 * destination, are ordered parents first, and --read-only/--privileged
 * adjust the "ro" flags. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "spec_internal.h"

/* ---- defaults -------------------------------------------------------------------- */

static const struct {
	const char *dest, *type, *source;
	const char *opts[7];
} default_mounts[] = {
	{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "ro", "nosuid", "noexec", "nodev" } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
	/* Docker appends size=<ShmSize> (64 MiB by default) to this one. */
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
};
#define N_DEFAULT_MOUNTS (sizeof default_mounts / sizeof default_mounts[0])

/* The files the caller writes into the bundle, in moby's NetworkMounts()
 * order. */
static const struct {
	const char *file, *dest;
} network_files[] = {
	{ "resolv.conf", "/etc/resolv.conf" },
	{ "hostname", "/etc/hostname" },
	{ "hosts", "/etc/hosts" },
};
#define N_NETWORK_FILES (sizeof network_files / sizeof network_files[0])

static json_t *mount_new(const char *dest, const char *type, const char *source, json_t *options)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options",
	                 options);
}

static bool options_have(const json_t *opts, const char *opt)
{
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v) {
		if (strcmp(json_string_value(v), opt) == 0)
			return true;
	}
	return false;
}

/* moby clearReadOnly(). */
static void options_clear_ro(json_t *opts)
{
	for (size_t i = json_array_size(opts); i-- > 0;)
		if (strcmp(json_string_value(json_array_get(opts, i)), "ro") == 0)
			json_array_remove(opts, i);
}

/* ---- --tmpfs options ----------------------------------------------------------------- */

/* moby/sys/mount flags: options sharing a key override each other (the key
 * is the MS_* flag they set or clear; every propagation shares one). */
enum { K_RDONLY = 1, K_NOSUID, K_NODEV, K_NOEXEC, K_SYNC, K_DIRSYNC, K_REMOUNT, K_MAND, K_NOATIME,
       K_NODIRATIME, K_RELATIME, K_STRICTATIME, K_PROPAGATION };

static const struct {
	const char *name;
	int key;
} tmpfs_flags[] = {
	{ "ro", K_RDONLY },          { "rw", K_RDONLY },
	{ "suid", K_NOSUID },        { "nosuid", K_NOSUID },
	{ "dev", K_NODEV },          { "nodev", K_NODEV },
	{ "exec", K_NOEXEC },        { "noexec", K_NOEXEC },
	{ "sync", K_SYNC },          { "async", K_SYNC },
	{ "dirsync", K_DIRSYNC },    { "remount", K_REMOUNT },
	{ "mand", K_MAND },          { "nomand", K_MAND },
	{ "atime", K_NOATIME },      { "noatime", K_NOATIME },
	{ "diratime", K_NODIRATIME }, { "nodiratime", K_NODIRATIME },
	{ "relatime", K_RELATIME },  { "norelatime", K_RELATIME },
	{ "strictatime", K_STRICTATIME }, { "nostrictatime", K_STRICTATIME },
	{ "bind", K_PROPAGATION },   { "rbind", K_PROPAGATION },
	{ "unbindable", K_PROPAGATION }, { "runbindable", K_PROPAGATION },
	{ "private", K_PROPAGATION }, { "rprivate", K_PROPAGATION },
	{ "shared", K_PROPAGATION }, { "rshared", K_PROPAGATION },
	{ "slave", K_PROPAGATION },  { "rslave", K_PROPAGATION },
};
#define N_TMPFS_FLAGS (sizeof tmpfs_flags / sizeof tmpfs_flags[0])

static const char *const tmpfs_data_keys[] = { "", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks",
	                                       "mpol", NULL };

static int tmpfs_flag_key(const char *opt)
{
	for (size_t i = 0; i < N_TMPFS_FLAGS; i++)
		if (strcmp(tmpfs_flags[i].name, opt) == 0)
			return tmpfs_flags[i].key;
	return 0;
}

static bool tmpfs_data_key_valid(const char *opt, size_t key_len)
{
	for (const char *const *k = tmpfs_data_keys; *k != NULL; k++)
		if (strlen(*k) == key_len && strncmp(*k, opt, key_len) == 0)
			return true;
	return false;
}

/* moby/sys/mount MergeTmpfsOptions(): walk backwards, keep the first (that
 * is, the last given) option of each flag key or data key. */
static int merge_tmpfs_options(const char *dest, char **opts, size_t n, json_t *out, struct mctr_err *err)
{
	bool flag_seen[K_PROPAGATION + 1] = { false };
	_cleanup_free_ const char **data_seen = xcalloc(n + 1, sizeof *data_seen);
	size_t n_data = 0;
	for (size_t i = n; i-- > 0;) {
		const char *o = opts[i];
		if (strcmp(o, "defaults") == 0)
			continue;
		int key = tmpfs_flag_key(o);
		if (key != 0) {
			if (!flag_seen[key])
				json_array_insert_new(out, 0, json_string(o));
			flag_seen[key] = true;
			continue;
		}
		const char *eq = strchr(o, '=');
		if (eq == NULL || !tmpfs_data_key_valid(o, (size_t)(eq - o)))
			return mctr_fail(err, 0, "--tmpfs %s: invalid tmpfs option \"%s\"", dest, o);
		bool seen = false;
		for (size_t k = 0; k < n_data && !seen; k++)
			seen = strncmp(data_seen[k], o, (size_t)(eq - o) + 1) == 0;
		if (!seen) {
			json_array_insert_new(out, 0, json_string(o));
			data_seen[n_data++] = o;
		}
	}
	return 0;
}

int spec_tmpfs_options(const char *dest, const char *data, json_t **out, struct mctr_err *err)
{
	/* Docker's defaults for --tmpfs, before the user's options. */
	static const char *const defaults[] = { "noexec", "nosuid", "nodev", "rprivate" };
	_cleanup_strv_ char **opts = NULL;
	size_t n = 0, cap = 4 + 1;
	if (data != NULL && data[0] != '\0')
		for (const char *c = data; *c != '\0'; c++)
			cap += *c == ',';
	opts = xcalloc(cap + 1, sizeof *opts);
	for (size_t i = 0; i < 4; i++)
		opts[n++] = xstrdup(defaults[i]);
	if (data != NULL && data[0] != '\0') {
		for (const char *w = data;; w++) {
			const char *e = strchrnul(w, ',');
			opts[n++] = xstrndup(w, (size_t)(e - w));
			if (*e == '\0')
				break;
			w = e;
		}
	}
	_cleanup_json_ json_t *merged = json_array();
	if (merge_tmpfs_options(dest, opts, n, merged, err) < 0)
		return -1;
	*out = steal_pointer(&merged);
	return 0;
}

/* ---- user mounts ------------------------------------------------------------------------- */

static const char *mount_dest(const json_t *m)
{
	return json_string_value(json_object_get(m, "destination"));
}

static json_t *find_mount(json_t *list, const char *dest, size_t *index)
{
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		if (strcmp(mount_dest(m), dest) == 0) {
			if (index != NULL)
				*index = i;
			return m;
		}
	}
	return NULL;
}

/* A destination from the command line: absolute, cleaned, not "/". */
static int user_dest(const char *what, const char *raw, char **out, struct mctr_err *err)
{
	if (raw == NULL || raw[0] != '/')
		return mctr_fail(err, 0, "%s: mount path \"%s\" must be absolute", what, raw ? raw : "");
	char *clean = spec_path_clean(raw);
	if (strcmp(clean, "/") == 0) {
		free(clean);
		return mctr_fail(err, 0, "%s: the destination can't be \"/\"", what);
	}
	*out = clean;
	return 0;
}

/* --tmpfs "/path[:options]"; a later one for the same path replaces an
 * earlier one (Docker keeps them in a map). */
static int add_tmpfs(json_t *list, const char *spec, struct mctr_err *err)
{
	const char *colon = strchr(spec, ':');
	_cleanup_free_ char *raw = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	_cleanup_free_ char *dest = NULL;
	if (user_dest("--tmpfs", raw, &dest, err) < 0)
		return -1;
	json_t *opts = NULL;
	if (spec_tmpfs_options(dest, colon ? colon + 1 : NULL, &opts, err) < 0)
		return -1;
	json_t *m = mount_new(dest, "tmpfs", "tmpfs", opts);
	size_t i;
	if (find_mount(list, dest, &i) != NULL)
		json_array_set_new(list, i, m);
	else
		json_array_append_new(list, m);
	return 0;
}

/* -v: ["rbind", "ro"?, propagation].  moby withMounts() also moves the root
 * to shared (or rslave) propagation for a shared (or slave) volume, so
 * that events can propagate through it. */
static int add_volume(json_t *list, const struct spec_volume *v, const char **rootfs_propagation,
                      struct mctr_err *err)
{
	if (v->source == NULL || v->source[0] != '/')
		return mctr_fail(err, 0, "-v %s: the host path must be absolute", v->source ? v->source : "");
	_cleanup_free_ char *dest = NULL;
	if (user_dest("-v", v->destination, &dest, err) < 0)
		return -1;
	json_t *prev = find_mount(list, dest, NULL);
	if (prev != NULL) {
		/* A --tmpfs on the same path wins (moby setupMounts); two -v do not. */
		if (strcmp(json_string_value(json_object_get(prev, "type")), "tmpfs") == 0)
			return 0;
		return mctr_fail(err, 0, "-v: duplicate mount point: %s", dest);
	}
	_cleanup_free_ char *source = spec_path_clean(v->source);
	const char *prop = v->propagation != NULL ? v->propagation : "rprivate";
	json_t *opts = json_array();
	json_array_append_new(opts, json_string("rbind"));
	if (v->readonly)
		json_array_append_new(opts, json_string("ro"));
	json_array_append_new(opts, json_string(prop));
	json_array_append_new(list, mount_new(dest, "bind", source, opts));
	if (strstr(prop, "shared") != NULL)
		*rootfs_propagation = "shared";
	else if (strstr(prop, "slave") != NULL && (*rootfs_propagation == NULL ||
	                                           strstr(*rootfs_propagation, "shared") == NULL))
		*rootfs_propagation = "rslave";
	return 0;
}

/* <bundle>/{resolv.conf,hostname,hosts}, unless the user mounts something
 * there (moby TrySetNetworkMount: the user's file is used instead).
 * Read-only with --read-only (moby: Writable = !ReadonlyRootfs). */
static void add_network_files(json_t *list, const struct spec_options *o)
{
	for (size_t i = 0; i < N_NETWORK_FILES; i++) {
		if (find_mount(list, network_files[i].dest, NULL) != NULL)
			continue;
		_cleanup_free_ char *source = path_join(o->bundle, network_files[i].file);
		json_t *opts = o->read_only ? json_pack("[s,s,s]", "rbind", "ro", "rprivate")
		                            : json_pack("[s,s]", "rbind", "rprivate");
		json_array_append_new(list, mount_new(network_files[i].dest, "bind", source, opts));
	}
}

static int depth_cmp(const void *a, const void *b)
{
	const json_t *const *ma = a, *const *mb = b;
	int da = spec_path_depth(mount_dest(*ma)), db = spec_path_depth(mount_dest(*mb));
	return (da > db) - (da < db);
}

/* moby sortMounts(): fewer path components first, so /etc is mounted before
 * /etc/hosts.  Stable (sort.Sort is an insertion sort for so few), so
 * equal depths keep their order. */
static void sort_by_depth(json_t *list)
{
	size_t n = json_array_size(list);
	if (n < 2)
		return;
	_cleanup_free_ json_t **v = xcalloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	/* insertion sort: stable */
	for (size_t i = 1; i < n; i++) {
		json_t *cur = v[i];
		size_t j = i;
		while (j > 0 && depth_cmp(&v[j - 1], &cur) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = cur;
	}
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
}

/* ---- everything ---------------------------------------------------------------------------- */

static bool is_rw_default(const char *dest)
{
	static const char *const keep[] = { "/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev", NULL };
	for (const char *const *k = keep; *k != NULL; k++)
		if (strcmp(*k, dest) == 0)
			return true;
	return false;
}

static void add_defaults(json_t *out, json_t *user, const struct spec_options *o)
{
	bool user_dev = find_mount(user, "/dev", NULL) != NULL;
	for (size_t i = 0; i < N_DEFAULT_MOUNTS; i++) {
		const char *dest = default_mounts[i].dest;
		if (find_mount(user, dest, NULL) != NULL)
			continue;
		if (user_dev && strncmp(dest, "/dev/", 5) == 0)
			continue;
		json_t *opts = json_array();
		for (const char *const *p = default_mounts[i].opts; *p != NULL; p++)
			json_array_append_new(opts, json_string(*p));
		if (o->read_only && !is_rw_default(dest) && !options_have(opts, "ro"))
			json_array_append_new(opts, json_string("ro"));
		/* --privileged: /sys and the cgroup tree writable. */
		if (o->privileged && (strcmp(dest, "/sys") == 0 || strcmp(default_mounts[i].type, "cgroup") == 0))
			options_clear_ro(opts);
		json_array_append_new(out, mount_new(dest, default_mounts[i].type, default_mounts[i].source, opts));
	}
}

int spec_mounts_build(const struct spec_options *o, json_t **out, const char **rootfs_propagation,
                      struct mctr_err *err)
{
	_cleanup_json_ json_t *user = json_array();
	*rootfs_propagation = NULL;
	/* moby's order before sorting: tmpfs, volumes, network files. */
	for (char **t = o->tmpfs; t != NULL && *t != NULL; t++)
		if (add_tmpfs(user, *t, err) < 0)
			return -1;
	for (size_t i = 0; i < o->n_volumes; i++)
		if (add_volume(user, &o->volumes[i], rootfs_propagation, err) < 0)
			return -1;
	add_network_files(user, o);
	sort_by_depth(user);

	json_t *mounts = json_array();
	add_defaults(mounts, user, o);
	json_array_extend(mounts, user);
	*out = mounts;
	return 0;
}

/* ---- masked and read-only paths ------------------------------------------------------------- */

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The thermal_throttle dir of each CPU that has one, in CPU order
 * (GHSA-6fw5-f8r9-fgfm: its files leak host activity). */
static void add_thermal_throttle(json_t *arr, const char *sysfs_root)
{
	_cleanup_free_ char *pattern = xasprintf("%s/devices/system/cpu/cpu[0-9]*/thermal_throttle", sysfs_root);
	glob_t g;
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return;
	_cleanup_free_ int *cpus = xcalloc(g.gl_pathc + 1, sizeof *cpus);
	size_t n = 0;
	size_t prefix = strlen(sysfs_root) + strlen("/devices/system/cpu/cpu");
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *end;
		long cpu = strtol(g.gl_pathv[i] + prefix, &end, 10);
		if (cpu >= 0 && cpu < 1L << 20 && strcmp(end, "/thermal_throttle") == 0)
			cpus[n++] = (int)cpu;
	}
	globfree(&g);
	qsort(cpus, n, sizeof *cpus, int_cmp);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("/sys/devices/system/cpu/cpu%d/thermal_throttle", cpus[i]);
		json_array_append_new(arr, json_string(p));
	}
}

json_t *spec_masked_paths(const char *sysfs_root)
{
	static const char *const masked[] = {
		"/proc/acpi",       "/proc/asound",      "/proc/interrupts", "/proc/kcore",
		"/proc/keys",       "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
		"/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
		NULL,
	};
	json_t *arr = json_array();
	for (const char *const *p = masked; *p != NULL; p++)
		json_array_append_new(arr, json_string(*p));
	add_thermal_throttle(arr, sysfs_root);
	return arr;
}

json_t *spec_readonly_paths(void)
{
	return json_pack("[s,s,s,s,s]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
}
