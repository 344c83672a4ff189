/* Unit tests for src/runtime/cgroup*.c against FAKE trees: plain directories
 * and files shaped like a v1, hybrid or v2 cgroupfs in a temp dir, with the
 * mode forced (statfs of a temp dir is not cgroupfs).  The real kernel is
 * exercised by test_cgroup_real.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "testutil.h"

#define MiB (1024 * 1024)

static const char *const v1_dirs[] = { "cpu", "cpuacct", "cpuset", "memory", "devices",
	                               "freezer", "blkio", "pids", "systemd" };
#define N_V1_DIRS (sizeof v1_dirs / sizeof v1_dirs[0])

static void put(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *path = path_join(root, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

/* Contents of root/rel, or NULL when it does not exist. */
static char *get(const char *root, const char *rel)
{
	_cleanup_free_ char *path = path_join(root, rel);
	char *out = NULL;
	struct mctr_err err = { 0 };
	if (file_read_at(AT_FDCWD, path, 1 << 20, &out, NULL, &err) < 0)
		return NULL;
	return out;
}

#define ck_file_eq(root, rel, want)                                                     \
	do {                                                                            \
		_cleanup_free_ char *got_ = get((root), (rel));                         \
		ck_assert_msg(got_ != NULL, "%s missing", (rel));                       \
		ck_assert_msg(strcmp(got_, (want)) == 0, "%s: got \"%s\", want \"%s\"", \
		              (rel), got_, (want));                                     \
	} while (0)

static bool exists(const char *root, const char *rel)
{
	_cleanup_free_ char *path = path_join(root, rel);
	return access(path, F_OK) == 0;
}

static void mkdir_at(const char *root, const char *rel)
{
	_cleanup_free_ char *path = path_join(root, rel);
	ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

/* A v1 layout (plus unified/ when hybrid). */
static char *fake_v1(bool hybrid)
{
	char *root = test_mkdtemp("cgv1");
	for (size_t i = 0; i < N_V1_DIRS; i++)
		mkdir_at(root, v1_dirs[i]);
	put(root, "cpuset/cpuset.cpus", "0-3\n");
	put(root, "cpuset/cpuset.mems", "0\n");
	if (hybrid)
		mkdir_at(root, "unified");
	return root;
}

/* A v2 layout: the root offers root_ctrls and enables root_enabled; "mctr"
 * exists from an earlier run and got mctr_ctrls from the root. */
static char *fake_v2(const char *root_ctrls, const char *root_enabled, const char *mctr_ctrls)
{
	char *root = test_mkdtemp("cgv2");
	put(root, "cgroup.controllers", root_ctrls);
	put(root, "cgroup.subtree_control", root_enabled);
	mkdir_at(root, "mctr");
	put(root, "mctr/cgroup.controllers", mctr_ctrls);
	return root;
}

static struct cgroup *open_fake(const char *root, enum cgroup_mode mode, const char *name)
{
	struct cgroup_opts opts = { .root = root, .mode = mode, .fake_fs = true };
	struct cgroup *cg = NULL;
	struct mctr_err err = { 0 };
	ck_assert_msg(cgroup_open(&opts, name, &cg, &err) == 0, "open: %s", err.msg);
	ck_assert_int_eq(cgroup_get_mode(cg), mode);
	ck_assert_str_eq(cgroup_get_name(cg), name);
	return cg;
}

/* A child that just waits to be killed (never returns). */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Check's handler in the test process forwards SIGTERM to the
		 * whole group: the sleeper must die of it instead. */
		signal(SIGTERM, SIG_DFL);
		for (;;)
			pause();
	}
	return pid;
}

/* ---- pure helpers ---------------------------------------------------------- */

START_TEST(mode_names)
{
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_V1), "v1");
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_HYBRID), "v1 (hybrid)");
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_V2), "v2");
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_NONE), "none");
	/* A temp dir is not cgroupfs; a missing root means no cgroups. */
	_cleanup_free_ char *root = fake_v1(true);
	ck_assert_int_eq(cgroup_detect_mode(root), CGROUP_MODE_NONE);
	ck_assert_int_eq(cgroup_detect_mode("/nonexistent/cgroup"), CGROUP_MODE_NONE);
	ck_assert_int_ne(cgroup_detect_mode(NULL), CGROUP_MODE_AUTO);
	test_rmtree(root);
}
END_TEST

START_TEST(shares_to_weight_table)
{
	/* Values of opencontainers/cgroups ConvertCPUSharesToCgroupV2Value
	 * (computed with libm; the module has its own log2/pow). */
	static const struct {
		uint64_t shares, weight;
	} table[] = {
		{ 0, 0 },      { 1, 1 },        { 2, 1 },         { 3, 2 },        { 10, 4 },
		{ 100, 17 },   { 256, 35 },     { 512, 59 },      { 1000, 99 },    { 1024, 100 },
		{ 2048, 174 }, { 4096, 303 },   { 10000, 627 },   { 65536, 3023 }, { 116225, 4938 },
		{ 262143, 10000 }, { 262144, 10000 }, { 1000000, 10000 },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		ck_assert_msg(cgroup_cpu_shares_to_weight(table[i].shares) == table[i].weight,
		              "shares %lu -> %lu, want %lu", (unsigned long)table[i].shares,
		              (unsigned long)cgroup_cpu_shares_to_weight(table[i].shares),
		              (unsigned long)table[i].weight);
}
END_TEST

START_TEST(swap_conversion)
{
	struct mctr_err err = { 0 };
	int64_t v = 0;
	ck_assert_int_eq(cgroup_memory_swap_to_v2(true, 64 * MiB, 128 * MiB, &v, &err), 0);
	ck_assert_int_eq(v, 64 * MiB);
	ck_assert_int_eq(cgroup_memory_swap_to_v2(true, 64 * MiB, 64 * MiB, &v, &err), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(cgroup_memory_swap_to_v2(true, 64 * MiB, CGROUP_UNLIMITED, &v, &err), 0);
	ck_assert_int_eq(v, CGROUP_UNLIMITED);
	ck_assert_int_eq(cgroup_memory_swap_to_v2(false, 0, CGROUP_UNLIMITED, &v, &err), 0);
	ck_assert_int_eq(v, CGROUP_UNLIMITED);

	ck_assert_int_lt(cgroup_memory_swap_to_v2(true, 64 * MiB, 32 * MiB, &v, &err), 0);
	ck_assert_str_eq(err.msg, "memory+swap limit 33554432 is smaller than the memory limit 67108864: "
	                          "Invalid argument");
	ck_assert_int_lt(cgroup_memory_swap_to_v2(false, 0, 32 * MiB, &v, &err), 0);
	ck_assert_str_eq(err.msg, "a memory+swap limit (33554432) needs a memory limit: Invalid argument");
	ck_assert_int_lt(cgroup_memory_swap_to_v2(true, CGROUP_UNLIMITED, 32 * MiB, &v, &err), 0);
	ck_assert(strstr(err.msg, "needs a memory limit") != NULL);
}
END_TEST

START_TEST(cpus_parse)
{
	struct mctr_err err = { 0 };
	int64_t n;
	struct cgroup_resources res;
	cgroup_resources_init(&res);
	ck_assert_int_eq(cgroup_parse_cpus("1.5", &n, &err), 0);
	ck_assert_int_eq(n, 1500000000);
	ck_assert_int_eq(cgroup_resources_set_cpus(&res, n, &err), 0);
	ck_assert(res.has_cpu_quota && res.has_cpu_period);
	ck_assert_int_eq(res.cpu_quota, 150000);
	ck_assert_int_eq(res.cpu_period, 100000);

	static const struct {
		const char *text;
		int64_t quota;
	} ok[] = { { "2", 200000 }, { "0.25", 25000 }, { ".5", 50000 }, { "0.01", 1000 }, { "3.000000001", 300000 } };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_msg(cgroup_parse_cpus(ok[i].text, &n, &err) == 0, "%s: %s", ok[i].text, err.msg);
		ck_assert_int_eq(cgroup_resources_set_cpus(&res, n, &err), 0);
		ck_assert_msg(res.cpu_quota == ok[i].quota, "%s -> %ld", ok[i].text, (long)res.cpu_quota);
	}
	static const char *const bad[] = { "", "abc", "1.5x", "-1", "1.0000000001", "1,5", "." };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(cgroup_parse_cpus(bad[i], &n, &err) < 0, "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(cgroup_parse_cpus("0.001", &n, &err), 0);
	ck_assert_int_lt(cgroup_resources_set_cpus(&res, n, &err), 0);
	ck_assert_str_eq(err.msg, "cpus 0.001000000 is below the minimum of 0.01: Invalid argument");
	cgroup_resources_free(&res);
}
END_TEST

START_TEST(device_rule_parse_format)
{
	struct mctr_err err = { 0 };
	struct cgroup_device_rule r;
	char buf[64];
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "c 1:3 rwm", "c 1:3 rwm" }, { "b *:* m", "b *:* m" }, { "a", "a" },
		{ "a *:* rwm", "a" },         { "c 136:* rw", "c 136:* rw" }, { "c 10:200", "c 10:200 rwm" },
		{ "a *:* m", "a *:* m" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_msg(cgroup_device_rule_parse(ok[i].in, true, &r, &err) == 0, "%s: %s", ok[i].in, err.msg);
		cgroup_device_rule_format(&r, buf);
		ck_assert_str_eq(buf, ok[i].out);
	}
	ck_assert_int_eq(cgroup_device_rule_parse("c 136:* rw", false, &r, &err), 0);
	ck_assert(!r.allow && r.type == 'c' && r.major == 136 && r.minor == CGROUP_DEV_ANY);
	static const char *const bad[] = { "x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c 1:3 rr", "", "c a:3 r",
		                           "c 1:3 r w", "cc 1:3 r" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(cgroup_device_rule_parse(bad[i], true, &r, &err) < 0, "\"%s\" accepted", bad[i]);
	ck_assert_int_lt(cgroup_device_rule_parse("c 1:3 rwx", true, &r, &err), 0);
	ck_assert_str_eq(err.msg, "device rule \"c 1:3 rwx\": device rule access \"rwx\" is not a subset of rwm: "
	                          "Invalid argument");
}
END_TEST

START_TEST(default_devices)
{
	struct cgroup_resources res;
	cgroup_resources_init(&res);
	cgroup_resources_set_default_devices(&res);
	ck_assert(res.has_devices);
	ck_assert_int_eq(res.n_devices, 12);
	ck_assert(!res.devices[0].allow && res.devices[0].type == 'a');
	char buf[64];
	cgroup_device_rule_format(&res.devices[11], buf);
	ck_assert_str_eq(buf, "c 136:* rwm");
	struct mctr_err err = { 0 };
	ck_assert_int_eq(cgroup_resources_validate(&res, &err), 0);
	cgroup_resources_free(&res);
	ck_assert(!res.has_devices && res.devices == NULL);
}
END_TEST

START_TEST(name_validation)
{
	_cleanup_free_ char *root = fake_v1(false);
	struct cgroup_opts opts = { .root = root, .mode = CGROUP_MODE_V1, .fake_fs = true };
	struct mctr_err err = { 0 };
	struct cgroup *cg = NULL;
	static const char *const bad[] = { "", "../x", "/abs", "a//b", "mctr/", ".hidden", "a b", "mctr/..",
		                           "mctr/-x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(cgroup_open(&opts, bad[i], &cg, &err) < 0, "\"%s\" accepted", bad[i]);
	ck_assert_int_lt(cgroup_open(&opts, "../etc", &cg, &err), 0);
	ck_assert_str_eq(err.msg, "cgroup name \"../etc\": components must be [A-Za-z0-9][A-Za-z0-9_.-]*: "
	                          "Invalid argument");
	ck_assert_int_eq(cgroup_open(&opts, "mctr/abc-1_2.3", &cg, &err), 0);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

/* ---- v1 ---------------------------------------------------------------------- */

START_TEST(v1_create_writes_limits)
{
	_cleanup_free_ char *root = fake_v1(false);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	int64_t nanocpus;
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	res.has_memory_swap = true;
	res.memory_swap = 128 * MiB;
	res.has_cpu_shares = true;
	res.cpu_shares = 512;
	ck_assert_int_eq(cgroup_parse_cpus("1.5", &nanocpus, &err), 0);
	ck_assert_int_eq(cgroup_resources_set_cpus(&res, nanocpus, &err), 0);
	res.has_pids_limit = true;
	res.pids_limit = 10;
	res.cpuset_cpus = xstrdup("1");

	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "memory/mctr/c1/memory.limit_in_bytes", "67108864");
	ck_file_eq(root, "memory/mctr/c1/memory.memsw.limit_in_bytes", "134217728");
	ck_file_eq(root, "cpu/mctr/c1/cpu.shares", "512");
	ck_file_eq(root, "cpu/mctr/c1/cpu.cfs_quota_us", "150000");
	ck_file_eq(root, "cpu/mctr/c1/cpu.cfs_period_us", "100000");
	ck_file_eq(root, "pids/mctr/c1/pids.max", "10");
	/* cpuset: copied level by level from the root, then the leaf's own. */
	ck_file_eq(root, "cpuset/mctr/cpuset.cpus", "0-3");
	ck_file_eq(root, "cpuset/mctr/cpuset.mems", "0");
	ck_file_eq(root, "cpuset/mctr/c1/cpuset.cpus", "1");
	ck_file_eq(root, "cpuset/mctr/c1/cpuset.mems", "0");
	/* Every hierarchy got the leaf; the roots' files are untouched. */
	for (size_t i = 0; i < N_V1_DIRS; i++) {
		_cleanup_free_ char *leaf = xasprintf("%s/mctr/c1", v1_dirs[i]);
		ck_assert_msg(exists(root, leaf), "%s missing", leaf);
	}
	ck_file_eq(root, "cpuset/cpuset.cpus", "0-3\n");
	ck_assert(!exists(root, "memory/memory.limit_in_bytes"));
	ck_assert(!exists(root, "devices/mctr/c1/devices.deny")); /* no device rules given */
	cgroup_free(cg);

	/* Unlimited values. */
	cg = open_fake(root, CGROUP_MODE_V1, "mctr/c2");
	cgroup_resources_free(&res);
	res.has_memory = true;
	res.memory = CGROUP_UNLIMITED;
	res.has_pids_limit = true;
	res.pids_limit = CGROUP_UNLIMITED;
	res.has_cpu_quota = true;
	res.cpu_quota = CGROUP_UNLIMITED;
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "memory/mctr/c2/memory.limit_in_bytes", "-1");
	ck_file_eq(root, "pids/mctr/c2/pids.max", "max");
	ck_file_eq(root, "cpu/mctr/c2/cpu.cfs_quota_us", "-1");
	ck_assert(!exists(root, "cpu/mctr/c2/cpu.cfs_period_us"));
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(v1_device_rules)
{
	_cleanup_free_ char *root = fake_v1(false);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	ck_assert(cgroup_can_restrict_devices(cg)); /* a devices hierarchy exists */
	cgroup_resources_set_default_devices(&res);
	struct cgroup_device_rule r;
	ck_assert_int_eq(cgroup_device_rule_parse("c 10:200 rw", false, &r, &err), 0);
	ck_assert_int_eq(cgroup_resources_add_device(&res, &r, &err), 0);
	/* A partial 'a' rule: v1 "a" would mean everything, so it is split. */
	ck_assert_int_eq(cgroup_device_rule_parse("a 7:* r", true, &r, &err), 0);
	ck_assert_int_eq(cgroup_resources_add_device(&res, &r, &err), 0);

	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_assert(cgroup_can_restrict_devices(cg));
	ck_file_eq(root, "devices/mctr/c1/devices.deny", "a\nc 10:200 rw\n");
	ck_file_eq(root, "devices/mctr/c1/devices.allow",
	           "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n"
	           "c 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 136:* rwm\nc 7:* r\nb 7:* r\n");
	cgroup_resources_free(&res);
	cgroup_free(cg);

	/* Without a devices hierarchy the rules cannot be enforced: not an
	 * error, but reported. */
	_cleanup_free_ char *dev = path_join(root, "devices");
	test_rmtree(dev);
	cg = open_fake(root, CGROUP_MODE_V1, "mctr/c2");
	ck_assert(!cgroup_can_restrict_devices(cg));
	cgroup_resources_set_default_devices(&res);
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_assert(!cgroup_can_restrict_devices(cg));
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(v1_missing_controller_refused_before_mkdir)
{
	_cleanup_free_ char *root = fake_v1(false);
	_cleanup_free_ char *pids = path_join(root, "pids");
	test_rmtree(pids);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_pids_limit = true;
	res.pids_limit = 0; /* 0 is a valid limit */
	ck_assert_int_lt(cgroup_create(cg, &res, &err), 0);
	_cleanup_free_ char *want = xasprintf("create cgroup mctr/c1: a pids limit requested but the pids "
	                                      "controller is not mounted under %s: Operation not supported",
	                                      root);
	ck_assert_str_eq(err.msg, want);
	ck_assert(!exists(root, "memory/mctr"));
	cgroup_free(cg);

	/* Invalid resources are refused too, with the cgroup named. */
	cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	res.has_pids_limit = false;
	res.has_memory = true;
	res.memory = 64 * MiB;
	res.has_memory_swap = true;
	res.memory_swap = 32 * MiB;
	ck_assert_int_lt(cgroup_create(cg, &res, &err), 0);
	ck_assert_str_eq(err.msg, "cgroup mctr/c1: memory+swap limit 33554432 is smaller than the memory "
	                          "limit 67108864: Invalid argument");
	ck_assert(!exists(root, "memory/mctr"));
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(v1_enter_kill_destroy)
{
	_cleanup_free_ char *root = fake_v1(false);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	struct mctr_err err = { 0 };
	ck_assert_msg(cgroup_create(cg, NULL, &err) == 0, "create: %s", err.msg);
	pid_t child = spawn_sleeper();
	ck_assert_msg(cgroup_enter(cg, child, &err) == 0, "enter: %s", err.msg);
	_cleanup_free_ char *line = xasprintf("%d\n", (int)child);
	for (size_t i = 0; i < N_V1_DIRS; i++) {
		_cleanup_free_ char *procs = xasprintf("%s/mctr/c1/cgroup.procs", v1_dirs[i]);
		ck_file_eq(root, procs, line);
	}

	/* Another process opens the same cgroup by name. */
	struct cgroup *other = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	pid_t *pids = NULL;
	size_t n = 0;
	bool empty = true;
	ck_assert_int_eq(cgroup_list_pids(other, &pids, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(pids[0], child);
	free(pids);
	ck_assert_int_eq(cgroup_is_empty(other, &empty, &err), 0);
	ck_assert(!empty);
	ck_assert_int_lt(cgroup_wait_empty(other, 20, &err), 0);
	_cleanup_free_ char *want = xasprintf("cgroup mctr/c1 still holds 1 process(es) (first pid %d) after 20 ms: "
	                                      "Connection timed out", (int)child);
	ck_assert_str_eq(err.msg, want);

	/* No cgroup.kill on v1: freeze, signal the listed pids, thaw. */
	ck_assert_msg(cgroup_kill(other, SIGTERM, &err) == 0, "kill: %s", err.msg);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_file_eq(root, "freezer/mctr/c1/freezer.state", "THAWED");

	/* The kernel would drop the dead pid from cgroup.procs; do it here. */
	for (size_t i = 0; i < N_V1_DIRS; i++) {
		_cleanup_free_ char *procs = xasprintf("%s/mctr/c1/cgroup.procs", v1_dirs[i]);
		put(root, procs, "");
	}
	ck_assert_int_eq(cgroup_is_empty(other, &empty, &err), 0);
	ck_assert(empty);
	mkdir_at(root, "memory/mctr/c1/nested"); /* a child cgroup goes first */
	ck_assert_msg(cgroup_destroy(other, &err) == 0, "destroy: %s", err.msg);
	for (size_t i = 0; i < N_V1_DIRS; i++) {
		_cleanup_free_ char *leaf = xasprintf("%s/mctr/c1", v1_dirs[i]);
		_cleanup_free_ char *parent = xasprintf("%s/mctr", v1_dirs[i]);
		ck_assert_msg(!exists(root, leaf), "%s left behind", leaf);
		ck_assert_msg(exists(root, parent), "%s removed", parent);
	}
	ck_file_eq(root, "cpuset/cpuset.cpus", "0-3\n");
	/* Again (a crashed run's cleanup): nothing left, still fine. */
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy again: %s", err.msg);
	cgroup_free(other);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(v1_oom_count)
{
	_cleanup_free_ char *root = fake_v1(false);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "c1");
	struct mctr_err err = { 0 };
	uint64_t count = 99;
	ck_assert_int_eq(cgroup_create(cg, NULL, &err), 0);
	put(root, "memory/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	ck_assert_msg(cgroup_oom_kill_count(cg, &count, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(count, 3);
	put(root, "memory/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
	ck_assert_int_lt(cgroup_oom_kill_count(cg, &count, &err), 0);
	ck_assert_int_eq(err.errnum, ENOTSUP);
	ck_assert(strstr(err.msg, "memory.oom_control has no oom_kill counter (kernel < 4.13)") != NULL);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

/* systemd's layout: cpu and cpuacct co-mounted as "cpu,cpuacct", with a
 * symlink for each name.  The hierarchy is found (and joined) once, with
 * both controllers. */
START_TEST(v1_comounted_hierarchy_counts_once)
{
	_cleanup_free_ char *root = test_mkdtemp("cgv1co");
	mkdir_at(root, "cpu,cpuacct");
	mkdir_at(root, "memory");
	_cleanup_free_ char *cpu = path_join(root, "cpu"), *cpuacct = path_join(root, "cpuacct");
	ck_assert_int_eq(symlink("cpu,cpuacct", cpu), 0);
	ck_assert_int_eq(symlink("cpu,cpuacct", cpuacct), 0);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V1, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_cpu_shares = true;
	res.cpu_shares = 512;
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "cpu,cpuacct/mctr/c1/cpu.shares", "512");
	ck_assert_int_eq(cgroup_enter(cg, getpid(), &err), 0);
	_cleanup_free_ char *line = xasprintf("%d\n", (int)getpid());
	ck_file_eq(root, "cpu,cpuacct/mctr/c1/cgroup.procs", line); /* joined once, not three times */
	ck_file_eq(root, "memory/mctr/c1/cgroup.procs", line);
	put(root, "cpu,cpuacct/mctr/c1/cgroup.procs", "");
	put(root, "memory/mctr/c1/cgroup.procs", "");
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	ck_assert(!exists(root, "cpu,cpuacct/mctr/c1"));
	ck_assert(!exists(root, "memory/mctr/c1"));
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

/* Docker's SwapLimit: v1 needs the memsw files (swap accounting), v2 the
 * memory controller; no cgroups, no swap limit. */
START_TEST(swap_limit_probe)
{
	_cleanup_free_ char *v1 = fake_v1(true);
	struct cgroup_opts o1 = { .root = v1, .mode = CGROUP_MODE_HYBRID, .fake_fs = true };
	ck_assert(!cgroup_swap_limit_supported(&o1));
	put(v1, "memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	ck_assert(cgroup_swap_limit_supported(&o1));
	o1.mode = CGROUP_MODE_V1;
	ck_assert(cgroup_swap_limit_supported(&o1));
	_cleanup_free_ char *mem = path_join(v1, "memory");
	test_rmtree(mem);
	ck_assert(!cgroup_swap_limit_supported(&o1));
	test_rmtree(v1);

	_cleanup_free_ char *v2 = fake_v2("cpuset cpu io memory pids\n", "", "");
	struct cgroup_opts o2 = { .root = v2, .mode = CGROUP_MODE_V2, .fake_fs = true };
	ck_assert(cgroup_swap_limit_supported(&o2));
	put(v2, "cgroup.controllers", "cpu io memoryx pids\n");
	ck_assert(!cgroup_swap_limit_supported(&o2));
	struct cgroup_opts o0 = { .root = v2, .mode = CGROUP_MODE_NONE, .fake_fs = true };
	ck_assert(!cgroup_swap_limit_supported(&o0));
	test_rmtree(v2);
}
END_TEST

/* ---- hybrid ------------------------------------------------------------------ */

START_TEST(hybrid_joins_unified_and_uses_cgroup_kill)
{
	_cleanup_free_ char *root = fake_v1(true);
	struct cgroup *cg = open_fake(root, CGROUP_MODE_HYBRID, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	/* Limits go to v1; the cgroup2 side only tracks processes. */
	ck_file_eq(root, "memory/mctr/c1/memory.limit_in_bytes", "67108864");
	ck_assert(exists(root, "unified/mctr/c1"));
	ck_assert(!exists(root, "unified/mctr/c1/memory.max"));
	ck_assert(!exists(root, "unified/cgroup.subtree_control"));

	pid_t child = spawn_sleeper();
	ck_assert_int_eq(cgroup_enter(cg, child, &err), 0);
	_cleanup_free_ char *line = xasprintf("%d\n", (int)child);
	ck_file_eq(root, "unified/mctr/c1/cgroup.procs", line);
	ck_file_eq(root, "memory/mctr/c1/cgroup.procs", line);

	/* With cgroup.kill present, SIGKILL is one write there (and a thaw in
	 * case a crashed kill left the v1 freezer on); nobody is signalled
	 * one by one, so the (fake) child lives on. */
	put(root, "unified/mctr/c1/cgroup.kill", "");
	put(root, "unified/mctr/c1/cgroup.events", "populated 1\nfrozen 0\n");
	ck_assert_msg(cgroup_kill(cg, SIGKILL, &err) == 0, "kill: %s", err.msg);
	ck_file_eq(root, "unified/mctr/c1/cgroup.kill", "1");
	ck_file_eq(root, "freezer/mctr/c1/freezer.state", "THAWED");
	ck_assert_int_eq(kill(child, 0), 0);
	bool empty = true;
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(!empty);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	put(root, "unified/mctr/c1/cgroup.events", "populated 0\nfrozen 0\n");
	for (size_t i = 0; i < N_V1_DIRS; i++) {
		_cleanup_free_ char *procs = xasprintf("%s/mctr/c1/cgroup.procs", v1_dirs[i]);
		put(root, procs, "");
	}
	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	ck_assert(!exists(root, "unified/mctr/c1"));
	ck_assert(!exists(root, "memory/mctr/c1"));
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

/* ---- v2 ---------------------------------------------------------------------- */

START_TEST(v2_create_writes_limits)
{
	_cleanup_free_ char *root = fake_v2("cpuset cpu io memory pids hugetlb\n", "cpu memory\n",
	                                    "cpuset cpu io memory pids\n");
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V2, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	int64_t nanocpus;
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	res.has_memory_swap = true;
	res.memory_swap = 128 * MiB;
	res.has_cpu_shares = true;
	res.cpu_shares = 1024;
	ck_assert_int_eq(cgroup_parse_cpus("1.5", &nanocpus, &err), 0);
	ck_assert_int_eq(cgroup_resources_set_cpus(&res, nanocpus, &err), 0);
	res.has_pids_limit = true;
	res.pids_limit = 10;
	cgroup_resources_set_default_devices(&res);

	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "mctr/c1/memory.max", "67108864");
	ck_file_eq(root, "mctr/c1/memory.swap.max", "67108864"); /* swap alone: 128m - 64m */
	ck_file_eq(root, "mctr/c1/cpu.weight", "100");
	ck_file_eq(root, "mctr/c1/cpu.max", "150000 100000");
	ck_file_eq(root, "mctr/c1/pids.max", "10");
	/* Only the missing controllers are added at the root; all wanted ones
	 * in mctr; hugetlb is not wanted. */
	ck_file_eq(root, "cgroup.subtree_control", "cpu memory\n+cpuset\n+io\n+pids\n");
	ck_file_eq(root, "mctr/cgroup.subtree_control", "+cpuset\n+cpu\n+io\n+memory\n+pids\n");
	ck_assert(!exists(root, "memory.max"));
	/* A plain directory takes no BPF program. */
	ck_assert(!cgroup_can_restrict_devices(cg));

	pid_t self = getpid();
	ck_assert_int_eq(cgroup_enter(cg, self, &err), 0);
	_cleanup_free_ char *line = xasprintf("%d\n", (int)self);
	ck_file_eq(root, "mctr/c1/cgroup.procs", line);
	put(root, "mctr/c1/cgroup.events", "populated 1\nfrozen 0\n");
	bool empty = true;
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(!empty);
	put(root, "mctr/c1/cgroup.events", "populated 0\nfrozen 0\n");
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(empty);

	put(root, "mctr/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n");
	uint64_t count = 0;
	ck_assert_msg(cgroup_oom_kill_count(cg, &count, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(count, 1);

	ck_assert_msg(cgroup_destroy(cg, &err) == 0, "destroy: %s", err.msg);
	ck_assert(!exists(root, "mctr/c1"));
	ck_assert(exists(root, "mctr/cgroup.controllers"));
	cgroup_resources_free(&res);
	cgroup_free(cg);

	/* Unlimited values and quota without period. */
	cg = open_fake(root, CGROUP_MODE_V2, "mctr/c2");
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = CGROUP_UNLIMITED;
	res.has_memory_swap = true;
	res.memory_swap = CGROUP_UNLIMITED;
	res.has_cpu_quota = true;
	res.cpu_quota = 50000;
	res.has_pids_limit = true;
	res.pids_limit = CGROUP_UNLIMITED;
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "mctr/c2/memory.max", "max");
	ck_file_eq(root, "mctr/c2/memory.swap.max", "max");
	ck_file_eq(root, "mctr/c2/cpu.max", "50000");
	ck_file_eq(root, "mctr/c2/pids.max", "max");
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(v2_missing_controller)
{
	_cleanup_free_ char *root = fake_v2("cpu io pids\n", "cpu\n", "cpu io pids\n");
	struct cgroup *cg = open_fake(root, CGROUP_MODE_V2, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	ck_assert_int_lt(cgroup_create(cg, &res, &err), 0);
	_cleanup_free_ char *want = xasprintf("create cgroup mctr/c1: a memory limit needs the memory controller, "
	                                      "which %s/cgroup.controllers lacks: Operation not supported", root);
	ck_assert_str_eq(err.msg, want);
	ck_assert(!exists(root, "mctr/c1"));
	cgroup_free(cg);

	/* Without limits needing it, a missing controller is no problem. */
	cg = open_fake(root, CGROUP_MODE_V2, "mctr/c1");
	res.has_memory = false;
	res.has_pids_limit = true;
	res.pids_limit = 5;
	ck_assert_msg(cgroup_create(cg, &res, &err) == 0, "create: %s", err.msg);
	ck_file_eq(root, "mctr/c1/pids.max", "5");
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

START_TEST(none_mode)
{
	_cleanup_free_ char *root = test_mkdtemp("cgnone");
	struct cgroup *cg = open_fake(root, CGROUP_MODE_NONE, "mctr/c1");
	struct cgroup_resources res;
	struct mctr_err err = { 0 };
	cgroup_resources_init(&res);
	res.has_memory = true;
	res.memory = 64 * MiB;
	ck_assert_int_lt(cgroup_create(cg, &res, &err), 0);
	_cleanup_free_ char *want = xasprintf("create cgroup mctr/c1: cannot apply the memory limit: no cgroup "
	                                      "hierarchy under %s: Operation not supported", root);
	ck_assert_str_eq(err.msg, want);
	res.has_memory = false;
	cgroup_resources_set_default_devices(&res);
	ck_assert_int_eq(cgroup_create(cg, &res, &err), 0);
	ck_assert(!cgroup_can_restrict_devices(cg));
	pid_t *pids = NULL;
	size_t n = 1;
	bool empty = false;
	ck_assert_int_eq(cgroup_enter(cg, getpid(), &err), 0);
	ck_assert_int_eq(cgroup_list_pids(cg, &pids, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(cgroup_is_empty(cg, &empty, &err), 0);
	ck_assert(empty);
	ck_assert_int_eq(cgroup_kill(cg, SIGKILL, &err), 0);
	ck_assert_int_eq(cgroup_destroy(cg, &err), 0);
	cgroup_resources_free(&res);
	cgroup_free(cg);
	test_rmtree(root);
}
END_TEST

static Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("pure");
	tcase_add_test(tc, mode_names);
	tcase_add_test(tc, shares_to_weight_table);
	tcase_add_test(tc, swap_conversion);
	tcase_add_test(tc, cpus_parse);
	tcase_add_test(tc, device_rule_parse_format);
	tcase_add_test(tc, default_devices);
	tcase_add_test(tc, name_validation);
	suite_add_tcase(s, tc);
	tc = tcase_create("fake_v1");
	tcase_add_test(tc, v1_create_writes_limits);
	tcase_add_test(tc, v1_device_rules);
	tcase_add_test(tc, v1_missing_controller_refused_before_mkdir);
	tcase_add_test(tc, v1_enter_kill_destroy);
	tcase_add_test(tc, v1_oom_count);
	tcase_add_test(tc, hybrid_joins_unified_and_uses_cgroup_kill);
	tcase_add_test(tc, v1_comounted_hierarchy_counts_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("fake_v2");
	tcase_add_test(tc, v2_create_writes_limits);
	tcase_add_test(tc, v2_missing_controller);
	tcase_add_test(tc, none_mode);
	tcase_add_test(tc, swap_limit_probe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(cgroup_suite());
}
