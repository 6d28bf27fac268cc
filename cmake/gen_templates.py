#!/usr/bin/env python3
"""Embeds authd's message templates (authd/templates/<lang>/<name>.txt) in
the binary as C strings, so that authd sends its messages without any file
installed; an operator's [outbox] templates folder overrides them file by
file (templates.c).

usage: gen_templates.py TEMPLATES_DIR OUT.c FILE...   (FILE: <lang>/<name>.txt)
"""

import os
import sys


def escape(c):
    if 0x20 <= ord(c) < 0x7F and c not in '"\\?':
        return c
    return "".join("\\%03o" % b for b in c.encode("utf-8"))


def c_string(text):
    lines = ['"%s"' % "".join(escape(c) for c in line) for line in text.splitlines(keepends=True)]
    return "\n    ".join(lines) if lines else '""'


def main():
    root, dest = sys.argv[1:3]
    rows = []
    for rel in sorted(sys.argv[3:]):
        lang, name = rel.split("/")
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        rows.append('    {"%s", "%s",\n    %s},' % (lang, name[: -len(".txt")], c_string(text)))
    with open(dest, "w", encoding="utf-8") as f:
        f.write("/* Generated from authd/templates by cmake/gen_templates.py: do not edit. */\n")
        f.write('#include "templates.h"\n\n')
        f.write("const struct template_builtin template_builtins[] = {\n")
        f.write("\n".join(rows))
        f.write("\n};\nconst size_t template_builtins_count = %d;\n" % len(rows))


if __name__ == "__main__":
    main()
