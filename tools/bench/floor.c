/* The bare floor of starting a container, for tools/bench/run.sh: what any
 * runtime must do and nothing else -- a cgroup in every v1 hierarchy (or the
 * v2 one), the child moved into it, new mount/pid/uts/ipc/net/cgroup
 * namespaces, an overlay of LOWER with a fresh upper, /proc, pivot_root,
 * exec ARGV, wait, rmdir the cgroups.  No /dev, /sys, masks, capabilities,
 * users, bookkeeping or error reporting worth the name.
 *
 *   floor LOWER UPPERBASE CMD [ARG...]   (run as root)
 *
 * A benchmark tool, not part of mctr. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CG "/sys/fs/cgroup"

static char cgdirs[32][300];
static int ncg;

static void cgroups_create(void)
{
	DIR *d = opendir(CG);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL && ncg < 32) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(cgdirs[ncg], sizeof cgdirs[ncg], CG "/%s/floor-%d", e->d_name, getpid());
		if (mkdir(cgdirs[ncg], 0755) < 0)
			continue;
		if (strcmp(e->d_name, "cpuset") == 0) /* tasks need cpus and mems first */
			for (int k = 0; k < 2; k++) {
				const char *f = k ? "cpuset.mems" : "cpuset.cpus";
				char src[400], dst[400], val[256] = "";
				snprintf(src, sizeof src, CG "/cpuset/%s", f);
				snprintf(dst, sizeof dst, "%s/%s", cgdirs[ncg], f);
				int in = open(src, O_RDONLY), out = open(dst, O_WRONLY);
				ssize_t n = in >= 0 ? read(in, val, sizeof val - 1) : -1;
				if (n > 0 && out >= 0 && write(out, val, (size_t)n) < 0)
					perror(dst);
				if (in >= 0)
					close(in);
				if (out >= 0)
					close(out);
			}
		ncg++;
	}
	if (d != NULL)
		closedir(d);
	if (ncg == 0) { /* cgroup v2 */
		snprintf(cgdirs[0], sizeof cgdirs[0], CG "/floor-%d", getpid());
		if (mkdir(cgdirs[0], 0755) == 0)
			ncg = 1;
	}
}

static void cgroups_enter(pid_t pid)
{
	char buf[32], path[340];
	int n = snprintf(buf, sizeof buf, "%d", pid);
	for (int i = 0; i < ncg; i++) {
		snprintf(path, sizeof path, "%.299s/cgroup.procs", cgdirs[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, buf, (size_t)n) < 0)
				perror(path);
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: floor LOWER UPPERBASE CMD [ARG...]\n");
		return 2;
	}
	char upper[512], work[512], merged[512], opts[2048];
	snprintf(upper, sizeof upper, "%s/u", argv[2]);
	snprintf(work, sizeof work, "%s/w", argv[2]);
	snprintf(merged, sizeof merged, "%s/m", argv[2]);
	mkdir(argv[2], 0755);
	mkdir(upper, 0755);
	mkdir(work, 0755);
	mkdir(merged, 0755);
	/* volatile: the cheapest ephemeral upper (no sync when it is unmounted) */
	snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s,volatile", argv[1], upper, work);
	cgroups_create();
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return 1;
	long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) < 0 || unshare(CLONE_NEWCGROUP) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("overlay", merged, "overlay", 0, opts) < 0 || chdir(merged) < 0 ||
		    mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
		    syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
			perror("floor child");
			_exit(125);
		}
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	cgroups_enter(pid);
	close(go[1]);
	int st = 0;
	waitpid(pid, &st, 0);
	for (int i = 0; i < ncg; i++)
		rmdir(cgdirs[i]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
