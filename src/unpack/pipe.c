/* Bounded byte ring between two threads of the unpack pipeline.  Bounded so a
 * fast producer (a file, the network) cannot run ahead of extraction by more
 * than a few MiB; read in place so the tar reader gets its input without a copy. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mctr/fsutil.h"

void byte_pipe_init(struct byte_pipe *p, size_t cap)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->readable, NULL);
	pthread_cond_init(&p->writable, NULL);
	p->buf = xmalloc(cap);
	p->cap = cap;
}

void byte_pipe_destroy(struct byte_pipe *p)
{
	if (p->buf == NULL)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->readable);
	pthread_cond_destroy(&p->writable);
	free(p->buf);
	p->buf = NULL;
}

/* Caller holds mu. */
static size_t free_run(const struct byte_pipe *p, size_t *tail)
{
	*tail = (p->head + p->len) % p->cap;
	if (p->len == p->cap)
		return 0;
	if (*tail >= p->head)
		return p->cap - *tail;
	return p->head - *tail;
}

int byte_pipe_reserve(struct byte_pipe *p, void **ptr, size_t *space)
{
	size_t tail, n;
	pthread_mutex_lock(&p->mu);
	/* An empty ring starts over at 0 so the next region is as long as can
	 * be (only the producer may move head here: it holds no region now). */
	if (p->len == 0)
		p->head = 0;
	while (!p->aborted && (n = free_run(p, &tail)) == 0)
		pthread_cond_wait(&p->writable, &p->mu);
	int ret = p->aborted ? -1 : 0;
	pthread_mutex_unlock(&p->mu);
	if (ret == 0) {
		*ptr = p->buf + tail;
		*space = n;
	}
	return ret;
}

void byte_pipe_commit(struct byte_pipe *p, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->len += n;
	pthread_cond_signal(&p->readable);
	pthread_mutex_unlock(&p->mu);
}

int byte_pipe_write(struct byte_pipe *p, const void *buf, size_t len)
{
	const unsigned char *src = buf;
	while (len > 0) {
		void *dst;
		size_t space;
		if (byte_pipe_reserve(p, &dst, &space) < 0)
			return -1;
		size_t n = len < space ? len : space;
		memcpy(dst, src, n);
		byte_pipe_commit(p, n);
		src += n;
		len -= n;
	}
	return 0;
}

size_t byte_pipe_room(struct byte_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	size_t room = p->aborted ? 0 : p->cap - p->len;
	pthread_mutex_unlock(&p->mu);
	return room;
}

int byte_pipe_try_write(struct byte_pipe *p, const void *buf, size_t len)
{
	pthread_mutex_lock(&p->mu);
	bool aborted = p->aborted;
	size_t room = p->cap - p->len;
	pthread_mutex_unlock(&p->mu);
	if (aborted)
		return -1;
	if (room < len)
		return 1;
	/* Single producer: the room seen can only grow, so this never waits. */
	return byte_pipe_write(p, buf, len);
}

void byte_pipe_close(struct byte_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->eof = true;
	pthread_cond_signal(&p->readable);
	pthread_mutex_unlock(&p->mu);
}

int byte_pipe_peek(struct byte_pipe *p, size_t max, const void **ptr, size_t *avail)
{
	pthread_mutex_lock(&p->mu);
	while (!p->aborted && p->len == 0 && !p->eof)
		pthread_cond_wait(&p->readable, &p->mu);
	int ret = p->aborted ? -1 : 0;
	size_t n = p->len;
	if (n > p->cap - p->head)
		n = p->cap - p->head; /* up to the end of the ring */
	if (n > max)
		n = max;
	*ptr = p->buf + p->head;
	*avail = ret == 0 ? n : 0;
	pthread_mutex_unlock(&p->mu);
	return ret;
}

void byte_pipe_consume(struct byte_pipe *p, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->len -= n;
	p->head = (p->head + n) % p->cap;
	pthread_cond_signal(&p->writable);
	pthread_mutex_unlock(&p->mu);
}

void byte_pipe_abort(struct byte_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->aborted = true;
	pthread_cond_broadcast(&p->readable);
	pthread_cond_broadcast(&p->writable);
	pthread_mutex_unlock(&p->mu);
}
