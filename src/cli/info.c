/* mctr info and mctr version. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/cgroup.h"
#include "mctr/platform.h"
#include "mctr/runtime.h"

static const char info_usage[] = "Usage: mctr info [OPTIONS]\n\n"
                                 "Show the store, the cgroup mode and the kernel features mctr uses.\n\n"
                                 "Options:\n"
                                 "      --format json   print JSON\n";

static bool fs_supported(const char *fstype)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
	char line[256];
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *tab = strrchr(line, '\t');
		const char *name = tab ? tab + 1 : line;
		if (strncmp(name, fstype, strlen(fstype)) == 0 && (name[strlen(fstype)] == '\n'))
			return true;
	}
	return false;
}

static bool syscall_exists(long nr)
{
	/* Invalid arguments: ENOSYS only if the kernel lacks the call. */
	long r = syscall(nr, -1, NULL, NULL, 0);
	return !(r < 0 && errno == ENOSYS);
}

static json_t *kernel_features(void)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b}",
	                 "overlay", fs_supported("overlay"),
	                 "openat2", syscall_exists(SYS_openat2),
	                 "pidfd", syscall_exists(SYS_pidfd_open),
	                 "clone3", syscall_exists(SYS_clone3),
	                 "user_namespaces", access("/proc/self/ns/user", F_OK) == 0,
	                 "cgroup_namespaces", access("/proc/self/ns/cgroup", F_OK) == 0,
	                 "time_namespaces", access("/proc/self/ns/time", F_OK) == 0);
}

int cmd_info(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	struct cli_opts o = { info_usage, "", longopts };
	bool json = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &json, err) < 0)
				return -1;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, info_usage, err) < 0)
		return -1;
	struct store *st;
	struct store_image **list;
	size_t n;
	if (cli_store(cli, &st, err) < 0 || store_image_list(st, &list, &n, err) < 0)
		return -1;
	store_image_list_free(list, n);
	struct utsname u;
	uname(&u);
	struct platform p;
	platform_host(&p);
	char plat[96];
	platform_format(&p, plat, sizeof plat);
	enum cgroup_mode cg = cgroup_detect_mode(NULL);
	struct cgroup *probe = NULL;
	bool devices = false;
	struct mctr_err ignored = { 0 };
	if (cgroup_open(NULL, "mctr/info-probe", &probe, &ignored) == 0) {
		devices = cgroup_can_restrict_devices(probe);
		cgroup_free(probe);
	}
	_cleanup_json_ json_t *info = json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:I}, s:{s:s, s:s, s:b}, s:o}", "version", MCTR_VERSION, "kernel", u.release,
		"platform", plat, "store", "root", st->root, "images", (json_int_t)n, "runtime", "cgroups",
		cgroup_mode_name(cg), "root_switch", rt_root_switch_method(), "device_control", devices, "features",
		kernel_features());
	if (json) {
		cli_print_json(info);
		return 0;
	}
	printf("Version:     %s\nKernel:      %s\nPlatform:    %s\nStore root:  %s\nImages:      %zu\n"
	       "Cgroups:     %s\nRoot switch: %s\nDevices:     %s\nFeatures:   ",
	       MCTR_VERSION, u.release, plat, st->root, n, cgroup_mode_name(cg), rt_root_switch_method(),
	       devices ? "restricted by the device cgroup" : "no device control: CAP_MKNOD is dropped");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(info, "features"), k, v)
		printf(" %s=%s", k, json_is_true(v) ? "yes" : "no");
	printf("\n");
	return 0;
}

void cli_print_version(void)
{
	printf("mctr version %s\n", MCTR_VERSION);
}

static const char version_usage[] = "Usage: mctr version\n\n"
                                    "Show the version (also mctr --version).\n";

int cmd_version(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct cli_opts o = { version_usage, "", NULL };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, version_usage, err) < 0)
		return -1;
	cli_print_version();
	return 0;
}
