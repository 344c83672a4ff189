/* Container records: state.json, names, lookup, liveness of recorded pids. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/digest.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"

int ctr_store_open(const char *root, int root_fd, struct ctr_store **out, struct mctr_err *err)
{
	struct ctr_store *cs = xcalloc(1, sizeof *cs);
	cs->root = xstrdup(root);
	cs->root_fd = cs->containers_fd = cs->names_fd = -1;
	cs->root_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (cs->root_fd < 0 || (cs->containers_fd = open_dir_at(root_fd, "containers", true, 0700, err)) < 0 ||
	    (cs->names_fd = open_dir_at(root_fd, "names", true, 0700, err)) < 0) {
		if (cs->root_fd < 0)
			mctr_fail_errno(err, "dup");
		ctr_store_close(cs);
		return -1;
	}
	*out = cs;
	return 0;
}

void ctr_store_close(struct ctr_store *cs)
{
	if (cs == NULL)
		return;
	if (cs->root_fd >= 0)
		close(cs->root_fd);
	if (cs->containers_fd >= 0)
		close(cs->containers_fd);
	if (cs->names_fd >= 0)
		close(cs->names_fd);
	free(cs->root);
	free(cs);
}

void ctr_new_id(char id[CONTAINER_ID_LEN + 1])
{
	unsigned char r[32];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)(rand() ^ getpid());
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
}

void ctr_random_name(char *buf, size_t len)
{
	static const char *const left[] = { "admiring", "bold", "brave", "clever", "eager", "elegant", "festive",
					    "focused", "gallant", "happy", "jolly", "keen", "lucid", "modest",
					    "nifty", "quirky", "serene", "sharp", "tender", "vibrant", "wizardly",
					    "zealous" };
	static const char *const right[] = { "babbage", "curie", "darwin", "einstein", "euler", "fermat",
					     "galileo", "hopper", "kepler", "knuth", "lovelace", "newton", "noether",
					     "pascal", "ritchie", "shannon", "thompson", "torvalds", "turing",
					     "wozniak" };
	unsigned int r[2] = { 0, 0 };
	(void)!getrandom(r, sizeof r, 0);
	snprintf(buf, len, "%s_%s", left[r[0] % (sizeof left / sizeof *left)],
	         right[r[1] % (sizeof right / sizeof *right)]);
}

static bool name_is_valid(const char *name)
{
	/* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	if (!isalnum((unsigned char)name[0]) || strlen(name) > 128)
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

int ctr_claim_name(struct ctr_store *cs, const char *name, const char *id, struct mctr_err *err)
{
	if (!name_is_valid(name))
		return mctr_fail(err, 0, "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	_cleanup_close_ int fd = openat(cs->names_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno != EEXIST)
			return mctr_fail_errno(err, "claim name %s", name);
		_cleanup_free_ char *owner = NULL;
		size_t len;
		struct mctr_err ignored = { 0 };
		file_read_at(cs->names_fd, name, 128, &owner, &len, &ignored);
		return mctr_fail(err, 0, "the container name \"%s\" is already in use by container %.12s", name,
		                 owner ? owner : "?");
	}
	return fd_write_all(fd, id, strlen(id), err);
}

void ctr_release_name(struct ctr_store *cs, const char *name)
{
	if (name != NULL && name[0] != '\0')
		unlinkat(cs->names_fd, name, 0);
}

int ctr_list(struct ctr_store *cs, char ***ids, struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(cs->containers_fd, err);
	if (d == NULL)
		return mctr_err_wrap(err, "list containers");
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != CONTAINER_ID_LEN || !digest_hex_is_valid(de->d_name))
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	*ids = v;
	return 0;
}

int ctr_lookup(struct ctr_store *cs, const char *name_or_id, char id[CONTAINER_ID_LEN + 1], struct mctr_err *err)
{
	struct stat sb;
	if (strlen(name_or_id) == CONTAINER_ID_LEN && digest_hex_is_valid(name_or_id) &&
	    fstatat(cs->containers_fd, name_or_id, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		memcpy(id, name_or_id, CONTAINER_ID_LEN + 1);
		return 0;
	}
	if (name_is_valid(name_or_id)) {
		_cleanup_free_ char *owner = NULL;
		size_t len;
		struct mctr_err ignored = { 0 };
		if (file_read_at(cs->names_fd, name_or_id, 128, &owner, &len, &ignored) == 0 && len == CONTAINER_ID_LEN &&
		    digest_hex_is_valid(owner) && fstatat(cs->containers_fd, owner, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			memcpy(id, owner, CONTAINER_ID_LEN + 1);
			return 0;
		}
	}
	size_t plen = strlen(name_or_id);
	bool hex = plen > 0 && plen <= CONTAINER_ID_LEN;
	for (size_t i = 0; i < plen && hex; i++)
		hex = isxdigit((unsigned char)name_or_id[i]) && !isupper((unsigned char)name_or_id[i]);
	if (hex) {
		_cleanup_strv_ char **ids = NULL;
		if (ctr_list(cs, &ids, err) < 0)
			return -1;
		const char *found = NULL;
		for (char **p = ids; *p != NULL; p++) {
			if (strncmp(*p, name_or_id, plen) != 0)
				continue;
			if (found != NULL)
				return mctr_fail(err, 0, "container ID prefix %s is ambiguous", name_or_id);
			found = *p;
		}
		if (found != NULL) {
			memcpy(id, found, CONTAINER_ID_LEN + 1);
			return 0;
		}
	}
	return mctr_fail(err, 0, "no such container: %s", name_or_id);
}

int ctr_dir_open(struct ctr_store *cs, const char *id, struct mctr_err *err)
{
	if (!digest_hex_is_valid(id))
		return mctr_fail(err, 0, "invalid container ID %s", id);
	int fd = openat(cs->containers_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mctr_fail_errno(err, "container %.12s", id);
	return fd;
}

char *ctr_dir_path(struct ctr_store *cs, const char *id)
{
	return xasprintf("%s/containers/%s", cs->root, id);
}

static const char *const status_names[] = { "created", "running", "exited" };

const char *ctr_status_name(enum ctr_status s)
{
	return status_names[s];
}

static char *dup_str(const json_t *o, const char *k)
{
	const char *s = json_get_str(o, k);
	return s ? xstrdup(s) : NULL;
}

int ctr_state_read(struct ctr_store *cs, const char *id, struct ctr_state *st, struct mctr_err *err)
{
	memset(st, 0, sizeof *st);
	_cleanup_close_ int dfd = ctr_dir_open(cs, id, err);
	if (dfd < 0)
		return -1;
	_cleanup_json_ json_t *j = json_load_at(dfd, "state.json", err);
	if (j == NULL)
		return mctr_err_wrap(err, "container %.12s", id);
	snprintf(st->id, sizeof st->id, "%s", id);
	st->name = dup_str(j, "name");
	st->image = dup_str(j, "image");
	st->image_id = dup_str(j, "image_id");
	st->created = dup_str(j, "created");
	st->started_at = dup_str(j, "started_at");
	st->finished_at = dup_str(j, "finished_at");
	st->error = dup_str(j, "error");
	st->stop_signal = dup_str(j, "stop_signal");
	const char *status = json_get_str(j, "status");
	st->status = CTR_CREATED;
	for (int i = 0; i < 3; i++)
		if (status != NULL && strcmp(status, status_names[i]) == 0)
			st->status = (enum ctr_status)i;
	st->pid = (pid_t)json_get_int(j, "pid", 0);
	st->pid_start = (unsigned long long)json_get_int(j, "pid_start", 0);
	st->monitor_pid = (pid_t)json_get_int(j, "monitor_pid", 0);
	st->monitor_start = (unsigned long long)json_get_int(j, "monitor_start", 0);
	st->exit_code = (int)json_get_int(j, "exit_code", 0);
	st->stop_timeout = (int)json_get_int(j, "stop_timeout", 10);
	st->oom_killed = json_is_true(json_object_get(j, "oom_killed"));
	st->auto_remove = json_is_true(json_object_get(j, "auto_remove"));
	st->tty = json_is_true(json_object_get(j, "tty"));
	st->interactive = json_is_true(json_object_get(j, "interactive"));
	json_t *extra = json_get_obj(j, "extra");
	st->extra = extra ? json_incref(extra) : json_object();
	return 0;
}

int ctr_state_write(struct ctr_store *cs, const struct ctr_state *st, struct mctr_err *err)
{
	_cleanup_close_ int dfd = ctr_dir_open(cs, st->id, err);
	if (dfd < 0)
		return -1;
	_cleanup_json_ json_t *j = json_pack(
		"{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:I, s:I, s:I, s:I, s:i, s:b, s:b, s:b, s:b, s:s?, "
		"s:i, s:O?}",
		"id", st->id, "name", st->name, "image", st->image, "image_id", st->image_id, "created", st->created,
		"started_at", st->started_at, "finished_at", st->finished_at, "error", st->error, "status",
		status_names[st->status], "pid", (json_int_t)st->pid, "pid_start", (json_int_t)st->pid_start,
		"monitor_pid", (json_int_t)st->monitor_pid, "monitor_start", (json_int_t)st->monitor_start,
		"exit_code", st->exit_code, "oom_killed", st->oom_killed, "auto_remove", st->auto_remove, "tty",
		st->tty, "interactive", st->interactive, "stop_signal", st->stop_signal, "stop_timeout",
		st->stop_timeout, "extra", st->extra);
	size_t len;
	_cleanup_free_ char *s = json_dump_canonical(j, &len);
	/* A container's record is not precious data: rename gives atomicity,
	 * and skipping fsync keeps `run` fast. */
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".state.json.tmp-%ld", (long)getpid());
	_cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fd_write_all(fd, s, len, err) < 0 || renameat(dfd, tmp, dfd, "state.json") < 0) {
		if (err != NULL && err->msg[0] == '\0')
			mctr_fail_errno(err, "write state of container %.12s", st->id);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}

void ctr_state_clear(struct ctr_state *st)
{
	free(st->name);
	free(st->image);
	free(st->image_id);
	free(st->created);
	free(st->started_at);
	free(st->finished_at);
	free(st->error);
	free(st->stop_signal);
	json_decref(st->extra);
	memset(st, 0, sizeof *st);
}

int ctr_lock(struct ctr_store *cs, const char *id, struct mctr_err *err)
{
	/* flock on the container's directory itself: no lock file to make and
	 * remove on every run. */
	_cleanup_close_ int dfd = ctr_dir_open(cs, id, err);
	if (dfd < 0)
		return -1;
	while (flock(dfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return mctr_fail_errno(err, "lock container %.12s", id);
	return steal_fd(&dfd);
}

unsigned long long ctr_pid_start_time(pid_t pid)
{
	if (pid <= 0)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* After ")": field 3 (state) ... field 22 (starttime) is the 20th. */
	unsigned long long v = 0;
	int field = 2;
	for (char *save = NULL, *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (++field == 22) {
			v = strtoull(tok, NULL, 10);
			break;
		}
	}
	/* A zombie has exited: treat it as gone. */
	char *state = p + 2;
	if (*state == 'Z' || *state == 'X')
		return 0;
	return v;
}

bool ctr_pid_alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && start != 0 && ctr_pid_start_time(pid) == start;
}

int ctr_pidfd_open_checked(pid_t pid, unsigned long long start, struct mctr_err *err)
{
	if (pid <= 0)
		return mctr_fail(err, ESRCH, "no process");
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return mctr_fail_errno(err, "pidfd_open %ld", (long)pid);
	/* The pidfd pins the process; if it is the one recorded, signals
	 * through it cannot reach a later process with a recycled PID. */
	if (ctr_pid_start_time(pid) != start) {
		close(fd);
		return mctr_fail(err, ESRCH, "process %ld has exited", (long)pid);
	}
	return fd;
}

bool ctr_state_reconcile(struct ctr_state *st)
{
	if (st->status != CTR_RUNNING)
		return false;
	if (ctr_pid_alive(st->monitor_pid, st->monitor_start) || ctr_pid_alive(st->pid, st->pid_start))
		return false;
	/* Both the container and its monitor are gone without a record of
	 * the end (monitor killed): exited, status unknown. */
	st->status = CTR_EXITED;
	st->exit_code = 255;
	free(st->error);
	st->error = xstrdup("the monitor process died; exit status unknown");
	return true;
}

int ctr_remove_files(struct ctr_store *cs, struct ctr_state *st, struct mctr_err *err)
{
	if (rm_rf_at(cs->containers_fd, st->id, err) < 0)
		return mctr_err_wrap(err, "remove container %.12s", st->id);
	ctr_release_name(cs, st->name);
	return 0;
}

int ctr_cgroup_open(const char *id, struct cgroup **out, struct mctr_err *err)
{
	_cleanup_free_ char *name = xasprintf("%s/%s", CGROUP_DEFAULT_PARENT, id);
	return cgroup_open(NULL, name, out, err);
}

int ctr_cgroup_remove(struct cgroup *cg, const char *id, struct mctr_err *err)
{
	if (cg != NULL && cgroup_destroy(cg, err) < 0)
		return -1;
	ctr_cgroup_unclaim(id);
	return 0;
}

int ctr_cgroup_destroy(const char *id, struct mctr_err *err)
{
	struct cgroup *cg = NULL;
	if (ctr_cgroup_open(id, &cg, err) < 0)
		return -1;
	int rc = ctr_cgroup_remove(cg, id, err);
	cgroup_free(cg);
	return rc;
}

static char *claim_target(const struct ctr_store *cs, const char *id)
{
	return xasprintf("%s/containers/%s", cs->root, id);
}

int ctr_cgroup_claim(const struct ctr_store *cs, const char *id, struct mctr_err *err)
{
	_cleanup_free_ char *target = claim_target(cs, id);
	_cleanup_free_ char *link = path_join(CTR_CGROUP_CLAIMS_DIR, id);
	int first = symlink(target, link) == 0 ? 0 : errno;
	if (first == 0)
		return 0;
	/* The first container since boot makes the directory; a restarted
	 * container replaces its own old claim. */
	if (first == ENOENT && mkdir_p_at(AT_FDCWD, CTR_CGROUP_CLAIMS_DIR, 0700, err) < 0)
		return mctr_err_wrap(err, "claim cgroup %s/%.12s", CGROUP_DEFAULT_PARENT, id);
	if (first == EEXIST)
		unlink(link);
	if (symlink(target, link) < 0)
		return mctr_fail_errno(err, "claim cgroup %s/%.12s: symlink %s", CGROUP_DEFAULT_PARENT, id, link);
	return 0;
}

void ctr_cgroup_unclaim(const char *id)
{
	_cleanup_free_ char *link = path_join(CTR_CGROUP_CLAIMS_DIR, id);
	if (unlink(link) < 0 && errno != ENOENT)
		mctr_debug("unclaim %s: %s", link, strerror(errno));
}

enum ctr_claim ctr_cgroup_claim_owner(const struct ctr_store *cs, const char *id)
{
	_cleanup_free_ char *link = path_join(CTR_CGROUP_CLAIMS_DIR, id);
	_cleanup_free_ char *target = claim_target(cs, id);
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof buf - 1);
	if (n < 0)
		return CTR_CLAIM_NONE; /* nobody's, or made by hand */
	buf[n] = '\0';
	return strcmp(buf, target) == 0 ? CTR_CLAIM_HERE : CTR_CLAIM_ELSEWHERE;
}

int ctr_remove(struct ctr_store *cs, struct ctr_state *st, struct mctr_err *err)
{
	if (ctr_cgroup_destroy(st->id, err) < 0)
		return mctr_err_wrap(err, "remove container %.12s", st->id);
	return ctr_remove_files(cs, st, err);
}
