/* Root-only tests of src/runtime/cgroup*.c on the host's REAL cgroup
 * hierarchies: limits land in the kernel's files, a forked child really
 * joins, the pids/memory/device limits really bite, kill/wait/destroy leave
 * nothing behind.  Skipped (exit 0 with a message) when not root or when
 * the host has no cgroups.
 *
 * Every cgroup is named mctr-test-<pid of the test runner>[/...]; the
 * runner-side teardown destroys all of them even when a test fails. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "testutil.h"

#define MiB (1024 * 1024)
#define ROOT CGROUP_DEFAULT_ROOT

static char prefix[64];        /* mctr-test-<runner pid> */
static enum cgroup_mode host_mode;
static char v2_root[256];      /* a cgroup2 mount for the BPF test, "" if none */

/* Every name a test may create, leaves before parents. */
static const char *const leaves[] = { "c1", "pids", "oom", "dev", "frz" };

static void destroy_quietly(const struct cgroup_opts *opts, const char *name)
{
	struct cgroup *cg = NULL;
	struct mctr_err err = { 0 };
	if (cgroup_open(opts, name, &cg, &err) < 0)
		return;
	if (cgroup_destroy(cg, &err) < 0)
		fprintf(stderr, "teardown: %s\n", err.msg);
	cgroup_free(cg);
}

static void setup(void)
{
	snprintf(prefix, sizeof prefix, "mctr-test-%d", (int)getpid());
}

static void teardown(void)
{
	char name[128];
	for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
		snprintf(name, sizeof name, "%s/%s", prefix, leaves[i]);
		destroy_quietly(NULL, name);
		struct cgroup_opts v1 = { .mode = CGROUP_MODE_V1 };
		if (host_mode == CGROUP_MODE_HYBRID)
			destroy_quietly(&v1, name);
	}
	destroy_quietly(NULL, prefix);
	if (v2_root[0] != '\0') {
		struct cgroup_opts v2 = { .root = v2_root, .mode = CGROUP_MODE_V2 };
		snprintf(name, sizeof name, "%s-bpf", prefix);
		destroy_quietly(&v2, name);
		snprintf(name, sizeof name, "%s-frz", prefix);
		destroy_quietly(&v2, name);
	}
}

/* Names under any hierarchy root that start with prefix. */
static void assert_no_leftovers(void)
{
	static const char *const roots[] = { ROOT, ROOT "/unified" };
	for (size_t r = 0; r < 2; r++) {
		_cleanup_closedir_ DIR *top = opendir(roots[r]);
		if (top == NULL)
			continue;
		struct dirent *h;
		while ((h = readdir(top)) != NULL) {
			if (h->d_name[0] == '.')
				continue;
			_cleanup_free_ char *hdir = path_join(roots[r], h->d_name);
			_cleanup_closedir_ DIR *d = opendir(hdir);
			struct dirent *e;
			while (d != NULL && (e = readdir(d)) != NULL)
				ck_assert_msg(strncmp(e->d_name, prefix, strlen(prefix)) != 0, "left behind: %s/%s",
				              hdir, e->d_name);
			/* A cgroup2 root is itself a hierarchy. */
			ck_assert_msg(strncmp(h->d_name, prefix, strlen(prefix)) != 0, "left behind: %s",
			              hdir);
		}
	}
}

static char *read_text(const char *path)
{
	char *out = NULL;
	struct mctr_err err = { 0 };
	ck_assert_msg(file_read_at(AT_FDCWD, path, 1 << 20, &out, NULL, &err) == 0, "%s", err.msg);
	return out;
}

#define ck_knob_eq(dir, file, want)                                                                  \
	do {                                                                                         \
		_cleanup_free_ char *p_ = xasprintf("%s/%s", (dir), (file));                         \
		_cleanup_free_ char *got_ = read_text(p_);                                           \
		ck_assert_msg(strcmp(got_, (want)) == 0, "%s: got \"%s\", want \"%s\"", p_, got_, (want)); \
	} while (0)

static struct cgroup *open_or_die(const struct cgroup_opts *opts, const char *name)
{
	struct cgroup *cg = NULL;
	struct mctr_err err = { 0 };
	ck_assert_msg(cgroup_open(opts, name, &cg, &err) == 0, "open %s: %s", name, err.msg);
	return cg;
}

static void create_or_die(struct cgroup *cg, const struct cgroup_resources *res)
{
	struct mctr_err err = { 0 };
	ck_assert_msg(cgroup_create(cg, res, &err) == 0, "create: %s", err.msg);
}

static void destroy_or_die(const struct cgroup_opts *opts, const char *name)
{
	struct cgroup *cg = open_or_die(opts, name);
	struct mctr_err err = { 0 };
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy %s: %s", name, err.msg);
	cgroup_free(cg);
}

/* ---- children -------------------------------------------------------------- */

/* A forked child that waits for "go" (so the parent can move it into the
 * cgroup first), runs body with a pipe for results, then exits. */
struct child {
	pid_t pid;
	int go;     /* write end */
	int result; /* read end */
};

static void child_start(struct child *c, void (*body)(int out))
{
	int go[2], res[2];
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(res, O_CLOEXEC), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		char b;
		signal(SIGTERM, SIG_DFL); /* Check's handler would forward it */
		close(go[1]);
		close(res[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(90);
		body(res[1]);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	c->go = go[1];
	c->result = res[0];
}

static void child_go(struct child *c)
{
	ck_assert_int_eq(write(c->go, "g", 1), 1);
	close(c->go);
}

static void child_read(struct child *c, void *buf, size_t len)
{
	ck_assert_int_eq(read(c->result, buf, len), (ssize_t)len);
}

static int child_wait(struct child *c)
{
	int status;
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	close(c->result);
	return status;
}

static void body_pause(int out)
{
	ck_assert_int_eq(write(out, "r", 1), 1);
	for (;;)
		pause();
}

/* ---- the tests -------------------------------------------------------------- */

/* The layout as /proc/self/mountinfo tells it, independently of the statfs
 * probing under test: cgroup2 on the root is v2; cgroup v1 hierarchies
 * below it are v1, hybrid with a cgroup2 at unified/. */
static enum cgroup_mode mode_from_mountinfo(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	ck_assert_ptr_nonnull(f);
	bool v2_on_root = false, v1 = false, unified = false;
	char line[8192];
	while (fgets(line, sizeof line, f) != NULL) {
		char mp[4096], fstype[64];
		char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(mp, ROOT) == 0)
			v2_on_root = strcmp(fstype, "cgroup2") == 0; /* the last mount on top wins */
		else if (strcmp(mp, ROOT "/unified") == 0 && strcmp(fstype, "cgroup2") == 0)
			unified = true;
		else if (strncmp(mp, ROOT "/", strlen(ROOT "/")) == 0 && strcmp(fstype, "cgroup") == 0)
			v1 = true;
	}
	if (v2_on_root)
		return CGROUP_MODE_V2;
	if (v1)
		return unified ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
	return CGROUP_MODE_NONE;
}

START_TEST(real_detect_matches_mountinfo)
{
	ck_assert_msg(host_mode == mode_from_mountinfo(), "detected %s, mountinfo says %s", cgroup_mode_name(host_mode),
	              cgroup_mode_name(mode_from_mountinfo()));
	struct cgroup *cg = open_or_die(NULL, prefix);
	ck_assert_int_eq(cgroup_get_mode(cg), host_mode);
	cgroup_free(cg);
	/* Swap accounting as Docker sees it on v1: the memsw files. */
	if (host_mode != CGROUP_MODE_V2)
		ck_assert_int_eq(cgroup_swap_limit_supported(NULL),
		                 access(ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0);
}
END_TEST

START_TEST(real_limits_membership_kill_destroy)
{
	_cleanup_free_ char *name = xasprintf("%s/c1", prefix);
	struct cgroup *cg = open_or_die(NULL, name);
	ck_assert_int_eq(cgroup_get_mode(cg), host_mode);
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	int64_t nanocpus;
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	res.has_pids_limit = true;
	res.pids_limit = 10;
	ck_assert_int_eq(cgroup_parse_cpus("1.5", &nanocpus, &err), 0);
	ck_assert_int_eq(cgroup_resources_set_cpus(&res, nanocpus, &err), 0);
	cgroup_resources_set_default_devices(&res);
	create_or_die(cg, &res);
	ck_assert(cgroup_can_restrict_devices(cg));

	if (host_mode == CGROUP_MODE_V2) {
		_cleanup_free_ char *leaf = path_join(ROOT, name);
		ck_knob_eq(leaf, "memory.max", "67108864\n");
		ck_knob_eq(leaf, "pids.max", "10\n");
		ck_knob_eq(leaf, "cpu.max", "150000 100000\n");
	} else {
		_cleanup_free_ char *mem = xasprintf(ROOT "/memory/%s", name);
		_cleanup_free_ char *pids = xasprintf(ROOT "/pids/%s", name);
		_cleanup_free_ char *cpu = xasprintf(ROOT "/cpu/%s", name);
		_cleanup_free_ char *cpuset = xasprintf(ROOT "/cpuset/%s", name);
		_cleanup_free_ char *host_cpus = read_text(ROOT "/cpuset/cpuset.cpus");
		ck_knob_eq(mem, "memory.limit_in_bytes", "67108864\n");
		ck_knob_eq(pids, "pids.max", "10\n");
		ck_knob_eq(cpu, "cpu.cfs_quota_us", "150000\n");
		ck_knob_eq(cpu, "cpu.cfs_period_us", "100000\n");
		ck_knob_eq(cpuset, "cpuset.cpus", host_cpus); /* copied down */
	}

	struct child c;
	char ready;
	child_start(&c, body_pause);
	ck_assert_msg(cgroup_enter(cg, c.pid, &err) == 0, "enter: %s", err.msg);
	child_go(&c);
	child_read(&c, &ready, 1);

	/* Every hierarchy the child is in (v1 ones and, on hybrid, 0::) shows
	 * the container's cgroup. */
	_cleanup_free_ char *procfile = xasprintf("/proc/%d/cgroup", (int)c.pid);
	_cleanup_free_ char *membership = read_text(procfile);
	_cleanup_free_ char *suffix = xasprintf(":/%s", name);
	size_t lines = 0;
	for (char *line = strtok(membership, "\n"); line != NULL; line = strtok(NULL, "\n"), lines++) {
		size_t ll = strlen(line), sl = strlen(suffix);
		ck_assert_msg(ll >= sl && strcmp(line + ll - sl, suffix) == 0, "%s: %s", procfile, line);
	}
	ck_assert_int_ge(lines, host_mode == CGROUP_MODE_V2 ? 1 : 5);

	pid_t *pids = NULL;
	size_t n = 0;
	bool empty = true;
	ck_assert_int_eq(cgroup_list_pids(cg, &pids, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(pids[0], c.pid);
	free(pids);
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(!empty);

	/* `mctr kill` from another process: a fresh handle by name. */
	struct cgroup *other = open_or_die(NULL, name);
	ck_assert_msg(cgroup_kill(other, SIGKILL, &err) == 0, "kill: %s", err.msg);
	int status = child_wait(&c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_msg(cgroup_wait_empty(other, 5000, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_destroy(other, &err) == 0, "destroy: %s", err.msg);
	cgroup_free(other);
	cgroup_free(cg);
	cgroup_resources_free(&res);

	destroy_or_die(NULL, prefix); /* the parent is a plain cgroup too */
	assert_no_leftovers();
}
END_TEST

static void body_fork_many(int out)
{
	int made = 0, eagain = 0, other = 0;
	for (int i = 0; i < 20; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				pause();
		}
		if (p > 0)
			made++;
		else if (errno == EAGAIN)
			eagain++;
		else
			other++;
	}
	int r[3] = { made, eagain, other };
	ck_assert_int_eq(write(out, r, sizeof r), (ssize_t)sizeof r);
	for (;;)
		pause();
}

START_TEST(real_pids_limit_bites)
{
	_cleanup_free_ char *name = xasprintf("%s/pids", prefix);
	struct cgroup *cg = open_or_die(NULL, name);
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_pids_limit = true;
	res.pids_limit = 10;
	create_or_die(cg, &res);
	struct child c;
	int r[3];
	child_start(&c, body_fork_many);
	ck_assert_int_eq(cgroup_enter(cg, c.pid, &err), 0);
	child_go(&c);
	child_read(&c, r, sizeof r);
	/* The child itself is one of the 10. */
	ck_assert_msg(r[0] == 9 && r[1] == 11 && r[2] == 0, "forks made %d, EAGAIN %d, other %d", r[0], r[1], r[2]);
	pid_t *pids = NULL;
	size_t n = 0;
	ck_assert_int_eq(cgroup_list_pids(cg, &pids, &n, &err), 0);
	ck_assert_int_eq(n, 10);
	free(pids);
	/* destroy kills what is left and waits for it. */
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	int status = child_wait(&c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cgroup_free(cg);
	destroy_or_die(NULL, prefix);
	assert_no_leftovers();
}
END_TEST

static void body_eat_memory(int out)
{
	size_t len = 256 * MiB;
	/* volatile: an optimiser may drop a memset of memory nobody reads. */
	volatile char *p = malloc(len);
	if (p == NULL)
		_exit(91);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1; /* touch every page */
	_exit(92);          /* not reached when the OOM killer works */
}

START_TEST(real_oom_is_counted)
{
	_cleanup_free_ char *name = xasprintf("%s/oom", prefix);
	struct cgroup *cg = open_or_die(NULL, name);
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 32 * MiB;
	res.has_memory_swap = true; /* no swapping instead of dying */
	res.memory_swap = 32 * MiB;
	if (cgroup_create(cg, &res, &err) < 0) {
		ck_assert_msg(err.errnum == ENOTSUP, "create: %s", err.msg);
		res.has_memory_swap = false; /* no swap accounting on this host */
		create_or_die(cg, &res);
	}
	uint64_t before = 99;
	ck_assert_msg(cgroup_oom_kill_count(cg, &before, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(before, 0);
	struct child c;
	child_start(&c, body_eat_memory);
	ck_assert_int_eq(cgroup_enter(cg, c.pid, &err), 0);
	child_go(&c);
	int status = child_wait(&c);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
	uint64_t after = 0;
	ck_assert_msg(cgroup_oom_kill_count(cg, &after, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(after, 1);
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	cgroup_free(cg);
	cgroup_resources_free(&res);
	destroy_or_die(NULL, prefix);
	assert_no_leftovers();
}
END_TEST

/* ---- device rules ------------------------------------------------------------ */

static char disk_node[256];  /* a block device node the host lets us open */
static char fresh_node[256]; /* where the child tries mknod */
static dev_t disk_dev;

static int errno_of_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

enum { DEV_NULL_RW, DEV_DISK_R, DEV_MKNOD, DEV_ZERO_R, DEV_ZERO_W, DEV_ZERO_RW, DEV_N };

static void body_devices(int out)
{
	int r[DEV_N];
	r[DEV_NULL_RW] = errno_of_open("/dev/null", O_RDWR);
	r[DEV_DISK_R] = errno_of_open(disk_node, O_RDONLY);
	r[DEV_MKNOD] = mknod(fresh_node, S_IFBLK | 0600, disk_dev) < 0 ? errno : 0;
	r[DEV_ZERO_R] = errno_of_open("/dev/zero", O_RDONLY);
	r[DEV_ZERO_W] = errno_of_open("/dev/zero", O_WRONLY);
	r[DEV_ZERO_RW] = errno_of_open("/dev/zero", O_RDWR);
	ck_assert_int_eq(write(out, r, sizeof r), (ssize_t)sizeof r);
}

/* Make dir/disk a node for a block device the host itself lets us open
 * (the disk preferred; on hosts that deny even root the disk, e.g. this CI
 * VM, a loop device), so an EPERM in the container is the cgroup's doing. */
static void make_openable_block_node(const char *dir)
{
	static const char *const candidates[] = { "vda", "sda", "nvme0n1", "xvda", "loop0", "loop1" };
	snprintf(disk_node, sizeof disk_node, "%s/disk", dir);
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		_cleanup_free_ char *p = xasprintf("/sys/block/%s/dev", candidates[i]);
		_cleanup_free_ char *t = NULL;
		struct mctr_err err = { 0 };
		unsigned ma, mi;
		if (file_read_at(AT_FDCWD, p, 64, &t, NULL, &err) < 0 || sscanf(t, "%u:%u", &ma, &mi) != 2)
			continue;
		disk_dev = makedev(ma, mi);
		unlink(disk_node);
		ck_assert_int_eq(mknod(disk_node, S_IFBLK | 0600, disk_dev), 0);
		if (errno_of_open(disk_node, O_RDONLY) == 0)
			return;
	}
	ck_abort_msg("no block device that this host lets root open");
}

/* Docker's defaults plus "deny c 1:5 w": the last matching rule wins, and a
 * deny matches when it covers any requested access. */
static void device_rules(struct cgroup_resources *res)
{
	struct cgroup_device_rule r;
	struct mctr_err err = { 0 };
	cgroup_resources_init(res);
	cgroup_resources_set_default_devices(res);
	ck_assert_int_eq(cgroup_device_rule_parse("c 1:5 w", false, &r, &err), 0);
	ck_assert_int_eq(cgroup_resources_add_device(res, &r, &err), 0);
}

static void check_devices_in(const struct cgroup_opts *opts, const char *name)
{
	_cleanup_free_ char *dir = test_mkdtemp("cgdev");
	snprintf(fresh_node, sizeof fresh_node, "%s/fresh", dir);
	make_openable_block_node(dir);

	struct cgroup *cg = open_or_die(opts, name);
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	device_rules(&res);
	create_or_die(cg, &res);
	ck_assert(cgroup_can_restrict_devices(cg));
	struct child c;
	int r[DEV_N];
	child_start(&c, body_devices);
	ck_assert_int_eq(cgroup_enter(cg, c.pid, &err), 0);
	child_go(&c);
	child_read(&c, r, sizeof r);
	ck_assert_int_eq(WEXITSTATUS(child_wait(&c)), 0);
	ck_assert_msg(r[DEV_NULL_RW] == 0, "/dev/null: %s", strerror(r[DEV_NULL_RW]));
	ck_assert_msg(r[DEV_DISK_R] == EPERM, "disk %u:%u: %s", major(disk_dev), minor(disk_dev),
	              strerror(r[DEV_DISK_R]));
	ck_assert_msg(r[DEV_MKNOD] == 0, "mknod: %s", strerror(r[DEV_MKNOD])); /* b *:* m */
	ck_assert_msg(r[DEV_ZERO_R] == 0, "/dev/zero r: %s", strerror(r[DEV_ZERO_R]));
	ck_assert_msg(r[DEV_ZERO_W] == EPERM, "/dev/zero w: %s", strerror(r[DEV_ZERO_W]));
	ck_assert_msg(r[DEV_ZERO_RW] == EPERM, "/dev/zero rw: %s", strerror(r[DEV_ZERO_RW]));
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	cgroup_free(cg);
	cgroup_resources_free(&res);
	test_rmtree(dir);
}

START_TEST(real_v1_devices_controller)
{
	if (host_mode == CGROUP_MODE_V2)
		return; /* no v1 devices controller on a v2 host */
	_cleanup_free_ char *name = xasprintf("%s/dev", prefix);
	check_devices_in(NULL, name);
	destroy_or_die(NULL, prefix);
	assert_no_leftovers();
}
END_TEST

START_TEST(real_v2_bpf_device_program)
{
	if (v2_root[0] == '\0')
		return;
	/* On a hybrid host the cgroup2 at unified/ takes device programs
	 * although it has no controllers: drive the v2 code there. */
	struct cgroup_opts v2 = { .root = v2_root, .mode = CGROUP_MODE_V2 };
	_cleanup_free_ char *name = xasprintf("%s-bpf", prefix);
	check_devices_in(&v2, name);
	assert_no_leftovers();
}
END_TEST

/* ---- v1 kill without cgroup.kill ---------------------------------------------- */

static void body_two_grandchildren(int out)
{
	for (int i = 0; i < 2; i++) {
		if (fork() == 0) {
			for (;;)
				pause();
		}
	}
	ck_assert_int_eq(write(out, "r", 1), 1);
	for (;;)
		pause();
}

START_TEST(real_v1_freezer_kill)
{
	if (host_mode == CGROUP_MODE_V2)
		return;
	/* Forced plain v1: no cgroup2 side, so no cgroup.kill: the freezer path. */
	struct cgroup_opts v1 = { .mode = CGROUP_MODE_V1 };
	_cleanup_free_ char *name = xasprintf("%s/frz", prefix);
	struct cgroup *cg = open_or_die(&v1, name);
	struct mctr_err err = { 0 };
	create_or_die(cg, NULL);
	struct child c;
	char ready;
	child_start(&c, body_two_grandchildren);
	ck_assert_int_eq(cgroup_enter(cg, c.pid, &err), 0);
	child_go(&c);
	child_read(&c, &ready, 1);
	pid_t *pids = NULL;
	size_t n = 0;
	ck_assert_int_eq(cgroup_list_pids(cg, &pids, &n, &err), 0);
	ck_assert_int_eq(n, 3);
	free(pids);
	ck_assert_msg(cgroup_kill(cg, SIGTERM, &err) == 0, "kill: %s", err.msg);
	int status = child_wait(&c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* The grandchildren (reparented away) got it too. */
	ck_assert_msg(cgroup_wait_empty(cg, 5000, &err) == 0, "%s", err.msg);
	_cleanup_free_ char *frz = xasprintf(ROOT "/freezer/%s", name);
	ck_knob_eq(frz, "freezer.state", "THAWED\n");
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	cgroup_free(cg);
	destroy_or_die(&v1, prefix);
	assert_no_leftovers();
}
END_TEST

START_TEST(real_v2_freeze_signal)
{
	if (v2_root[0] == '\0')
		return;
	/* SIGTERM cannot use cgroup.kill: cgroup.freeze, wait for "frozen 1"
	 * in cgroup.events, signal, thaw; emptiness from "populated 0". */
	struct cgroup_opts v2 = { .root = v2_root, .mode = CGROUP_MODE_V2 };
	_cleanup_free_ char *name = xasprintf("%s-frz", prefix);
	struct cgroup *cg = open_or_die(&v2, name);
	struct mctr_err err = { 0 };
	create_or_die(cg, NULL);
	struct child c;
	char ready;
	child_start(&c, body_two_grandchildren);
	ck_assert_int_eq(cgroup_enter(cg, c.pid, &err), 0);
	child_go(&c);
	child_read(&c, &ready, 1);
	bool empty = true;
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(!empty);
	ck_assert_msg(cgroup_kill(cg, SIGTERM, &err) == 0, "kill: %s", err.msg);
	int status = child_wait(&c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_assert_msg(cgroup_wait_empty(cg, 5000, &err) == 0, "%s", err.msg);
	_cleanup_free_ char *leaf = path_join(v2_root, name);
	ck_knob_eq(leaf, "cgroup.freeze", "0\n");
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	cgroup_free(cg);
	assert_no_leftovers();
}
END_TEST

static Suite *real_suite(void)
{
	Suite *s = suite_create("cgroup_real");
	TCase *tc = tcase_create("host");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, real_detect_matches_mountinfo);
	tcase_add_test(tc, real_limits_membership_kill_destroy);
	tcase_add_test(tc, real_pids_limit_bites);
	tcase_add_test(tc, real_oom_is_counted);
	tcase_add_test(tc, real_v1_devices_controller);
	tcase_add_test(tc, real_v2_bpf_device_program);
	tcase_add_test(tc, real_v1_freezer_kill);
	tcase_add_test(tc, real_v2_freeze_signal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_cgroup_real: SKIPPED: needs root\n");
		return 0;
	}
	host_mode = cgroup_detect_mode(NULL);
	if (host_mode == CGROUP_MODE_NONE) {
		printf("test_cgroup_real: SKIPPED: no cgroup hierarchy under %s\n", ROOT);
		return 0;
	}
	if (host_mode == CGROUP_MODE_V2)
		snprintf(v2_root, sizeof v2_root, "%s", ROOT);
	else if (host_mode == CGROUP_MODE_HYBRID)
		snprintf(v2_root, sizeof v2_root, "%s/unified", ROOT);
	printf("test_cgroup_real: host cgroups %s%s%s\n", cgroup_mode_name(host_mode),
	       v2_root[0] ? ", BPF device test on " : "", v2_root);
	return test_run_suite(real_suite());
}
