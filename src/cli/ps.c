/* mctr ps: containers, as Docker's table or Podman's JSON. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/container.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/timeutil.h"

static const char usage[] = "Usage: mctr ps [OPTIONS]\n\n"
                            "List containers (running ones unless -a).\n\n"
                            "Options:\n"
                            "  -a, --all            show all containers\n"
                            "  -q, --quiet          only show IDs\n"
                            "      --no-trunc       full IDs and commands\n"
                            "      --format json    one JSON array (Podman's keys)\n";

/* "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
static void status_text(const struct ctr_state *s, char *buf, size_t len)
{
	char ago[64];
	switch (s->status) {
	case CTR_CREATED:
		snprintf(buf, len, "Created");
		return;
	case CTR_RUNNING:
		cli_format_ago(rfc3339_parse(s->started_at), ago, sizeof ago);
		/* "3 minutes ago" -> "Up 3 minutes" */
		if (strstr(ago, " ago") != NULL)
			*strstr(ago, " ago") = '\0';
		snprintf(buf, len, "Up %s", strncmp(ago, "Less than", 9) == 0 ? "Less than a second" : ago);
		return;
	case CTR_EXITED:
		cli_format_ago(rfc3339_parse(s->finished_at), ago, sizeof ago);
		snprintf(buf, len, "Exited (%d) %s", s->exit_code, s->finished_at ? ago : "");
		return;
	}
}

static char *command_string(const struct ctr_state *s)
{
	json_t *cmd = json_get_arr(s->extra, "command");
	size_t i;
	json_t *v;
	char *out = xstrdup("");
	json_array_foreach(cmd, i, v) {
		char *n = xasprintf("%s%s%s", out, i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
		free(out);
		out = n;
	}
	return out;
}

static json_t *ps_json(const struct ctr_state *s)
{
	char status[128];
	status_text(s, status, sizeof status);
	long long created = rfc3339_parse(s->created);
	long long started = rfc3339_parse(s->started_at), exited = rfc3339_parse(s->finished_at);
	json_t *cmd = json_get_arr(s->extra, "command");
	return json_pack("{s:b, s:O?, s:s?, s:I, s:s?, s:b, s:I, s:s, s:s?, s:s?, s:o, s:I, s:[s?], s:n, s:I, "
	                 "s:s, s:s, s:b, s:i}",
	                 "AutoRemove", s->auto_remove, "Command", cmd, "CreatedAt", s->created, "Created",
	                 (json_int_t)(created > 0 ? created : 0), "Image", s->image, "Exited",
	                 s->status == CTR_EXITED, "ExitedAt", (json_int_t)(exited > 0 ? exited : 0), "Id", s->id,
	                 "ImageID", s->image_id && strlen(s->image_id) > 7 ? s->image_id + 7 : NULL, "StartedAtText",
	                 s->started_at, "Mounts", json_array(), "StartedAt", (json_int_t)(started > 0 ? started : 0),
	                 "Names", s->name, "Ports", "Pid", (json_int_t)s->pid, "State",
	                 ctr_status_name(s->status), "Status", status, "OOMKilled", s->oom_killed, "ExitCode",
	                 s->exit_code);
}

int cmd_ps(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 },
	};
	struct cli_opts o = { usage, "aq", longopts };
	bool all = false, quiet = false, no_trunc = false, json = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
			no_trunc = true;
			break;
		case 'f':
			if (cli_parse_format(optarg, &json, err) < 0)
				return -1;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, usage, err) < 0)
		return -1;
	struct ctr_store *cs;
	_cleanup_strv_ char **ids = NULL;
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_list(cs, &ids, err) < 0)
		return -1;
	_cleanup_json_ json_t *arr = json_array();
	if (!json && !quiet)
		printf("%-12s   %-24s %-22s %-18s %-28s %-10s %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
		       "STATUS", "PORTS", "NAMES");
	for (char **p = ids; *p != NULL; p++) {
		struct ctr_state s;
		struct mctr_err ignored = { 0 };
		if (ctr_state_read(cs, *p, &s, &ignored) < 0)
			continue; /* being created or removed right now */
		ctr_state_reconcile(&s);
		if (!all && s.status != CTR_RUNNING) {
			ctr_state_clear(&s);
			continue;
		}
		if (json) {
			json_array_append_new(arr, ps_json(&s));
		} else if (quiet) {
			printf("%.*s\n", no_trunc ? CONTAINER_ID_LEN : 12, s.id);
		} else {
			char status[128], created[64];
			status_text(&s, status, sizeof status);
			cli_format_ago(rfc3339_parse(s.created), created, sizeof created);
			_cleanup_free_ char *cmd = command_string(&s);
			_cleanup_free_ char *quoted = xasprintf("\"%.*s%s\"", no_trunc ? 4096 : 18, cmd,
			                                        !no_trunc && strlen(cmd) > 18 ? "…" : "");
			printf("%-12.*s   %-24s %-22s %-18s %-28s %-10s %s\n", no_trunc ? CONTAINER_ID_LEN : 12, s.id,
			       s.image ? s.image : "", quoted, created, status, "", s.name ? s.name : "");
		}
		ctr_state_clear(&s);
	}
	if (json) {
		cli_print_json(arr);
	}
	return 0;
}
