#!/usr/bin/python3
"""check-sql-literals.py [--root DIR] [FILE ...]

Fails (exit 1, naming file:line) when SQL text in the C++ sources is built at run time instead of
being a constant with $n parameters: the decide service and the extension must never splice a
request's values into a query.

Scanned by default: src/decide/**/*.{cpp,hpp} and src/pg/*.{cpp,hpp} under the repository root. SQL
text is a string literal (adjacent literals joined, raw strings included) that starts with a SQL
verb or holds an upper-case SQL clause (SELECT, INSERT INTO, UPDATE ... SET, DELETE FROM, FROM,
WHERE, ...). It is refused when
  - it is an operand of +, += or << (string concatenation, ostreams),
  - it is an argument of a formatting call (std::format, snprintf, psprintf, appendStringInfo, ...),
  - it holds a printf placeholder (%s, %d, ...), which only makes sense for formatting,
  - a name it was given (kQuery = "SELECT ...") is later used with +, += or <<, or passed to a
    formatting call.
Comments are ignored. Exit 0 with a one-line summary when the sources are clean.
"""
import argparse
import pathlib
import re
import sys

DEFAULT_GLOBS = ("src/decide/**/*.cpp", "src/decide/**/*.hpp", "src/pg/*.cpp", "src/pg/*.hpp")

# Upper-case clauses anywhere in the literal (the sources write SQL in upper case), or a SQL verb
# opening it in any case.
SQL_CLAUSE = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|FROM|WHERE|RETURNING|VALUES|"
    r"TRUNCATE|CREATE\s+(TABLE|FUNCTION|INDEX)|ALTER\s+TABLE|DROP\s+TABLE|COPY|LISTEN|NOTIFY)\b")
SQL_OPENING = re.compile(
    r"^\s*(select\s|insert\s+into\s|update\s+[\w.\"]+\s+set\s|delete\s+from\s|with\s+\w+\s+as\s*\(|"
    r"call\s+[\w.]+\s*\(|truncate\s)", re.IGNORECASE)
PRINTF_PLACEHOLDER = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[sdiuxXfgc]")

FORMAT_CALLS = {
    "format", "vformat", "format_to", "sprintf", "snprintf", "vsnprintf", "asprintf", "psprintf",
    "appendStringInfo", "appendStringInfoString", "appendStringInfoChar", "appendBinaryStringInfo",
    "appendPQExpBuffer", "appendPQExpBufferStr", "printfPQExpBuffer", "strcat", "strncat", "append",
    "insert", "str_format", "StrCat", "to_string",
}
CONCAT_OPERATORS = {"+", "+=", "<<"}

TOKEN = re.compile(
    r"""
    (?P<raw>(?:u8|u|U|L)?R"(?P<delim>[^()\\\s]{0,16})\((?P<rawbody>.*?)\)(?P=delim)")
  | (?P<string>(?:u8|u|U|L)?"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<op><<=|>>=|<<|>>|\+\+|\+=|->|::|[-+*/%&|^!~<>=?:;,.(){}\[\]\#])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token:
    __slots__ = ("kind", "text", "value", "line")

    def __init__(self, kind, text, value, line):
        self.kind, self.text, self.value, self.line = kind, text, value, line


def unescape(body):
    # Enough for keyword matching: escapes become one character.
    return re.sub(r"\\(x[0-9A-Fa-f]+|[0-7]{1,3}|.)", " ", body)


def tokenize(source):
    tokens, line = [], 1
    for match in TOKEN.finditer(source):
        kind = "other"
        for name in ("raw", "string", "char", "line_comment", "block_comment", "ident", "op", "space", "other"):
            if match.group(name) is not None:
                kind = name
                break
        text = match.group(0)
        if kind == "raw":
            tokens.append(Token("string", text, match.group("rawbody"), line))
        elif kind == "string":
            body = text[text.index('"') + 1:-1]
            tokens.append(Token("string", text, unescape(body), line))
        elif kind not in ("space", "line_comment", "block_comment"):
            tokens.append(Token(kind, text, text, line))
        line += text.count("\n")
    return tokens


def join_adjacent_literals(tokens):
    """Adjacent string literals are one literal (the compiler joins them)."""
    out = []
    for token in tokens:
        if token.kind == "string" and out and out[-1].kind == "string":
            previous = out[-1]
            out[-1] = Token("string", previous.text + token.text, previous.value + token.value, previous.line)
        else:
            out.append(token)
    return out


def is_sql(text):
    return bool(SQL_CLAUSE.search(text) or SQL_OPENING.search(text))


def enclosing_call(tokens, index):
    """The name of the function whose argument list holds tokens[index], and the index of its '('."""
    depth = 0
    for i in range(index - 1, -1, -1):
        text = tokens[i].text
        if text in (")", "]", "}"):
            depth += 1
        elif text in ("(", "[", "{"):
            if depth == 0:
                if text == "(" and i > 0 and tokens[i - 1].kind == "ident":
                    return tokens[i - 1].text, i
                return None, i
            depth -= 1
        elif text == ";" and depth == 0:
            return None, None
    return None, None


def matching_close(tokens, open_index):
    depth = 0
    for i in range(open_index, len(tokens)):
        if tokens[i].text in ("(", "[", "{"):
            depth += 1
        elif tokens[i].text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def operand_problem(tokens, index):
    """Why tokens[index] (an operand) is being concatenated or formatted, or None."""
    before = tokens[index - 1].text if index > 0 else ""
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    if before in CONCAT_OPERATORS:
        return f"joined with '{before}'"
    if after in CONCAT_OPERATORS:
        return f"joined with '{after}'"
    name, open_index = enclosing_call(tokens, index)
    if name in FORMAT_CALLS:
        return f"passed to {name}()"
    # std::string("SELECT ") + x: the wrapping call is the operand.
    if name in ("string", "string_view") and open_index is not None:
        close = matching_close(tokens, open_index)
        following = tokens[close + 1].text if close + 1 < len(tokens) else ""
        if following in CONCAT_OPERATORS:
            return f"wrapped in {name}() and joined with '{following}'"
    return None


def named_sql_constants(tokens):
    """Names given to SQL literals: kQuery = "SELECT ...", kQuery[] = ..., kQuery{"SELECT ..."}."""
    names = {}
    for i, token in enumerate(tokens):
        if token.kind != "string" or not is_sql(token.value):
            continue
        j = i - 1
        if j >= 0 and tokens[j].text in ("=", "{", "("):
            j -= 1
            while j >= 0 and tokens[j].text in ("]", "["):
                j -= 1
            if j >= 0 and tokens[j].kind == "ident" and tokens[j].text not in FORMAT_CALLS:
                names[tokens[j].text] = token.line
    return names


def check(path):
    tokens = join_adjacent_literals(tokenize(path.read_text(encoding="utf-8", errors="replace")))
    problems = []
    for i, token in enumerate(tokens):
        if token.kind != "string" or not is_sql(token.value):
            continue
        placeholder = PRINTF_PLACEHOLDER.search(token.value)
        if placeholder:
            problems.append((token.line, f"SQL text holds the format placeholder '{placeholder.group(0)}'"))
        why = operand_problem(tokens, i)
        if why:
            problems.append((token.line, f"SQL text {why}"))
    return problems, named_sql_constants(tokens), tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    root = pathlib.Path(args.root)
    if args.files:
        paths = [pathlib.Path(f) for f in args.files]
    else:
        paths = sorted(p for pattern in DEFAULT_GLOBS for p in root.glob(pattern))
    if not paths:
        print(f"check-sql-literals: no sources found under {root}", file=sys.stderr)
        return 2

    problems, scanned, constants = [], [], {}
    for path in paths:
        display = str(path.relative_to(root)) if path.is_absolute() and root in path.parents else str(path)
        found, names, tokens = check(path)
        problems += [(display, line, why) for line, why in found]
        constants.update({name: display for name in names})
        scanned.append((display, tokens))

    # The named SQL constants, wherever they are used (a header's constant in another file too).
    for display, tokens in scanned:
        for i, token in enumerate(tokens):
            if token.kind == "ident" and token.text in constants:
                why = operand_problem(tokens, i)
                if why:
                    problems.append((display, token.line, f"the SQL constant {token.text} {why}"))

    for display, line, why in sorted(set(problems)):
        print(f"{display}:{line}: {why}; write the query as one constant with $n parameters")
    if problems:
        print(f"check-sql-literals: {len(set(problems))} problem(s) in {len(paths)} file(s)", file=sys.stderr)
        return 1
    print(f"check-sql-literals: {len(paths)} files, {len(constants)} named SQL constants, no SQL built at run time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
