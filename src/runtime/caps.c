/* Capabilities and the uid/gid switch, in the only order that works:
 *
 *   1. drop from the bounding set what the spec does not list (this needs
 *      CAP_SETPCAP, so it comes while the process still has everything);
 *   2. PR_SET_KEEPCAPS, so the uid switch keeps the permitted set;
 *   3. setgroups, setresgid, setresuid;
 *   4. cap_set_proc: permitted and effective as the spec lists them,
 *      inheritable empty, then the ambient set cleared: a spec's
 *      inheritable/ambient lists are never honoured (CVE-2022-24769).
 *
 * A uid change also resets the dumpable flag to fs.suid_dumpable, so it is
 * cleared again afterwards: the process must stay non-dumpable until execve
 * (and the built-in init, which never execs, for good). */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rt_internal.h"

int rt_cap_from_name(const char *name, int *cap, struct mctr_err *err)
{
	cap_value_t v;
	if (strncmp(name, "CAP_", 4) != 0 || cap_from_name(name, &v) < 0)
		return mctr_fail(err, EINVAL, "unknown capability \"%s\"", name);
	/* Known to libcap but not to the running kernel: nothing to grant. */
	*cap = v < (cap_value_t)cap_max_bits() && v < 64 ? (int)v : -1;
	return 0;
}

static int drop_bounding(uint64_t keep, struct mctr_err *err)
{
	int last = (int)cap_max_bits();
	for (int c = 0; c < last && c < 64; c++) {
		if (keep & (UINT64_C(1) << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return mctr_fail_errno(err, "drop capability %d from the bounding set", c);
	}
	return 0;
}

static int set_ids(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, struct mctr_err *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return mctr_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(n_groups, groups) < 0)
		return mctr_fail_errno(err, "setgroups (%zu groups)", n_groups);
	if (setresgid(gid, gid, gid) < 0)
		return mctr_fail_errno(err, "setgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return mctr_fail_errno(err, "setuid %u", (unsigned)uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return mctr_fail_errno(err, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

static int set_caps(const struct rt_caps *caps, struct mctr_err *err)
{
	if ((caps->effective & ~caps->permitted) != 0)
		return mctr_fail(err, EINVAL, "the effective capabilities are not a subset of the permitted ones");
	cap_t c = cap_init();
	if (c == NULL)
		return mctr_fail_errno(err, "cap_init");
	int last = (int)cap_max_bits();
	for (int i = 0; i < last && i < 64; i++) {
		cap_value_t v = i;
		if (caps->permitted & (UINT64_C(1) << i))
			cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
		if (caps->effective & (UINT64_C(1) << i))
			cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	int rc = cap_set_proc(c);
	int saved = errno;
	cap_free(c);
	if (rc < 0)
		return mctr_fail(err, saved, "set the capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return mctr_fail_errno(err, "clear the ambient capabilities");
	return 0;
}

int rt_caps_and_ids_apply(const struct rt_caps *caps, uid_t uid, gid_t gid, const gid_t *groups,
                          size_t n_groups, struct mctr_err *err)
{
	if (drop_bounding(caps->bounding, err) < 0 || set_ids(uid, gid, groups, n_groups, err) < 0 ||
	    set_caps(caps, err) < 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return mctr_fail_errno(err, "prctl(PR_SET_DUMPABLE)");
	return 0;
}
