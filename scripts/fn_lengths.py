#!/usr/bin/env python3
"""Lists the functions longer than a limit (lines from `fn` to its closing brace), longest
first, and exits 1 if there is any: handlers stay small enough to read at a glance.

    python3 scripts/fn_lengths.py [--limit N] [PATH...]

PATH is a folder (walked for .rs files) or a file; by default the front doors, startup and the
CLI (the store is left out: its shared SQL is written through macros). Strings, raw strings,
char literals and comments are skipped, so braces inside them are not counted."""
import os
import re
import sys

DEFAULT_PATHS = ["src/api", "src/dashboard", "src/checkout", "src/dialects", "src/startup.rs", "src/cli", "src/inbox"]

FN = re.compile(r'\bfn\s+(\w+)')

def blank(src):
    """Replace the contents of comments/strings/chars with spaces, keeping newlines."""
    out = list(src); i = 0; n = len(src)
    def wipe(a, b):
        for k in range(a, b):
            if out[k] != '\n': out[k] = ' '
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i); j = n if j < 0 else j; wipe(i, j); i = j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2); j = n if j < 0 else j + 2; wipe(i, j); i = j
        elif re.match(r'b?r#*"', src[i:i+40]) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == '_')):
            m = re.match(r'b?r(#*)"', src[i:]); h = m.group(1)
            j = src.find('"' + h, i + m.end()); j = n if j < 0 else j + 1 + len(h)
            wipe(i + 1, j - 1); i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            wipe(i + 1, j); i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m: wipe(i + 1, i + m.end() - 1); i += m.end()
            else: i += 1  # a lifetime
        else:
            i += 1
    return ''.join(out)

def scan(path):
    src = blank(open(path).read())
    res = []
    for m in FN.finditer(src):
        i = m.end(); depth = 0
        while i < len(src):
            ch = src[i]
            if ch == ';' and depth == 0: break          # a declaration without body
            if ch == '{': depth += 1
            elif ch == '}':
                depth -= 1
                if depth == 0:
                    a = src.count('\n', 0, m.start()) + 1; b = src.count('\n', 0, i) + 1
                    res.append((b - a + 1, path, a, m.group(1))); break
            i += 1
    return res


def main(argv):
    limit, paths = 60, []
    args = iter(argv)
    for a in args:
        if a == "--limit":
            limit = int(next(args))
        else:
            paths.append(a)
    res = []
    for r in paths or DEFAULT_PATHS:
        files = [r] if r.endswith(".rs") else [
            os.path.join(d, f) for d, _, fs in os.walk(r) for f in fs if f.endswith(".rs")]
        for f in files:
            res += scan(f)
    over = [x for x in sorted(res, reverse=True) if x[0] > limit]
    for n, p, line, name in over:
        print(f"{n:5d}  {p}:{line}  {name}")
    longest = max(res, default=(0, "", 0, ""))
    print(f"{len(res)} functions, longest {longest[0]} lines ({longest[3]}), {len(over)} over {limit}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
