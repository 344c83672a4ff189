/* The last stretch before execve, shared by rt_run's child (PID 1 of the
 * container) and rt_exec's process: user and groups from the container's
 * own files, cwd, rlimits, capabilities, no_new_privs, the optional init,
 * and execve with the container's PATH.
 *
 * Until execve the process is a copy of mctr: it stays non-dumpable (no
 * ptrace, no /proc/PID/exe or /proc/PID/fd from the container:
 * CVE-2019-5736, CVE-2024-21626), and every fd but 0, 1 and 2 is marked
 * close-on-exec right before execve. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

void rt_child_fail(int sync_fd, struct mctr_err *err)
{
	rt_sync_send_error(sync_fd, err);
	_exit(err->status ? err->status : MCTR_EXIT_ERROR);
}

void rt_signals_reset(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int rt_stdio_install(const struct rt_stdio *stdio, struct mctr_err *err)
{
	const int want[3] = { stdio->in, stdio->out, stdio->err };
	int tmp[3] = { -1, -1, -1 };
	int rc = 0;
	/* Copy the sources above 2 first, so installing one cannot clobber
	 * another that sits on a low number. */
	for (int i = 0; i < 3 && rc == 0; i++) {
		if (want[i] < 0)
			tmp[i] = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
		else
			tmp[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			rc = mctr_fail_errno(err, "set up the container's stdio");
	}
	for (int i = 0; i < 3 && rc == 0; i++)
		if (dup2(tmp[i], i) < 0)
			rc = mctr_fail_errno(err, "dup2");
	for (int i = 0; i < 3; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	return rc;
}

/* ---- identity ----------------------------------------------------------- */

static int resolve_identity(const struct rt_process_spec *p, int rootfd, struct rt_user *id, struct mctr_err *err)
{
	memset(id, 0, sizeof *id);
	if (p->user_name != NULL) {
		if (rt_user_resolve_in_root(rootfd, p->user_name, id, err) < 0)
			return -1;
	} else {
		id->uid = p->uid;
		id->gid = p->gid;
	}
	for (size_t i = 0; i < p->n_additional_gids; i++)
		rt_user_add_group(id, p->additional_gids[i]);
	return 0;
}

static const char *env_get(char *const *env, const char *name)
{
	size_t len = strlen(name);
	for (; *env != NULL; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* The spec's env plus HOME (from passwd) when it has none. */
static char **build_env(const struct rt_process_spec *p, struct rt_user *id, int rootfd)
{
	size_t n = 0;
	while (p->env[n] != NULL)
		n++;
	char **env = xcalloc(n + 2, sizeof *env);
	for (size_t i = 0; i < n; i++)
		env[i] = p->env[i];
	if (env_get(p->env, "HOME") == NULL) {
		if (id->home == NULL)
			id->home = rt_user_home_in_root(rootfd, id->uid);
		env[n] = xasprintf("HOME=%s", id->home);
	}
	return env;
}

/* ---- the steps ------------------------------------------------------------ */

static int set_rlimits(const struct rt_process_spec *p, struct mctr_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct rt_rlimit *r = &p->rlimits[i];
		struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
		if (setrlimit(r->resource, &rl) == 0)
			continue;
		int e = errno;
		struct rlimit cur;
		getrlimit(r->resource, &cur);
		if (e == EPERM && r->hard > cur.rlim_max)
			return mctr_fail(err, e, "%s: hard limit %llu is above this host's hard limit %llu, which only "
			                 "CAP_SYS_RESOURCE could raise", r->name, (unsigned long long)r->hard,
			                 (unsigned long long)cur.rlim_max);
		return mctr_fail(err, e, "setrlimit %s %llu:%llu", r->name, (unsigned long long)r->soft,
		                 (unsigned long long)r->hard);
	}
	return 0;
}

static int set_oom_score_adj(const struct rt_process_spec *p, struct mctr_err *err)
{
	if (!p->has_oom_score_adj)
		return 0;
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return mctr_fail_errno(err, "set oom_score_adj %d", p->oom_score_adj);
	return 0;
}

/* chdir, then make sure the result is a real directory inside the root: a
 * cwd left outside it (a leaked fd's /proc/self/fd/N) is how
 * CVE-2024-21626 escaped. */
static int enter_cwd(const char *cwd, struct mctr_err *err)
{
	if (chdir(cwd) < 0)
		return mctr_fail_errno(err, "chdir to %s", cwd);
	char buf[4096];
	if (getcwd(buf, sizeof buf) == NULL || buf[0] != '/')
		return mctr_fail(err, errno ? errno : EINVAL, "the working directory %s is not inside the container",
		                 cwd);
	return 0;
}

/* Exec argv, searching the container's PATH (not mctr's) when argv[0] has
 * no '/'.  Returns the errno that explains the failure. */
static int exec_command(char *const *argv, char *const *env)
{
	const char *file = argv[0];
	if (strchr(file, '/') != NULL) {
		execve(file, argv, env);
		return errno;
	}
	const char *path = env_get(env, "PATH");
	if (path == NULL)
		path = DEFAULT_PATH;
	bool eacces = false;
	size_t flen = strlen(file);
	while (true) {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char buf[4096];
		if (dlen + flen + 2 <= sizeof buf) {
			if (dlen == 0)
				buf[0] = '.', dlen = 1;
			else
				memcpy(buf, path, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			execve(buf, argv, env);
			switch (errno) {
			case EACCES:
				eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return errno;
			}
		}
		if (*end == '\0')
			break;
		path = end + 1;
	}
	return eacces ? EACCES : ENOENT;
}

static void exec_failed(int sync_fd, const char *file, int e)
{
	struct mctr_err err = { 0 };
	if (e == ENOENT && strchr(file, '/') == NULL)
		mctr_fail(&err, 0, "exec: \"%s\": executable file not found in $PATH", file);
	else
		mctr_fail(&err, e, "exec: %s", file);
	err.status = (e == ENOENT || e == ENOTDIR) ? MCTR_EXIT_NOT_FOUND : MCTR_EXIT_CANNOT_EXEC;
	rt_child_fail(sync_fd, &err);
}

/* The process that execs: session/tty, signals, fds, execve. */
__attribute__((noreturn)) static void exec_now(const struct rt_final *f, char **env, bool is_init_child)
{
	struct mctr_err err = { 0 };
	if (f->tty_slave >= 0) {
		if (rt_tty_attach(f->tty_slave, &err) < 0)
			rt_child_fail(f->sync_fd, &err);
	} else if (is_init_child) {
		setpgid(0, 0); /* the init forwards signals to this group */
	}
	/* Dispositions were reset when this process began (rt_child_main,
	 * rt_exec) and nothing installs a handler since; the init only blocks
	 * signals, so the mask is all that may need resetting. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (rt_sync_send(f->sync_fd, RT_MSG_EXEC, 0, -1, &err) < 0)
		_exit(MCTR_EXIT_ERROR);
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Old kernels: mark them one by one. */
		for (int fd = 3; fd < 65536; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	exec_failed(f->sync_fd, f->process->args[0], exec_command(f->process->args, env));
	_exit(MCTR_EXIT_ERROR);
}

void rt_finalize_and_exec(const struct rt_final *f)
{
	const struct rt_process_spec *p = f->process;
	struct mctr_err err = { 0 };
	struct rt_user id;
	if (resolve_identity(p, f->rootfd, &id, &err) < 0)
		rt_child_fail(f->sync_fd, &err);
	char **env = build_env(p, &id, f->rootfd);

	/* cwd first as root (the user may lack search permission on the
	 * way), again after the switch so the user's view is checked too. */
	bool cwd_done = chdir(p->cwd) == 0;
	if (!cwd_done && errno == ENOENT) {
		int fd = mkdir_in_root(f->rootfd, p->cwd, 0755, &err);
		if (fd < 0)
			rt_child_fail(f->sync_fd, &err);
		close(fd);
	}
	if (set_rlimits(p, &err) < 0 || set_oom_score_adj(p, &err) < 0)
		rt_child_fail(f->sync_fd, &err);
	umask(p->umask);

	struct rt_caps caps = { 0 };
	if (p->has_caps)
		caps = p->caps;
	if (f->drop_mknod) {
		uint64_t mknod = UINT64_C(1) << 27; /* CAP_MKNOD */
		caps.bounding &= ~mknod;
		caps.effective &= ~mknod;
		caps.permitted &= ~mknod;
	}
	if (rt_caps_and_ids_apply(&caps, id.uid, id.gid, id.groups, id.n_groups, &err) < 0)
		rt_child_fail(f->sync_fd, &err);
	/* A uid change clears the parent-death signal. */
	if (f->die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		mctr_fail_errno(&err, "prctl(PR_SET_PDEATHSIG)");
		rt_child_fail(f->sync_fd, &err);
	}
	if (enter_cwd(p->cwd, &err) < 0)
		rt_child_fail(f->sync_fd, &err);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		mctr_fail_errno(&err, "prctl(PR_SET_NO_NEW_PRIVS)");
		rt_child_fail(f->sync_fd, &err);
	}
	rt_user_free(&id);

	if (!f->init)
		exec_now(f, env, false);

	/* The init: block the signals it forwards before the fork so none is
	 * lost, give the command the terminal (if any) as its stdio too. */
	sigset_t fwd, old;
	rt_init_signal_set(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	if (f->tty_slave >= 0) {
		for (int i = 0; i < 3; i++)
			dup2(f->tty_slave, i);
	}
	pid_t cmd = fork();
	if (cmd < 0) {
		mctr_fail_errno(&err, "fork the command");
		rt_child_fail(f->sync_fd, &err);
	}
	if (cmd == 0)
		exec_now(f, env, true);
	_exit(rt_init_loop(cmd, f->tty_slave >= 0));
}
