/* From an image config and `mctr run` flags to an OCI runtime-spec
 * config.json (the container's bundle), Docker's defaults and merge rules:
 * Entrypoint/Cmd, Env, WorkingDir, User, hostname, the default mounts,
 * masked and read-only paths, the 14 default capabilities, namespaces,
 * cgroup resources, rlimits.  JSON in, JSON out: unit-testable without a
 * kernel.  What it reads of the host, as dockerd does: the CPUs this process
 * may run on (--cpus range), its effective capabilities (what "ALL" means),
 * which thermal_throttle dirs and net sysctls exist, and gethostname() for
 * --network host.
 *
 * Docker rules worth knowing (moby daemon/commit.go merge(), oci_linux.go):
 * - `--entrypoint ""` clears the image's Entrypoint AND ignores its Cmd:
 *   without arguments that is "no command specified", as in Docker.
 * - The user is given to the runtime by number when it is "uid" or
 *   "uid:gid" (gid 0 for "uid"), by name otherwise (annotation RT_ANN_USER,
 *   resolved in the container's /etc/passwd).  HOME: left to the runtime for
 *   a name, else set when unset: /root for uid 0, / for other uids.
 * - A non-root numeric user gets the bounding set only: effective and
 *   permitted stay empty (moby SetCapabilities; execve would clear them).
 *   For a named user the runtime must do the same once it knows the uid.
 * - rlimits: RLIM_INFINITY is written as INT64_MAX (jansson integers are
 *   signed; spec_load.c reads INT64_MAX back as unlimited). */
#ifndef MCTR_SPEC_H
#define MCTR_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mctr/err.h"

enum spec_network {
	SPEC_NET_PRIVATE = 0, /* own network namespace, loopback up (the default until bridges exist) */
	SPEC_NET_NONE,        /* the same: own namespace with only loopback */
	SPEC_NET_HOST,        /* the host's network namespace */
};

struct spec_volume {
	char *source;      /* absolute host path */
	char *destination; /* absolute container path */
	bool readonly;
	const char *propagation; /* static string ("rshared", ...); NULL: rprivate */
};

/* Free what spec_parse_volume() put in v (not v itself). */
void spec_volume_free(struct spec_volume *v);

struct spec_ulimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct spec_options {
	/* process */
	char **args;            /* operands after IMAGE (NULL or empty: image Cmd) */
	char **entrypoint;      /* --entrypoint split; used when entrypoint_set */
	bool entrypoint_set;    /* --entrypoint "" clears the image's */
	char **env;             /* -e/--env-file entries: "K=V" (already resolved) */
	const char *workdir;    /* -w */
	const char *user;       /* -u name|uid[:group|gid] */
	bool tty;               /* -t */
	bool interactive;       /* -i */
	bool init;              /* --init */
	bool volatile_upper;    /* --rm: the writable layer need not survive a crash */
	/* security */
	bool privileged;
	bool no_new_privileges;
	char **cap_add;         /* "NET_ADMIN", "CAP_NET_ADMIN" or "ALL" */
	char **cap_drop;
	/* root and mounts */
	bool read_only;
	struct spec_volume *volumes;
	size_t n_volumes;
	char **tmpfs;           /* "/path" or "/path:size=64m,mode=1777" */
	/* identity and network */
	const char *hostname;   /* default: the first 12 hex of the container ID */
	enum spec_network network;
	/* resources (has_* false: unset) */
	bool has_memory;
	int64_t memory;
	bool has_memory_swap;
	int64_t memory_swap;    /* -1: unlimited */
	bool has_cpus;
	int64_t nanocpus;
	bool has_cpu_shares;
	uint64_t cpu_shares;
	bool has_pids_limit;
	int64_t pids_limit;     /* <= 0: unlimited, as Docker */
	/* The host has no swap accounting (no memory.memsw.* / memory.swap.max):
	 * as Docker, any swap limit is dropped with a warning. */
	bool swap_limit_unsupported;
	struct spec_ulimit *ulimits;
	size_t n_ulimits;
	/* where things live: the bundle directory and the image's unpacked layers */
	const char *bundle;         /* <root>/containers/<id> */
	char **lowerdirs;           /* topmost first */
	const char *container_id;
};

/* Build config.json for the container.  image_config is the image config's
 * "config" object (may be NULL).  Fails with a clear message for anything
 * Docker would refuse (no command, bad cap name, relative -w, ...). */
int spec_build(const json_t *image_config, const struct spec_options *o, json_t **out, struct mctr_err *err);

/* argv as Docker merges it (moby daemon/commit.go merge()). */
int spec_merge_args(const json_t *image_config, const struct spec_options *o, char ***argv,
                    struct mctr_err *err);

/* Parse a size ("64m", "1g", "512k", "1000") as Docker's --memory does
 * (go-units RAMInBytes): units b, k, m, g, t, p (powers of 1024), case-
 * insensitive, optionally followed by "b" or "ib"; a fraction is allowed
 * ("1.5g"), the result truncated to whole bytes.  Negative is an error. */
int spec_parse_size(const char *s, int64_t *bytes, struct mctr_err *err);

/* Parse --ulimit "nofile=1024:2048" (or "nofile=1024"; -1 = unlimited, kept
 * as RLIM_INFINITY in out) with go-units ParseUlimit's rules.  Then checks
 * the host: raising a hard limit above this process's needs
 * CAP_SYS_RESOURCE, and nofile can never go above fs.nr_open. */
int spec_parse_ulimit(const char *s, struct spec_ulimit *out, struct mctr_err *err);

/* Parse -v "HOST:CTR[:MODE]" with Docker's linux parser rules.  MODE is a
 * comma-separated list with at most one of each: ro|rw, z|Z (accepted,
 * ignored: no SELinux), a propagation ([r]private|[r]shared|[r]slave),
 * nocopy, consistent|cached|delegated.  HOST must be absolute (named and
 * anonymous volumes are not supported), CTR absolute and not "/"; both are
 * cleaned.  Only parses: creating a missing HOST directory, as `docker run
 * -v` does, is the caller's business.  Free with spec_volume_free(). */
int spec_parse_volume(const char *s, struct spec_volume *out, struct mctr_err *err);

/* Capability names: canonical "CAP_X" for "x", "X" or "CAP_X"; -1 if unknown. */
int spec_cap_from_name(const char *name);

/* Docker's default capability set (14 caps, CapEff 00000000a80425fb),
 * NULL-terminated, in moby's order. */
#define SPEC_N_DEFAULT_CAPS 14
extern const char *const spec_default_caps[];

#endif
