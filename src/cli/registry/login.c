/* mctr login / logout: credentials in Docker's config.json, checked against
 * the registry before they are written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/regconfig.h"
#include "mctr/regcreds.h"
#include "mctr/registry.h"

#define SECRET_MAX 4096

static const char login_usage[] = "Usage: mctr login [OPTIONS] [REGISTRY]\n\n"
                                  "Log in to a registry (default Docker Hub).  The credentials are checked\n"
                                  "against the registry, then stored in $DOCKER_CONFIG/config.json\n"
                                  "(default ~/.docker/config.json), mode 0600.\n\n"
                                  "Options:\n"
                                  "  -u, --username USER         user name (asked on the terminal if missing)\n"
                                  "  -p, --password PASSWORD     password (visible to other users: prefer\n"
                                  "                              --password-stdin)\n"
                                  "      --password-stdin        read the password from standard input\n"
                                  "      --tls-verify=false      do not verify TLS; allow plain HTTP\n";

static const char logout_usage[] = "Usage: mctr logout [REGISTRY]\n\n"
                                   "Remove the stored credentials of a registry (default Docker Hub).\n";

/* The registry a login argument names, as a reference domain. */
static char *registry_arg(int argc, char **argv, int first)
{
	return regcreds_normalize_key(first < argc ? argv[first] : "docker.io");
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* A line from the terminal (echo off for secrets). */
static int ask(const char *prompt, bool secret, char **out, struct mctr_err *err)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || !isatty(fd))
		return mctr_fail(err, 0, "cannot ask for the %s: no terminal (use -u and --password-stdin)",
		                 secret ? "password" : "user name");
	struct termios old, quiet;
	bool restore = false;
	if (secret && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	(void)!write(fd, prompt, strlen(prompt));
	char buf[SECRET_MAX];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		(void)!write(fd, "\n", 1);
	}
	if (n < 0)
		return mctr_fail_errno(err, "read from the terminal");
	buf[n > 0 ? n : 0] = '\0';
	chomp(buf);
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

static int read_stdin_secret(char **out, struct mctr_err *err)
{
	char *buf;
	size_t len;
	if (fd_read_all(0, SECRET_MAX, &buf, &len, err) < 0)
		return mctr_err_wrap(err, "--password-stdin");
	chomp(buf);
	*out = buf;
	return 0;
}

int mctr_cmd_login(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	enum { OPT_STDIN = 0x100, OPT_TLS_VERIFY };
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, OPT_STDIN },
		{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
		{ 0 },
	};
	struct cli_opts co = { login_usage, "u:p:", longopts };
	const char *user = NULL, *pass = NULL;
	bool from_stdin = false, tls_off = false;
	int c;
	while ((c = cli_getopt(argc, argv, &co)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case OPT_STDIN:
			from_stdin = true;
			break;
		case OPT_TLS_VERIFY:
			if (cli_parse_tls_verify(optarg, &tls_off, err) < 0)
				return -1;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 1, login_usage, err) < 0)
		return -1;
	if (pass != NULL && from_stdin)
		return mctr_fail(err, 0, "--password and --password-stdin are mutually exclusive");
	if (from_stdin && user == NULL)
		return mctr_fail(err, 0, "--password-stdin needs --username");
	_cleanup_free_ char *domain = registry_arg(argc, argv, optind);
	struct reg_creds creds = { 0 };
	struct reg_config cfg;
	struct registry_client *client = NULL;
	_cleanup_free_ char *path = regcreds_default_path();
	int rc = -1;
	if (regconfig_load(NULL, &cfg, err) < 0)
		return -1;
	if (pass != NULL)
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	if (user != NULL)
		creds.username = xstrdup(user);
	else if (ask("Username: ", false, &creds.username, err) < 0)
		goto out;
	if (pass != NULL)
		creds.password = xstrdup(pass);
	else if (from_stdin && read_stdin_secret(&creds.password, err) < 0)
		goto out;
	else if (!from_stdin && ask("Password: ", true, &creds.password, err) < 0)
		goto out;
	if (creds.username[0] == '\0' || creds.password[0] == '\0') {
		mctr_fail(err, 0, "user name and password must not be empty");
		goto out;
	}
	struct registry_client_opts o = { .config = &cfg, .creds = &creds, .tls_verify_off = tls_off,
		                          .no_mirrors = true };
	if (registry_client_new(domain, NULL, &o, &client, err) < 0 || registry_check_login(client, err) < 0 ||
	    regcreds_save(path, domain, &creds, err) < 0) {
		mctr_err_wrap(err, "login to %s", domain);
		goto out;
	}
	fprintf(stderr, "WARNING! Your password is stored unencrypted in %s.\n", path);
	printf("Login Succeeded\n");
	rc = 0;
out:
	registry_client_free(client);
	regcreds_clear(&creds);
	regconfig_clear(&cfg);
	(void)cli;
	return rc;
}

int mctr_cmd_logout(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct cli_opts co = { logout_usage, "", NULL };
	int c;
	while ((c = cli_getopt(argc, argv, &co)) != -1) {
		switch (c) {
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 1, logout_usage, err) < 0)
		return -1;
	_cleanup_free_ char *domain = registry_arg(argc, argv, optind);
	_cleanup_free_ char *path = regcreds_default_path();
	_cleanup_free_ char *key = regcreds_key(domain);
	bool removed;
	if (regcreds_remove(path, domain, &removed, err) < 0)
		return -1;
	if (removed)
		printf("Removing login credentials for %s\n", key);
	else
		printf("Not logged in to %s\n", key);
	(void)cli;
	return 0;
}
