/* The CLI: a table of commands (main.c), one small file per command.
 * Commands that move image bytes live in the modules (src/cli/module built
 * into mctr-image.so, src/cli/registry into mctr-registry.so) and are
 * resolved by name on first use, so the core binary never loads libcurl,
 * libarchive or libcrypto. */
#ifndef MCTR_CLI_H
#define MCTR_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "mctr/err.h"
#include "mctr/store.h"

struct ctr_store;

struct cli {
	const char *root;      /* --root / MCTR_ROOT / default */
	struct store *store;   /* opened on first use */
	struct ctr_store *ctrs; /* containers, opened on first use */
	const char *prog;      /* "mctr" */
};

typedef int (*cli_cmd_fn)(struct cli *cli, int argc, char **argv, struct mctr_err *err);

/* Open the store at cli->root once. */
int cli_store(struct cli *cli, struct store **out, struct mctr_err *err);
/* Open the container records under cli->root once. */
int cli_ctr_store(struct cli *cli, struct ctr_store **out, struct mctr_err *err);
/* Close what cli_store/cli_ctr_store opened. */
void cli_close(struct cli *cli);

/* Option parsing shared by every command: getopt_long over argv (argv[0]
 * is the command name) with "+" semantics (stop at the first operand);
 * handles -h/--help by printing usage.  Returns the option character, -1
 * at the end, '?' after printing an error for a bad option, or CLI_HELP
 * (for --help, and for -h unless the command's shortopts use 'h'). */
#define CLI_HELP 0x1000
struct cli_opts {
	const char *usage;           /* "Usage: mctr load [OPTIONS]\n\n..." */
	const char *shortopts;       /* without h */
	const struct option *longopts; /* without help; may be NULL */
};
int cli_getopt(int argc, char **argv, const struct cli_opts *o);
/* Fail with what cli_getopt's last '?' was about: the unknown option or
 * the one missing its value (one line, as every mctr error). */
int cli_bad_option(struct mctr_err *err);
/* Handle the common results of cli_getopt inside a command's switch:
 * CLI_HELP → usage was printed, command returns 0; '?' → error. */
#define CLI_OPT_COMMON_CASES(err)                                                                            \
	case CLI_HELP:                                                                                       \
		return 0;                                                                                    \
	case '?':                                                                                            \
		return cli_bad_option(err);                                                                  \
	default:                                                                                             \
		return mctr_fail((err), 0, "unhandled option")

/* Require between min and max operands after the options (max -1: any). */
int cli_want_operands(int argc, int optind_, int min, int max, const char *usage, struct mctr_err *err);

/* Resolve a command (or any symbol) of the image module, loading it. */
cli_cmd_fn cli_module_command(const char *symbol, struct mctr_err *err);
void *cli_module_symbol(const char *symbol, struct mctr_err *err);

/* Run fn for every operand from optind on.  Like Docker, go on after a
 * failure (printing its message) and fail at the end with the first one. */
typedef int (*cli_operand_fn)(struct cli *cli, const char *operand, void *arg, struct mctr_err *err);
int cli_for_each_operand(struct cli *cli, int argc, char **argv, cli_operand_fn fn, void *arg, struct mctr_err *err);

/* --format: only "json" is supported. */
int cli_parse_format(const char *value, bool *json, struct mctr_err *err);
/* Print a JSON document as the --format json commands do. */
void cli_print_json(const json_t *j);

/* Human output helpers. */
void cli_format_size(double bytes, char *buf, size_t len);  /* "2.15MB", Docker's SI units */
void cli_format_ago(long long then, char *buf, size_t len); /* "3 hours ago" */

/* Core commands. */
int cmd_images(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_tag(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_rmi(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_inspect(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_image_prune(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_info(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_version(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_run(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_create(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_start(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_ps(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_stop(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_kill(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_wait(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_rm(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_container_prune(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_logs(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_exec(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int cmd_runtime_run(struct cli *cli, int argc, char **argv, struct mctr_err *err);

/* "mctr version X" (mctr version, mctr --version). */
void cli_print_version(void);

/* Commands in the modules, by symbol name: mctr-image.so (load, import,
 * save, system check) and mctr-registry.so (pull, login, logout). */
int mctr_cmd_load(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_import(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_save(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_system_check(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_pull(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_login(struct cli *cli, int argc, char **argv, struct mctr_err *err);
int mctr_cmd_logout(struct cli *cli, int argc, char **argv, struct mctr_err *err);
/* --tls-verify[=true|false] (pull, login): *off when false. */
int cli_parse_tls_verify(const char *arg, bool *off, struct mctr_err *err);

/* Names of the containers using the image with this ID (NULL-terminated). */
int cli_image_users(struct cli *cli, const char *image_id, char ***users, struct mctr_err *err);
/* Print Docker's "Untagged: NAME" with the familiar form of a stored name. */
void cli_print_untagged(const char *full_name);
#endif
