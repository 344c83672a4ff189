/* Control groups for containers: one container = one cgroup, named e.g.
 * "mctr/<container-id>", under the root of every hierarchy.
 *
 * The host's cgroup layout is detected at run time (statfs magic, cached) and
 * hidden behind one ops table with three implementations:
 *
 *   v1      every controller in its own hierarchy (/sys/fs/cgroup/<ctrl>);
 *   hybrid  v1 as above plus a controller-less cgroup2 at <root>/unified,
 *           which the container also joins: it gives cgroup.kill and
 *           cgroup.events on a v1 host;
 *   v2      one unified hierarchy at <root>;
 *   none    no cgroupfs (e.g. inside a user namespace): limits are refused,
 *           everything else is a no-op.
 *
 * The life cycle, all from the runtime's parent side:
 *
 *   cgroup_open(opts, "mctr/<id>", &cg)     compute paths, touch nothing
 *   cgroup_create(cg, &res)                 mkdir + write every limit
 *   cgroup_enter(cg, child_pid)             before the child runs user code
 *   ... cgroup_kill / cgroup_list_pids / cgroup_oom_kill_count ...
 *   cgroup_destroy(cg)                      kill leftovers, wait, rmdir
 *
 * Paths are recomputed from (root, mode, name), so `mctr stop` or `mctr rm`
 * in another process only needs the name.  Nothing outside the container's
 * own cgroup and its parents is ever written; the one write to a hierarchy
 * root is adding "+ctrl" to cgroup.subtree_control on v2 when a controller
 * is not yet enabled there (Docker and Podman do the same).  Cgroups are
 * only ever removed with rmdir(2). */
#ifndef MCTR_CGROUP_H
#define MCTR_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mctr/err.h"

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_DEFAULT_PARENT "mctr"

/* The value of a limit meaning "no limit" (written as -1 or "max"). */
#define CGROUP_UNLIMITED (-1)
/* A device major or minor matching any number ("*"). */
#define CGROUP_DEV_ANY (-1)

/* How long cgroup_destroy() waits for killed processes to leave. */
#define CGROUP_DESTROY_TIMEOUT_MS 5000

enum cgroup_mode {
	CGROUP_MODE_AUTO = 0, /* only in struct cgroup_opts: detect */
	CGROUP_MODE_NONE,
	CGROUP_MODE_V1,
	CGROUP_MODE_HYBRID,
	CGROUP_MODE_V2,
};

/* "v1", "v1 (hybrid)", "v2", "none" ("auto" for CGROUP_MODE_AUTO). */
const char *cgroup_mode_name(enum cgroup_mode mode);

/* Detect the layout under root (NULL: CGROUP_DEFAULT_ROOT).  The answer for
 * the default root is computed once per process and cached.  Never fails: a
 * missing or unreadable root is CGROUP_MODE_NONE. */
enum cgroup_mode cgroup_detect_mode(const char *root);

/* ---- resources --------------------------------------------------------- */

/* One device cgroup rule, as in the OCI runtime-spec linux.resources.devices.
 * Rules are evaluated in order and the last matching one wins; a request
 * matching no rule is denied. */
struct cgroup_device_rule {
	bool allow;
	char type;      /* 'a' (any), 'c' (char) or 'b' (block) */
	int64_t major;  /* CGROUP_DEV_ANY or >= 0 */
	int64_t minor;  /* CGROUP_DEV_ANY or >= 0 */
	char access[4]; /* non-empty subset of "rwm", NUL-terminated */
};

/* The limits of one container, filled from the OCI linux.resources.  Each
 * knob has a has_* flag so "unset" (leave the kernel default) is never
 * confused with a value.  Initialise with cgroup_resources_init() and release
 * with cgroup_resources_free(); the struct owns its strings and rules. */
struct cgroup_resources {
	bool has_memory;
	int64_t memory;         /* bytes, or CGROUP_UNLIMITED */
	bool has_memory_swap;
	int64_t memory_swap;    /* memory + swap in bytes (OCI/Docker), or CGROUP_UNLIMITED;
	                         * needs has_memory and must be >= memory */
	bool has_cpu_shares;
	uint64_t cpu_shares;    /* v1 shares 2..262144 (1024 = default); v2 gets
	                         * cgroup_cpu_shares_to_weight() of it */
	bool has_cpu_quota;
	int64_t cpu_quota;      /* microseconds per period, or CGROUP_UNLIMITED */
	bool has_cpu_period;
	uint64_t cpu_period;    /* microseconds, 1000..1000000 */
	bool has_pids_limit;
	int64_t pids_limit;     /* >= 0 (0 is a valid limit), or CGROUP_UNLIMITED */
	char *cpuset_cpus;      /* e.g. "0-3,6", NULL = unset */
	char *cpuset_mems;      /* NULL = unset */
	bool has_devices;       /* false: device access is not restricted at all */
	struct cgroup_device_rule *devices;
	size_t n_devices;
};

void cgroup_resources_init(struct cgroup_resources *res);
void cgroup_resources_free(struct cgroup_resources *res);

/* Check every knob (ranges, swap >= memory, rule syntax).  Called by
 * cgroup_create(); exposed so the runtime can reject a spec early. */
int cgroup_resources_validate(const struct cgroup_resources *res, struct mctr_err *err);

/* Append a (validated) copy of rule and set has_devices. */
int cgroup_resources_add_device(struct cgroup_resources *res, const struct cgroup_device_rule *rule,
                                struct mctr_err *err);

/* Replace the device rules with Docker's defaults: deny all; allow c 1:3,
 * 1:5, 1:7, 1:8, 1:9, 5:0, 5:1, 5:2, 136:* rwm; allow c *:* m and b *:* m
 * (mknod of any node is allowed, opening one is not). */
void cgroup_resources_set_default_devices(struct cgroup_resources *res);

/* Parse "c 1:3 rwm", "b *:* m", "a" (= "a *:* rwm") into a rule. */
int cgroup_device_rule_parse(const char *text, bool allow, struct cgroup_device_rule *rule,
                             struct mctr_err *err);

/* Format a rule as v1 devices.allow/deny text ("c 1:3 rwm", "a"). */
void cgroup_device_rule_format(const struct cgroup_device_rule *rule, char buf[64]);

/* Parse Docker's --cpus value ("1.5", "0.25", "2") into nano-CPUs, exactly
 * (decimal, no floating point); at most 9 fractional digits. */
int cgroup_parse_cpus(const char *text, int64_t *nanocpus, struct mctr_err *err);

/* Set the CFS quota for nanocpus with the default 100 ms period, as Docker's
 * --cpus does: 1.5 CPUs -> quota 150000, period 100000.  Fails below the
 * kernel's 1 ms minimum quota. */
int cgroup_resources_set_cpus(struct cgroup_resources *res, int64_t nanocpus, struct mctr_err *err);

/* v1 cpu.shares -> v2 cpu.weight, the log-quadratic mapping of
 * opencontainers/cgroups (runc >= 1.3.2, crun >= 1.23): it maps the minimum,
 * the default and the maximum onto each other (2 -> 1, 1024 -> 100,
 * 262144 -> 10000), unlike the older linear formula that turned the default
 * 1024 into 39.  0 (unset) -> 0.  Computed without libm. */
uint64_t cgroup_cpu_shares_to_weight(uint64_t shares);

/* OCI memory+swap total -> v2 memory.swap.max (swap alone): swap - memory;
 * CGROUP_UNLIMITED stays unlimited.  Fails when swap < memory or when memory
 * is unset or unlimited (opencontainers/cgroups
 * ConvertMemorySwapToCgroupV2Value). */
int cgroup_memory_swap_to_v2(bool has_memory, int64_t memory, int64_t memory_swap, int64_t *swap_max,
                             struct mctr_err *err);

/* ---- one container's cgroup -------------------------------------------- */

struct cgroup_opts {
	const char *root;      /* NULL: CGROUP_DEFAULT_ROOT */
	enum cgroup_mode mode; /* CGROUP_MODE_AUTO: detect (cached for the default root) */
	/* For unit tests: root is a tree of plain directories and files shaped
	 * like cgroupfs.  Knob files are created on first write (control files
	 * that accumulate - cgroup.procs, devices.*, subtree_control - are
	 * appended to, one value per line), v1 hierarchies are not checked for
	 * the cgroup magic, and destroy unlinks the regular files of a leaf
	 * before its rmdir (cgroupfs removes its files itself). */
	bool fake_fs;
};

struct cgroup;

/* Prepare the handle for cgroup `name` ("mctr/<id>": '/'-separated
 * components of [A-Za-z0-9_.-], each starting with a letter or digit).
 * Creates nothing, so it also opens the cgroup of a container created by
 * another process (or by a run that crashed).  opts may be NULL. */
int cgroup_open(const struct cgroup_opts *opts, const char *name, struct cgroup **out, struct mctr_err *err);
void cgroup_free(struct cgroup *cg);

enum cgroup_mode cgroup_get_mode(const struct cgroup *cg);
const char *cgroup_get_name(const struct cgroup *cg);

/* mkdir the cgroup (and missing parents) in every hierarchy and apply res
 * (may be NULL), all before any process joins.  v1: cpuset.cpus/mems are
 * copied down from the parent first; v2: the controllers are enabled in every
 * ancestor's cgroup.subtree_control (only those listed in its
 * cgroup.controllers) and the device rules become a BPF program.  A limit
 * whose controller is missing is an error naming it; device rules that
 * cannot be enforced are not (see cgroup_can_restrict_devices()).  On failure
 * the new leaf is removed again.  An existing leaf is reused. */
int cgroup_create(struct cgroup *cg, const struct cgroup_resources *res, struct mctr_err *err);

/* Whether device rules are (or can be) enforced: after cgroup_create() with
 * device rules, whether they were; otherwise whether they could be (v1: a
 * devices hierarchy exists; v2: the kernel accepts a BPF device program).
 * When false the runtime should drop CAP_MKNOD and say why. */
bool cgroup_can_restrict_devices(struct cgroup *cg);

/* Whether the host can limit swap, as Docker's sysinfo SwapLimit decides
 * (without it `run` drops any swap limit with a warning, see
 * spec_options.swap_limit_unsupported): v1 and hybrid: the memory
 * hierarchy's root has memory.memsw.limit_in_bytes (swap accounting on);
 * v2: the root's cgroup.controllers lists memory.  opts may be NULL (the
 * default root, detected). */
bool cgroup_swap_limit_supported(const struct cgroup_opts *opts);

/* Move process pid (all its threads) into the cgroup in every hierarchy.
 * EINVAL is retried a few times, 30 ms apart, as runc does: it is what a
 * task still in TASK_NEW gets. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct mctr_err *err);

/* The pids in the cgroup and its descendants (malloc'd array; may be empty,
 * then *pids is NULL). */
int cgroup_list_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct mctr_err *err);

/* *empty = no process left (v2 and hybrid: cgroup.events "populated 0"; v1:
 * every hierarchy's cgroup.procs is empty).  A missing cgroup is empty. */
int cgroup_is_empty(struct cgroup *cg, bool *empty, struct mctr_err *err);

/* Poll until empty or timeout_ms passes (then fail with ETIMEDOUT). */
int cgroup_wait_empty(struct cgroup *cg, int timeout_ms, struct mctr_err *err);

/* Send sig to every process in the cgroup.  SIGKILL uses cgroup.kill where
 * the kernel has it (v2 and hybrid, >= 5.14); otherwise the cgroup is frozen
 * (v1 freezer / v2 cgroup.freeze) so nothing forks in between, every listed
 * pid is signalled, and the cgroup is thawed.  Returns without waiting for
 * the processes to exit. */
int cgroup_kill(struct cgroup *cg, int sig, struct mctr_err *err);

/* How many processes the kernel's OOM killer killed in the cgroup (v1:
 * memory.oom_control "oom_kill", kernel >= 4.13; v2: memory.events
 * "oom_kill").  Fails (ENOTSUP) without a memory controller. */
int cgroup_oom_kill_count(struct cgroup *cg, uint64_t *count, struct mctr_err *err);

/* Remove the cgroup from every hierarchy: SIGKILL whatever is left, wait up
 * to CGROUP_DESTROY_TIMEOUT_MS for it to leave, then rmdir the leaf (and any
 * child cgroups, deepest first) in each hierarchy.  A missing leaf is fine,
 * so this also cleans up after a crashed run.  Parents left empty ("mctr"
 * after the last container) are removed too, except on fake trees; one
 * still in use stays. */
int cgroup_destroy(struct cgroup *cg, struct mctr_err *err);

#endif
