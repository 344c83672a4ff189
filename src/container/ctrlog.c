/* Container logs in Docker's json-file format. */
#include "mctr/ctrlog.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/timeutil.h"

#define LINE_MAX_BYTES (16u * 1024)

struct partial {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

struct ctrlog_writer {
	int dirfd;              /* the container's directory */
	int fd;                 /* ctr.log, opened on the first line */
	struct partial part[3]; /* by stream number */
};

int ctrlog_open(int dirfd, struct ctrlog_writer **out, struct mctr_err *err)
{
	/* The file is made on the first line of output: a silent container
	 * costs no file to create and remove. */
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return mctr_fail_errno(err, "container log");
	struct ctrlog_writer *w = xcalloc(1, sizeof *w);
	w->dirfd = fd;
	w->fd = -1;
	*out = w;
	return 0;
}

static int emit(struct ctrlog_writer *w, int stream, const char *buf, size_t len, struct mctr_err *err)
{
	if (w->fd < 0) {
		w->fd = openat(w->dirfd, CTRLOG_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0)
			return mctr_fail_errno(err, "open container log");
	}
	char now[64];
	rfc3339_now(now, sizeof now);
	_cleanup_json_ json_t *j = json_pack("{s:s%, s:s, s:s}", "log", buf, len, "stream",
	                                     stream == 2 ? "stderr" : "stdout", "time", now);
	if (j == NULL) /* not UTF-8: keep the bytes readable */
		j = json_pack("{s:s, s:s, s:s}", "log", "(invalid UTF-8 output)\n", "stream",
		              stream == 2 ? "stderr" : "stdout", "time", now);
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	size_t n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	return fd_write_all(w->fd, s, n + 1, err);
}

int ctrlog_write(struct ctrlog_writer *w, int stream, const char *buf, size_t len, struct mctr_err *err)
{
	struct partial *p = &w->part[stream == 2 ? 2 : 1];
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) + 1 : len;
		if (take > sizeof p->buf - p->len)
			take = sizeof p->buf - p->len;
		memcpy(p->buf + p->len, buf, take);
		p->len += take;
		buf += take;
		len -= take;
		if (p->buf[p->len - 1] == '\n' || p->len == sizeof p->buf) {
			if (emit(w, stream, p->buf, p->len, err) < 0)
				return -1;
			p->len = 0;
		}
	}
	return 0;
}

void ctrlog_close(struct ctrlog_writer *w)
{
	if (w == NULL)
		return;
	for (int s = 1; s <= 2; s++)
		if (w->part[s].len > 0)
			emit(w, s, w->part[s].buf, w->part[s].len, NULL);
	if (w->fd >= 0)
		close(w->fd);
	close(w->dirfd);
	free(w);
}

static void print_entry(const struct ctrlog_read_opts *o, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	if (j == NULL)
		return;
	const char *stream = json_get_str(j, "stream");
	json_t *log = json_object_get(j, "log");
	/* Each stream back where it came from: the caller's out and err. */
	FILE *out = stream && strcmp(stream, "stderr") == 0 ? (o->err ? o->err : stderr) : (o->out ? o->out : stdout);
	if (o->timestamps && json_get_str(j, "time"))
		fprintf(out, "%s ", json_get_str(j, "time"));
	if (json_is_string(log))
		fwrite(json_string_value(log), 1, json_string_length(log), out);
	fflush(out);
	json_decref(j);
}

/* Print whole lines of buf; returns how many bytes were consumed. */
static size_t print_lines(const struct ctrlog_read_opts *o, const char *buf, size_t len, long skip, long *seen)
{
	size_t done = 0;
	while (done < len) {
		const char *nl = memchr(buf + done, '\n', len - done);
		if (nl == NULL)
			break;
		size_t l = (size_t)(nl - (buf + done));
		if (*seen >= skip)
			print_entry(o, buf + done, l);
		(*seen)++;
		done += l + 1;
	}
	return done;
}

int ctrlog_print(int dirfd, const struct ctrlog_read_opts *o, struct mctr_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, CTRLOG_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT)
		return mctr_fail_errno(err, "open container log");
	long skip = 0;
	if (fd >= 0 && o->tail >= 0) {
		/* Count entries first, then skip all but the last `tail`. */
		char buf[65536];
		long total = 0;
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < n; i++)
				total += buf[i] == '\n';
		skip = total > o->tail ? total - o->tail : 0;
		lseek(fd, 0, SEEK_SET);
	}
	size_t cap = 1 << 16, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	long seen = 0;
	bool last_pass = !o->follow || o->still_running == NULL;
	for (;;) {
		ssize_t n = fd >= 0 ? read(fd, buf + len, cap - len) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mctr_fail_errno(err, "read container log");
		if (n > 0) {
			len += (size_t)n;
			size_t used = print_lines(o, buf, len, skip, &seen);
			memmove(buf, buf + used, len - used);
			len -= used;
			if (len == cap)
				buf = xrealloc(buf, cap *= 2);
			continue;
		}
		if (last_pass)
			break;
		/* The monitor logs the last output before it records the end:
		 * once the end is seen, one more read gets what came meanwhile. */
		last_pass = !o->still_running(o->arg);
		if (fd < 0)
			fd = openat(dirfd, CTRLOG_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (!last_pass)
			poll(NULL, 0, 100); /* a follower: checking 10 times a second is plenty */
	}
	return 0;
}
