#!/usr/bin/env python3
"""Embeds authd's web pages (authd/web: the login page and the console) in
the binary, so that authd alone serves them: each file becomes a byte
array with its URL path, its content type and an ETag (a prefix of its
SHA-256), listed in web_assets[] (http_pages.c).

usage: gen_web.py WEB_DIR OUT.c FILE...   (FILE: a path under WEB_DIR)
"""

import hashlib
import json
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


def main():
    root, dest = sys.argv[1:3]
    rows = []
    arrays = []
    files = [f for f in sys.argv[3:]
             if not os.path.basename(f).startswith(".") and not f.endswith("~")]
    for i, rel in enumerate(sorted(files)):
        ext = os.path.splitext(rel)[1]
        if ext not in TYPES:
            sys.exit(f"gen_web.py: {rel}: no content type for {ext!r}")
        with open(os.path.join(root, rel), "rb") as f:
            data = f.read()
        etag = hashlib.sha256(data).hexdigest()[:20]
        nums = [str(b) for b in data] or ["0"]  # an empty file: one byte, length 0
        lines = [",".join(nums[j:j + 24]) + "," for j in range(0, len(nums), 24)]
        arrays.append("static const unsigned char a%d[] = {\n%s};\n" % (i, "\n".join(lines)))
        # json.dumps quotes and escapes as a C string literal needs (ASCII).
        rows.append('    {%s, "%s", a%d, %d, "\\"%s\\""},'
                    % (json.dumps("/" + rel), TYPES[ext], i, len(data), etag))
    with open(dest + ".tmp", "w", encoding="utf-8") as f:
        f.write("/* Generated from authd/web by cmake/gen_web.py: do not edit. */\n")
        f.write('#include "pages.h"\n\n')
        f.write("".join(arrays))
        f.write("\nconst struct web_asset web_assets[] = {\n%s\n};\n" % "\n".join(rows))
        f.write("const size_t web_assets_count = %d;\n" % len(rows))
    os.replace(dest + ".tmp", dest)


if __name__ == "__main__":
    main()
