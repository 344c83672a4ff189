/* mctr run / create / start: containers from images. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/fsutil.h"
#include "mctr/monitor.h"
#include "mctr/pull.h"
#include "mctr/ref.h"
#include "mctr/spec.h"

static const char run_usage[] =
	"Usage: mctr run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
	"Create and run a container.\n\n"
	"Options:\n"
	"  -d, --detach               run in the background and print the container ID\n"
	"  -i, --interactive          keep stdin open (give it to the container)\n"
	"  -t, --tty                  allocate a pseudo-terminal\n"
	"      --rm                   remove the container when it exits\n"
	"      --name NAME            name the container\n"
	"  -e, --env KEY[=VALUE]      set an environment variable (KEY alone: from mctr's environment)\n"
	"      --env-file FILE        read KEY=VALUE lines\n"
	"  -w, --workdir DIR          working directory inside the container\n"
	"  -u, --user USER[:GROUP]    user name or uid (and group name or gid)\n"
	"  -h, --hostname NAME        container host name\n"
	"      --entrypoint CMD       override the image's entrypoint (\"\" clears it)\n"
	"  -v, --volume HOST:CTR[:ro] bind mount a host directory or file\n"
	"      --tmpfs PATH[:OPTS]    mount a tmpfs\n"
	"      --read-only            mount the container's root read-only\n"
	"      --network none|host    network namespace (default: private, loopback only)\n"
	"  -m, --memory SIZE          memory limit (e.g. 64m)\n"
	"      --memory-swap SIZE     memory + swap limit (-1: unlimited swap)\n"
	"      --cpus N               CPU quota in CPUs (e.g. 1.5)\n"
	"  -c, --cpu-shares N         relative CPU weight (default 1024)\n"
	"      --pids-limit N         maximum number of processes\n"
	"      --ulimit NAME=SOFT[:HARD]   resource limit (within the host's hard limits)\n"
	"      --init                 run a tiny init as PID 1 (forwards signals, reaps zombies)\n"
	"      --privileged           all capabilities and devices, no masked paths\n"
	"      --cap-add CAP          add a capability (or ALL)\n"
	"      --cap-drop CAP         drop a capability (or ALL)\n"
	"      --security-opt OPT     no-new-privileges\n"
	"      --pull POLICY          missing (default): pull the image if it is not in the store;\n"
	"                             always; never\n"
	"      --platform OS/ARCH     platform to pull (default: the host's)\n";

enum {
	OPT_RM = 0x200,
	OPT_NAME,
	OPT_ENV_FILE,
	OPT_ENTRYPOINT,
	OPT_TMPFS,
	OPT_READ_ONLY,
	OPT_NETWORK,
	OPT_MEMORY_SWAP,
	OPT_CPUS,
	OPT_PIDS_LIMIT,
	OPT_ULIMIT,
	OPT_INIT,
	OPT_PRIVILEGED,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_SECURITY_OPT,
	OPT_PUBLISH,
	OPT_PULL,
	OPT_PLATFORM,
};

static const struct option run_longopts[] = {
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	{ "volume", required_argument, NULL, 'v' },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "net", required_argument, NULL, OPT_NETWORK },
	{ "memory", required_argument, NULL, 'm' },
	{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-shares", required_argument, NULL, 'c' },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "ulimit", required_argument, NULL, OPT_ULIMIT },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
	{ "publish", required_argument, NULL, 'p' },
	{ "pull", required_argument, NULL, OPT_PULL },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ 0 },
};

enum pull_policy { PULL_MISSING, PULL_ALWAYS, PULL_NEVER };

struct run_flags {
	bool detach;
	enum pull_policy pull;
	const char *platform;
	const char *name;
	bool rm;
	struct spec_options spec;
	/* owned storage behind spec */
	char **env, **cap_add, **cap_drop, **tmpfs, **entrypoint;
	struct spec_volume *volumes;
	struct spec_ulimit *ulimits;
};

static void strv_push(char ***v, const char *s)
{
	size_t n = 0;
	while (*v && (*v)[n])
		n++;
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

static void run_flags_free(struct run_flags *f)
{
	mctr_strv_free(f->env);
	mctr_strv_free(f->cap_add);
	mctr_strv_free(f->cap_drop);
	mctr_strv_free(f->tmpfs);
	mctr_strv_free(f->entrypoint);
	for (size_t i = 0; i < f->spec.n_volumes; i++)
		spec_volume_free(&f->volumes[i]);
	free(f->volumes);
	free(f->ulimits);
}

/* -e KEY=VALUE, or KEY alone: its value in mctr's environment if set. */
static void add_env(struct run_flags *f, const char *kv)
{
	if (strchr(kv, '=') != NULL) {
		strv_push(&f->env, kv);
		return;
	}
	const char *v = getenv(kv);
	if (v != NULL) {
		_cleanup_free_ char *s = xasprintf("%s=%s", kv, v);
		strv_push(&f->env, s);
	}
}

static int read_env_file(struct run_flags *f, const char *path, struct mctr_err *err)
{
	_cleanup_fclose_ FILE *fp = fopen(path, "re");
	if (fp == NULL)
		return mctr_fail_errno(err, "--env-file %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		add_env(f, p);
	}
	free(line);
	return 0;
}

/* -v HOST:CTR: Docker creates a missing host directory. */
static int add_volume(struct run_flags *f, const char *arg, struct mctr_err *err)
{
	struct spec_volume v = { 0 };
	if (spec_parse_volume(arg, &v, err) < 0)
		return -1;
	struct stat sb;
	if (stat(v.source, &sb) < 0 && (errno != ENOENT || mkdir_p_at(AT_FDCWD, v.source, 0755, err) < 0)) {
		if (err->msg[0] == '\0')
			mctr_fail_errno(err, "-v %s: host path %s", arg, v.source);
		spec_volume_free(&v);
		return -1;
	}
	f->volumes = xrealloc(f->volumes, (f->spec.n_volumes + 1) * sizeof *f->volumes);
	f->volumes[f->spec.n_volumes++] = v;
	f->spec.volumes = f->volumes;
	return 0;
}

/* --entrypoint is one executable (Docker does not split it); "" clears. */
static char **entrypoint_argv(const char *s)
{
	char **v = xcalloc(2, sizeof(char *));
	if (s[0] != '\0')
		v[0] = xstrdup(s);
	return v;
}

static int parse_int64(const char *s, const char *what, int64_t *out, struct mctr_err *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return mctr_fail(err, 0, "invalid %s \"%s\"", what, s);
	*out = v;
	return 0;
}

static int handle_opt(struct run_flags *f, int c, const char *arg, struct mctr_err *err)
{
	struct spec_options *s = &f->spec;
	int64_t v = 0;
	switch (c) {
	case 'd': f->detach = true; return 0;
	case 'i': s->interactive = true; return 0;
	case 't': s->tty = true; return 0;
	case OPT_RM:
		f->rm = true;
		s->volatile_upper = true; /* a throwaway writable layer */
		return 0;
	case OPT_NAME: f->name = arg; return 0;
	case 'e': add_env(f, arg); return 0;
	case OPT_ENV_FILE: return read_env_file(f, arg, err);
	case 'w': s->workdir = arg; return 0;
	case 'u': s->user = arg; return 0;
	case 'h': s->hostname = arg; return 0;
	case OPT_ENTRYPOINT:
		mctr_strv_free(f->entrypoint);
		f->entrypoint = entrypoint_argv(arg);
		s->entrypoint = f->entrypoint;
		s->entrypoint_set = true;
		return 0;
	case 'v': return add_volume(f, arg, err);
	case OPT_TMPFS: strv_push(&f->tmpfs, arg); return 0;
	case OPT_READ_ONLY: s->read_only = true; return 0;
	case OPT_NETWORK:
		if (strcmp(arg, "none") == 0)
			s->network = SPEC_NET_NONE;
		else if (strcmp(arg, "host") == 0)
			s->network = SPEC_NET_HOST;
		else if (strcmp(arg, "private") == 0 || strcmp(arg, "default") == 0)
			s->network = SPEC_NET_PRIVATE;
		else
			return mctr_fail(err, 0, "unsupported --network \"%s\" (none, host; bridges are not there yet)", arg);
		return 0;
	case 'm':
		s->has_memory = true;
		return spec_parse_size(arg, &s->memory, err) < 0 ? mctr_err_wrap(err, "--memory") : 0;
	case OPT_MEMORY_SWAP:
		s->has_memory_swap = true;
		if (strcmp(arg, "-1") == 0) {
			s->memory_swap = -1;
			return 0;
		}
		return spec_parse_size(arg, &s->memory_swap, err) < 0 ? mctr_err_wrap(err, "--memory-swap") : 0;
	case OPT_CPUS:
		s->has_cpus = true;
		return cgroup_parse_cpus(arg, &s->nanocpus, err) < 0 ? mctr_err_wrap(err, "--cpus") : 0;
	case 'c':
		if (parse_int64(arg, "--cpu-shares", &v, err) < 0)
			return -1;
		s->has_cpu_shares = v > 0;
		s->cpu_shares = (uint64_t)v;
		return 0;
	case OPT_PIDS_LIMIT:
		if (parse_int64(arg, "--pids-limit", &v, err) < 0)
			return -1;
		s->has_pids_limit = true;
		s->pids_limit = v;
		return 0;
	case OPT_ULIMIT:
		f->ulimits = xrealloc(f->ulimits, (s->n_ulimits + 1) * sizeof *f->ulimits);
		if (spec_parse_ulimit(arg, &f->ulimits[s->n_ulimits], err) < 0)
			return -1;
		s->n_ulimits++;
		s->ulimits = f->ulimits;
		return 0;
	case OPT_INIT: s->init = true; return 0;
	case OPT_PRIVILEGED: s->privileged = true; return 0;
	case OPT_CAP_ADD: strv_push(&f->cap_add, arg); s->cap_add = f->cap_add; return 0;
	case OPT_CAP_DROP: strv_push(&f->cap_drop, arg); s->cap_drop = f->cap_drop; return 0;
	case OPT_SECURITY_OPT:
		if (strcmp(arg, "no-new-privileges") == 0 || strcmp(arg, "no-new-privileges:true") == 0 ||
		    strcmp(arg, "no-new-privileges=true") == 0) {
			s->no_new_privileges = true;
			return 0;
		}
		if (strcmp(arg, "no-new-privileges:false") == 0 || strcmp(arg, "no-new-privileges=false") == 0)
			return 0;
		return mctr_fail(err, 0, "unsupported --security-opt \"%s\" (no-new-privileges)", arg);
	case OPT_PULL:
		if (strcmp(arg, "missing") == 0)
			f->pull = PULL_MISSING;
		else if (strcmp(arg, "always") == 0)
			f->pull = PULL_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			f->pull = PULL_NEVER;
		else
			return mctr_fail(err, 0, "invalid --pull \"%s\" (missing, always or never)", arg);
		return 0;
	case OPT_PLATFORM:
		f->platform = arg;
		return 0;
	case 'p':
		return mctr_fail(err, 0, "-p %s: publishing ports needs bridge networking, which mctr does not have yet",
		                 arg);
	default:
		return mctr_fail(err, 0, "unhandled option");
	}
}

/* Parse run/create flags; optind is left at IMAGE. */
static int parse_run_flags(int argc, char **argv, const char *usage, struct run_flags *f, struct mctr_err *err)
{
	struct cli_opts o = { usage, "ditm:c:e:w:u:h:v:p:", run_longopts };
	f->pull = PULL_MISSING;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		if (c == CLI_HELP)
			return 1;
		if (c == '?')
			return cli_bad_option(err);
		if (handle_opt(f, c, optarg, err) < 0)
			return -1;
	}
	f->spec.env = f->env;
	f->spec.tmpfs = f->tmpfs;
	if (cli_want_operands(argc, optind, 1, -1, usage, err) < 0)
		return -1;
	f->spec.args = argv + optind + 1;
	return 0;
}

/* Pull through the registry module (loaded only now).  Progress goes to
 * stderr: stdout is the container's. */
static int pull_image(struct cli *cli, const struct run_flags *f, const char *image, struct mctr_err *err)
{
	int (*pull)(struct cli *, const char *, const struct pull_opts *, struct mctr_err *);
	void *sym = cli_module_symbol("mctr_pull_image", err);
	if (sym == NULL)
		return -1;
	memcpy(&pull, &sym, sizeof pull);
	struct pull_opts po = { .platform = f->platform, .out = stderr };
	return pull(cli, image, &po, err);
}

/* Is this failure "the image is not here" for something a registry could
 * have (a reference, not an ID)? */
static bool image_missing(const char *image, const struct mctr_err *err)
{
	struct image_ref ref = { 0 };
	if (strncmp(err->msg, "no such image", 13) != 0 || ref_parse(image, &ref, NULL) < 0)
		return false;
	_cleanup_free_ char *fam = ref_familiar(&ref);
	ref_clear(&ref);
	fprintf(stderr, "Unable to find image '%s' locally\n", fam);
	return true;
}

/* --pull always: pull first; missing (the default): create, and pull only if
 * the image was not there (one lookup on the common path); never. */
static int create_container(struct cli *cli, struct run_flags *f, const char *image, char id[CONTAINER_ID_LEN + 1],
                            struct mctr_err *err)
{
	struct store *st;
	struct ctr_store *cs;
	if (cli_store(cli, &st, err) < 0 || cli_ctr_store(cli, &cs, err) < 0 ||
	    (f->pull == PULL_ALWAYS && pull_image(cli, f, image, err) < 0))
		return -1;
	struct ctr_create_opts co = { .image = image, .name = f->name, .auto_remove = f->rm, .spec = &f->spec };
	if (ctr_create(st, cs, &co, id, err) == 0)
		return 0;
	if (f->pull != PULL_MISSING || !image_missing(image, err))
		return -1;
	mctr_err_clear(err);
	if (pull_image(cli, f, image, err) < 0)
		return -1;
	return ctr_create(st, cs, &co, id, err);
}

int cmd_run(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct run_flags f = { 0 };
	int rc = parse_run_flags(argc, argv, run_usage, &f, err);
	if (rc != 0) {
		run_flags_free(&f);
		return rc < 0 ? -1 : 0;
	}
	char id[CONTAINER_ID_LEN + 1];
	if (f.detach && f.spec.interactive && f.spec.tty)
		f.spec.interactive = false; /* nothing to attach to later yet */
	rc = create_container(cli, &f, argv[optind], id, err);
	bool interactive = f.spec.interactive;
	run_flags_free(&f);
	if (rc < 0)
		return -1;
	struct ctr_store *cs;
	if (cli_ctr_store(cli, &cs, err) < 0)
		return -1;
	if (f.detach) {
		if (monitor_start_detached(cs, id, true, err) < 0)
			return -1;
		printf("%s\n", id);
		return 0;
	}
	struct monitor_opts mo = { .cs = cs, .id = id, .attach = true, .interactive = interactive, .ready_fd = -1,
				   .remove_on_start_failure = true };
	rc = monitor_run(&mo, err);
	return rc;
}

static const char create_usage[] = "Usage: mctr create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
                                   "Create a container (start it with mctr start).  Options as mctr run.\n";

int cmd_create(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct run_flags f = { 0 };
	int rc = parse_run_flags(argc, argv, create_usage, &f, err);
	if (rc == 0 && f.detach)
		rc = mctr_fail(err, 0, "create: -d makes no sense (mctr start runs it detached)");
	if (rc != 0) {
		run_flags_free(&f);
		return rc < 0 ? -1 : 0;
	}
	char id[CONTAINER_ID_LEN + 1];
	rc = create_container(cli, &f, argv[optind], id, err);
	run_flags_free(&f);
	if (rc < 0)
		return -1;
	printf("%s\n", id);
	return 0;
}

static const char start_usage[] = "Usage: mctr start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                                  "Start created or exited containers.\n\n"
                                  "Options:\n"
                                  "  -a, --attach        attach output and return the container's exit code\n"
                                  "  -i, --interactive   attach stdin too\n";

int cmd_start(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "attach", no_argument, NULL, 'a' }, { "interactive", no_argument, NULL, 'i' }, { 0 } };
	struct cli_opts o = { start_usage, "ai", longopts };
	bool attach = false, interactive = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'a':
			attach = true;
			break;
		case 'i':
			interactive = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, attach ? 1 : -1, start_usage, err) < 0)
		return -1;
	struct ctr_store *cs;
	if (cli_ctr_store(cli, &cs, err) < 0)
		return -1;
	for (int i = optind; i < argc; i++) {
		char id[CONTAINER_ID_LEN + 1];
		struct ctr_state st;
		if (ctr_lookup(cs, argv[i], id, err) < 0 || ctr_state_read(cs, id, &st, err) < 0)
			return -1;
		ctr_state_reconcile(&st);
		bool running = st.status == CTR_RUNNING;
		ctr_state_clear(&st);
		if (running) {
			if (!attach)
				printf("%s\n", argv[i]);
			continue;
		}
		if (attach) {
			struct monitor_opts mo = { .cs = cs, .id = id, .attach = true, .interactive = interactive,
						   .ready_fd = -1 };
			return monitor_run(&mo, err);
		}
		if (monitor_start_detached(cs, id, false, err) < 0)
			return -1;
		printf("%s\n", argv[i]);
	}
	return 0;
}
