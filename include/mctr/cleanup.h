/* Scope-bound cleanup for every resource type the core holds, so early
 * returns never leak (the crun/systemd habit).  Hand ownership out with
 * steal_pointer()/steal_fd().  Types that belong to the lazily loaded image
 * module (libarchive, libcurl, OpenSSL) have their helpers in that module's
 * headers so the core does not depend on those libraries. */
#ifndef MCTR_CLEANUP_H
#define MCTR_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void mctr_freep(void *p)
{
	free(*(void **)p);
}

static inline void mctr_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void mctr_fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}

static inline void mctr_closedirp(DIR **d)
{
	if (*d != NULL)
		closedir(*d);
}

/* Length of a NULL-terminated vector of strings (0 for NULL). */
static inline size_t mctr_strv_len(char *const *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* Free a NULL-terminated vector of strings. */
static inline void mctr_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static inline void mctr_strv_freep(char ***v)
{
	mctr_strv_free(*v);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(mctr_freep)
#define _cleanup_close_ _cleanup_(mctr_closep)
#define _cleanup_fclose_ _cleanup_(mctr_fclosep)
#define _cleanup_closedir_ _cleanup_(mctr_closedirp)
#define _cleanup_strv_ _cleanup_(mctr_strv_freep)

static inline void *mctr_steal_ptr(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}

static inline int mctr_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#define steal_pointer(pp) mctr_steal_ptr(pp)
#define steal_fd(fdp) mctr_steal_fd(fdp)

#endif
