/* Shared between src/runtime/spec*.c (the config.json builder) and its unit
 * test only.  Not to be confused with rt_internal.h: spec_load.c, the
 * runtime's reader of the same document, belongs to the runtime. */
#ifndef MCTR_SPEC_INTERNAL_H
#define MCTR_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mctr/err.h"
#include "mctr/spec.h"

/* ---- spec_parse.c: paths -------------------------------------------------------- */

/* Go's path.Clean for an absolute path: "/a//b/./../c/" -> "/a/c". */
char *spec_path_clean(const char *abs_path);

/* How many '/' a clean path has: Docker orders user mounts by it, so a
 * parent is mounted before its children ("/" and "/a" have 1). */
int spec_path_depth(const char *clean);

/* ---- spec_caps.c ------------------------------------------------------------- */

/* The process.capabilities object: Docker's defaults tweaked by --cap-add,
 * --cap-drop and --privileged; effective/permitted only for uid 0 (moby
 * SetCapabilities). */
int spec_caps_build(const struct spec_options *o, bool root_user, json_t **out, struct mctr_err *err);

/* Canonical name ("CAP_CHOWN") of capability number cap, NULL if unknown. */
const char *spec_cap_name(int cap);

/* ---- spec_mounts.c ------------------------------------------------------------ */

/* The whole "mounts" array: Docker's defaults, then /etc/{hostname,hosts,
 * resolv.conf}, --tmpfs and -v.  *rootfs_propagation is set to what
 * linux.rootfsPropagation must be (NULL: leave it out). */
int spec_mounts_build(const struct spec_options *o, json_t **out, const char **rootfs_propagation,
                      struct mctr_err *err);

/* Docker's MergeTmpfsOptions (moby/sys/mount): later options win over
 * earlier ones of the same flag or key; "defaults" is dropped. */
int spec_tmpfs_options(const char *dest, const char *data, json_t **out, struct mctr_err *err);

/* linux.maskedPaths: Docker's list plus the thermal_throttle directory of
 * every CPU under <sysfs_root>/devices/system/cpu (sysfs_root is "/sys"
 * except in tests; the paths written are always /sys/...). */
json_t *spec_masked_paths(const char *sysfs_root);
json_t *spec_readonly_paths(void);

/* ---- spec_resources.c ---------------------------------------------------------- */

/* linux.resources (devices, memory, cpu, pids) as Docker fills it. */
int spec_resources_build(const struct spec_options *o, json_t **out, struct mctr_err *err);

/* process.rlimits from o->ulimits (NULL when there are none). */
int spec_rlimits_build(const struct spec_options *o, json_t **out, struct mctr_err *err);

/* ---- spec_parse.c: ulimits ------------------------------------------------------ */

/* "RLIMIT_NOFILE" for RLIMIT_NOFILE, NULL for a resource --ulimit does not know. */
const char *spec_rlimit_type(int resource);

/* The host-side check of spec_parse_ulimit(), with the host's state passed
 * in: can_raise = CAP_SYS_RESOURCE in the effective set, host_hard = the
 * current hard limit (UINT64_MAX: unlimited), nr_open = fs.nr_open (for
 * nofile only; 0: unknown). */
int spec_ulimit_check_host(const char *text, const struct spec_ulimit *u, bool can_raise, uint64_t host_hard,
                           uint64_t nr_open, struct mctr_err *err);

#endif
