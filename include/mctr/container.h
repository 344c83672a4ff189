/* Containers as users manage them: state under <root>/containers/<id>/,
 * unique names, lookup by name or ID prefix, and the monitor that runs a
 * container and records how it ended.  (The runtime below only executes a
 * bundle; this layer owns the lifecycle.)
 *
 *   <root>/containers/<id>/
 *     config.json    the OCI bundle's config (spec.h builds it)
 *     state.json     this module's record (rewritten atomically)
 *     rootfs/ upper/ work/   overlay mount point, writable layer, overlay work dir
 *     hostname hosts resolv.conf   bind-mounted over the container's /etc files
 *     ctr.log        stdout/stderr as JSON lines ({"stream","log","time"})
 *     lock           flock: state changes and removal are serialized
 *   <root>/names/<name>   the ID of the container that has this name
 *                         (created O_EXCL: names are unique without a daemon) */
#ifndef MCTR_CONTAINER_H
#define MCTR_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mctr/err.h"

#define CONTAINER_ID_LEN 64

enum ctr_status {
	CTR_CREATED,
	CTR_RUNNING,
	CTR_EXITED,
};

struct ctr_state {
	char id[CONTAINER_ID_LEN + 1];
	char *name;
	char *image;           /* as the user named it */
	char *image_id;        /* config digest */
	char *created;         /* RFC 3339 */
	char *started_at;
	char *finished_at;
	enum ctr_status status;
	pid_t pid;             /* the container's PID 1 on the host, 0 if none */
	unsigned long long pid_start;     /* its start time (/proc/PID/stat field 22) */
	pid_t monitor_pid;
	unsigned long long monitor_start;
	int exit_code;
	bool oom_killed;
	char *error;           /* why it failed to start */
	bool auto_remove;      /* --rm */
	bool tty;
	bool interactive;
	char *stop_signal;     /* e.g. "SIGTERM" */
	int stop_timeout;      /* seconds */
	json_t *extra;         /* anything else recorded (ports, command, ...) */
};

struct ctr_store {
	char *root;
	int root_fd;
	int containers_fd;
	int names_fd;
};

int ctr_store_open(const char *root, int root_fd, struct ctr_store **out, struct mctr_err *err);
void ctr_store_close(struct ctr_store *cs);

/* A fresh random 64-hex ID. */
void ctr_new_id(char id[CONTAINER_ID_LEN + 1]);
/* A Docker-style random name ("eager_turing"); unique names come from
 * ctr_claim_name. */
void ctr_random_name(char *buf, size_t len);

/* Claim a name for id (fails with "name X is already in use by container Y"),
 * release it. */
int ctr_claim_name(struct ctr_store *cs, const char *name, const char *id, struct mctr_err *err);
void ctr_release_name(struct ctr_store *cs, const char *name);

/* Find a container by full ID, name, or unique ID prefix. */
int ctr_lookup(struct ctr_store *cs, const char *name_or_id, char id[CONTAINER_ID_LEN + 1], struct mctr_err *err);
/* All container IDs (NULL-terminated vector). */
int ctr_list(struct ctr_store *cs, char ***ids, struct mctr_err *err);

/* Open the container's directory. */
int ctr_dir_open(struct ctr_store *cs, const char *id, struct mctr_err *err);
/* "<root>/containers/<id>" */
char *ctr_dir_path(struct ctr_store *cs, const char *id);

int ctr_state_read(struct ctr_store *cs, const char *id, struct ctr_state *st, struct mctr_err *err);
int ctr_state_write(struct ctr_store *cs, const struct ctr_state *st, struct mctr_err *err);
void ctr_state_clear(struct ctr_state *st);

/* Exclusive lock on the container (returns the fd to close). */
int ctr_lock(struct ctr_store *cs, const char *id, struct mctr_err *err);

/* Is pid still the process whose start time was start?  (Never signal a
 * recycled PID.) */
bool ctr_pid_alive(pid_t pid, unsigned long long start);
/* Start time of pid (/proc/PID/stat field 22), 0 if gone. */
unsigned long long ctr_pid_start_time(pid_t pid);
/* A pidfd for pid if it is still the process that started at start. */
int ctr_pidfd_open_checked(pid_t pid, unsigned long long start, struct mctr_err *err);

/* Refresh a "running" state whose monitor died (kill -9): the container is
 * then exited with an unknown status.  Returns true if st changed. */
bool ctr_state_reconcile(struct ctr_state *st);

const char *ctr_status_name(enum ctr_status s);

/* The container's cgroup: CGROUP_DEFAULT_PARENT/<id>, the linux.cgroupsPath
 * its bundle names. */
struct cgroup;
int ctr_cgroup_open(const char *id, struct cgroup **out, struct mctr_err *err);
/* Kill what is left in it and remove it (a cgroup already gone is fine);
 * then drop its claim. */
int ctr_cgroup_destroy(const char *id, struct mctr_err *err);
/* The same for a cgroup already open (NULL: none was made, only the claim
 * goes). */
int ctr_cgroup_remove(struct cgroup *cg, const char *id, struct mctr_err *err);

/* Every root shares the cgroup parent, so `system check` of one root could
 * not tell another root's running container from debris.  A root claims a
 * container's cgroup before it is made, with a symlink
 * CTR_CGROUP_CLAIMS_DIR/<id> -> <root>/containers/<id>, and drops the claim
 * once the cgroup is gone.  /run is normally a tmpfs: claims go with the
 * cgroups at reboot; `system check` removes those a crash left. */
#define CTR_CGROUP_CLAIMS_DIR "/run/mctr/cgroups"
int ctr_cgroup_claim(const struct ctr_store *cs, const char *id, struct mctr_err *err);
void ctr_cgroup_unclaim(const char *id);
/* Who holds the claim on id's cgroup. */
enum ctr_claim { CTR_CLAIM_NONE, CTR_CLAIM_HERE, CTR_CLAIM_ELSEWHERE };
enum ctr_claim ctr_cgroup_claim_owner(const struct ctr_store *cs, const char *id);

/* Remove the container completely: cgroup (killing what is left), its
 * directory and its name.  The caller holds the container lock. */
int ctr_remove(struct ctr_store *cs, struct ctr_state *st, struct mctr_err *err);
/* The same for a container whose cgroup is gone already (its monitor
 * destroyed it): directory and name only. */
int ctr_remove_files(struct ctr_store *cs, struct ctr_state *st, struct mctr_err *err);


/* ---- creating a container from an image -------------------------------- */

struct store;
struct spec_options;

struct ctr_create_opts {
	const char *image;           /* name or ID, as the user gave it */
	const char *name;            /* NULL: a random one */
	bool auto_remove;
	struct spec_options *spec;   /* bundle, lowerdirs and container_id are filled in here */
};

/* Resolve the image (holding the store lock shared, so a concurrent rmi
 * cannot take it away half-way), make the container's directory, its
 * config.json, /etc files and state.json (created).  On failure nothing of
 * it remains. */
int ctr_create(struct store *st, struct ctr_store *cs, const struct ctr_create_opts *o,
               char id[CONTAINER_ID_LEN + 1], struct mctr_err *err);

/* Check every container record (monitor gone, --rm not done), and cgroups
 * and names that belong to no container; report each problem with a line,
 * repair if asked (report counts what was found). */
struct mctr_report;
int ctr_check(struct ctr_store *cs, bool repair, struct mctr_report *report, struct mctr_err *err);

/* IDs of the containers made from image `image_id` (NULL-terminated). */
int ctr_users_of_image(struct ctr_store *cs, const char *image_id, char ***names, struct mctr_err *err);

#endif
