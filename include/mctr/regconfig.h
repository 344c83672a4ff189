/* mctr's registry settings: /etc/mctr/config.json, or the file $MCTR_CONFIG
 * names.  The keys are those of Docker's daemon.json that matter to a client,
 * so a daemon.json can be used as it is (other keys are ignored):
 *
 *   "registry-mirrors":          ["https://mirror.example.com", "http://127.0.0.1:5000"]
 *                                tried in order before the origin, for docker.io only
 *   "insecure-registries":       ["myreg.example.com:5000", "10.0.0.0/8"]
 *                                TLS not verified and plain HTTP allowed; a CIDR
 *                                matches registries named by a literal IP in it
 *                                (names are never resolved for this)
 *   "max-concurrent-downloads":  3 (layers downloaded at once)
 *
 * and one of mctr's own:
 *
 *   "certs-dirs":                directories searched for HOST:PORT/ca.crt (default
 *                                /etc/mctr/certs.d, /etc/containers/certs.d,
 *                                /etc/docker/certs.d)
 *
 * A missing file is an empty configuration; a malformed one is an error. */
#ifndef MCTR_REGCONFIG_H
#define MCTR_REGCONFIG_H

#include <stdbool.h>

#include "mctr/err.h"

#define REGCONFIG_DEFAULT_PATH "/etc/mctr/config.json"
#define REGCONFIG_DEFAULT_DOWNLOADS 3
#define REGCONFIG_MAX_DOWNLOADS 16

struct reg_config {
	char **mirrors;     /* normalized URLs without a trailing '/' ("https://host:port") */
	char **insecure;    /* host[:port] (lowercase) or CIDR */
	char **certs_dirs;  /* NULL-terminated; the defaults unless the file sets them */
	int max_downloads;
};

/* Load path, or $MCTR_CONFIG, or REGCONFIG_DEFAULT_PATH when path is NULL. */
int regconfig_load(const char *path, struct reg_config *out, struct mctr_err *err);

/* Parse a configuration document; `what` names it in errors. */
int regconfig_parse(const char *buf, size_t len, const char *what, struct reg_config *out, struct mctr_err *err);

/* Defaults only (no file). */
void regconfig_init(struct reg_config *c);

/* Is the registry `host` ("host", "host:port", "[::1]:5000") listed as
 * insecure, by name or by a CIDR holding its literal IP? */
bool regconfig_is_insecure(const struct reg_config *c, const char *host);

void regconfig_clear(struct reg_config *c);

#endif
