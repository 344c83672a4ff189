#include "mctr/jsonutil.h"

#include <string.h>
#include <sys/stat.h>

#include "mctr/fsutil.h"

json_t *json_parse_buf(const char *buf, size_t len, const char *what, struct mctr_err *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		mctr_fail(err, 0, "%s: bad JSON at line %d column %d: %s", what, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	return j;
}

json_t *json_load_at(int dirfd, const char *path, struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (file_read_at(dirfd, path, MCTR_JSON_MAX, &buf, &len, err) < 0)
		return NULL;
	return json_parse_buf(buf, len, path, err);
}

char *json_dump_canonical(const json_t *j, size_t *len_out)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s == NULL)
		s = xstrdup("null");
	if (len_out != NULL)
		*len_out = strlen(s);
	return s;
}

int json_write_atomic_at(int dirfd, const char *name, const json_t *j, mode_t mode, struct mctr_err *err)
{
	size_t len;
	_cleanup_free_ char *s = json_dump_canonical(j, &len);
	return file_write_atomic_at(dirfd, name, s, len, mode, err);
}

const char *json_get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_int_t json_get_int(const json_t *obj, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

json_t *json_get_obj(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_object(v) ? v : NULL;
}

json_t *json_get_arr(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_array(v) ? v : NULL;
}

int json_to_strv(const json_t *arr, const char *what, char ***out, struct mctr_err *err)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (arr != NULL && !json_is_array(arr) && !json_is_null(arr))
		return mctr_fail(err, 0, "%s: expected an array of strings", what);
	char **v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s == NULL) {
			mctr_strv_free(v);
			return mctr_fail(err, 0, "%s: element %zu is not a string", what, i);
		}
		v[i] = xstrdup(s);
	}
	*out = v;
	return 0;
}

json_t *json_from_strv(char *const *v)
{
	json_t *a = json_array();
	for (; v != NULL && *v != NULL; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}
