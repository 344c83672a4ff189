/* Shared between src/runtime/cgroup*.c only: the handle, the ops table and
 * the knob-file helpers. */
#ifndef MCTR_CGROUP_INTERNAL_H
#define MCTR_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mctr/cgroup.h"
#include "mctr/err.h"
#include "mctr/timeutil.h"

/* v1 controllers mctr knows by name. */
enum {
	CG_CTRL_CPU = 1u << 0,
	CG_CTRL_CPUACCT = 1u << 1,
	CG_CTRL_CPUSET = 1u << 2,
	CG_CTRL_MEMORY = 1u << 3,
	CG_CTRL_DEVICES = 1u << 4,
	CG_CTRL_FREEZER = 1u << 5,
	CG_CTRL_BLKIO = 1u << 6,
	CG_CTRL_PIDS = 1u << 7,
};

/* One hierarchy the container's cgroup lives in. */
struct cgroup_hier {
	char *mount;   /* the hierarchy's root directory */
	char *leaf;    /* mount/name */
	unsigned ctrl; /* CG_CTRL_* bits (v1 hierarchies) */
	bool unified;  /* a cgroup2 hierarchy: the v2 root, or hybrid's tracking one */
};

enum cgroup_devices_state {
	CG_DEVICES_UNKNOWN = 0,
	CG_DEVICES_ENFORCED,
	CG_DEVICES_UNENFORCED,
};

struct cgroup_ops;

struct cgroup {
	char *root;
	char *name;
	enum cgroup_mode mode;
	bool fake_fs;
	const struct cgroup_ops *ops;
	struct cgroup_hier *hier;
	size_t n_hier;
	enum cgroup_devices_state devices;
};

struct cgroup_ops {
	/* Fill cg->hier from what exists under cg->root. */
	int (*discover)(struct cgroup *cg, struct mctr_err *err);
	/* mkdir + limits; the caller removes the leaf again on failure. */
	int (*create)(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err);
	/* Freeze (on) or thaw.  Returns 1 when frozen/thawed, 0 when the cgroup
	 * cannot be frozen (no freezer, or it did not settle in time). */
	int (*freeze)(struct cgroup *cg, bool on, struct mctr_err *err);
	int (*oom_kill_count)(struct cgroup *cg, uint64_t *count, struct mctr_err *err);
	/* Whether device rules could be enforced (before create). */
	bool (*probe_devices)(struct cgroup *cg);
	/* Whether a memory+swap limit can be applied (swap accounting). */
	bool (*probe_swap)(struct cgroup *cg);
};

extern const struct cgroup_ops cgroup_ops_none;
extern const struct cgroup_ops cgroup_ops_v1;
extern const struct cgroup_ops cgroup_ops_v2;

/* ---- knob files (cgroup.c) ---------------------------------------------- */

/* Open a knob file for a series of writes (fake trees: created). */
int cg_open_knob(const struct cgroup *cg, const char *dir, const char *file, bool append, struct mctr_err *err);
/* One value to an open knob (one write(2)); file names it in errors. */
int cg_write_fd(const struct cgroup *cg, int fd, const char *file, const char *value, bool append,
                struct mctr_err *err);
/* Write value to dir/file.  append: the file accumulates values (only
 * matters for fake trees, where it means "add a line" instead of "replace"). */
int cg_write(const struct cgroup *cg, const char *dir, const char *file, const char *value, bool append,
             struct mctr_err *err);
int cg_write_i64(const struct cgroup *cg, const char *dir, const char *file, int64_t value,
                 const char *unlimited, struct mctr_err *err);

/* Read dir/file whole.  On failure err->errnum tells ENOENT apart. */
int cg_read(const char *dir, const char *file, char **out, struct mctr_err *err);

/* Find "key N" lines (memory.events, cgroup.events, memory.oom_control).
 * Returns 0 and *value, or 1 when the file has no such key. */
int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *value, struct mctr_err *err);

bool cg_file_exists(const char *dir, const char *file);

/* Whether path is a filesystem of that statfs magic (CGROUP_SUPER_MAGIC...). */
bool cg_fs_is(const char *path, unsigned long magic);

/* Whether a space-separated list (cgroup.controllers) holds word. */
bool cg_list_has(const char *list, const char *word);

/* mkdir every component of cg->name under mount.  For each directory, new or
 * existing, from the top down, call on_dir(cg, parent, dir, data) when not
 * NULL. */
typedef int cg_dir_fn(const struct cgroup *cg, const char *parent, const char *dir, const void *data,
                      struct mctr_err *err);
int cg_mkdir_name(const struct cgroup *cg, const char *mount, cg_dir_fn *on_dir, const void *data,
                  struct mctr_err *err);

/* ---- BPF device filter (cgroup_bpf.c) ------------------------------------ */

/* Build and attach a BPF_PROG_TYPE_CGROUP_DEVICE program enforcing rules to
 * the cgroup directory dir (BPF_F_ALLOW_MULTI). */
int cgroup_bpf_attach_devices(const char *dir, const struct cgroup_device_rule *rules, size_t n,
                              struct mctr_err *err);

/* Whether the kernel lets this process load a device program. */
bool cgroup_bpf_devices_supported(void);

#endif
