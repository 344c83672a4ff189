/* Registry credentials in Docker's client configuration file,
 * $DOCKER_CONFIG/config.json (default ~/.docker/config.json):
 *
 *   {"auths": {"<key>": {"auth": "base64(user:password)"}}, ...other keys...}
 *
 * Keys are compared by host: a scheme and a path are ignored, and
 * index.docker.io / registry-1.docker.io count as docker.io, whose key is
 * written as Docker writes it, "https://index.docker.io/v1/".  Writing keeps
 * every other key and entry, replaces the file atomically (temp file in the
 * same directory, fsync, rename) and leaves it mode 0600.  Credential helpers
 * (credsStore, credHelpers) are not run: an entry without "auth" counts as no
 * credentials. */
#ifndef MCTR_REGCREDS_H
#define MCTR_REGCREDS_H

#include <stdbool.h>

#include "mctr/err.h"

#define REGCREDS_DOCKER_HUB_KEY "https://index.docker.io/v1/"

struct reg_creds {
	char *username;
	char *password;
};

/* $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (malloc'd). */
char *regcreds_default_path(void);

/* The registry a key or a login argument names, as a reference's domain:
 * "https://index.docker.io/v1/" -> "docker.io", "http://h:5000/x" -> "h:5000".
 * Lowercase (malloc'd). */
char *regcreds_normalize_key(const char *key);

/* The key Docker writes for a reference's domain (malloc'd). */
char *regcreds_key(const char *domain);

/* "user:password" (the password may hold ':'); both parts non-empty. */
int regcreds_parse_pair(const char *s, struct reg_creds *out, struct mctr_err *err);

/* Find the credentials for domain in the file at path.  *found is false when
 * the file, or an entry with "auth" for domain, does not exist. */
int regcreds_lookup(const char *path, const char *domain, struct reg_creds *out, bool *found, struct mctr_err *err);

/* Record (replace) the credentials for domain. */
int regcreds_save(const char *path, const char *domain, const struct reg_creds *c, struct mctr_err *err);

/* Remove every entry for domain; *removed tells whether there was one. */
int regcreds_remove(const char *path, const char *domain, bool *removed, struct mctr_err *err);

void regcreds_clear(struct reg_creds *c);

/* Base64 (RFC 4648, with padding), as config.json and HTTP Basic use it.
 * decode returns NULL on malformed input; the result is NUL-terminated. */
char *regcreds_base64_encode(const void *buf, size_t len);
char *regcreds_base64_decode(const char *s, size_t *len_out);

#endif
