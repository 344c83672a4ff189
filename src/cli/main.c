/* mctr: the command table and global options.  main() is the only place
 * that prints an error and picks the exit status. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"
#include "mctr/proctitle.h"

struct command {
	const char *name;
	const char *group;  /* NULL, or one of groups[] */
	cli_cmd_fn fn;      /* core command, or NULL ... */
	const char *symbol; /* ... for one resolved from a module (cli_module_command) */
	const char *summary;
};

static const struct command commands[] = {
	{ "run", NULL, cmd_run, NULL, "Create and run a container" },
	{ "run", "container", cmd_run, NULL, "Create and run a container" },
	{ "create", NULL, cmd_create, NULL, "Create a container" },
	{ "create", "container", cmd_create, NULL, "Create a container" },
	{ "start", NULL, cmd_start, NULL, "Start containers" },
	{ "start", "container", cmd_start, NULL, "Start containers" },
	{ "ps", NULL, cmd_ps, NULL, "List containers" },
	{ "ls", "container", cmd_ps, NULL, "List containers" },
	{ "logs", NULL, cmd_logs, NULL, "Show a container's output" },
	{ "logs", "container", cmd_logs, NULL, "Show a container's output" },
	{ "exec", NULL, cmd_exec, NULL, "Run a command in a running container" },
	{ "exec", "container", cmd_exec, NULL, "Run a command in a running container" },
	{ "stop", NULL, cmd_stop, NULL, "Stop containers" },
	{ "stop", "container", cmd_stop, NULL, "Stop containers" },
	{ "kill", NULL, cmd_kill, NULL, "Send a signal to containers" },
	{ "kill", "container", cmd_kill, NULL, "Send a signal to containers" },
	{ "wait", NULL, cmd_wait, NULL, "Wait for containers to stop" },
	{ "wait", "container", cmd_wait, NULL, "Wait for containers to stop" },
	{ "rm", NULL, cmd_rm, NULL, "Remove containers" },
	{ "rm", "container", cmd_rm, NULL, "Remove containers" },
	{ "prune", "container", cmd_container_prune, NULL, "Remove stopped containers" },
	{ "images", NULL, cmd_images, NULL, "List images" },
	{ "ls", "image", cmd_images, NULL, "List images" },
	{ "load", NULL, NULL, "mctr_cmd_load", "Load images from a docker-archive, OCI archive or OCI layout" },
	{ "load", "image", NULL, "mctr_cmd_load", "Load images from a docker-archive, OCI archive or OCI layout" },
	{ "import", NULL, NULL, "mctr_cmd_import", "Import a rootfs tarball as an image" },
	{ "import", "image", NULL, "mctr_cmd_import", "Import a rootfs tarball as an image" },
	{ "save", NULL, NULL, "mctr_cmd_save", "Save images to a docker-archive" },
	{ "save", "image", NULL, "mctr_cmd_save", "Save images to a docker-archive" },
	{ "pull", NULL, NULL, "mctr_cmd_pull", "Download an image from a registry" },
	{ "pull", "image", NULL, "mctr_cmd_pull", "Download an image from a registry" },
	{ "login", NULL, NULL, "mctr_cmd_login", "Log in to a registry" },
	{ "logout", NULL, NULL, "mctr_cmd_logout", "Log out from a registry" },
	{ "tag", NULL, cmd_tag, NULL, "Give an image another name" },
	{ "tag", "image", cmd_tag, NULL, "Give an image another name" },
	{ "rmi", NULL, cmd_rmi, NULL, "Remove images" },
	{ "rm", "image", cmd_rmi, NULL, "Remove images" },
	{ "inspect", NULL, cmd_inspect, NULL, "Show details of containers and images as JSON" },
	{ "inspect", "image", cmd_inspect, NULL, "Show details of containers and images as JSON" },
	{ "prune", "image", cmd_image_prune, NULL, "Remove unused images" },
	{ "check", "system", NULL, "mctr_cmd_system_check", "Verify the store; --repair removes damage" },
	{ "info", NULL, cmd_info, NULL, "Show the store, cgroup mode and kernel features" },
	{ "info", "system", cmd_info, NULL, "Show the store, cgroup mode and kernel features" },
	{ "version", NULL, cmd_version, NULL, "Show the version" },
	{ "run", "runtime", cmd_runtime_run, NULL, "Run an OCI bundle (as an OCI runtime would)" },
};

static const char *const groups[] = { "image", "container", "system", "runtime" };

/* Is c a command of group (NULL: a top-level command)? */
static bool in_group(const struct command *c, const char *group)
{
	if (group == NULL || c->group == NULL)
		return group == c->group;
	return strcmp(group, c->group) == 0;
}

static void print_usage(FILE *f, const char *group)
{
	if (group == NULL)
		fprintf(f, "Usage: mctr [OPTIONS] COMMAND [ARGS...]\n\n"
		           "A daemonless container manager.\n\n"
		           "Options:\n"
		           "      --root DIR     store root (default $MCTR_ROOT or " MCTR_DEFAULT_ROOT ")\n"
		           "      --log-level L  error, warn, info or debug (default warn)\n"
		           "  -D, --debug        --log-level debug (with timings: where run spends its time)\n"
		           "  -v, --version      print the version and exit\n"
		           "  -h, --help         print this help\n\n"
		           "Commands:\n");
	else
		fprintf(f, "Usage: mctr %s COMMAND [ARGS...]\n\nCommands:\n", group);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *c = &commands[i];
		if (in_group(c, group))
			fprintf(f, "  %-10s %s\n", c->name, c->summary);
	}
	if (group == NULL) {
		fprintf(f, "\nGroups:\n");
		for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
			fprintf(f, "  %-10s mctr %s --help\n", groups[i], groups[i]);
		fprintf(f, "\nRun 'mctr COMMAND --help' for a command's options.\n");
	}
}

static const struct command *find_command(const char *group, const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct command *c = &commands[i];
		if (in_group(c, group) && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static bool is_group(const char *s)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (strcmp(s, groups[i]) == 0)
			return true;
	return false;
}

static int parse_log_level(const char *s, struct mctr_err *err)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			mctr_log_set_level((enum mctr_log_level)i);
			return 0;
		}
	return mctr_fail(err, 0, "invalid --log-level \"%s\" (error, warn, info or debug)", s);
}

static int run_main(int argc, char **argv, struct mctr_err *err)
{
	struct cli cli = { .prog = "mctr" };
	cli.root = getenv("MCTR_ROOT");
	if (cli.root == NULL || cli.root[0] == '\0')
		cli.root = MCTR_DEFAULT_ROOT;

	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "debug", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+hvD", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cli.root = optarg;
			break;
		case 'l':
			if (parse_log_level(optarg, err) < 0)
				return -1;
			break;
		case 'D':
			mctr_log_set_level(MCTR_LOG_DEBUG);
			break;
		case 'v':
			cli_print_version();
			return 0;
		case 'h':
			print_usage(stdout, NULL);
			return 0;
		default:
			return mctr_fail(err, 0, "bad global option (see mctr --help)");
		}
	}
	/* Bundles and layer paths are written as absolute paths, and a detached
	 * monitor runs in /: a relative root is made absolute once, here. */
	_cleanup_free_ char *abs_root = NULL;
	if (cli.root[0] != '/') {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			return mctr_fail_errno(err, "--root %s: cannot resolve the current directory", cli.root);
		cli.root = abs_root = xasprintf("%s/%s", cwd, cli.root);
	}
	if (optind >= argc) {
		print_usage(stderr, NULL);
		return mctr_fail(err, 0, "no command given");
	}
	const char *group = NULL;
	if (is_group(argv[optind])) {
		group = argv[optind++];
		if (optind >= argc || strcmp(argv[optind], "--help") == 0 || strcmp(argv[optind], "-h") == 0) {
			print_usage(optind >= argc ? stderr : stdout, group);
			if (optind >= argc)
				return mctr_fail(err, 0, "no %s command given", group);
			return 0;
		}
	}
	const struct command *cmd = find_command(group, argv[optind]);
	if (cmd == NULL) {
		if (group)
			return mctr_fail(err, 0, "unknown command \"%s %s\" (see mctr %s --help)", group, argv[optind],
			                 group);
		return mctr_fail(err, 0, "unknown command \"%s\" (see mctr --help)", argv[optind]);
	}
	cli_cmd_fn fn = cmd->fn;
	if (fn == NULL && (fn = cli_module_command(cmd->symbol, err)) == NULL)
		return -1;
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* full reset of getopt for the command's own options */
	int rc = fn(&cli, sub_argc, sub_argv, err);
	cli_close(&cli);
	return rc;
}

int main(int argc, char **argv)
{
	struct mctr_err err = { 0 };
	proctitle_init(argc, argv);
	int rc = run_main(argc, argv, &err);
	if (fflush(stdout) != 0 && rc >= 0) {
		rc = mctr_fail_errno(&err, "write to standard output");
	}
	if (rc < 0) {
		fprintf(stderr, "mctr: %s\n", err.msg[0] ? err.msg : "failed");
		return mctr_err_exit_status(&err);
	}
	return rc;
}
