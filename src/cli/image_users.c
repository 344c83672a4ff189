/* Which containers use an image (rmi and image prune must not pull an
 * image from under a container). */
#include "cli.h"
#include "mctr/container.h"

int cli_image_users(struct cli *cli, const char *image_id, char ***users, struct mctr_err *err)
{
	struct ctr_store *cs;
	if (cli_ctr_store(cli, &cs, err) < 0)
		return -1;
	return ctr_users_of_image(cs, image_id, users, err);
}
