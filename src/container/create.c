/* Making a container from an image: its directory, bundle and record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/spec.h"
#include "mctr/store.h"
#include "mctr/timeutil.h"

/* The bundle's files are written once into a fresh directory nobody reads
 * yet, and are not precious: no temp file, no fsync (they cost more than the
 * rest of `run`'s bookkeeping). */
static int write_new_file(int dfd, const char *name, const char *buf, size_t len, mode_t mode,
                          struct mctr_err *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return mctr_fail_errno(err, "create %s", name);
	return fd_write_all(fd, buf, len, err);
}

/* One of the host's own files, NULL if it has none.  Symlinks are followed:
 * this is the host's /etc, and /etc/resolv.conf is a symlink wherever
 * systemd-resolved or NetworkManager manage it. */
static char *read_host_file(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;
	struct mctr_err ignored = { 0 };
	if (fd < 0 || fd_read_all(fd, 1 << 20, &text, NULL, &ignored) < 0)
		return NULL;
	return text;
}

/* /etc/hostname, /etc/hosts and /etc/resolv.conf of the container. */
static int write_etc_files(int dfd, const char *hostname, bool host_network, struct mctr_err *err)
{
	_cleanup_free_ char *hn = xasprintf("%s\n", hostname);
	/* The host's names with --network host, as Docker gives them. */
	_cleanup_free_ char *hosts = host_network ? read_host_file("/etc/hosts") : NULL;
	if (hosts == NULL)
		hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		                  "127.0.1.1\t%s\n", hostname);
	_cleanup_free_ char *resolv = read_host_file("/etc/resolv.conf");
	if (resolv == NULL)
		resolv = xstrdup("");
	if (write_new_file(dfd, "hostname", hn, strlen(hn), 0644, err) < 0 ||
	    write_new_file(dfd, "hosts", hosts, strlen(hosts), 0644, err) < 0 ||
	    write_new_file(dfd, "resolv.conf", resolv, strlen(resolv), 0644, err) < 0)
		return -1;
	return 0;
}

static int make_dirs(int dfd, struct mctr_err *err)
{
	static const char *const dirs[] = { "rootfs", "upper", "work" };
	for (size_t i = 0; i < 3; i++)
		if (mkdirat(dfd, dirs[i], 0755) < 0)
			return mctr_fail_errno(err, "mkdir %s", dirs[i]);
	return 0;
}

static char **layer_paths(struct store *st, const struct store_image *img, struct mctr_err *err)
{
	char **v = xcalloc(img->n_layers + 1, sizeof(char *));
	/* Overlay wants the topmost layer first. */
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *d = img->diff_ids[img->n_layers - 1 - i];
		if (!store_layer_exists(st, d)) {
			mctr_strv_free(v);
			mctr_fail(err, 0, "image %.12s is incomplete: layer %s is not unpacked (mctr system check --repair)",
			          digest_hex(img->id), d);
			return NULL;
		}
		v[i] = store_layer_path(st, d);
	}
	return v;
}

static json_t *state_extra(const json_t *config, const struct store_image *img)
{
	json_t *process = json_get_obj(config, "process");
	return json_pack("{s:O?, s:s}", "command", json_get_arr(process, "args"), "manifest_digest",
	                 img->manifest_digest);
}

static int populate(struct store *st, struct ctr_store *cs, const struct ctr_create_opts *o,
                    const struct store_image *img, const char *id, const char *name, struct mctr_err *err)
{
	_cleanup_close_ int dfd = open_dir_at(cs->containers_fd, id, true, 0700, err);
	if (dfd < 0 || make_dirs(dfd, err) < 0)
		return -1;
	_cleanup_free_ char *bundle = ctr_dir_path(cs, id);
	_cleanup_strv_ char **lowers = layer_paths(st, img, err);
	if (lowers == NULL)
		return -1;
	struct spec_options *so = o->spec;
	so->bundle = bundle;
	so->lowerdirs = lowers;
	so->container_id = id;
	/* A memory limit brings a default swap limit, which a host without swap
	 * accounting cannot set: Docker warns and runs without it. */
	if (so->has_memory)
		so->swap_limit_unsupported = !cgroup_swap_limit_supported(NULL);
	json_t *image_cfg = json_get_obj(img->config, "config");
	_cleanup_json_ json_t *config = NULL;
	if (spec_build(image_cfg, so, &config, err) < 0)
		return -1;
	const char *hostname = json_get_str(config, "hostname");
	size_t len;
	_cleanup_free_ char *config_text = json_dump_canonical(config, &len);
	if (write_etc_files(dfd, hostname ? hostname : id, so->network == SPEC_NET_HOST, err) < 0 ||
	    write_new_file(dfd, "config.json", config_text, len, 0600, err) < 0)
		return -1;
	char now[64];
	rfc3339_now(now, sizeof now);
	const char *stop = json_get_str(image_cfg, "StopSignal");
	struct ctr_state cst = {
		.name = (char *)name,
		.image = (char *)o->image,
		.image_id = (char *)img->id,
		.created = now,
		.status = CTR_CREATED,
		.auto_remove = o->auto_remove,
		.tty = so->tty,
		.interactive = so->interactive,
		.stop_signal = (char *)(stop ? stop : "SIGTERM"),
		.stop_timeout = 10,
		.extra = state_extra(config, img),
	};
	memcpy(cst.id, id, sizeof cst.id);
	int rc = ctr_state_write(cs, &cst, err);
	json_decref(cst.extra);
	return rc;
}

int ctr_create(struct store *st, struct ctr_store *cs, const struct ctr_create_opts *o,
               char id[CONTAINER_ID_LEN + 1], struct mctr_err *err)
{
	mctr_debug("create: resolving image %s", o->image);
	if (store_lock(st, false, err) < 0)
		return -1;
	struct store_image *img = NULL;
	int rc = store_image_lookup(st, o->image, &img, err);
	char name[160];
	ctr_new_id(id);
	if (rc == 0 && o->name != NULL) {
		snprintf(name, sizeof name, "%s", o->name);
		rc = ctr_claim_name(cs, name, id, err);
	} else if (rc == 0) {
		for (int tries = 0;; tries++) {
			ctr_random_name(name, sizeof name);
			if (tries > 3) /* crowded: add a number, as Docker does */
				snprintf(name + strlen(name), sizeof name - strlen(name), "%d", tries);
			struct mctr_err ignored = { 0 };
			if (ctr_claim_name(cs, name, id, &ignored) == 0)
				break;
			if (tries > 50) {
				rc = mctr_fail(err, 0, "cannot find a free container name");
				break;
			}
		}
	}
	bool named = rc == 0;
	if (rc == 0)
		rc = populate(st, cs, o, img, id, name, err);
	if (rc < 0) {
		struct mctr_err ignored = { 0 };
		if (named)
			ctr_release_name(cs, name);
		rm_rf_at(cs->containers_fd, id, &ignored);
	}
	store_image_free(img);
	store_unlock(st);
	mctr_debug("create: container %.12s ready", id);
	return rc;
}

int ctr_users_of_image(struct ctr_store *cs, const char *image_id, char ***names, struct mctr_err *err)
{
	_cleanup_strv_ char **ids = NULL;
	if (ctr_list(cs, &ids, err) < 0)
		return -1;
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	for (char **p = ids; *p != NULL; p++) {
		struct ctr_state s;
		struct mctr_err ignored = { 0 };
		if (ctr_state_read(cs, *p, &s, &ignored) < 0)
			continue;
		if (s.image_id != NULL && strcmp(s.image_id, image_id) == 0) {
			v = xrealloc(v, (n + 2) * sizeof(char *));
			v[n++] = xstrdup(s.name ? s.name : s.id);
			v[n] = NULL;
		}
		ctr_state_clear(&s);
	}
	*names = v;
	return 0;
}
