/*
 * The web pages authd serves itself (authd/web, embedded at build time by
 * cmake/gen_web.py): the login page and the console, one HTML shell and its
 * assets. The shell answers every page path; its scripts pick the page.
 */
#ifndef AUTHD_PAGES_H
#define AUTHD_PAGES_H

#include <stdbool.h>
#include <stddef.h>

struct req;

struct web_asset {
	const char *path; /* "/index.html", "/assets/app.css" */
	const char *type; /* the Content-Type */
	const unsigned char *data;
	size_t len;
	const char *etag; /* quoted, as sent */
};
extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

/* The asset at URL path (no query), or NULL. */
const struct web_asset *pages_asset(const char *path);

/* Whether path (no query, no version) is a page: the shell answers it. */
bool pages_is_page(const char *path);

/*
 * Answers a GET of a page or an asset and returns true; false when path
 * names neither (the API's router goes on). path has no leading slash and
 * no version. Loop thread.
 */
bool pages_serve(struct req *r, const char *path);

#endif
