/* The command line /proc/PID/cmdline shows.  A process forked from mctr (the
 * container's built-in init) would show mctr's own argv, host paths included,
 * to everyone in the container; it can overwrite that memory in place
 * (PR_SET_MM would need CAP_SYS_RESOURCE, which a runtime cannot assume). */
#ifndef MCTR_PROCTITLE_H
#define MCTR_PROCTITLE_H

/* Remember where argv lives (call from main). */
void proctitle_init(int argc, char **argv);

/* Replace the whole command line with title (truncated to what fits). */
void proctitle_set(const char *title);

#endif
