/* mctr inspect: images as JSON (Docker's field names where it has them). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/runtime.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/ref.h"

static const char usage[] = "Usage: mctr inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
                            "Show details of containers and images as one JSON array.\n\n"
                            "Options:\n"
                            "  -t, --type TYPE   container or image (default: a container, else an image)\n";

json_t *cli_image_inspect_json(const struct store_image *img);

json_t *cli_image_inspect_json(const struct store_image *img)
{
	json_t *tags = json_array(), *digests = json_array();
	for (char **p = img->names; *p != NULL; p++) {
		struct image_ref ref = { 0 };
		if (ref_parse(*p, &ref, NULL) < 0)
			continue;
		_cleanup_free_ char *fam = ref_familiar(&ref);
		_cleanup_free_ char *repo = ref_familiar_name(&ref);
		_cleanup_free_ char *rd = xasprintf("%s@%s", repo, img->name_digests[p - img->names]);
		if (ref.tag != NULL)
			json_array_append_new(tags, json_string(fam));
		json_array_append_new(digests, json_string(rd));
		ref_clear(&ref);
	}
	const json_t *cfg = img->config;
	json_t *layers = json_deep_copy(json_get_arr(img->manifest, "layers"));
	return json_pack("{s:s, s:o, s:o, s:s, s:o, s:s, s:s, s:s?, s:O?, s:I, s:{s:s, s:o}, s:{s:s, s:s, s:I, s:O, s:o}}",
	                 "Id", img->id, "RepoTags", tags, "RepoDigests", digests,
	                 "Created", json_get_str(cfg, "created") ? json_get_str(cfg, "created") : "",
	                 "Names", json_from_strv(img->names),
	                 "Architecture", json_get_str(cfg, "architecture") ? json_get_str(cfg, "architecture") : "",
	                 "Os", json_get_str(cfg, "os") ? json_get_str(cfg, "os") : "",
	                 "Variant", json_get_str(cfg, "variant"),
	                 "Config", json_get_obj(cfg, "config"), "Size", (json_int_t)img->size,
	                 "RootFS", "Type", "layers", "Layers", json_from_strv(img->diff_ids),
	                 "Manifest", "Digest", img->manifest_digest, "MediaType", img->manifest_media_type ?
	                 img->manifest_media_type : "", "Size", (json_int_t)img->manifest_size,
	                 "Config", json_get_obj(img->manifest, "config"), "Layers", layers);
}

/* args[1:] */
static json_t *rest_of(const json_t *args)
{
	json_t *r = json_array();
	for (size_t i = 1; i < json_array_size(args); i++)
		json_array_append(r, json_array_get(args, i));
	return r;
}

/* Docker's container inspect fields, from state.json and the bundle. */
static json_t *container_inspect_json(struct ctr_store *cs, struct ctr_state *s, struct mctr_err *err)
{
	_cleanup_close_ int dfd = ctr_dir_open(cs, s->id, err);
	_cleanup_json_ json_t *cfg = dfd >= 0 ? json_load_at(dfd, "config.json", err) : NULL;
	if (cfg == NULL)
		return NULL;
	json_t *proc = json_get_obj(cfg, "process");
	json_t *args = json_get_arr(proc, "args");
	json_t *ann = json_get_obj(cfg, "annotations");
	json_t *ns = json_get_arr(json_get_obj(cfg, "linux"), "namespaces");
	bool own_net = false;
	size_t i;
	json_t *n;
	json_array_foreach(ns, i, n) own_net |= json_get_str(n, "type") && !strcmp(json_get_str(n, "type"), "network");
	json_t *res = json_get_obj(json_get_obj(cfg, "linux"), "resources");
	_cleanup_free_ char *dir = ctr_dir_path(cs, s->id);
	_cleanup_free_ char *upper = xasprintf("%s/upper", dir), *work = xasprintf("%s/work", dir);
	_cleanup_free_ char *name = xasprintf("/%s", s->name ? s->name : "");
	const char *user = json_get_str(ann, RT_ANN_USER);
	return json_pack(
		"{s:s, s:s?, s:s?, s:o, s:{s:s, s:b, s:b, s:b, s:b, s:b, s:I, s:i, s:s, s:s, s:s}, s:s?, s:s, s:s?,"
		" s:{s:b, s:b, s:b, s:s, s:I, s:I, s:I, s:b}, s:{s:s?, s:s, s:O?, s:O?, s:s?, s:s?, s:b, s:b},"
		" s:{s:s, s:{s:s?, s:s, s:s}}, s:O?}",
		"Id", s->id, "Created", s->created, "Path", json_string_value(json_array_get(args, 0)), "Args",
		rest_of(args),
		"State", "Status", ctr_status_name(s->status), "Running", s->status == CTR_RUNNING, "Paused", false,
		"Restarting", false, "OOMKilled", s->oom_killed, "Dead", false, "Pid", (json_int_t)s->pid, "ExitCode",
		s->exit_code, "Error", s->error ? s->error : "", "StartedAt", s->started_at ? s->started_at : "",
		"FinishedAt", s->finished_at ? s->finished_at : "",
		"Image", s->image_id, "Name", name, "ImageName", s->image,
		"HostConfig", "AutoRemove", s->auto_remove, "Privileged", false, "ReadonlyRootfs",
		json_is_true(json_object_get(json_get_obj(cfg, "root"), "readonly")), "NetworkMode",
		own_net ? "private" : "host", "Memory", json_get_int(json_get_obj(res, "memory"), "limit", 0),
		"PidsLimit", json_get_int(json_get_obj(res, "pids"), "limit", 0), "CpuQuota",
		json_get_int(json_get_obj(res, "cpu"), "quota", 0), "Init",
		json_get_str(ann, RT_ANN_INIT) != NULL,
		"Config", "Hostname", json_get_str(cfg, "hostname"), "User", user ? user : "", "Env",
		json_get_arr(proc, "env"), "Cmd", args, "WorkingDir", json_get_str(proc, "cwd"), "Image", s->image,
		"Tty", s->tty, "OpenStdin", s->interactive,
		"GraphDriver", "Name", "overlay", "Data", "LowerDir", json_get_str(ann, RT_ANN_OVERLAY_LOWER),
		"UpperDir", upper, "WorkDir", work, "Mounts", json_get_arr(cfg, "mounts"));
}

static json_t *inspect_container(struct cli *cli, const char *arg, struct mctr_err *err)
{
	struct ctr_store *cs;
	char id[CONTAINER_ID_LEN + 1];
	struct ctr_state s;
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_lookup(cs, arg, id, err) < 0 || ctr_state_read(cs, id, &s, err) < 0)
		return NULL;
	ctr_state_reconcile(&s);
	json_t *j = container_inspect_json(cs, &s, err);
	ctr_state_clear(&s);
	return j;
}

static json_t *inspect_image(struct cli *cli, const char *arg, struct mctr_err *err)
{
	struct store *st;
	struct store_image *img = NULL;
	if (cli_store(cli, &st, err) < 0 || store_image_lookup(st, arg, &img, err) < 0)
		return NULL;
	json_t *j = cli_image_inspect_json(img);
	store_image_free(img);
	return j;
}

int cmd_inspect(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "type", required_argument, NULL, 't' }, { 0 } };
	struct cli_opts o = { usage, "t:", longopts };
	const char *type = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 't':
			if (strcmp(optarg, "image") != 0 && strcmp(optarg, "container") != 0)
				return mctr_fail(err, 0, "unsupported --type \"%s\" (container or image)", optarg);
			type = optarg;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, usage, err) < 0)
		return -1;
	_cleanup_json_ json_t *out = json_array();
	int rc = 0;
	for (int i = optind; i < argc && rc == 0; i++) {
		json_t *j = NULL;
		if (type == NULL || strcmp(type, "container") == 0)
			j = inspect_container(cli, argv[i], err);
		if (j == NULL && type == NULL) {
			mctr_err_clear(err);
			j = inspect_image(cli, argv[i], err);
			if (j == NULL && strncmp(err->msg, "no such image", 13) == 0)
				mctr_fail(err, 0, "no such object: %s", argv[i]);
		} else if (j == NULL && strcmp(type, "image") == 0) {
			j = inspect_image(cli, argv[i], err);
		}
		if (j == NULL)
			rc = -1;
		else
			json_array_append_new(out, j);
	}
	/* Docker prints what it found, then fails for what it did not. */
	cli_print_json(out);
	return rc;
}
