/* Image config editing: Dockerfile-style --change instructions
 * (docker import/commit) applied to an OCI image config's "config" object. */
#ifndef MCTR_IMAGECONFIG_H
#define MCTR_IMAGECONFIG_H

#include <jansson.h>

#include "mctr/err.h"

/* Apply one instruction ("CMD [\"sh\"]", "ENV A=1 B=2", "WORKDIR /app",
 * "ENTRYPOINT sh -c x", "USER app", "EXPOSE 80/tcp", "LABEL k=v",
 * "VOLUME /data", "STOPSIGNAL SIGINT") to cfg (the "config" object). */
int imageconfig_apply_change(json_t *cfg, const char *change, struct mctr_err *err);

/* Set KEY=VALUE in an Env array, replacing an existing KEY. */
void imageconfig_env_set(json_t *env, const char *kv);

#endif
