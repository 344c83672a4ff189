/* mctr exec: a new process in a running container, with the container's
 * namespaces, cgroup, capabilities and (unless -u) user. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/fsutil.h"
#include "mctr/imageconfig.h"
#include "mctr/jsonutil.h"
#include "mctr/monitor.h"
#include "mctr/runtime.h"

static const char usage[] = "Usage: mctr exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
                            "Run a command in a running container.\n\n"
                            "Options:\n"
                            "  -d, --detach             run it in the background\n"
                            "  -i, --interactive        give it mctr's stdin\n"
                            "  -t, --tty                allocate a pseudo-terminal\n"
                            "  -e, --env KEY=VALUE      set an environment variable\n"
                            "  -u, --user USER[:GROUP]  user name or uid (default: the container's)\n"
                            "  -w, --workdir DIR        working directory\n";

struct exec_flags {
	bool detach, interactive, tty;
	const char *user, *workdir;
	char **env;
	size_t n_env;
};

/* The container's process object with the exec's changes. */
static json_t *exec_process(const json_t *config, const struct exec_flags *f, char **args, struct mctr_err *err)
{
	json_t *p = json_deep_copy(json_get_obj(config, "process"));
	if (p == NULL) {
		mctr_fail(err, 0, "the container's config.json has no process");
		return NULL;
	}
	json_object_set_new(p, "args", json_from_strv(args));
	json_object_set_new(p, "terminal", json_boolean(f->tty));
	json_t *env = json_get_arr(p, "env");
	if (env == NULL) {
		env = json_array();
		json_object_set_new(p, "env", env);
	}
	for (size_t i = 0; i < f->n_env; i++)
		imageconfig_env_set(env, f->env[i]);
	if (f->workdir != NULL) {
		if (f->workdir[0] != '/') {
			json_decref(p);
			mctr_fail(err, 0, "-w %s: the working directory must be absolute", f->workdir);
			return NULL;
		}
		json_object_set_new(p, "cwd", json_string(f->workdir));
	}
	return p;
}

int cmd_exec(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'd' },      { "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },         { "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },  { "workdir", required_argument, NULL, 'w' },
		{ 0 },
	};
	struct cli_opts o = { usage, "dite:u:w:", longopts };
	struct exec_flags f = { 0 };
	_cleanup_free_ char **env = xcalloc((size_t)argc + 1, sizeof(char *));
	f.env = env;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'd': f.detach = true; break;
		case 'i': f.interactive = true; break;
		case 't': f.tty = true; break;
		case 'e':
			if (strchr(optarg, '=') == NULL) {
				const char *v = getenv(optarg);
				if (v == NULL)
					break;
				env[f.n_env++] = xasprintf("%s=%s", optarg, v);
			} else {
				env[f.n_env++] = xstrdup(optarg);
			}
			break;
		case 'u': f.user = optarg; break;
		case 'w': f.workdir = optarg; break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	int rc = -1;
	struct ctr_store *cs;
	char id[CONTAINER_ID_LEN + 1];
	struct ctr_state st = { 0 };
	_cleanup_close_ int dfd = -1, pidfd = -1;
	_cleanup_json_ json_t *config = NULL, *process = NULL;
	_cleanup_free_ char *process_s = NULL, *cgname = NULL;
	if (cli_want_operands(argc, optind, 2, -1, usage, err) < 0 || cli_ctr_store(cli, &cs, err) < 0 ||
	    ctr_lookup(cs, argv[optind], id, err) < 0 || ctr_state_read(cs, id, &st, err) < 0)
		goto out;
	ctr_state_reconcile(&st);
	if (st.status == CTR_RUNNING)
		pidfd = ctr_pidfd_open_checked(st.pid, st.pid_start, err);
	if (pidfd < 0) {
		mctr_fail(err, 0, "container %s is not running", argv[optind]);
		goto out;
	}
	if ((dfd = ctr_dir_open(cs, id, err)) < 0 || (config = json_load_at(dfd, "config.json", err)) == NULL ||
	    (process = exec_process(config, &f, argv + optind + 1, err)) == NULL)
		goto out;
	process_s = json_dumps(process, JSON_COMPACT);
	cgname = xasprintf("%s/%s", CGROUP_DEFAULT_PARENT, id); /* as ctr_cgroup_open */
	const char *user = f.user ? f.user : json_get_str(json_get_obj(config, "annotations"), RT_ANN_USER);
	struct rt_exec_opts eo = {
		.pid = st.pid,
		.pidfd = pidfd,
		.cgroup = cgname,
		.process_json = process_s,
		.user = user,
		.stdio = { .in = f.interactive && !f.detach ? 0 : -1, .out = f.detach ? -1 : 1, .err = f.detach ? -1 : 2 },
	};
	if (f.tty)
		monitor_terminal_size(&eo.console_rows, &eo.console_cols);
	struct rt_process p = { .pid = -1, .pidfd = -1, .pty_master = -1 };
	if (rt_exec(&eo, &p, err) < 0)
		goto out;
	if (f.detach) {
		rc = 0; /* it is our child: it will be reparented when we exit */
	} else {
		rc = monitor_attach_process(p.pid, p.pidfd, p.pty_master, f.interactive);
	}
	if (p.pidfd >= 0)
		close(p.pidfd);
	if (p.pty_master >= 0)
		close(p.pty_master);
out:
	for (size_t i = 0; i < f.n_env; i++)
		free(env[i]);
	ctr_state_clear(&st);
	return rc;
}
