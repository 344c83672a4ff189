/* The parent <-> child channel: a SOCK_SEQPACKET socketpair, so every
 * message arrives whole, fds can ride along (SCM_RIGHTS), and EOF means
 * every copy of the child's end is gone: closed by execve (both ends are
 * O_CLOEXEC) or by death. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_internal.h"

int rt_sync_pair(int fds[2], struct mctr_err *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return mctr_fail_errno(err, "socketpair");
	return 0;
}

static int send_msg(int fd, const struct rt_msg *msg, int passfd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof *msg };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (passfd >= 0) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof *msg ? 0 : -1;
}

int rt_sync_send(int fd, enum rt_msg_type type, int32_t pid, int passfd, struct mctr_err *err)
{
	struct rt_msg msg;
	memset(&msg, 0, sizeof msg);
	msg.type = type;
	msg.pid = pid;
	if (send_msg(fd, &msg, passfd) < 0)
		return mctr_fail_errno(err, "send to the runtime's parent");
	return 0;
}

void rt_sync_send_error(int fd, const struct mctr_err *err)
{
	struct rt_msg msg;
	memset(&msg, 0, sizeof msg);
	msg.type = RT_MSG_ERROR;
	msg.status = err->status ? err->status : MCTR_EXIT_ERROR;
	msg.errnum = err->errnum;
	memcpy(msg.text, err->msg, sizeof msg.text);
	msg.text[sizeof msg.text - 1] = '\0';
	send_msg(fd, &msg, -1);
}

int rt_sync_recv(int fd, struct rt_msg *msg, int *fd_out, struct mctr_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf,
	};
	if (fd_out != NULL)
		*fd_out = -1;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return mctr_fail_errno(err, "receive from the container process");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int passed;
			memcpy(&passed, CMSG_DATA(c), sizeof passed);
			if (fd_out != NULL && *fd_out < 0)
				*fd_out = passed;
			else
				close(passed);
		}
	}
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof *msg || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd_out != NULL && *fd_out >= 0) {
			close(*fd_out);
			*fd_out = -1;
		}
		return mctr_fail(err, EPROTO, "short message from the container process");
	}
	msg->text[sizeof msg->text - 1] = '\0';
	return 1;
}
