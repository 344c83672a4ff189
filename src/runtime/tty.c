/* The container's terminal: a pty of the container's OWN devpts instance
 * (a host pty would be invisible in its /dev/pts and have the host's gid),
 * created in the child, the master handed to the parent with SCM_RIGHTS
 * (runc's console socket), the slave made the controlling terminal and
 * stdio of the process that execs. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <termios.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

int rt_tty_create(int rootfd, int sync_fd, bool console, unsigned short rows, unsigned short cols, int *slave_out,
                  struct mctr_err *err)
{
	_cleanup_close_ int master = open_in_root(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, 0, err);
	if (master < 0)
		return mctr_err_wrap(err, "terminal (does the spec mount a devpts on /dev/pts?)");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return mctr_fail_errno(err, "unlock the pty");
	/* Sized before anything runs on it: a command that asks at once must
	 * not see 0x0 while the monitor catches up. */
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (rows > 0 && cols > 0 && ioctl(master, TIOCSWINSZ, &ws) < 0)
		return mctr_fail_errno(err, "set the pty's size");
	/* The slave straight from the master: no path lookup to race. */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return mctr_fail_errno(err, "open the pty slave");
	if (console) {
		_cleanup_close_ int target = rt_mount_target(rootfd, "/dev/console", false, err);
		if (target < 0)
			return -1;
		char src[64], dst[64];
		fd_path(slave, src);
		fd_path(target, dst);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return mctr_fail_errno(err, "bind the pty onto /dev/console");
	}
	if (rt_sync_send(sync_fd, RT_MSG_PTY, 0, master, err) < 0)
		return -1;
	*slave_out = steal_fd(&slave);
	return 0;
}

int rt_tty_attach(int slave, struct mctr_err *err)
{
	if (setsid() < 0)
		return mctr_fail_errno(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return mctr_fail_errno(err, "make the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return mctr_fail_errno(err, "dup2 the pty");
	return 0;
}
