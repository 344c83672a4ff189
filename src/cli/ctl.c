/* mctr stop, kill, wait, rm, container prune, logs: lifecycle commands on
 * existing containers.  Signals go through pidfds opened only after the
 * recorded start time matched, so a recycled PID is never hit. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/ctrlog.h"
#include "mctr/fsutil.h"

/* Parse "SIGTERM", "TERM", "15", "SIGRTMIN+3". */
static int parse_signal(const char *s, int *sig, struct mctr_err *err)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0') {
		if (v <= 0 || v >= NSIG)
			return mctr_fail(err, 0, "invalid signal \"%s\"", s);
		*sig = (int)v;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		bool max = strncasecmp(name, "RTMAX", 5) == 0;
		long off = name[5] == '\0' ? 0 : strtol(name + 5, &end, 10);
		int n = (max ? SIGRTMAX : SIGRTMIN) + (int)off;
		if (n < SIGRTMIN || n > SIGRTMAX)
			return mctr_fail(err, 0, "invalid signal \"%s\"", s);
		*sig = n;
		return 0;
	}
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev != NULL && strcasecmp(abbrev, name) == 0) {
			*sig = i;
			return 0;
		}
	}
	return mctr_fail(err, 0, "invalid signal \"%s\"", s);
}

/* Wait (bounded) for a recorded process to exit; true if it did. */
static bool wait_exit(pid_t pid, unsigned long long start, int timeout_ms)
{
	struct mctr_err ignored = { 0 };
	_cleanup_close_ int fd = ctr_pidfd_open_checked(pid, start, &ignored);
	if (fd < 0)
		return true;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms) > 0;
}

static int signal_container(const struct ctr_state *s, int sig, struct mctr_err *err)
{
	_cleanup_close_ int fd = ctr_pidfd_open_checked(s->pid, s->pid_start, err);
	if (fd < 0)
		return mctr_fail(err, 0, "container %s is not running", s->name ? s->name : s->id);
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		return mctr_fail_errno(err, "signal container %s", s->name);
	return 0;
}

/* SIGKILL everything in the container's cgroup. */
static int kill_all(const struct ctr_state *s, struct mctr_err *err)
{
	struct cgroup *cg = NULL;
	if (ctr_cgroup_open(s->id, &cg, err) < 0)
		return -1;
	int rc = cgroup_kill(cg, SIGKILL, err);
	cgroup_free(cg);
	return rc;
}

static int read_ctr(struct cli *cli, const char *arg, struct ctr_store **cs, struct ctr_state *s,
                    struct mctr_err *err)
{
	char id[CONTAINER_ID_LEN + 1];
	if (cli_ctr_store(cli, cs, err) < 0 || ctr_lookup(*cs, arg, id, err) < 0 || ctr_state_read(*cs, id, s, err) < 0)
		return -1;
	ctr_state_reconcile(s);
	return 0;
}

/* Stop: StopSignal, then SIGKILL after the timeout; returns once the
 * monitor has recorded the end. */
static int stop_one(const struct ctr_state *s, int timeout, struct mctr_err *err)
{
	if (s->status != CTR_RUNNING)
		return 0;
	int sig = SIGTERM;
	if (s->stop_signal != NULL && parse_signal(s->stop_signal, &sig, err) < 0)
		return -1;
	struct mctr_err ignored = { 0 };
	if (timeout > 0 && signal_container(s, sig, &ignored) == 0 && wait_exit(s->pid, s->pid_start, timeout * 1000))
		goto recorded;
	/* PID 1 ignores signals it has no handler for (a plain `sh`): kill. */
	if (kill_all(s, err) < 0)
		return -1;
	if (!wait_exit(s->pid, s->pid_start, 10000))
		return mctr_fail(err, 0, "container %s did not die after SIGKILL", s->name);
recorded:
	wait_exit(s->monitor_pid, s->monitor_start, 10000);
	return 0;
}

static int do_stop(struct cli *cli, const char *arg, void *timeout, struct mctr_err *err)
{
	struct ctr_store *cs;
	struct ctr_state s;
	if (read_ctr(cli, arg, &cs, &s, err) < 0)
		return -1;
	int t = *(int *)timeout >= 0 ? *(int *)timeout : s.stop_timeout;
	int rc = stop_one(&s, t, err);
	ctr_state_clear(&s);
	if (rc == 0)
		printf("%s\n", arg);
	return rc;
}

static const char stop_usage[] = "Usage: mctr stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                                 "Stop containers: the stop signal (SIGTERM unless the image says), then SIGKILL.\n\n"
                                 "Options:\n"
                                 "  -t, --time SECS   seconds to wait before SIGKILL (default 10)\n";

int cmd_stop(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "time", required_argument, NULL, 't' }, { 0 } };
	struct cli_opts o = { stop_usage, "t:", longopts };
	int timeout = -1, c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v < 0 || v > 86400)
				return mctr_fail(err, 0, "invalid --time \"%s\"", optarg);
			timeout = (int)v;
			break;
		}
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, stop_usage, err) < 0)
		return -1;
	return cli_for_each_operand(cli, argc, argv, do_stop, &timeout, err);
}

static int do_kill(struct cli *cli, const char *arg, void *sigp, struct mctr_err *err)
{
	struct ctr_store *cs;
	struct ctr_state s;
	if (read_ctr(cli, arg, &cs, &s, err) < 0)
		return -1;
	int rc = s.status == CTR_RUNNING ? signal_container(&s, *(int *)sigp, err)
	                                 : mctr_fail(err, 0, "container %s is not running", arg);
	ctr_state_clear(&s);
	if (rc == 0)
		printf("%s\n", arg);
	return rc;
}

static const char kill_usage[] = "Usage: mctr kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                                 "Send a signal to containers' main process.\n\n"
                                 "Options:\n"
                                 "  -s, --signal SIG   signal to send (default KILL)\n";

int cmd_kill(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "signal", required_argument, NULL, 's' }, { 0 } };
	struct cli_opts o = { kill_usage, "s:", longopts };
	int sig = SIGKILL, c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 's':
			if (parse_signal(optarg, &sig, err) < 0)
				return -1;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, kill_usage, err) < 0)
		return -1;
	return cli_for_each_operand(cli, argc, argv, do_kill, &sig, err);
}

static int do_wait(struct cli *cli, const char *arg, void *unused, struct mctr_err *err)
{
	struct ctr_store *cs;
	struct ctr_state s;
	if (read_ctr(cli, arg, &cs, &s, err) < 0)
		return -1;
	char id[CONTAINER_ID_LEN + 1];
	memcpy(id, s.id, sizeof id);
	if (s.status == CTR_RUNNING) {
		wait_exit(s.pid, s.pid_start, -1);
		wait_exit(s.monitor_pid, s.monitor_start, 10000);
		ctr_state_clear(&s);
		struct mctr_err e2 = { 0 };
		if (ctr_state_read(cs, id, &s, &e2) < 0) {
			printf("0\n"); /* removed on exit (--rm); Docker prints its code, we lost it */
			return 0;
		}
		ctr_state_reconcile(&s);
	}
	printf("%d\n", s.exit_code);
	ctr_state_clear(&s);
	return 0;
}

static const char wait_usage[] = "Usage: mctr wait CONTAINER [CONTAINER...]\n\n"
                                 "Wait for containers to stop, then print their exit codes.\n";

int cmd_wait(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct cli_opts o = { wait_usage, "", NULL };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, wait_usage, err) < 0)
		return -1;
	return cli_for_each_operand(cli, argc, argv, do_wait, NULL, err);
}

/* Remove one container; force kills a running one first. */
static int remove_container(struct ctr_store *cs, const char *id, const char *arg, bool force, struct mctr_err *err)
{
	struct ctr_state s;
	if (ctr_state_read(cs, id, &s, err) < 0)
		return -1;
	ctr_state_reconcile(&s);
	int rc = 0;
	if (s.status == CTR_RUNNING) {
		if (!force)
			rc = mctr_fail(err, 0, "cannot remove running container %s: stop it first, or use -f", arg);
		else
			rc = stop_one(&s, 0, err);
	}
	ctr_state_clear(&s);
	if (rc < 0)
		return -1;
	/* Under the lock: the monitor of an --rm container may be removing it
	 * too; whoever comes second finds nothing left. */
	_cleanup_close_ int lock = ctr_lock(cs, id, err);
	if (lock < 0 && err->errnum == ENOENT) {
		mctr_err_clear(err); /* removed meanwhile: nothing left to do */
		return 0;
	}
	if (lock < 0)
		return -1;
	if (ctr_state_read(cs, id, &s, err) < 0) {
		mctr_err_clear(err);
		return 0;
	}
	rc = ctr_remove(cs, &s, err);
	ctr_state_clear(&s);
	return rc;
}

static int do_rm(struct cli *cli, const char *arg, void *force, struct mctr_err *err)
{
	struct ctr_store *cs;
	char id[CONTAINER_ID_LEN + 1];
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_lookup(cs, arg, id, err) < 0 ||
	    remove_container(cs, id, arg, *(bool *)force, err) < 0)
		return -1;
	printf("%s\n", arg);
	return 0;
}

static const char rm_usage[] = "Usage: mctr rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                               "Remove containers.\n\n"
                               "Options:\n"
                               "  -f, --force     kill a running container first\n"
                               "  -v, --volumes   accepted for Docker scripts (mctr has no anonymous volumes)\n";

int cmd_rm(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' }, { "volumes", no_argument, NULL, 'v' }, { 0 } };
	struct cli_opts o = { rm_usage, "fv", longopts };
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'v':
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, rm_usage, err) < 0)
		return -1;
	return cli_for_each_operand(cli, argc, argv, do_rm, &force, err);
}

static const char prune_usage[] = "Usage: mctr container prune [OPTIONS]\n\n"
                                  "Remove all stopped containers.\n\n"
                                  "Options:\n"
                                  "  -f, --force   do not ask (mctr never asks)\n";

int cmd_container_prune(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	struct cli_opts o = { prune_usage, "f", longopts };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'f':
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, prune_usage, err) < 0)
		return -1;
	struct ctr_store *cs;
	_cleanup_strv_ char **ids = NULL;
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_list(cs, &ids, err) < 0)
		return -1;
	bool header = false;
	for (char **p = ids; *p != NULL; p++) {
		struct ctr_state s;
		struct mctr_err e = { 0 };
		if (ctr_state_read(cs, *p, &s, &e) < 0)
			continue;
		ctr_state_reconcile(&s);
		bool stopped = s.status != CTR_RUNNING;
		ctr_state_clear(&s);
		if (!stopped || remove_container(cs, *p, *p, false, &e) < 0)
			continue;
		if (!header)
			printf("Deleted Containers:\n");
		header = true;
		printf("%s\n", *p);
	}
	return 0;
}

struct follow_arg {
	struct ctr_store *cs;
	const char *id;
};

static bool still_running(void *arg)
{
	struct follow_arg *f = arg;
	struct ctr_state s;
	struct mctr_err e = { 0 };
	if (ctr_state_read(f->cs, f->id, &s, &e) < 0)
		return false;
	ctr_state_reconcile(&s);
	bool running = s.status == CTR_RUNNING || s.status == CTR_CREATED;
	ctr_state_clear(&s);
	return running;
}

static const char logs_usage[] = "Usage: mctr logs [OPTIONS] CONTAINER\n\n"
                                 "Print a container's output.\n\n"
                                 "Options:\n"
                                 "  -f, --follow       keep printing new output until the container stops\n"
                                 "  -n, --tail N       only the last N lines\n"
                                 "  -t, --timestamps   prefix each line with its time\n";

int cmd_logs(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "tail", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' },
		{ 0 },
	};
	struct cli_opts o = { logs_usage, "fn:t", longopts };
	struct ctrlog_read_opts ro = { .tail = -1 };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'f':
			ro.follow = true;
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (strcmp(optarg, "all") == 0)
				v = -1;
			else if (*end != '\0' || v < 0)
				return mctr_fail(err, 0, "invalid --tail \"%s\"", optarg);
			ro.tail = v;
			break;
		}
		case 't':
			ro.timestamps = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, 1, logs_usage, err) < 0)
		return -1;
	struct ctr_store *cs;
	char id[CONTAINER_ID_LEN + 1];
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_lookup(cs, argv[optind], id, err) < 0)
		return -1;
	_cleanup_close_ int dfd = ctr_dir_open(cs, id, err);
	if (dfd < 0)
		return -1;
	struct follow_arg fa = { cs, id };
	ro.still_running = still_running;
	ro.arg = &fa;
	return ctrlog_print(dfd, &ro, err);
}
