#include "mctr/imageconfig.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"

void imageconfig_env_set(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s != NULL && strncmp(s, kv, klen) == 0 && (s[klen] == '=' || s[klen] == '\0')) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

/* JSON form ["a","b"] or shell form (wrapped in /bin/sh -c). */
static json_t *command_value(const char *arg, const char *what, struct mctr_err *err)
{
	if (arg[0] == '[') {
		json_t *j = json_parse_buf(arg, strlen(arg), what, err);
		if (j == NULL)
			return NULL;
		size_t i;
		json_t *v;
		bool ok = json_is_array(j);
		json_array_foreach(j, i, v) ok = ok && json_is_string(v);
		if (!ok) {
			json_decref(j);
			mctr_fail(err, 0, "%s: expected a JSON array of strings", what);
			return NULL;
		}
		return j;
	}
	return json_pack("[s, s, s]", "/bin/sh", "-c", arg);
}

/* Next word of s (double quotes group and are removed); NULL at the end. */
static char *next_word(const char **s)
{
	while (isspace((unsigned char)**s))
		(*s)++;
	if (**s == '\0')
		return NULL;
	char *out = xmalloc(strlen(*s) + 1);
	size_t n = 0;
	bool quoted = false;
	for (; **s != '\0' && (quoted || !isspace((unsigned char)**s)); (*s)++) {
		if (**s == '"') {
			quoted = !quoted;
			continue;
		}
		out[n++] = **s;
	}
	out[n] = '\0';
	return out;
}

static json_t *obj_child(json_t *cfg, const char *key)
{
	json_t *o = json_get_obj(cfg, key);
	if (o == NULL) {
		o = json_object();
		json_object_set_new(cfg, key, o);
	}
	return o;
}

static int apply_env(json_t *cfg, const char *arg, const char *what, struct mctr_err *err)
{
	json_t *env = json_get_arr(cfg, "Env");
	if (env == NULL) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	const char *p = arg;
	const char *first_space = strpbrk(arg, " \t");
	const char *eq = strchr(arg, '=');
	if (eq == NULL || (first_space != NULL && first_space < eq)) {
		/* Legacy "ENV KEY VALUE" form. */
		if (first_space == NULL)
			return mctr_fail(err, 0, "%s: ENV needs KEY=VALUE", what);
		_cleanup_free_ char *kv = xasprintf("%.*s=%s", (int)(first_space - arg), arg, first_space + 1);
		imageconfig_env_set(env, kv);
		return 0;
	}
	char *w;
	while ((w = next_word(&p)) != NULL) {
		if (strchr(w, '=') == NULL || w[0] == '=') {
			free(w);
			return mctr_fail(err, 0, "%s: ENV needs KEY=VALUE", what);
		}
		imageconfig_env_set(env, w);
		free(w);
	}
	return 0;
}

static int apply_words_to_set(json_t *obj, const char *arg, bool add_tcp)
{
	const char *p = arg;
	char *w;
	while ((w = next_word(&p)) != NULL) {
		if (add_tcp && strchr(w, '/') == NULL) {
			_cleanup_free_ char *k = xasprintf("%s/tcp", w);
			json_object_set_new(obj, k, json_object());
		} else {
			json_object_set_new(obj, w, json_object());
		}
		free(w);
	}
	return 0;
}

static int apply_labels(json_t *cfg, const char *arg, const char *what, struct mctr_err *err)
{
	json_t *labels = obj_child(cfg, "Labels");
	const char *p = arg;
	char *w;
	while ((w = next_word(&p)) != NULL) {
		char *eq = strchr(w, '=');
		if (eq == NULL || eq == w) {
			free(w);
			return mctr_fail(err, 0, "%s: LABEL needs KEY=VALUE", what);
		}
		*eq = '\0';
		json_object_set_new(labels, w, json_string(eq + 1));
		free(w);
	}
	return 0;
}

int imageconfig_apply_change(json_t *cfg, const char *change, struct mctr_err *err)
{
	_cleanup_free_ char *what = xasprintf("--change '%s'", change);
	while (isspace((unsigned char)*change))
		change++;
	size_t klen = strcspn(change, " \t");
	const char *arg = change + klen;
	while (isspace((unsigned char)*arg))
		arg++;
	char key[16];
	if (klen == 0 || klen >= sizeof key)
		return mctr_fail(err, 0, "%s: no instruction", what);
	memcpy(key, change, klen);
	key[klen] = '\0';
	if (*arg == '\0')
		return mctr_fail(err, 0, "%s: %s needs an argument", what, key);

	if (!strcasecmp(key, "CMD") || !strcasecmp(key, "ENTRYPOINT")) {
		json_t *v = command_value(arg, what, err);
		if (v == NULL)
			return -1;
		json_object_set_new(cfg, !strcasecmp(key, "CMD") ? "Cmd" : "Entrypoint", v);
		return 0;
	}
	if (!strcasecmp(key, "ENV"))
		return apply_env(cfg, arg, what, err);
	if (!strcasecmp(key, "WORKDIR")) {
		if (arg[0] != '/')
			return mctr_fail(err, 0, "%s: WORKDIR must be an absolute path", what);
		json_object_set_new(cfg, "WorkingDir", json_string(arg));
		return 0;
	}
	if (!strcasecmp(key, "USER")) {
		json_object_set_new(cfg, "User", json_string(arg));
		return 0;
	}
	if (!strcasecmp(key, "STOPSIGNAL")) {
		json_object_set_new(cfg, "StopSignal", json_string(arg));
		return 0;
	}
	if (!strcasecmp(key, "EXPOSE"))
		return apply_words_to_set(obj_child(cfg, "ExposedPorts"), arg, true);
	if (!strcasecmp(key, "VOLUME")) {
		if (arg[0] == '[') {
			_cleanup_json_ json_t *arr = command_value(arg, what, err);
			if (arr == NULL)
				return -1;
			size_t i;
			json_t *v;
			json_array_foreach(arr, i, v)
				json_object_set_new(obj_child(cfg, "Volumes"), json_string_value(v), json_object());
			return 0;
		}
		return apply_words_to_set(obj_child(cfg, "Volumes"), arg, false);
	}
	if (!strcasecmp(key, "LABEL"))
		return apply_labels(cfg, arg, what, err);
	return mctr_fail(err, 0, "%s: unsupported instruction %s (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, "
	                         "USER, VOLUME, WORKDIR)", what, key);
}
