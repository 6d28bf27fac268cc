/*
 * GET of the web pages: the shell (index.html) for every page path, and the
 * assets by their path. Both are anonymous and hold nothing of any account:
 * what a page shows it asks the API for, with the session cookie, and the
 * API's policy decides. Assets are revalidated by ETag (304), the shell
 * is never stored.
 */
#include "http.h"
#include "pages.h"

#include <libwebsockets.h>
#include <string.h>

/* The paths the shell answers: its scripts route on location.pathname.
 * The last four are the links of authd's emails. */
static const char *const page_paths[] = {
    "",	      "login",		"signup",	"forgot-password", "forgot-login",
    "verify", "recovery/reset", "email/verify", "account/close",   "invitations/accept",
};

const struct web_asset *pages_asset(const char *path)
{
	for (size_t i = 0; i < web_assets_count; i++)
		if (strcmp(web_assets[i].path, path) == 0)
			return &web_assets[i];
	return NULL;
}

bool pages_is_page(const char *path)
{
	for (size_t i = 0; i < sizeof(page_paths) / sizeof(page_paths[0]); i++)
		if (strcmp(page_paths[i], path) == 0)
			return true;
	/* The console: /console and everything under it. */
	return strcmp(path, "console") == 0 || strncmp(path, "console/", 8) == 0;
}

static bool etag_matches(struct req *r, const char *etag)
{
	char have[128];

	if (r->wsi == NULL ||
	    lws_hdr_copy(r->wsi, have, sizeof(have), WSI_TOKEN_HTTP_IF_NONE_MATCH) <= 0)
		return false;
	return strstr(have, etag) != NULL;
}

bool pages_serve(struct req *r, const char *path)
{
	const struct web_asset *a = NULL;
	char full[sizeof(r->path) + 1];
	bool shell = false;

	if (pages_is_page(path)) {
		a = pages_asset("/index.html");
		shell = true;
	} else if (strncmp(path, "assets/", 7) == 0) {
		snprintf(full, sizeof(full), "/%s", path);
		a = pages_asset(full);
	}
	if (a == NULL)
		return false;
	if (!router_anonymous_allowed(ACT_PAGE)) {
		reply_error(r, E_FORBIDDEN);
		return true;
	}
	if (!shell) {
		r->cacheable = true;
		req_add_header(r, "ETag", a->etag);
		if (etag_matches(r, a->etag)) {
			reply_bytes(r, 304, NULL, 0, NULL);
			return true;
		}
	}
	/* The bytes are the binary's: never freed. */
	r->resp_static = true;
	reply_bytes(r, 200, (char *)(uintptr_t)a->data, a->len, a->type);
	return true;
}
