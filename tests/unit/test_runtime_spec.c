/* Unit tests of the runtime's pure parts (no root, no kernel features):
 * config.json parsing and validation (src/runtime/spec_load.c) and the
 * container's passwd/group resolution (src/runtime/user.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "../../src/runtime/rt_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "testutil.h"

/* ---- users ------------------------------------------------------------------ */

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "app:x:1000:1000:App:/home/app:/bin/sh\n"
                             "broken line\n"
                             "1337:x:4000:4000::/home/leet:/bin/sh\n"
                             "nohome:x:1001:1001:::/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "app:x:1000:\n"
                            "staff:x:50:app,other\n"
                            "wheel:x:10:root\n"
                            "audio:x:29:other,app\n";

static struct rt_user resolve_ok(const char *spec)
{
	struct rt_user u;
	struct mctr_err err = { 0 };
	ck_assert_msg(rt_user_resolve(spec, passwd, group, &u, &err) == 0, "%s: %s", spec, err.msg);
	return u;
}

static void assert_groups(const struct rt_user *u, const gid_t *want, size_t n)
{
	ck_assert_uint_eq(u->n_groups, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(u->groups[i], want[i]);
}

START_TEST(user_by_name_gets_groups_and_home)
{
	struct rt_user u = resolve_ok("app");
	ck_assert_uint_eq(u.uid, 1000);
	ck_assert_uint_eq(u.gid, 1000);
	ck_assert_str_eq(u.home, "/home/app");
	assert_groups(&u, (const gid_t[]){ 1000, 50, 29 }, 3);
	rt_user_free(&u);

	u = resolve_ok("root");
	ck_assert_uint_eq(u.uid, 0);
	assert_groups(&u, (const gid_t[]){ 0, 10 }, 2);
	rt_user_free(&u);

	u = resolve_ok("");
	ck_assert_uint_eq(u.uid, 0);
	ck_assert_uint_eq(u.gid, 0);
	ck_assert_str_eq(u.home, "/root");
	rt_user_free(&u);
}
END_TEST

START_TEST(user_numeric_is_always_an_id)
{
	/* CVE-2016-3697: a user NAMED "1337" must not be picked for "1337". */
	struct rt_user u = resolve_ok("1337");
	ck_assert_uint_eq(u.uid, 1337);
	ck_assert_uint_eq(u.gid, 0);
	ck_assert_str_eq(u.home, "/");
	assert_groups(&u, (const gid_t[]){ 0 }, 1);
	rt_user_free(&u);

	/* A known uid: its passwd entry. */
	u = resolve_ok("1000");
	ck_assert_uint_eq(u.gid, 1000);
	ck_assert_str_eq(u.home, "/home/app");
	assert_groups(&u, (const gid_t[]){ 1000, 50, 29 }, 3);
	rt_user_free(&u);

	/* An empty home field means "/". */
	u = resolve_ok("nohome");
	ck_assert_str_eq(u.home, "/");
	rt_user_free(&u);
}
END_TEST

START_TEST(user_with_group_has_no_supplementary_groups)
{
	static const struct {
		const char *spec;
		unsigned uid, gid;
	} cases[] = {
		{ "app:staff", 1000, 50 }, { "app:77", 1000, 77 },  { "1000:50", 1000, 50 },
		{ "1000:wheel", 1000, 10 }, { "4242:4242", 4242, 4242 }, { ":staff", 0, 50 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rt_user u = resolve_ok(cases[i].spec);
		ck_assert_msg(u.uid == cases[i].uid && u.gid == cases[i].gid, "%s: %u:%u", cases[i].spec, u.uid, u.gid);
		ck_assert_uint_eq(u.n_groups, 0);
		rt_user_free(&u);
	}
}
END_TEST

START_TEST(user_errors)
{
	struct rt_user u;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(rt_user_resolve("nobody", passwd, group, &u, &err), -1);
	ck_assert_str_eq(err.msg, "unable to find user nobody: no matching entries in passwd file: "
	                          "No such file or directory");
	ck_assert_int_eq(rt_user_resolve("app:nogroup", passwd, group, &u, &err), -1);
	ck_assert_str_eq(err.msg, "unable to find group nogroup: no matching entries in group file: "
	                          "No such file or directory");
	/* No passwd file at all: names fail, numbers work. */
	ck_assert_int_eq(rt_user_resolve("app", NULL, NULL, &u, &err), -1);
	ck_assert_int_eq(rt_user_resolve("5:5", NULL, NULL, &u, &err), 0);
	ck_assert_uint_eq(u.uid, 5);
	rt_user_free(&u);
	/* (uid_t)-1 is not an ID */
	ck_assert_int_eq(rt_user_resolve("4294967295", passwd, group, &u, &err), -1);
}
END_TEST

/* ---- the spec -------------------------------------------------------------- */

static json_t *minimal(void)
{
	json_t *j = json_pack("{s:{s:[s], s:s}, s:{s:s}, s:{s:[{s:s},{s:s},{s:s}], s:s}}", "process", "args", "true",
	                      "cwd", "/", "root", "path", "rootfs", "linux", "namespaces", "type", "mount", "type",
	                      "pid", "type", "uts", "cgroupsPath", "/mctr/abc/");
	ck_assert_ptr_nonnull(j);
	return j;
}

static int parse(json_t *j, struct rt_spec *s, struct mctr_err *err)
{
	int rc = rt_spec_parse(j, "/bundles/b1", s, err);
	json_decref(j);
	return rc;
}

static void expect_error(json_t *j, const char *want)
{
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(parse(j, &s, &err), -1);
	ck_assert_msg(strstr(err.msg, want) != NULL, "got \"%s\", want \"%s\"", err.msg, want);
	rt_spec_free(&s);
}

static json_t *with(json_t *j, const char *path, json_t *value)
{
	/* path: "a.b" sets j[a][b] (creating a) */
	const char *dot = strchr(path, '.');
	if (dot == NULL) {
		json_object_set_new(j, path, value);
		return j;
	}
	_cleanup_free_ char *first = xstrndup(path, (size_t)(dot - path));
	json_t *o = json_object_get(j, first);
	if (o == NULL) {
		o = json_object();
		json_object_set_new(j, first, o);
	}
	json_object_set_new(o, dot + 1, value);
	return j;
}

START_TEST(spec_minimal_defaults)
{
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_msg(parse(minimal(), &s, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(s.root_path, "/bundles/b1/rootfs");
	ck_assert_str_eq(s.cgroups_path, "mctr/abc");
	ck_assert_str_eq(s.process.cwd, "/");
	ck_assert_uint_eq(s.process.umask, 022);
	ck_assert(s.ns_new[RT_NS_MOUNT] && s.ns_new[RT_NS_PID] && s.ns_new[RT_NS_UTS]);
	ck_assert(!s.ns_new[RT_NS_NET] && !s.ns_new[RT_NS_CGROUP]);
	ck_assert_uint_eq(s.root_propagation, MS_PRIVATE | MS_REC);
	ck_assert(!s.process.has_caps);
	/* Without device rules in the spec: Docker's defaults (deny all
	 * first, then the standard nodes). */
	ck_assert(s.resources.has_devices);
	ck_assert(!s.resources.devices[0].allow);
	ck_assert_int_eq(s.resources.devices[0].type, 'a');
	ck_assert(s.overlay_lower == NULL && !s.init);
	rt_spec_free(&s);
}
END_TEST

START_TEST(spec_docker_caps_bits)
{
	static const char *const caps[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		                            "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		                            "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE" };
	json_t *set = json_array();
	for (size_t i = 0; i < 14; i++)
		json_array_append_new(set, json_string(caps[i]));
	json_t *j = with(minimal(), "process.capabilities",
	                 json_pack("{s:O, s:O, s:O, s:O, s:[s]}", "bounding", set, "effective", set, "permitted", set,
	                           "inheritable", set, "ambient", "CAP_KILL"));
	json_decref(set);
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_msg(parse(j, &s, &err) == 0, "%s", err.msg);
	ck_assert(s.process.has_caps);
	ck_assert_uint_eq(s.process.caps.bounding, 0xa80425fbu);
	ck_assert_uint_eq(s.process.caps.effective, 0xa80425fbu);
	ck_assert_uint_eq(s.process.caps.permitted, 0xa80425fbu);
	rt_spec_free(&s);

	expect_error(with(minimal(), "process.capabilities", json_pack("{s:[s]}", "bounding", "CAP_FLY")),
	             "process.capabilities.bounding: unknown capability \"CAP_FLY\"");
	expect_error(with(minimal(), "process.capabilities", json_pack("{s:[s]}", "bounding", "chown")),
	             "unknown capability \"chown\"");
}
END_TEST

START_TEST(spec_mount_options)
{
	json_t *j = with(minimal(), "mounts",
	                 json_pack("[{s:s, s:s, s:s, s:[s,s,s,s,s]}, {s:s, s:s, s:[s,s,s]}, {s:s, s:s, s:s, s:[s,s]}]",
	                           "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
	                           "strictatime", "mode=755", "size=65536k", "ro",
	                           "destination", "/data", "source", "vol", "options", "rbind", "ro", "rslave",
	                           "destination", "/x", "type", "bind", "source", "/abs", "options", "rw", "noexec"));
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_msg(parse(j, &s, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(s.n_mounts, 3);
	ck_assert_uint_eq(s.mounts[0].flags, MS_NOSUID | MS_STRICTATIME | MS_RDONLY);
	ck_assert_str_eq(s.mounts[0].data, "mode=755,size=65536k");
	ck_assert_str_eq(s.mounts[1].type, "bind");
	ck_assert_str_eq(s.mounts[1].source, "/bundles/b1/vol");
	ck_assert_uint_eq(s.mounts[1].flags, MS_BIND | MS_REC | MS_RDONLY);
	ck_assert_uint_eq(s.mounts[1].propagation, MS_SLAVE | MS_REC);
	ck_assert_ptr_null(s.mounts[1].data);
	ck_assert_uint_eq(s.mounts[2].flags, MS_BIND | MS_NOEXEC);
	ck_assert_str_eq(s.mounts[2].source, "/abs");
	rt_spec_free(&s);

	expect_error(with(minimal(), "mounts", json_pack("[{s:s, s:s}]", "destination", "rel", "type", "tmpfs")),
	             "mounts[0]: destination \"rel\" is not an absolute path");
	expect_error(with(minimal(), "mounts", json_pack("[{s:s, s:s}]", "destination", "/x", "type", "bind")),
	             "mount /x: a bind mount needs a source");
	expect_error(with(minimal(), "mounts",
	                  json_pack("[{s:s, s:s, s:s, s:[s]}]", "destination", "/x", "type", "tmpfs", "source", "t",
	                            "options", "tmpcopyup")),
	             "option \"tmpcopyup\" is not supported");
}
END_TEST

START_TEST(spec_rlimits)
{
	json_t *j = with(minimal(), "process.rlimits",
	                 json_pack("[{s:s, s:i, s:i}, {s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "soft", 1024, "hard",
	                           2048, "type", "RLIMIT_CORE", "soft", (json_int_t)INT64_MAX, "hard",
	                           (json_int_t)INT64_MAX));
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_msg(parse(j, &s, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(s.process.n_rlimits, 2);
	ck_assert_int_eq(s.process.rlimits[0].resource, RLIMIT_NOFILE);
	ck_assert_uint_eq(s.process.rlimits[0].soft, 1024);
	ck_assert_uint_eq(s.process.rlimits[0].hard, 2048);
	ck_assert(s.process.rlimits[1].soft == RLIM_INFINITY && s.process.rlimits[1].hard == RLIM_INFINITY);
	rt_spec_free(&s);

	expect_error(with(minimal(), "process.rlimits",
	                  json_pack("[{s:s, s:i, s:i}, {s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "soft", 1, "hard", 1,
	                            "type", "RLIMIT_NOFILE", "soft", 2, "hard", 2)),
	             "process.rlimits: RLIMIT_NOFILE is given twice");
	expect_error(with(minimal(), "process.rlimits",
	                  json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "soft", 3, "hard", 2)),
	             "RLIMIT_NOFILE soft limit 3 is above its hard limit 2");
	expect_error(with(minimal(), "process.rlimits", json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_X", "soft", 1,
	                                                          "hard", 1)),
	             "process.rlimits: unknown type \"RLIMIT_X\"");
}
END_TEST

START_TEST(spec_refuses_what_it_cannot_honour)
{
	expect_error(with(minimal(), "hooks", json_pack("{s:[{s:s}]}", "prestart", "path", "/x")),
	             "config.hooks is not supported");
	expect_error(with(minimal(), "linux.seccomp", json_pack("{s:s}", "defaultAction", "SCMP_ACT_ERRNO")),
	             "linux.seccomp is not supported");
	expect_error(with(minimal(), "linux.uidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID",
	                                                           1000, "size", 1)),
	             "linux.uidMappings is not supported");
	expect_error(with(minimal(), "process.apparmorProfile", json_string("docker-default")),
	             "process.apparmorProfile is not supported");
	expect_error(with(minimal(), "linux.namespaces", json_pack("[{s:s}]", "type", "pid")),
	             "a new mount namespace is required");
	expect_error(with(minimal(), "linux.namespaces", json_pack("[{s:s},{s:s}]", "type", "mount", "type", "user")),
	             "user namespaces are not supported");
	expect_error(with(minimal(), "linux.namespaces", json_pack("[{s:s},{s:s}]", "type", "mount", "type", "mount")),
	             "mount is given twice");
	expect_error(with(minimal(), "linux.namespaces", json_pack("[{s:s},{s:s, s:s}]", "type", "mount", "type",
	                                                          "pid", "path", "/proc/1/ns/pid")),
	             "joining an existing pid namespace (/proc/1/ns/pid) is not supported");
	/* sethostname without a uts namespace would rename the host */
	expect_error(with(with(minimal(), "hostname", json_string("h")), "linux.namespaces",
	                  json_pack("[{s:s}]", "type", "mount")),
	             "hostname and domainname need a new uts namespace");
	expect_error(with(minimal(), "linux.sysctl", json_pack("{s:s}", "kernel.panic", "1")),
	             "linux.sysctl: kernel.panic is not namespaced");
	expect_error(with(minimal(), "linux.sysctl", json_pack("{s:s}", "net.ipv4.ip_forward", "1")),
	             "net.ipv4.ip_forward is not namespaced");
	expect_error(with(minimal(), "linux.cgroupsPath", json_string("system.slice:mctr:abc")),
	             "systemd slice paths are not supported");
	expect_error(with(minimal(), "linux.resources", json_pack("{s:{s:i}}", "memory", "reservation", 100)),
	             "linux.resources.memory.reservation is not supported");
	expect_error(with(minimal(), "process.cwd", json_string("tmp")), "process.cwd \"tmp\" is not an absolute path");
	expect_error(with(minimal(), "process.args", json_array()), "process.args: no command given");
	expect_error(with(minimal(), "process.env", json_pack("[s]", "NOEQUALS")), "\"NOEQUALS\" is not NAME=VALUE");
	expect_error(with(minimal(), "annotations", json_pack("{s:s, s:s}", RT_ANN_OVERLAY_LOWER, "/l",
	                                                      RT_ANN_OVERLAY_UPPER, "/u")),
	             "go together");
	expect_error(with(minimal(), "annotations", json_pack("{s:s}", RT_ANN_OVERLAY_LOWER, "/a:rel")),
	             "\"rel\" is not an absolute path");
	expect_error(with(minimal(), "annotations", json_pack("{s:s}", RT_ANN_INIT, "yes")),
	             "expected \"true\" or \"false\"");
}
END_TEST

START_TEST(spec_resources_and_annotations)
{
	json_t *j = minimal();
	with(j, "linux.resources",
	     json_pack("{s:{s:I, s:I}, s:{s:i, s:I, s:i, s:s}, s:{s:i}, s:[{s:b, s:s}, {s:b, s:s, s:i, s:i, s:s}]}",
	               "memory", "limit", (json_int_t)64 << 20, "swap", (json_int_t)128 << 20, "cpu", "shares", 512,
	               "quota", (json_int_t)50000, "period", 100000, "cpus", "0", "pids", "limit", 0, "devices",
	               "allow", 0, "access", "rwm", "allow", 1, "type", "c", "major", 10, "minor", 200, "access",
	               "rw"));
	with(j, "annotations", json_pack("{s:s, s:s, s:s, s:s, s:s}", RT_ANN_OVERLAY_LOWER, "/l/a:/l/b/c",
	                                 RT_ANN_OVERLAY_UPPER, "/u", RT_ANN_OVERLAY_WORK, "/w", RT_ANN_USER,
	                                 "app:staff", RT_ANN_INIT, "true"));
	struct rt_spec s;
	struct mctr_err err = { 0 };
	ck_assert_msg(parse(j, &s, &err) == 0, "%s", err.msg);
	ck_assert(s.resources.has_memory && s.resources.memory == 64 << 20);
	ck_assert(s.resources.has_memory_swap && s.resources.memory_swap == 128 << 20);
	ck_assert(s.resources.has_cpu_shares && s.resources.cpu_shares == 512);
	ck_assert(s.resources.has_cpu_quota && s.resources.cpu_quota == 50000);
	ck_assert(s.resources.has_pids_limit && s.resources.pids_limit == 0);
	ck_assert_str_eq(s.resources.cpuset_cpus, "0");
	/* the spec's two rules, then the runtime's allow rules */
	ck_assert_uint_gt(s.resources.n_devices, 2);
	ck_assert(!s.resources.devices[0].allow && s.resources.devices[1].major == 10);
	for (size_t i = 2; i < s.resources.n_devices; i++)
		ck_assert(s.resources.devices[i].allow);
	ck_assert_str_eq(s.overlay_lower[0], "/l/a");
	ck_assert_str_eq(s.overlay_lower[1], "/l/b/c");
	ck_assert_ptr_null(s.overlay_lower[2]);
	ck_assert_str_eq(s.overlay_upper, "/u");
	ck_assert_str_eq(s.process.user_name, "app:staff");
	ck_assert(s.init);
	rt_spec_free(&s);
}
END_TEST

START_TEST(process_json_for_exec)
{
	_cleanup_json_ json_t *j = json_pack("{s:[s,s], s:[s], s:s, s:b, s:{s:i, s:i, s:[i,i]}}", "args", "sh", "-c",
	                                     "env", "A=1", "cwd", "/tmp", "terminal", 1, "user", "uid", 5, "gid", 6,
	                                     "additionalGids", 7, 8);
	struct rt_process_spec p;
	struct mctr_err err = { 0 };
	ck_assert_msg(rt_process_parse(j, &p, &err) == 0, "%s", err.msg);
	ck_assert(p.terminal);
	ck_assert_str_eq(p.args[1], "-c");
	ck_assert_uint_eq(p.uid, 5);
	ck_assert_uint_eq(p.gid, 6);
	ck_assert_uint_eq(p.n_additional_gids, 2);
	ck_assert_uint_eq(p.additional_gids[1], 8);
	rt_process_free(&p);
}
END_TEST

static Suite *runtime_spec_suite(void)
{
	Suite *s = suite_create("runtime_spec");
	TCase *tc = tcase_create("user");
	tcase_add_test(tc, user_by_name_gets_groups_and_home);
	tcase_add_test(tc, user_numeric_is_always_an_id);
	tcase_add_test(tc, user_with_group_has_no_supplementary_groups);
	tcase_add_test(tc, user_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("spec");
	tcase_add_test(tc, spec_minimal_defaults);
	tcase_add_test(tc, spec_docker_caps_bits);
	tcase_add_test(tc, spec_mount_options);
	tcase_add_test(tc, spec_rlimits);
	tcase_add_test(tc, spec_refuses_what_it_cannot_honour);
	tcase_add_test(tc, spec_resources_and_annotations);
	tcase_add_test(tc, process_json_for_exec);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(runtime_spec_suite());
}
