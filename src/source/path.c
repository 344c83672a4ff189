/* Paths inside archives and layouts: normalized, never absolute, never
 * climbing out. */
#include <string.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/source.h"

/* Lexically resolve target relative to directory dir (both inside the
 * source).  ".." may not climb above the source's root. */
static char *resolve_lexical(const char *dir, const char *target, bool allow_dotdot, const char *what,
                             struct mctr_err *err)
{
	if (target[0] == '/') {
		mctr_fail(err, 0, "%s: absolute path \"%s\" not allowed", what, target);
		return NULL;
	}
	_cleanup_free_ char *joined = dir && dir[0] ? xasprintf("%s/%s", dir, target) : xstrdup(target);
	size_t cap = strlen(joined) + 1;
	_cleanup_free_ char *out = xcalloc(cap, 1);
	size_t len = 0;
	char *save = NULL;
	for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (!allow_dotdot || len == 0) {
				mctr_fail(err, 0, "%s: path \"%s\" leaves the archive", what, target);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
			continue;
		}
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, c, strlen(c));
		len += strlen(c);
		out[len] = '\0';
	}
	if (len == 0) {
		mctr_fail(err, 0, "%s: empty path \"%s\"", what, target);
		return NULL;
	}
	return steal_pointer(&out);
}

char *source_clean_path(const char *path, const char *what, struct mctr_err *err)
{
	return resolve_lexical(NULL, path, false, what, err);
}

char *source_resolve_link(const char *entry_path, const char *target, const char *what, struct mctr_err *err)
{
	_cleanup_free_ char *dir = xstrdup(entry_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	return resolve_lexical(dir, target, true, what, err);
}
