/* Tar entry names: normalization and refusal of names that could leave the
 * layer directory, printable forms for messages, and the per-layer path
 * records (whiteouts made, directories whose times are set at the end). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mctr/fsutil.h"

static void tar_path_reserve(struct tar_path *p, size_t len)
{
	if (len + 1 > p->cap) {
		p->cap = len + 1 + 256;
		p->joined = xrealloc(p->joined, p->cap);
		p->split = xrealloc(p->split, p->cap);
	}
}

static void tar_path_add(struct tar_path *p, const char *c, size_t n)
{
	if (p->ncomp == p->comp_cap) {
		p->comp_cap = p->comp_cap ? 2 * p->comp_cap : 16;
		p->start = xrealloc(p->start, p->comp_cap * sizeof *p->start);
	}
	size_t at = p->len == 0 ? 0 : p->len + 1;
	if (p->len > 0)
		p->joined[p->len] = '/';
	memcpy(p->joined + at, c, n);
	memcpy(p->split + at, c, n);
	p->split[at + n] = '\0';
	p->len = at + n;
	p->joined[p->len] = '\0';
	p->start[p->ncomp++] = at;
}

int tar_path_parse(struct tar_path *p, const char *raw, const char **why)
{
	size_t rawlen = strlen(raw);
	tar_path_reserve(p, rawlen);
	p->len = 0;
	p->ncomp = 0;
	p->joined[0] = '\0';
	if (raw[0] == '/') {
		*why = "absolute name";
		return -1;
	}
	for (const char *c = raw; *c != '\0';) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			*why = "name has a \"..\" component";
			return -1;
		}
		/* "", "." components: "./a", "a//b", "a/./b", "dir/" */
		if (n > 0 && !(n == 1 && c[0] == '.'))
			tar_path_add(p, c, n);
		c = *end == '/' ? end + 1 : end;
	}
	return 0;
}

void tar_path_free(struct tar_path *p)
{
	free(p->joined);
	free(p->split);
	free(p->start);
	memset(p, 0, sizeof *p);
}

const char *shown_name(const char *raw, char buf[SHOWN_NAME_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	buf[o++] = '"';
	for (const unsigned char *s = (const unsigned char *)raw; *s != '\0'; s++) {
		if (o > SHOWN_NAME_MAX - 10) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\') {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*s >> 4];
			buf[o++] = hex[*s & 15];
		} else {
			buf[o++] = (char)*s;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- path records ----------------------------------------------------------- */

static uint64_t hash_path(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint32_t *slot_for(struct path_recs *r, const char *path, size_t len)
{
	size_t mask = r->nslots - 1;
	for (size_t i = hash_path(path, len) & mask;; i = (i + 1) & mask) {
		uint32_t s = r->slots[i];
		if (s == 0)
			return &r->slots[i];
		const char *p = r->v[s - 1].path;
		if (strncmp(p, path, len) == 0 && p[len] == '\0')
			return &r->slots[i];
	}
}

static void rehash(struct path_recs *r)
{
	free(r->slots);
	r->nslots = r->nslots ? 2 * r->nslots : 256;
	r->slots = xcalloc(r->nslots, sizeof *r->slots);
	for (size_t i = 0; i < r->n; i++)
		*slot_for(r, r->v[i].path, strlen(r->v[i].path)) = (uint32_t)(i + 1);
}

struct path_rec *path_recs_find(struct path_recs *r, const char *path, size_t len)
{
	if (r->n == 0)
		return NULL;
	uint32_t s = *slot_for(r, path, len);
	return s == 0 ? NULL : &r->v[s - 1];
}

struct path_rec *path_recs_get(struct path_recs *r, const char *path, size_t len)
{
	struct path_rec *found = path_recs_find(r, path, len);
	if (found != NULL)
		return found;
	if (2 * (r->n + 1) > r->nslots)
		rehash(r);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	struct path_rec *rec = &r->v[r->n];
	memset(rec, 0, sizeof *rec);
	rec->path = xstrndup(path, len);
	*slot_for(r, path, len) = (uint32_t)(++r->n);
	return rec;
}

void path_recs_forget_tree(struct path_recs *r, const char *path, size_t len)
{
	/* Rare (an entry replacing a directory), so a scan is fine. */
	for (size_t i = 0; i < r->n; i++) {
		const char *p = r->v[i].path;
		if (len == 0 || (strncmp(p, path, len) == 0 && (p[len] == '\0' || p[len] == '/')))
			r->v[i].flags = 0;
	}
}

void path_recs_free(struct path_recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	free(r->slots);
	memset(r, 0, sizeof *r);
}
