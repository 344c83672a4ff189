/* Which containers use an image (rmi and image prune must not pull an
 * image from under a container).  Containers arrive with the runtime; until
 * then no image has users. */
#include "cli.h"
#include "mctr/fsutil.h"

int cli_image_users(struct cli *cli, const char *image_id, char ***users, struct mctr_err *err)
{
	*users = xcalloc(1, sizeof(char *));
	return 0;
}
