#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a man page (section 3) for each function a public header declares.

The header comments are the manual, so the pages are made from them: the
comment right above a run of declarations documents each of them. A line
"Context: ..." becomes the CONTEXT section, "Return: ..." RETURN VALUE.

Usage: header2man.py --outdir DIR --version V --only NAMES HEADER...
Every name in NAMES (comma-separated) must be declared and documented, or
the script fails: a function nobody described is a bug in the header.
"""
import argparse
import os
import re
import sys

DECL = re.compile(r'^[a-z_][\w \*]*?\b(\w+)\((?:[^;]*)\);', re.S)


def blocks(text):
    """Yield (comment, declaration) pairs, in order."""
    comment = None
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('/*'):
            body = [line]
            while '*/' not in body[-1]:
                i += 1
                body.append(lines[i])
            comment = '\n'.join(body)
            if comment.startswith('/* ----'):
                comment = None		# a section heading documents nothing
        elif re.match(r'^[a-z_]', line) and '(' in line and \
                not line.startswith(('static', 'typedef', 'enum')):
            decl = [line]
            while not decl[-1].rstrip().endswith(';'):
                i += 1
                decl.append(lines[i])
            yield comment, '\n'.join(decl)
        elif not line.strip() and comment is not None:
            pass
        elif line.startswith(('#', 'static', 'struct', 'enum', 'typedef',
                              '}')):
            comment = None
        i += 1


def clean(comment):
    """The comment's text, without the comment markers."""
    out = []
    for line in comment.split('\n'):
        line = re.sub(r'^\s*/?\*+/?', '', line)
        line = re.sub(r'\*/\s*$', '', line)
        out.append(line.strip())
    return ' '.join(x for x in out if x)


def sections(text, name):
    """Split 'name() - summary. Body. Context: ... Return: ...'.

    A comment may describe a pair ("mt_next() - ... mt_prev() - ..."):
    each name takes its summary from its own part.
    """
    body = re.sub(r'^[\w, ]+\(\)(?: / \w+\(\))* - ', '', text)
    parts = re.split(r'\b(Context|Return):\s*', body)
    desc, extra = parts[0].strip(), {}
    for k in range(1, len(parts) - 1, 2):
        extra[parts[k]] = parts[k + 1].strip()
    own = re.search(r'\b%s\(\) - (.*?)(?=\s\w+\(\) - |$)' % name, desc)
    first = own.group(1) if own else desc
    summary = re.split(r'(?<=\.)\s', first, maxsplit=1)[0].rstrip('.')
    return summary, desc, extra


def troff(s):
    s = s.replace('\\', '\\e').replace('-', '\\-')
    s = re.sub(r'@(\w+)', r'\\fI\1\\fR', s)
    return re.sub(r'^([.\'])', r'\\&\1', s)


def page(name, header, decl, text, version):
    summary, desc, extra = sections(text, name)
    lines = [
        '.TH %s 3 "" "mapletree %s" "mapletree manual"' % (
            name.upper(), version),
        '.SH NAME', '%s \\- %s' % (name.replace('_', '\\_'),
                                   troff(summary)),
        '.SH SYNOPSIS', '.nf',
        '.B #include <mapletree/%s>' % os.path.basename(header),
        '.sp', troff(' '.join(decl.split())), '.fi',
        '.PP', 'Link with \\fB$(pkg\\-config \\-\\-libs %s)\\fR.' % (
            'mapletree\\-gpuvm' if 'gpuvm' in header else 'mapletree'),
        '.SH DESCRIPTION', troff(desc),
    ]
    if 'Context' in extra:
        lines += ['.SH CONTEXT', troff(extra['Context'])]
    if 'Return' in extra:
        lines += ['.SH RETURN VALUE', troff(extra['Return'])]
    lines += ['.SH SEE ALSO',
              '\\fBmapletree\\fR(7); docs/guide.md in the source tree.']
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--version', required=True)
    ap.add_argument('--only', required=True)
    ap.add_argument('headers', nargs='+')
    args = ap.parse_args()
    found = {}
    for header in args.headers:
        with open(header) as f:
            for comment, decl in blocks(f.read()):
                m = DECL.match(decl)
                if m and comment:
                    found[m.group(1)] = (header, decl, clean(comment))
    missing = []
    for name in args.only.split(','):
        if name not in found:
            missing.append(name)
            continue
        header, decl, text = found[name]
        with open(os.path.join(args.outdir, name + '.3'), 'w') as f:
            f.write(page(name, header, decl, text, args.version))
    if missing:
        sys.exit('header2man: not declared with a comment: ' +
                 ', '.join(missing))


if __name__ == '__main__':
    main()
