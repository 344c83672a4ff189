/* `mctr system check` for containers: records whose monitor died (kill -9,
 * reboot), --rm containers that were not removed, cgroups and names that
 * belong to no container.  With repair, each is put right. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/digest.h"
#include "mctr/fsutil.h"
#include "mctr/report.h"
#include "mctr/timeutil.h"

struct checker {
	struct ctr_store *cs;
	bool repair;
	struct mctr_report *report;
};

static void check_container(struct checker *c, const char *id)
{
	struct mctr_err err = { 0 };
	_cleanup_close_ int lock = ctr_lock(c->cs, id, &err);
	struct ctr_state s;
	if (lock < 0 || ctr_state_read(c->cs, id, &s, &err) < 0) {
		mctr_report(c->report, "container %.12s: unreadable record (%s)%s", id, err.msg, c->repair ? ": removed" : "");
		if (c->repair) {
			ctr_cgroup_destroy(id, &err);
			rm_rf_at(c->cs->containers_fd, id, &err);
		}
		return;
	}
	bool monitor_alive = ctr_pid_alive(s.monitor_pid, s.monitor_start);
	bool ctr_alive = ctr_pid_alive(s.pid, s.pid_start);
	bool changed = false;
	if (s.status == CTR_RUNNING && !monitor_alive) {
		mctr_report(c->report, "container %s: its monitor died%s%s", s.name, ctr_alive ? " while it still runs" : "",
		        c->repair ? ": stopped and recorded as exited" : "");
		if (c->repair) {
			ctr_cgroup_destroy(id, &err); /* kills what is left */
			s.status = CTR_EXITED;
			s.exit_code = ctr_alive ? 137 : 255;
			s.pid = 0;
			char now[64];
			rfc3339_now(now, sizeof now);
			free(s.finished_at);
			s.finished_at = xstrdup(now);
			changed = true;
		}
	}
	if (s.status == CTR_EXITED && s.auto_remove) {
		mctr_report(c->report, "container %s: exited with --rm but was not removed%s", s.name, c->repair ? ": removed" : "");
		if (c->repair && ctr_remove(c->cs, &s, &err) < 0)
			mctr_report(c->report, "container %s: %s", s.name, err.msg);
		ctr_state_clear(&s);
		return;
	}
	if (changed && ctr_state_write(c->cs, &s, &err) < 0)
		mctr_report(c->report, "container %s: %s", s.name, err.msg);
	ctr_state_clear(&s);
}

/* Container IDs that have a cgroup under mctr/ in any hierarchy. */
static void cgroup_ids(char ***out)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	_cleanup_closedir_ DIR *root = opendir(CGROUP_DEFAULT_ROOT);
	struct dirent *h;
	while (root != NULL && (h = readdir(root)) != NULL) {
		if (h->d_name[0] == '.')
			continue;
		_cleanup_free_ char *dir = strcmp(h->d_name, CGROUP_DEFAULT_PARENT) == 0
		                                   ? xstrdup(CGROUP_DEFAULT_ROOT "/" CGROUP_DEFAULT_PARENT)
		                                   : xasprintf("%s/%s/%s", CGROUP_DEFAULT_ROOT, h->d_name,
		                                               CGROUP_DEFAULT_PARENT);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (!digest_hex_is_valid(e->d_name))
				continue;
			bool seen = false;
			for (size_t i = 0; i < n && !seen; i++)
				seen = strcmp(v[i], e->d_name) == 0;
			if (seen)
				continue;
			v = xrealloc(v, (n + 2) * sizeof(char *));
			v[n++] = xstrdup(e->d_name);
			v[n] = NULL;
		}
	}
	*out = v;
}

static bool has(char **v, const char *s)
{
	for (; v != NULL && *v != NULL; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static void check_names(struct checker *c, char **ids)
{
	struct mctr_err ignored = { 0 };
	_cleanup_closedir_ DIR *d = fs_opendir_at(c->cs->names_fd, &ignored);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *owner = NULL;
		size_t len;
		struct mctr_err err = { 0 };
		if (file_read_at(c->cs->names_fd, e->d_name, 128, &owner, &len, &err) == 0 && has(ids, owner))
			continue;
		/* A name being claimed right now has no record yet: only report. */
		mctr_report(c->report, "name %s belongs to no container%s", e->d_name, c->repair ? ": released" : "");
		if (c->repair)
			unlinkat(c->cs->names_fd, e->d_name, 0);
	}
}

/* Claims of this root whose cgroup and record are both gone: a crash
 * between removing the cgroup and dropping the claim (or a reboot where /run
 * is no tmpfs).  The record is looked at now, not in the list made before:
 * a container starting meanwhile has its record before its claim, and one
 * being removed loses its claim before its record. */
static void check_claims(struct checker *c, char **cgroups)
{
	_cleanup_closedir_ DIR *d = opendir(CTR_CGROUP_CLAIMS_DIR);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!digest_hex_is_valid(e->d_name) || has(cgroups, e->d_name) ||
		    ctr_cgroup_claim_owner(c->cs, e->d_name) != CTR_CLAIM_HERE ||
		    faccessat(c->cs->containers_fd, e->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		mctr_report(c->report, "claim %s/%.12s names no cgroup and no container%s", CTR_CGROUP_CLAIMS_DIR,
		            e->d_name, c->repair ? ": removed" : "");
		if (c->repair)
			ctr_cgroup_unclaim(e->d_name);
	}
}

int ctr_check(struct ctr_store *cs, bool repair, struct mctr_report *report, struct mctr_err *err)
{
	struct checker c = { .cs = cs, .repair = repair, .report = report };
	_cleanup_strv_ char **ids = NULL;
	if (ctr_list(cs, &ids, err) < 0)
		return -1;
	for (char **p = ids; *p != NULL; p++)
		check_container(&c, *p);
	_cleanup_strv_ char **cg = NULL;
	cgroup_ids(&cg);
	for (char **p = cg; *p != NULL; p++) {
		if (has(ids, *p) || ctr_cgroup_claim_owner(cs, *p) == CTR_CLAIM_ELSEWHERE)
			continue;
		mctr_report(c.report, "cgroup mctr/%.12s belongs to no container%s", *p, repair ? ": removed" : "");
		struct mctr_err e2 = { 0 };
		if (repair && ctr_cgroup_destroy(*p, &e2) < 0)
			mctr_report(c.report, "cgroup mctr/%.12s: %s", *p, e2.msg);
	}
	check_claims(&c, cg);
	check_names(&c, ids);
	return 0;
}
