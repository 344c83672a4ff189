/* Users and groups of the container, from its own /etc/passwd and
 * /etc/group, parsed here: never NSS (getpwnam would load the host's NSS
 * modules, or worse the container's, CVE-2019-14271).  The rules are
 * moby/sys user.GetExecUser's:
 *
 *   - "user", "uid", "user:group", "uid:gid", "uid:group", "user:gid";
 *   - a number is always an ID, even if a user of that name exists
 *     (CVE-2016-3697);
 *   - an unknown name is an error, an unknown uid runs with gid 0, HOME /;
 *   - with a group given, no supplementary groups; without one, the
 *     primary gid plus every group listing the user. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

#define ID_FILE_MAX (16u << 20)

void rt_user_free(struct rt_user *u)
{
	free(u->groups);
	free(u->home);
	memset(u, 0, sizeof *u);
}

/* A decimal ID below 2^32-1 (which is (uid_t)-1, "no change"). */
static bool parse_id(const char *s, size_t len, unsigned *out)
{
	if (len == 0 || len > 10)
		return false;
	unsigned long long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v >= 0xffffffffull)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Split line into at most max ':'-separated fields (in place). */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = line;
	for (char *c = line; *c && n < max; c++)
		if (*c == ':') {
			*c = '\0';
			f[n++] = c + 1;
		}
	return n;
}

struct pw_entry {
	const char *name;
	unsigned uid, gid;
	const char *home;
};

/* Walk the lines of a passwd (7 fields) or group (4 fields) file copy.
 * Malformed lines are skipped, as libc does. */
typedef bool line_fn(char **f, size_t n, void *data);

static void for_each_line(const char *text, size_t want, line_fn *fn, void *data)
{
	if (text == NULL)
		return;
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *f[8];
		size_t n = split_fields(line, f, want);
		if (n < want)
			continue;
		if (fn(f, n, data))
			return;
	}
}

struct pw_query {
	const char *name;  /* match by name ... */
	bool by_uid;       /* ... or by uid */
	unsigned uid;
	bool found;
	char *name_out;
	unsigned uid_out, gid_out;
	char *home_out;
};

static bool pw_match(char **f, size_t n, void *data)
{
	struct pw_query *q = data;
	unsigned uid, gid;
	if (!parse_id(f[2], strlen(f[2]), &uid) || !parse_id(f[3], strlen(f[3]), &gid))
		return false;
	if (q->by_uid ? uid != q->uid : strcmp(f[0], q->name) != 0)
		return false;
	q->found = true;
	q->name_out = xstrdup(f[0]);
	q->uid_out = uid;
	q->gid_out = gid;
	q->home_out = xstrdup(f[5][0] ? f[5] : "/");
	return true;
}

struct gr_query {
	const char *name;  /* a group by name, or NULL */
	bool found;
	unsigned gid_out;
	const char *member; /* collect every group listing this user */
	struct rt_user *u;
};

void rt_user_add_group(struct rt_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return;
	u->groups = xrealloc(u->groups, (u->n_groups + 1) * sizeof *u->groups);
	u->groups[u->n_groups++] = g;
}

static bool gr_match(char **f, size_t n, void *data)
{
	struct gr_query *q = data;
	unsigned gid;
	if (!parse_id(f[2], strlen(f[2]), &gid))
		return false;
	if (q->name != NULL) {
		if (strcmp(f[0], q->name) != 0)
			return false;
		q->found = true;
		q->gid_out = gid;
		return true;
	}
	char *save = NULL;
	for (char *m = strtok_r(f[3], ",", &save); m != NULL; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, q->member) == 0) {
			rt_user_add_group(q->u, gid);
			break;
		}
	return false;
}

int rt_user_resolve(const char *spec, const char *passwd, const char *group, struct rt_user *out,
                    struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *gspec = colon ? colon + 1 : NULL;
	_cleanup_free_ char *uname = xstrndup(spec, ulen);

	struct pw_query pq = { 0 };
	unsigned id;
	if (ulen == 0) {
		pq.by_uid = true; /* ":group" or "": root */
		pq.uid = 0;
	} else if (parse_id(uname, ulen, &id)) {
		pq.by_uid = true;
		pq.uid = id;
	} else {
		pq.name = uname;
	}
	for_each_line(passwd, 7, pw_match, &pq);
	if (!pq.found && !pq.by_uid)
		return mctr_fail(err, ENOENT, "unable to find user %s: no matching entries in passwd file", uname);
	out->uid = pq.found ? pq.uid_out : pq.uid;
	out->gid = pq.found ? pq.gid_out : 0;
	out->home = pq.found ? steal_pointer(&pq.home_out) : xstrdup("/");
	_cleanup_free_ char *pname = pq.name_out;

	if (gspec != NULL && gspec[0] != '\0') {
		if (parse_id(gspec, strlen(gspec), &id)) {
			out->gid = id;
		} else {
			struct gr_query gq = { .name = gspec };
			for_each_line(group, 4, gr_match, &gq);
			if (!gq.found) {
				rt_user_free(out);
				return mctr_fail(err, ENOENT,
				                 "unable to find group %s: no matching entries in group file", gspec);
			}
			out->gid = gq.gid_out;
		}
		return 0;
	}
	rt_user_add_group(out, out->gid);
	if (pname != NULL) {
		struct gr_query gq = { .member = pname, .u = out };
		for_each_line(group, 4, gr_match, &gq);
	}
	return 0;
}

/* The file's text, NULL when the container has none. */
static int read_in_root(int rootfd, const char *path, char **out, struct mctr_err *err)
{
	*out = NULL;
	int fd = open_in_root(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, err);
	if (fd < 0)
		return err->errnum == ENOENT ? 0 : -1;
	int rc = fd_read_all(fd, ID_FILE_MAX, out, NULL, err);
	close(fd);
	if (rc < 0)
		return mctr_err_wrap(err, "%s of the container", path);
	return 0;
}

int rt_user_resolve_in_root(int rootfd, const char *spec, struct rt_user *out, struct mctr_err *err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	memset(out, 0, sizeof *out);
	if (read_in_root(rootfd, "/etc/passwd", &passwd, err) < 0 ||
	    read_in_root(rootfd, "/etc/group", &group, err) < 0)
		return -1;
	return rt_user_resolve(spec, passwd, group, out, err);
}

char *rt_user_home_in_root(int rootfd, uid_t uid)
{
	struct mctr_err err = { 0 };
	_cleanup_free_ char *passwd = NULL;
	if (read_in_root(rootfd, "/etc/passwd", &passwd, &err) < 0)
		return xstrdup("/");
	struct pw_query pq = { .by_uid = true, .uid = uid };
	for_each_line(passwd, 7, pw_match, &pq);
	free(pq.name_out);
	return pq.found ? pq.home_out : xstrdup("/");
}
