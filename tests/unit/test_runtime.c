/* Root-only tests of the runtime (src/runtime): real containers from a
 * busybox rootfs built here from the host's /bin/busybox, bundles written
 * by hand, run with rt_run/rt_exec, outputs captured in memfds.  Skipped
 * (exit 0 with a message) when not root or without /bin/busybox.
 *
 * Every run checks that the test process's /proc/self/mountinfo is the
 * same before and after (the host's mount table never changes).  Cleanup
 * does not depend on a test passing: containers run with die_with_parent,
 * so they die with the forked test process, and every cgroup name is
 * recorded in a file that the runner-side teardown reads to destroy them
 * before it removes the temp dir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/runtime.h"
#include "testutil.h"
#include "../../src/runtime/rt_internal.h"

#define BUSYBOX "/bin/busybox"
#define CGROUP_LIST "cgroups.list"
#define DOCKER_CAPEFF "00000000a80425fb"

static char *g_tmp;   /* per runner; removed by the teardown */
static char *g_layer; /* the busybox layer (never written by a container) */

static const char *const applets[] = { "sh", "cat", "echo", "id", "ls", "hostname", "mount", "sleep", "mknod",
	                               "grep", "touch", "wc", "tty", "kill", "true", "false", "stty", "test",
	                               "ps", "mkdir", "head", "stat", "readlink", "pwd", NULL };

static const char *const default_caps[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
	                                    "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
	                                    "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	                                    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL };

/* ---- small file helpers ------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static char *read_path(const char *path)
{
	char *out = NULL;
	struct mctr_err err = { 0 };
	ck_assert_msg(file_read_at(AT_FDCWD, path, 1 << 20, &out, NULL, &err) == 0, "%s", err.msg);
	return out;
}

static char *read_fd_all(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	char *buf = xmalloc((size_t)st.st_size + 1);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	buf[st.st_size] = '\0';
	return buf;
}

static char *mountinfo(void)
{
	return read_path("/proc/self/mountinfo");
}

/* mkdir -p of an absolute path (test directories only). */
static int mkdir_p(const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void mkdirs(const char *base, const char *rel)
{
	_cleanup_free_ char *p = path_join(base, rel);
	ck_assert_msg(mkdir_p(p) == 0, "mkdir %s: %s", p, strerror(errno));
}

/* ---- the fixture: the busybox layer ------------------------------------- */

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (in < 0 || out < 0) {
		perror("copy busybox");
		abort();
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

static void build_layer(void)
{
	g_layer = path_join(g_tmp, "layer-busybox");
	static const char *const dirs[] = { "bin", "proc", "sys", "dev", "etc", "tmp", "root", "home", NULL };
	for (size_t i = 0; dirs[i] != NULL; i++) {
		_cleanup_free_ char *d = path_join(g_layer, dirs[i]);
		if (mkdir_p(d) < 0)
			abort();
	}
	_cleanup_free_ char *tmp = path_join(g_layer, "tmp");
	chmod(tmp, 01777);
	_cleanup_free_ char *bb = path_join(g_layer, "bin/busybox");
	copy_file(BUSYBOX, bb, 0755);
	for (size_t i = 0; applets[i] != NULL; i++) {
		_cleanup_free_ char *l = xasprintf("%s/bin/%s", g_layer, applets[i]);
		if (symlink("busybox", l) < 0)
			abort();
	}
	_cleanup_free_ char *pw = path_join(g_layer, "etc/passwd");
	_cleanup_free_ char *gr = path_join(g_layer, "etc/group");
	int fd = open(pw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	dprintf(fd, "root:x:0:0:root:/root:/bin/sh\n");
	close(fd);
	fd = open(gr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	dprintf(fd, "root:x:0:\n");
	close(fd);
}

static bool can_run(void)
{
	return geteuid() == 0 && access(BUSYBOX, X_OK) == 0;
}

static void setup(void)
{
	if (!can_run())
		return;
	g_tmp = test_mkdtemp("runtime");
	build_layer();
}

/* Runner side: whatever a failed test left behind. */
static void teardown(void)
{
	if (g_tmp == NULL)
		return;
	_cleanup_free_ char *list = path_join(g_tmp, CGROUP_LIST);
	_cleanup_fclose_ FILE *f = fopen(list, "re");
	char name[256];
	while (f != NULL && fgets(name, sizeof name, f) != NULL) {
		name[strcspn(name, "\n")] = '\0';
		struct cgroup *cg = NULL;
		struct mctr_err err = { 0 };
		if (cgroup_open(NULL, name, &cg, &err) == 0 && cgroup_destroy(cg, &err) < 0)
			fprintf(stderr, "teardown %s: %s\n", name, err.msg);
		cgroup_free(cg);
	}
	/* The common parent, when no other run is using it. */
	rmdir(CGROUP_DEFAULT_ROOT "/mctr-test");
	_cleanup_closedir_ DIR *d = opendir(CGROUP_DEFAULT_ROOT);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		_cleanup_free_ char *p = xasprintf("%s/%s/mctr-test", CGROUP_DEFAULT_ROOT, de->d_name);
		if (de->d_name[0] != '.')
			rmdir(p);
	}
	test_rmtree(g_tmp);
	free(g_tmp);
	free(g_layer);
	g_tmp = g_layer = NULL;
}

/* ---- bundles -------------------------------------------------------------- */

struct bundle {
	char *dir;    /* the bundle */
	char *rootfs; /* <dir>/rootfs: the overlay's mount point */
	char *upper, *work;
	char *cgroup; /* mctr-test/<pid>-<n> */
	json_t *spec;
};

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (; *v != NULL; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *mnt(const char *dest, const char *type, const char *src, const char *opts)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", src);
	json_t *o = json_array();
	_cleanup_free_ char *copy = xstrdup(opts);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	json_object_set_new(m, "options", o);
	return m;
}

/* Docker's defaults (what mctr's spec builder writes), on an overlay of
 * the busybox layer with a fresh upper dir. */
static void bundle_init(struct bundle *b, const char *const *args)
{
	static int counter;
	memset(b, 0, sizeof *b);
	b->dir = xasprintf("%s/b-%d-%d", g_tmp, (int)getpid(), ++counter);
	b->rootfs = path_join(b->dir, "rootfs");
	b->upper = path_join(b->dir, "upper");
	b->work = path_join(b->dir, "work");
	b->cgroup = xasprintf("mctr-test/%d-%d", (int)getpid(), counter);
	mkdirs(b->dir, "rootfs");
	mkdirs(b->dir, "upper");
	mkdirs(b->dir, "work");
	_cleanup_free_ char *list = path_join(g_tmp, CGROUP_LIST);
	int fd = open(list, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	dprintf(fd, "%s\n", b->cgroup);
	close(fd);

	json_t *caps = strv_json(default_caps);
	json_t *mounts = json_array();
	json_array_append_new(mounts, mnt("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mnt("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts, mnt("/dev/pts", "devpts", "devpts",
	                                  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
	json_array_append_new(mounts, mnt("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
	json_array_append_new(mounts, mnt("/sys/fs/cgroup", "cgroup", "cgroup", "ro,nosuid,noexec,nodev"));
	json_array_append_new(mounts, mnt("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mnt("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=67108864"));
	static const char *const masked[] = { "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
		                              "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		                              "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		                              "/sys/devices/virtual/powercap", NULL };
	static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
		                          NULL };
	static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		                           NULL };
	b->spec = json_pack(
		"{s:s, s:{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o}}, s:{s:s, s:b}, s:s, s:o,"
		" s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}], s:o, s:o, s:s},"
		" s:{s:s, s:s, s:s}}",
		"ociVersion", "1.0.2",
		"process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", strv_json(args), "env", strv_json(env),
		"cwd", "/", "capabilities", "bounding", caps, "effective", json_deep_copy(caps), "permitted",
		json_deep_copy(caps),
		"root", "path", "rootfs", "readonly", 0,
		"hostname", "mctrtest",
		"mounts", mounts,
		"linux", "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
		"type", "cgroup", "maskedPaths", strv_json(masked), "readonlyPaths", strv_json(ro), "cgroupsPath",
		b->cgroup,
		"annotations", RT_ANN_OVERLAY_LOWER, g_layer, RT_ANN_OVERLAY_UPPER, b->upper, RT_ANN_OVERLAY_WORK,
		b->work);
	ck_assert_ptr_nonnull(b->spec);
}

static void bundle_free(struct bundle *b)
{
	free(b->dir);
	free(b->rootfs);
	free(b->upper);
	free(b->work);
	free(b->cgroup);
	json_decref(b->spec);
}

static json_t *spec_process(struct bundle *b)
{
	return json_object_get(b->spec, "process");
}

static json_t *spec_linux(struct bundle *b)
{
	return json_object_get(b->spec, "linux");
}

static void set_annotation(struct bundle *b, const char *key, const char *value)
{
	json_object_set_new(json_object_get(b->spec, "annotations"), key, json_string(value));
}

static void bundle_write(struct bundle *b)
{
	_cleanup_close_ int dfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct mctr_err err = { 0 };
	ck_assert_msg(json_write_atomic_at(dfd, "config.json", b->spec, 0644, &err) == 0, "%s", err.msg);
}

/* ---- running -------------------------------------------------------------- */

struct result {
	int rc;      /* rt_run's */
	int code;    /* exit code of the container */
	char *out, *err;
	struct mctr_err e;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

static bool cgroup_exists(const char *name)
{
	static const char *const probes[] = { "pids", "memory", "unified", "" };
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s/%s", CGROUP_DEFAULT_ROOT, probes[i], name);
		struct stat st;
		if (stat(p, &st) == 0)
			return true;
	}
	return false;
}

static void start(struct bundle *b, int in, int out, int errfd, struct rt_container *c, struct mctr_err *e,
                  int *rc)
{
	bundle_write(b);
	struct rt_run_opts o = {
		.bundle = b->dir,
		.id = "test",
		.stdio = { in, out, errfd },
		.die_with_parent = true,
	};
	*rc = rt_run(&o, c, e);
}

static int wait_and_destroy(struct rt_container *c)
{
	int st;
	ck_assert_int_eq(waitpid(c->pid, &st, 0), c->pid);
	struct mctr_err e = { 0 };
	ck_assert_msg(cgroup_destroy(c->cg, &e) == 0, "%s", e.msg);
	rt_container_release(c);
	return rt_status_to_exit_code(st);
}

/* Run to completion: output, exit code; the mount table and cgroups are
 * checked to be as before. */
static void run(struct bundle *b, struct result *r)
{
	memset(r, 0, sizeof *r);
	_cleanup_free_ char *before = mountinfo();
	_cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC);
	_cleanup_close_ int err = memfd_create("err", MFD_CLOEXEC);
	ck_assert(out >= 0 && err >= 0);
	struct rt_container c;
	start(b, -1, out, err, &c, &r->e, &r->rc);
	if (r->rc == 0)
		r->code = wait_and_destroy(&c);
	r->out = read_fd_all(out);
	r->err = read_fd_all(err);
	_cleanup_free_ char *after = mountinfo();
	ck_assert_msg(strcmp(before, after) == 0, "the host's mount table changed:\n%s\n---\n%s", before, after);
	ck_assert_msg(!cgroup_exists(b->cgroup), "cgroup %s left behind", b->cgroup);
}

/* Run args in a default bundle; expect exit code 0 and return stdout. */
static char *run_ok(const char *const *args)
{
	struct bundle b;
	bundle_init(&b, args);
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "rt_run: %s", r.e.msg);
	ck_assert_msg(r.code == 0, "exit %d, stderr: %s", r.code, r.err);
	bundle_free(&b);
	free(r.err);
	return r.out;
}

#define SH(script) ((const char *const[]){ "sh", "-c", (script), NULL })

#define SKIP_UNLESS_ROOT()                                                                                 \
	do {                                                                                               \
		if (g_tmp == NULL)                                                                         \
			return;                                                                            \
	} while (0)

/* ---- basics ----------------------------------------------------------------- */

START_TEST(echo_hi)
{
	SKIP_UNLESS_ROOT();
	_cleanup_free_ char *out = run_ok((const char *const[]){ "echo", "hi", NULL });
	ck_assert_str_eq(out, "hi\n");
	ck_assert_str_eq(rt_root_switch_method(), "pivot_root");
}
END_TEST

START_TEST(exit_codes)
{
	SKIP_UNLESS_ROOT();
	static const struct {
		const char *script;
		bool init;
		int code;
	} cases[] = {
		{ "exit 0", false, 0 },
		{ "exit 3", false, 3 },
		{ "exit 3", true, 3 },
		/* PID 1 cannot kill itself (the kernel drops it); under the
		 * init the command is PID 2. */
		{ "kill -9 $$; exit 5", false, 5 },
		{ "kill -9 $$; exit 5", true, 137 },
		{ "kill -TERM $$; exit 5", true, 143 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct bundle b;
		bundle_init(&b, SH(cases[i].script));
		if (cases[i].init)
			set_annotation(&b, RT_ANN_INIT, "true");
		struct result r;
		run(&b, &r);
		ck_assert_msg(r.rc == 0, "%s: %s", cases[i].script, r.e.msg);
		ck_assert_msg(r.code == cases[i].code, "\"%s\" (init %d): exit %d, want %d", cases[i].script,
		              cases[i].init, r.code, cases[i].code);
		result_free(&r);
		bundle_free(&b);
	}
}
END_TEST

/* The host kills the container: SIGKILL always reaches a namespace's PID 1
 * from outside; SIGTERM only reaches it through the init. */
START_TEST(killed_from_outside)
{
	SKIP_UNLESS_ROOT();
	static const struct {
		int sig;
		bool init;
		int code;
	} cases[] = { { SIGKILL, false, 137 }, { SIGTERM, true, 143 } };
	for (size_t i = 0; i < 2; i++) {
		struct bundle b;
		bundle_init(&b, (const char *const[]){ "sleep", "30", NULL });
		if (cases[i].init)
			set_annotation(&b, RT_ANN_INIT, "true");
		struct rt_container c;
		struct mctr_err e = { 0 };
		int rc;
		start(&b, -1, -1, -1, &c, &e, &rc);
		ck_assert_msg(rc == 0, "%s", e.msg);
		ck_assert_int_eq(syscall(SYS_pidfd_send_signal, c.pidfd, cases[i].sig, NULL, 0), 0);
		ck_assert_int_eq(wait_and_destroy(&c), cases[i].code);
		bundle_free(&b);
	}
}
END_TEST

START_TEST(exec_failures)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, (const char *const[]){ "nosuchcmd", NULL });
	struct result r;
	run(&b, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.e.status, 127);
	ck_assert_msg(strstr(r.e.msg, "exec: \"nosuchcmd\": executable file not found in $PATH") != NULL, "%s",
	              r.e.msg);
	result_free(&r);
	bundle_free(&b);

	bundle_init(&b, (const char *const[]){ "/notexec", NULL });
	_cleanup_free_ char *f = path_join(b.upper, "notexec");
	write_file(f, "#!/bin/sh\necho no\n", 0644);
	run(&b, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.e.status, 126);
	ck_assert_msg(strstr(r.e.msg, "exec: /notexec: Permission denied") != NULL, "%s", r.e.msg);
	result_free(&r);
	bundle_free(&b);

	bundle_init(&b, (const char *const[]){ "/no/such/file", NULL });
	run(&b, &r);
	ck_assert_int_eq(r.e.status, 127);
	ck_assert_msg(strstr(r.e.msg, "exec: /no/such/file: No such file or directory") != NULL, "%s", r.e.msg);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(pid1_and_hostname)
{
	SKIP_UNLESS_ROOT();
	_cleanup_free_ char *out = run_ok((const char *const[]){ "cat", "/proc/1/cmdline", NULL });
	ck_assert_mem_eq(out, "cat\0/proc/1/cmdline\0", 20);
	_cleanup_free_ char *host = run_ok((const char *const[]){ "hostname", NULL });
	ck_assert_str_eq(host, "mctrtest\n");
		/* (not the last command, so the shell does not exec ls) */
	_cleanup_free_ char *fds = run_ok(SH("ls /proc/$$/fd; exit 0"));
	ck_assert_str_eq(fds, "0\n1\n2\n");
}
END_TEST

START_TEST(capabilities)
{
	SKIP_UNLESS_ROOT();
	_cleanup_free_ char *out = run_ok((const char *const[]){ "grep", "^Cap", "/proc/self/status", NULL });
	ck_assert_msg(strstr(out, "CapEff:\t" DOCKER_CAPEFF "\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "CapPrm:\t" DOCKER_CAPEFF "\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "CapBnd:\t" DOCKER_CAPEFF "\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "CapInh:\t0000000000000000\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "CapAmb:\t0000000000000000\n") != NULL, "%s", out);
	/* Non-dumpable until execve does not outlive it. */
	_cleanup_free_ char *nnp = run_ok((const char *const[]){ "grep", "NoNewPrivs", "/proc/self/status", NULL });
	ck_assert_str_eq(nnp, "NoNewPrivs:\t0\n");
}
END_TEST

START_TEST(no_new_privileges_and_rlimits)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("grep NoNewPrivs /proc/self/status; ulimit -n"));
	json_object_set_new(spec_process(&b), "noNewPrivileges", json_true());
	json_object_set_new(spec_process(&b), "rlimits",
	                    json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "soft", 321, "hard", 654));
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "NoNewPrivs:\t1\n321\n");
	result_free(&r);
	bundle_free(&b);

	/* Above the host's hard limit: a clear error, not a silent clamp. */
	struct rlimit host;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &host), 0);
	bundle_init(&b, SH("true"));
	json_object_set_new(spec_process(&b), "rlimits",
	                    json_pack("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "soft",
	                              (json_int_t)host.rlim_max + 1, "hard", (json_int_t)host.rlim_max + 1));
	run(&b, &r);
	if (r.rc == 0) {
		/* root with CAP_SYS_RESOURCE may raise it: nothing to check */
	} else {
		ck_assert_msg(strstr(r.e.msg, "RLIMIT_NOFILE: hard limit") != NULL &&
		              strstr(r.e.msg, "above this host's hard limit") != NULL, "%s", r.e.msg);
	}
	result_free(&r);
	bundle_free(&b);
}
END_TEST

/* ---- filesystem isolation ----------------------------------------------------- */

START_TEST(masked_and_readonly_paths)
{
	SKIP_UNLESS_ROOT();
	/* /proc/kcore only exists with CONFIG_PROC_KCORE; timer_list is in
	 * the same list and never empty. */
	bool kcore = access("/proc/kcore", F_OK) == 0;
	_cleanup_free_ char *script = xasprintf(
		"wc -c < %s; echo 1 > /proc/sys/kernel/domainname || echo ro-ok; "
		"grep -c ' /proc/sys ro,' /proc/self/mountinfo; ls /sys/firmware | wc -l; "
		"touch /sys/x 2>/dev/null || echo sys-ro; wc -c < /proc/timer_list",
		kcore ? "/proc/kcore" : "/proc/timer_list");
	_cleanup_free_ char *out = run_ok(SH(script));
	ck_assert_str_eq(out, "0\nro-ok\n1\n0\nsys-ro\n0\n");
	_cleanup_free_ char *host = read_path("/proc/timer_list");
	ck_assert_int_gt(strlen(host), 0);
}
END_TEST

START_TEST(readonly_root_without_overlay)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("touch /x 2>&1; touch /dev/shm/y && echo shm-rw; cat /etc/passwd"));
	/* No overlay annotations: root.path used as it is (bound onto itself). */
	json_object_del(b.spec, "annotations");
	json_object_set_new(json_object_get(b.spec, "root"), "path", json_string(g_layer));
	json_object_set_new(json_object_get(b.spec, "root"), "readonly", json_true());
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_msg(strstr(r.out, "touch: /x: Read-only file system\nshm-rw\nroot:x:0:0:") == r.out, "%s", r.out);
	_cleanup_free_ char *x = path_join(g_layer, "x");
	ck_assert_int_ne(access(x, F_OK), 0);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(overlay_layers_and_whiteout)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("cat /etc/fromb; cat /etc/hidden 2>/dev/null || echo hidden; echo new > /newfile; "
	                   "echo changed > /etc/fromb"));
	/* A second, upper layer, and a whiteout of one of its files in the
	 * upper dir. */
	_cleanup_free_ char *top = path_join(b.dir, "layer-top");
	mkdirs(top, "etc");
	_cleanup_free_ char *fromb = path_join(top, "etc/fromb");
	_cleanup_free_ char *hidden = path_join(top, "etc/hidden");
	write_file(fromb, "from b\n", 0644);
	write_file(hidden, "hide me\n", 0644);
	mkdirs(b.upper, "etc");
	_cleanup_free_ char *wh = path_join(b.upper, "etc/hidden");
	ck_assert_int_eq(mknod(wh, S_IFCHR | 0000, makedev(0, 0)), 0);
	_cleanup_free_ char *lower = xasprintf("%s:%s", top, g_layer);
	set_annotation(&b, RT_ANN_OVERLAY_LOWER, lower);
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "from b\nhidden\n");
	/* Writes went to the upper dir; the layers are untouched. */
	_cleanup_free_ char *nf = path_join(b.upper, "newfile");
	_cleanup_free_ char *got = read_path(nf);
	ck_assert_str_eq(got, "new\n");
	_cleanup_free_ char *ufromb = path_join(b.upper, "etc/fromb");
	_cleanup_free_ char *changed = read_path(ufromb);
	ck_assert_str_eq(changed, "changed\n");
	_cleanup_free_ char *orig = read_path(fromb);
	ck_assert_str_eq(orig, "from b\n");
	_cleanup_free_ char *lnf = path_join(g_layer, "newfile");
	ck_assert_int_ne(access(lnf, F_OK), 0);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

/* Many layers under a long directory: their absolute paths are longer
 * than the page mount(2) takes; the new mount API has no limit, the
 * mount(2) fallback fits them by naming them relative to their parent. */
#define MANY_LAYERS 60

static char **make_many_layers(const char *base)
{
	_cleanup_free_ char *deep = xasprintf("%s/%s", base, "a-long-directory-name-to-make-the-options-long-"
	                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	char **v = xcalloc(MANY_LAYERS + 2, sizeof *v);
	for (int i = 0; i < MANY_LAYERS; i++) {
		v[i] = xasprintf("%s/l%02d", deep, i);
		_cleanup_free_ char *f = xasprintf("%s/many/f%02d", v[i], i);
		ck_assert_int_eq(mkdir_p(v[i]), 0);
		_cleanup_free_ char *d = xasprintf("%s/many", v[i]);
		ck_assert_int_eq(mkdir_p(d), 0);
		write_file(f, "x", 0644);
	}
	return v;
}

START_TEST(overlay_many_layers)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("ls /many | wc -l"));
	char **layers = make_many_layers(b.dir);
	size_t total = 0;
	for (int i = 0; i < MANY_LAYERS; i++)
		total += strlen(layers[i]) + 1;
	ck_assert_int_gt(total, 4096);
	layers[MANY_LAYERS] = xstrdup(g_layer);
	size_t len = 0;
	for (int i = 0; layers[i] != NULL; i++)
		len += strlen(layers[i]) + 1;
	char *lower = xcalloc(len + 1, 1);
	for (int i = 0; layers[i] != NULL; i++) {
		if (i > 0)
			strcat(lower, ":");
		strcat(lower, layers[i]);
	}
	set_annotation(&b, RT_ANN_OVERLAY_LOWER, lower);
	free(lower);
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "60\n");
	result_free(&r);

	/* The fallback, in a private mount namespace of a child. */
	free(layers[MANY_LAYERS]);
	layers[MANY_LAYERS] = NULL;
	_cleanup_free_ char *target = path_join(b.dir, "legacy");
	ck_assert_int_eq(mkdir_p(target), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mctr_err e = { 0 };
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(10);
		if (rt_overlay_mount_legacy(layers, NULL, NULL, false, target, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			_exit(11);
		}
		_cleanup_free_ char *f = xasprintf("%s/many/f%02d", target, MANY_LAYERS - 1);
		_exit(access(f, F_OK) == 0 ? 0 : 12);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "legacy overlay mount: status %d", st);
	mctr_strv_free(layers);

	/* Too many even relative: a clear error, nothing mounted. */
	char **huge = xcalloc(1101, sizeof *huge);
	for (int i = 0; i < 1100; i++)
		huge[i] = xasprintf("%s/x/l%04d", b.dir, i);
	struct mctr_err e = { 0 };
	ck_assert_int_eq(rt_overlay_mount_legacy(huge, NULL, NULL, false, target, &e), -1);
	ck_assert_int_eq(e.errnum, E2BIG);
	ck_assert_msg(strstr(e.msg, "more than a page") != NULL, "%s", e.msg);
	mctr_strv_free(huge);
	bundle_free(&b);
}
END_TEST

/* An image whose path leads to the host's /etc through symlinks (absolute
 * and relative): the bind mount must land inside the rootfs. */
START_TEST(mount_destination_symlink_stays_inside)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("cat /etc/mctr-evil-a /etc/mctr-evil-b"));
	_cleanup_free_ char *l1 = path_join(b.upper, "evil");
	_cleanup_free_ char *l2 = path_join(b.upper, "evil2");
	ck_assert_int_eq(symlink("/etc", l1), 0);
	ck_assert_int_eq(symlink("../../../../../../../../etc", l2), 0);
	_cleanup_free_ char *src = path_join(b.dir, "bound");
	write_file(src, "bound\n", 0644);
	json_t *mounts = json_object_get(b.spec, "mounts");
	json_array_append_new(mounts, mnt("/evil/mctr-evil-a", "bind", src, "rbind,ro"));
	json_array_append_new(mounts, mnt("/evil2/mctr-evil-b", "bind", src, "bind,ro"));
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "bound\nbound\n");
	ck_assert_int_ne(access("/etc/mctr-evil-a", F_OK), 0);
	ck_assert_int_ne(access("/etc/mctr-evil-b", F_OK), 0);
	_cleanup_free_ char *inside = path_join(b.upper, "etc/mctr-evil-a");
	ck_assert_int_eq(access(inside, F_OK), 0);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(bind_mount_readonly)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("cat /data/f; echo x > /data/g 2>/dev/null || echo ro; echo y > /rw/h && echo rw"));
	_cleanup_free_ char *vol = path_join(b.dir, "vol");
	mkdirs(b.dir, "vol");
	mkdirs(b.dir, "vol2");
	_cleanup_free_ char *f = path_join(vol, "f");
	write_file(f, "data\n", 0644);
	_cleanup_free_ char *vol2 = path_join(b.dir, "vol2");
	json_t *mounts = json_object_get(b.spec, "mounts");
	json_array_append_new(mounts, mnt("/data", "bind", vol, "rbind,ro,rprivate"));
	json_array_append_new(mounts, mnt("/rw", "bind", vol2, "rbind,rprivate"));
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "data\nro\nrw\n");
	_cleanup_free_ char *h = path_join(vol2, "h");
	ck_assert_int_eq(access(h, F_OK), 0);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

/* ---- users ---------------------------------------------------------------------- */

static void write_users(struct bundle *b)
{
	mkdirs(b->upper, "etc");
	_cleanup_free_ char *pw = path_join(b->upper, "etc/passwd");
	_cleanup_free_ char *gr = path_join(b->upper, "etc/group");
	write_file(pw, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n", 0644);
	write_file(gr, "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:root\n", 0644);
}

static char *run_as(const char *user, uid_t uid, gid_t gid, struct result *r)
{
	struct bundle b;
	bundle_init(&b, SH("id; echo $HOME; grep -E '^(Groups|CapEff)' /proc/self/status"));
	write_users(&b);
	if (user != NULL)
		set_annotation(&b, RT_ANN_USER, user);
	json_object_set_new(spec_process(&b), "user", json_pack("{s:i, s:i}", "uid", (int)uid, "gid", (int)gid));
	run(&b, r);
	bundle_free(&b);
	return r->out;
}

START_TEST(users)
{
	SKIP_UNLESS_ROOT();
	struct result r;
	run_as("app", 0, 0, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)\n/home/app\n"
	                        "Groups:\t50 1000 \nCapEff:\t0000000000000000\n");
	result_free(&r);

	run_as(NULL, 1000, 1000, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "uid=1000(app) gid=1000(app)\n/home/app\nGroups:\t \nCapEff:\t0000000000000000\n");
	result_free(&r);

	run_as("app:staff", 0, 0, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_msg(strncmp(r.out, "uid=1000(app) gid=50(staff)\n", 28) == 0, "%s", r.out);
	result_free(&r);

	/* A numeric uid nobody has: gid 0, HOME / */
	run_as("4242", 0, 0, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_msg(strncmp(r.out, "uid=4242 gid=0(root)", 20) == 0, "%s", r.out);
	ck_assert_msg(strstr(r.out, "\n/\n") != NULL, "%s", r.out);
	result_free(&r);

	run_as("nobody2", 0, 0, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_msg(strstr(r.e.msg, "unable to find user nobody2: no matching entries in passwd file") != NULL,
	              "%s", r.e.msg);
	result_free(&r);
}
END_TEST

/* ---- cgroups and devices ----------------------------------------------------------- */

START_TEST(cgroup_limit_and_namespace)
{
	SKIP_UNLESS_ROOT();
	enum cgroup_mode mode = cgroup_detect_mode(NULL);
	if (mode == CGROUP_MODE_NONE)
		return;
	struct bundle b;
	const char *knob = mode == CGROUP_MODE_V2 ? "/sys/fs/cgroup/memory.max"
	                                          : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
	_cleanup_free_ char *script = xasprintf("cat %s; cat /proc/self/cgroup; echo x > %s || echo ro", knob, knob);
	bundle_init(&b, SH(script));
	json_object_set_new(spec_linux(&b), "resources", json_pack("{s:{s:I}}", "memory", "limit",
	                                                             (json_int_t)64 * 1024 * 1024));
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_msg(strncmp(r.out, "67108864\n", 9) == 0, "%s", r.out);
	/* Every line of /proc/self/cgroup ends in ":/": the container's own
	 * cgroup is the root of its cgroup namespace. */
	char *save = NULL;
	_cleanup_free_ char *copy = xstrdup(r.out + 9);
	int lines = 0;
	for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (strcmp(l, "ro") == 0)
			continue;
		size_t len = strlen(l);
		ck_assert_msg(len >= 2 && strcmp(l + len - 2, ":/") == 0, "line \"%s\" of %s", l, r.out);
		lines++;
	}
	ck_assert_int_gt(lines, 0);
	ck_assert_msg(strstr(r.out, "\nro\n") != NULL, "cgroupfs writable: %s", r.out);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(devices_mknod_but_no_open)
{
	SKIP_UNLESS_ROOT();
	struct stat st;
	ck_assert_int_eq(stat("/", &st), 0);
	_cleanup_free_ char *script =
		xasprintf("mknod /tmp/disk b %u %u && echo made; cat /tmp/disk > /dev/null 2>/tmp/e || cat /tmp/e; "
		          "echo x > /dev/null && head -c 3 /dev/zero | wc -c",
		          major(st.st_dev), minor(st.st_dev));
	_cleanup_free_ char *out = run_ok(SH(script));
	ck_assert_msg(strstr(out, "made\ncat: can't open '/tmp/disk': Operation not permitted\n3\n") == out, "%s",
	              out);
}
END_TEST

/* ---- init, exec, terminal --------------------------------------------------------- */

START_TEST(init_reaps_orphans)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	/* The subshell's sleep is orphaned to PID 1 and exits while the
	 * command still runs: only a reaping init leaves no zombie. */
	bundle_init(&b, SH("(sleep 0.1 &); sleep 0.6; z=0; for s in /proc/[0-9]*/stat; do read -r l < $s; "
	                   "case \"$l\" in *') Z '*) z=$((z+1));; esac; done; echo zombies=$z; cat /proc/1/comm; "
	                   "echo $$; readlink /proc/1/exe 2>/dev/null || echo init-exe-hidden"));
	set_annotation(&b, RT_ANN_INIT, "true");
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	/* The init is a copy of mctr that never execs: non-dumpable, so its
	 * /proc/1/exe (mctr's binary on the host) is out of reach. */
	ck_assert_str_eq(r.out, "zombies=0\nmctr-init\n2\ninit-exe-hidden\n");
	ck_assert_int_eq(r.code, 0);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

static char *read_pty(int master);

static int exec_in(struct rt_container *c, const char *cgroup, const char *process_json, int out, struct mctr_err *e)
{
	struct rt_exec_opts o = {
		.pid = c->pid,
		.pidfd = c->pidfd,
		.cgroup = cgroup,
		.process_json = process_json,
		.stdio = { -1, out, -1 },
	};
	struct rt_process p;
	if (rt_exec(&o, &p, e) < 0)
		return -1;
	int st;
	ck_assert_int_eq(waitpid(p.pid, &st, 0), p.pid);
	close(p.pidfd);
	return rt_status_to_exit_code(st);
}

START_TEST(exec_in_running_container)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, (const char *const[]){ "sleep", "30", NULL });
	struct rt_container c;
	struct mctr_err e = { 0 };
	int rc;
	start(&b, -1, -1, -1, &c, &e, &rc);
	ck_assert_msg(rc == 0, "%s", e.msg);

	_cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC);
	const char *proc = "{\"args\":[\"sh\",\"-c\",\"hostname; cat /proc/1/cmdline; echo; echo $$; "
	                   "grep CapEff /proc/self/status; cat /proc/self/cgroup | grep -c ':/$'\"],"
	                   "\"cwd\":\"/tmp\",\"env\":[\"PATH=/bin\"],"
	                   "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
	                   "\"permitted\":[\"CAP_KILL\"]}}";
	ck_assert_msg(exec_in(&c, b.cgroup, proc, out, &e) == 0, "%s", e.msg);
	_cleanup_free_ char *got = read_fd_all(out);
	ck_assert_msg(memcmp(got, "mctrtest\nsleep\00030\000\n", 19) == 0, "%s", got);
	/* After the cmdline: the process's pid, in the container's pid
	 * namespace (not PID 1); the caps it was given; its cgroups. */
	const char *rest = got + 19;
	int inner = atoi(rest);
	ck_assert_msg(inner > 1 && inner < 100, "%s", rest);
	ck_assert_msg(strstr(rest, "\nCapEff:\t0000000000000020\n") != NULL, "%s", rest);
	ck_assert_msg(strstr(rest, "\n0\n") == NULL, "not in the container's cgroup namespace: %s", rest);

	/* With a terminal: a pty of the container's devpts. */
	struct rt_exec_opts to = {
		.pid = c.pid,
		.pidfd = -1,
		.cgroup = b.cgroup,
		.process_json = "{\"args\":[\"tty\"],\"terminal\":true,\"cwd\":\"/\",\"env\":[\"PATH=/bin\"]}",
		.stdio = { -1, -1, -1 },
	};
	struct rt_process tp;
	ck_assert_msg(rt_exec(&to, &tp, &e) == 0, "%s", e.msg);
	ck_assert_int_ge(tp.pty_master, 0);
	int st;
	ck_assert_int_eq(waitpid(tp.pid, &st, 0), tp.pid);
	ck_assert_int_eq(rt_status_to_exit_code(st), 0);
	_cleanup_free_ char *tty = read_pty(tp.pty_master);
	ck_assert_str_eq(tty, "/dev/pts/0\r\n");
	close(tp.pty_master);
	close(tp.pidfd);

	/* Errors come back like rt_run's. */
	ck_assert_int_eq(exec_in(&c, b.cgroup, "{\"args\":[\"nosuch\"],\"cwd\":\"/\",\"env\":[]}", -1, &e), -1);
	ck_assert_int_eq(e.status, 127);
	ck_assert_msg(strstr(e.msg, "executable file not found") != NULL, "%s", e.msg);

	ck_assert_int_eq(syscall(SYS_pidfd_send_signal, c.pidfd, SIGKILL, NULL, 0), 0);
	ck_assert_int_eq(wait_and_destroy(&c), 137);
	bundle_free(&b);
}
END_TEST

/* Everything the pty gives until the container is gone. */
static char *read_pty(int master)
{
	size_t len = 0;
	char *buf = xmalloc(1);
	for (;;) {
		char tmp[1024];
		ssize_t n = read(master, tmp, sizeof tmp);
		if (n <= 0)
			break; /* EIO: no slave left */
		buf = xrealloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, tmp, (size_t)n);
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

START_TEST(terminal)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("tty; stat -c %t:%T /dev/console 2>/dev/null || ls -l /dev/console; read line; "
	                   "echo got $line"));
	json_object_set_new(spec_process(&b), "terminal", json_true());
	struct rt_container c;
	struct mctr_err e = { 0 };
	int rc;
	start(&b, -1, -1, -1, &c, &e, &rc);
	ck_assert_msg(rc == 0, "%s", e.msg);
	ck_assert_int_ge(c.pty_master, 0);
	ck_assert_int_eq(write(c.pty_master, "hello\n", 6), 6);
	int code = 0;
	int st;
	ck_assert_int_eq(waitpid(c.pid, &st, 0), c.pid);
	code = rt_status_to_exit_code(st);
	_cleanup_free_ char *got = read_pty(c.pty_master);
	struct mctr_err de = { 0 };
	ck_assert_msg(cgroup_destroy(c.cg, &de) == 0, "%s", de.msg);
	rt_container_release(&c);
	ck_assert_int_eq(code, 0);
	ck_assert_msg(strstr(got, "/dev/pts/0\r\n") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "got hello\r\n") != NULL, "%s", got);
	bundle_free(&b);
}
END_TEST

START_TEST(spec_errors_clean_up)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("true"));
	json_array_append_new(json_object_get(spec_linux(&b), "namespaces"), json_pack("{s:s}", "type", "user"));
	struct result r;
	run(&b, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.e.status, 125);
	ck_assert_msg(strstr(r.e.msg, "user namespaces are not supported") != NULL, "%s", r.e.msg);
	result_free(&r);
	bundle_free(&b);

	/* A failure inside the child (a bind source that does not exist). */
	bundle_init(&b, SH("true"));
	json_array_append_new(json_object_get(b.spec, "mounts"), mnt("/x", "bind", "/nonexistent-mctr", "rbind"));
	run(&b, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_int_eq(r.e.status, 125);
	ck_assert_msg(strstr(r.e.msg, "bind source /nonexistent-mctr: No such file or directory") != NULL, "%s",
	              r.e.msg);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(host_network_sysfs_readonly)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("touch /sys/x 2>/dev/null || echo ro; ls /sys/class/net | grep -c ."));
	json_t *ns = json_object_get(spec_linux(&b), "namespaces");
	size_t i;
	json_t *v;
	json_array_foreach(ns, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "type")), "network") == 0) {
			json_array_remove(ns, i);
			break;
		}
	}
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_msg(strncmp(r.out, "ro\n", 3) == 0, "%s", r.out);
	ck_assert_msg(atoi(r.out + 3) >= 1, "%s", r.out);
	result_free(&r);
	bundle_free(&b);
}
END_TEST

START_TEST(cwd_is_created_and_entered)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, SH("pwd; echo $HOME"));
	json_object_set_new(spec_process(&b), "cwd", json_string("/work/dir"));
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	ck_assert_str_eq(r.out, "/work/dir\n/root\n");
	_cleanup_free_ char *made = path_join(b.upper, "work/dir");
	struct stat st;
	ck_assert_int_eq(stat(made, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	result_free(&r);
	bundle_free(&b);
}
END_TEST

/* The monitor dies (SIGKILL, no cleanup): the container goes with it. */
START_TEST(dies_with_parent)
{
	SKIP_UNLESS_ROOT();
	struct bundle b;
	bundle_init(&b, (const char *const[]){ "sleep", "30", NULL });
	bundle_write(&b);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t monitor = fork();
	ck_assert_int_ge(monitor, 0);
	if (monitor == 0) {
		struct rt_run_opts o = { .bundle = b.dir, .id = "t", .stdio = { -1, -1, -1 }, .die_with_parent = true };
		struct rt_container c;
		struct mctr_err e = { 0 };
		pid_t pid = rt_run(&o, &c, &e) == 0 ? c.pid : -1;
		if (write(p[1], &pid, sizeof pid) != sizeof pid)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	pid_t ctr = 0;
	ck_assert_int_eq(read(p[0], &ctr, sizeof ctr), (ssize_t)sizeof ctr);
	close(p[0]);
	ck_assert_int_gt(ctr, 0);
	ck_assert_int_eq(kill(ctr, 0), 0);
	ck_assert_int_eq(kill(monitor, SIGKILL), 0);
	ck_assert_int_eq(waitpid(monitor, NULL, 0), monitor);
	struct cgroup *cg = NULL;
	struct mctr_err e = { 0 };
	ck_assert_int_eq(cgroup_open(NULL, b.cgroup, &cg, &e), 0);
	ck_assert_msg(cgroup_wait_empty(cg, 5000, &e) == 0, "the container outlived its monitor: %s", e.msg);
	ck_assert_msg(cgroup_destroy(cg, &e) == 0, "%s", e.msg);
	cgroup_free(cg);
	bundle_free(&b);
}
END_TEST

/* net/ipc/uts may be joined by path: a second container in the first's
 * uts and network namespaces sees its hostname and network devices. */
START_TEST(join_namespaces_by_path)
{
	SKIP_UNLESS_ROOT();
	struct bundle a;
	bundle_init(&a, (const char *const[]){ "sleep", "30", NULL });
	struct rt_container c;
	struct mctr_err e = { 0 };
	int rc;
	start(&a, -1, -1, -1, &c, &e, &rc);
	ck_assert_msg(rc == 0, "%s", e.msg);

	struct bundle b;
	bundle_init(&b, SH("hostname; readlink /proc/self/ns/net"));
	json_object_del(b.spec, "hostname");
	json_t *ns = json_object_get(spec_linux(&b), "namespaces");
	size_t i;
	json_t *v;
	json_array_foreach(ns, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *file = strcmp(type, "network") == 0 ? "net" : type;
		_cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)c.pid, file);
		if (strcmp(type, "uts") == 0 || strcmp(type, "network") == 0)
			json_object_set_new(v, "path", json_string(p));
	}
	char want[128];
	_cleanup_free_ char *nsp = xasprintf("/proc/%d/ns/net", (int)c.pid);
	ssize_t n = readlink(nsp, want, sizeof want - 1);
	ck_assert_int_gt(n, 0);
	want[n] = '\0';
	struct result r;
	run(&b, &r);
	ck_assert_msg(r.rc == 0, "%s", r.e.msg);
	_cleanup_free_ char *expect = xasprintf("mctrtest\n%s\n", want);
	ck_assert_str_eq(r.out, expect);
	result_free(&r);
	bundle_free(&b);

	ck_assert_int_eq(syscall(SYS_pidfd_send_signal, c.pidfd, SIGKILL, NULL, 0), 0);
	ck_assert_int_eq(wait_and_destroy(&c), 137);
	bundle_free(&a);
}
END_TEST

static Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tc = tcase_create("containers");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, echo_hi);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, killed_from_outside);
	tcase_add_test(tc, exec_failures);
	tcase_add_test(tc, pid1_and_hostname);
	tcase_add_test(tc, capabilities);
	tcase_add_test(tc, no_new_privileges_and_rlimits);
	tcase_add_test(tc, masked_and_readonly_paths);
	tcase_add_test(tc, readonly_root_without_overlay);
	tcase_add_test(tc, overlay_layers_and_whiteout);
	tcase_add_test(tc, overlay_many_layers);
	tcase_add_test(tc, mount_destination_symlink_stays_inside);
	tcase_add_test(tc, bind_mount_readonly);
	tcase_add_test(tc, users);
	tcase_add_test(tc, cgroup_limit_and_namespace);
	tcase_add_test(tc, devices_mknod_but_no_open);
	tcase_add_test(tc, init_reaps_orphans);
	tcase_add_test(tc, exec_in_running_container);
	tcase_add_test(tc, terminal);
	tcase_add_test(tc, spec_errors_clean_up);
	tcase_add_test(tc, host_network_sysfs_readonly);
	tcase_add_test(tc, cwd_is_created_and_entered);
	tcase_add_test(tc, dies_with_parent);
	tcase_add_test(tc, join_namespaces_by_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!can_run()) {
		printf("test_runtime: skipped (needs root and %s)\n", BUSYBOX);
		return 0;
	}
	return test_run_suite(runtime_suite());
}
