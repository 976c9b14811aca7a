#!/usr/bin/env python3
"""Lists the C++ function definitions longer than a limit; exits 1 when there is any.

    tools/check_function_length.py [--max-lines N] PATH...

PATH is a C++ file, or a directory searched for *.cpp, *.cc, *.hpp and *.h. A function's length is counted
from the first line of its declaration (a template header included) to its closing brace; each one over N
lines (default 80) is printed as "path:line: L lines: signature".

A heuristic, not a C++ parser, so that it needs nothing but python3: comments, string and character
literals and preprocessor lines are blanked first (newlines kept, so line numbers hold). Then, at namespace
and class scope only, each "{" is judged by the declaration text before it:
  - a namespace, class, struct, union, enum or extern "C" body is entered (its members are judged in turn);
  - a parameter list closed by ")" and followed only by qualifiers, a trailing return type or a
    constructor's initializer list opens a function body: measured, its contents skipped (a local class or
    lambda counts towards its function);
  - anything else (a brace initializer, a namespace-scope lambda) is skipped as part of its declaration.
"""

import argparse
import re
import sys
from pathlib import Path
from typing import Iterator, NamedTuple

DEFAULT_MAX_LINES = 80
SOURCE_SUFFIXES = {".cpp", ".cc", ".hpp", ".h"}

# A raw string literal's opening: an optional encoding prefix, R, the delimiter and "(".
RAW_STRING_OPEN = re.compile(r'(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(')
# "operator()", "operator[]", "operator=", "operator<<"...: their punctuation would read as a call, a
# lambda or an assignment.
OPERATOR_NAME = re.compile(r"\boperator\s*(?:\(\s*\)|\[\s*\]|[^\w\s(]+)")
ATTRIBUTE = re.compile(r"\[\[.*?\]\]")
ACCESS_SPECIFIERS = re.compile(r"\s*(?:(?:public|protected|private)\s*:(?!:)\s*)*")
# ")" then only what may follow a function's parameter list before its body.
FUNCTION_HEAD = re.compile(
    r"\)\s*(?:(?:const|volatile|mutable|override|final|try|&&?|noexcept(?:\s*\([^)]*\))?"
    r"|->[^{};]*|requires[^{};]*)\s*)*$"
)
# A constructor's initializer list: ") :" (not "::") then members, the last initialised with (...) or {...}.
CONSTRUCTOR_HEAD = re.compile(r"\)\s*(?:noexcept\s*)?:(?!:).*[)}]\s*$")
# A lambda's introducer, possibly followed by its parameters and specifiers.
LAMBDA_HEAD = re.compile(r"\]\s*(?:\(.*\))?(?:\s*(?:mutable|constexpr|noexcept|->.*))*\s*$")
CONTROL_HEAD = re.compile(r"^(?:if|for|while|switch|catch|else|do|try)\b")
SCOPE_HEAD = re.compile(r"\b(?:namespace|class|struct|union|enum)\b|^extern\b")
BRACE = re.compile(r"[{}]")
BRACE_OR_SEMICOLON = re.compile(r"[{};]")


class LongFunction(NamedTuple):
    first_line: int
    lines: int
    signature: str


def directive_end(text: str, start: int) -> int:
    """Where the preprocessor directive at `start` ends: its line's end, through backslash continuations."""
    end = start
    while True:
        end = text.find("\n", end)
        if end < 0:
            return len(text)
        if text[end - 1] != "\\":
            return end
        end += 1


def literal_end(text: str, start: int) -> int:
    """Just past the string or character literal whose opening quote is at `start` (or its line's end)."""
    quote, end = text[start], start + 1
    while end < len(text) and text[end] not in (quote, "\n"):
        end += 2 if text[end] == "\\" else 1
    return min(end + 1, len(text))


def opens_character_literal(text: str, quote_at: int) -> bool:
    """Whether the "'" at `quote_at` opens a literal ('x', u8'x', L'x') rather than separating digits (1'000)."""
    word = re.search(r"\w*$", text[max(0, quote_at - 8) : quote_at]).group()
    return word in ("", "u8", "u", "U", "L")


def raw_string_at(text: str, i: int) -> re.Match | None:
    """The opening of a raw string literal (R"delim( ...) at `i`, unless `i` is inside a word."""
    if text[i] not in "uULR" or (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
        return None
    return RAW_STRING_OPEN.match(text, i)


def blank_non_code(text: str) -> str:
    """Returns `text` with comments, literals and preprocessor lines blanked, its newlines (line numbers) kept."""
    out = []
    i, n = 0, len(text)
    at_line_start = True  # only whitespace since the last newline: a "#" here starts a directive

    def blank(start: int, end: int, replacement: str = "") -> int:
        out.append(replacement + "\n" * text.count("\n", start, end))
        return end

    while i < n:
        c = text[i]
        if c == "#" and at_line_start:
            i = blank(i, directive_end(text, i))
            continue
        at_line_start = c == "\n" or (at_line_start and c.isspace())
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = blank(i, n if end < 0 else end)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = blank(i, n if end < 0 else end + 2, " ")
        elif raw := raw_string_at(text, i):
            close = text.find(")" + raw.group(1) + '"', raw.end())
            i = blank(i, n if close < 0 else close + len(raw.group(1)) + 2, '""')
        elif c == '"' or (c == "'" and opens_character_literal(text, i)):
            i = blank(i, literal_end(text, i), c + c)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(code: str, open_at: int) -> int:
    """The position of the "}" closing the "{" at `open_at` (len(code) when it is never closed)."""
    depth = 0
    for m in BRACE.finditer(code, open_at):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return m.start()
    return len(code)


def is_function_head(head: str) -> bool:
    """Whether the declaration text before a "{" (whitespace collapsed) ends like a function's head."""
    head = ATTRIBUTE.sub(" ", OPERATOR_NAME.sub("operator_", head)).strip()
    if CONTROL_HEAD.match(head) or LAMBDA_HEAD.search(head):
        return False
    return bool(FUNCTION_HEAD.search(head) or CONSTRUCTOR_HEAD.search(head))


def long_functions(code: str, max_lines: int) -> Iterator[LongFunction]:
    """The functions in blanked `code` whose definition is longer than `max_lines`."""
    declaration_start = 0  # where the declaration being read at the current scope began
    pos = 0
    while m := BRACE_OR_SEMICOLON.search(code, pos):
        pos = m.end()
        if m.group() in ";}":  # a declaration, or a namespace or class body, ended
            declaration_start = pos
            continue
        raw_head = code[declaration_start : m.start()]
        head = " ".join(raw_head.split())
        function = is_function_head(head)
        if not function and SCOPE_HEAD.search(head):
            declaration_start = pos  # entered: its members are declarations of their own
            continue
        close = matching_brace(code, m.start())
        pos = close + 1
        if not function:
            continue  # an initializer or a lambda: its declaration goes on after it
        declaration_start = pos
        first = m.start() - len(raw_head) + ACCESS_SPECIFIERS.match(raw_head).end()
        lines = code.count("\n", first, close) + 1
        if lines > max_lines:
            yield LongFunction(code.count("\n", 0, first) + 1, lines, ACCESS_SPECIFIERS.sub("", head, count=1))


def source_files(paths: list[str]) -> Iterator[Path]:
    """The files named, and the C++ sources under the directories named (sorted: a stable report)."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file())
        else:
            yield path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-lines", type=int, default=DEFAULT_MAX_LINES, metavar="N",
                        help=f"the longest a function may be (default {DEFAULT_MAX_LINES})")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="C++ files, or directories to search")
    args = parser.parse_args()
    found = 0
    for path in source_files(args.paths):
        code = blank_non_code(path.read_text(encoding="utf-8", errors="replace"))
        for f in long_functions(code, args.max_lines):
            found += 1
            print(f"{path}:{f.first_line}: {f.lines} lines: {f.signature[:100]}")
    if found:
        print(f"{found} function(s) longer than {args.max_lines} lines: split them into named steps",
              file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
