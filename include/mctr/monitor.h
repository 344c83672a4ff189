/* The monitor: the mctr process that starts a container stays with it
 * (there is no daemon).  In the foreground it relays the terminal or the
 * output, forwards signals and returns the container's exit code; detached
 * (-d) it is a small process of its own that keeps the logs.  Either way it
 * records the end (exit code, OOM) in state.json and cleans up: cgroup, and
 * with --rm the whole container. */
#ifndef MCTR_MONITOR_H
#define MCTR_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "mctr/container.h"
#include "mctr/err.h"

struct monitor_opts {
	struct ctr_store *cs;
	const char *id;
	bool attach;        /* relay output to this process's stdout/stderr */
	bool interactive;   /* give the container this process's stdin */
	int ready_fd;       /* detached: "ok\n" or the error is written here once started */
	bool remove_on_start_failure; /* `run`: a container that never ran leaves nothing behind */
};

/* Run the (created) container to its end.  Returns its exit code (0-255),
 * or -1 if it could not be started (err says why; err->status may be
 * 126/127). */
int monitor_run(const struct monitor_opts *o, struct mctr_err *err);

/* Stay with a process started in a container (exec) until it exits: relay
 * its terminal if it has one (stdin too when interactive), forward signals,
 * restore the terminal.  Returns its exit code. */
int monitor_attach_process(pid_t pid, int pidfd, int pty_master, bool interactive);

/* The size of the terminal on our stdin (left as is if there is none). */
void monitor_terminal_size(unsigned short *rows, unsigned short *cols);

/* Start the container with a detached monitor process; returns once it is
 * running (or failed to start). */
int monitor_start_detached(struct ctr_store *cs, const char *id, bool remove_on_start_failure, struct mctr_err *err);

#endif
