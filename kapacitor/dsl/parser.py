"""The plugin language's grammar: tokens -> AST (`parse(source) -> Script`).

The grammar is written once, as the docstrings of the `p_*` functions below (PLY's LALR(1)
`yacc`); operator precedence is the `precedence` table. `grammar_ebnf()` renders those same
productions as EBNF, and docs/language.md must contain exactly that text (a test checks it);
`python -m kapacitor.dsl.parser --ebnf` prints it.

`parse` raises DslSyntaxError and nothing else, whatever the input.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import ply.yacc as yacc

from kapacitor.dsl import tokens as _tokens
from kapacitor.dsl.ast import (
    Binary,
    Bool,
    Call,
    Duration,
    Expr,
    Ident,
    Keyword,
    Let,
    List,
    Number,
    OpRef,
    Regex,
    Script,
    Statement,
    String,
    Unary,
)
from kapacitor.dsl.tokens import ENDERS, SPELLING, TokenStream
from kapacitor.errors import DslError, DslSyntaxError, Span

tokens = _tokens.tokens

# Lowest binding first. Comparisons do not chain (`a < b < c` is an error, not a surprise).
precedence = (
    ("left", "OR"),
    ("left", "AND"),
    ("right", "NOT"),
    ("nonassoc", "EQ", "NE", "LT", "LE", "GT", "GE", "MATCH", "NOMATCH"),
    ("left", "PLUS", "MINUS"),
    ("left", "TIMES", "DIVIDE", "MOD"),
    ("right", "UMINUS"),
)

# The canonical operator names the AST uses (aliases such as `&&` are folded here).
OPS: dict[str, str] = {
    "OR": "or",
    "AND": "and",
    "NOT": "not",
    "EQ": "==",
    "NE": "!=",
    "LT": "<",
    "LE": "<=",
    "GT": ">",
    "GE": ">=",
    "MATCH": "=~",
    "NOMATCH": "!~",
    "PLUS": "+",
    "MINUS": "-",
    "TIMES": "*",
    "DIVIDE": "/",
    "MOD": "%",
}

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})

# Deeper expressions are refused: everything downstream (printing, checking) recurses.
MAX_DEPTH = 100


class _State:
    """Per-parse data the grammar actions need (PLY actions only see `p`)."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.depth: dict[int, int] = {}


_current: _State | None = None


def _state() -> _State:
    assert _current is not None
    return _current


def _span(p: Any, first: int = 1, last: int | None = None) -> Span:
    """The span from the first token of symbol `first` to the end of symbol `last`."""
    stream = _state().stream
    start = p.lexspan(first)[0]
    end_tok = p.lexspan(len(p) - 1 if last is None else last)[1]
    return stream.positions.span(start, stream.ends.get(end_tok, end_tok + 1))


def _nest(node: Expr, *children: Expr) -> Expr:
    state = _state()
    depth = 1 + max((state.depth.get(id(c), 1) for c in children), default=0)
    if depth > MAX_DEPTH:
        raise DslSyntaxError(
            f"expression nested too deeply (more than {MAX_DEPTH} levels): "
            "split it with let bindings",
            node.span,
            state.stream.source,
        )
    state.depth[id(node)] = depth
    return node


# --- grammar ------------------------------------------------------------------------------


def p_script(p: Any) -> None:
    """script : statements"""
    p[0] = Script(tuple(s for s in p[1] if s is not None), span=Span(1, 1))


def p_statements_more(p: Any) -> None:
    """statements : statements SEP statement_opt"""
    p[0] = [*p[1], p[3]]


def p_statements_one(p: Any) -> None:
    """statements : statement_opt"""
    p[0] = [p[1]]


def p_statement_opt(p: Any) -> None:
    """statement_opt : statement
    | empty"""
    p[0] = p[1]


def p_statement_let(p: Any) -> None:
    """statement : LET NAME ASSIGN expr"""
    p[0] = Let(p[2], p[4], span=_span(p))


def p_statement_expr(p: Any) -> None:
    """statement : expr"""
    p[0] = p[1]


def p_expr_binary(p: Any) -> None:
    """expr : expr OR expr
    | expr AND expr
    | expr EQ expr
    | expr NE expr
    | expr LT expr
    | expr LE expr
    | expr GT expr
    | expr GE expr
    | expr MATCH expr
    | expr NOMATCH expr
    | expr PLUS expr
    | expr MINUS expr
    | expr TIMES expr
    | expr DIVIDE expr
    | expr MOD expr"""
    op = OPS[p.slice[2].type]
    p[0] = _nest(Binary(op, p[1], p[3], span=_span(p)), p[1], p[3])


def p_expr_not(p: Any) -> None:
    """expr : NOT expr"""
    p[0] = _nest(Unary("not", p[2], span=_span(p)), p[2])


def p_expr_neg(p: Any) -> None:
    """expr : MINUS expr %prec UMINUS"""
    p[0] = _nest(Unary("-", p[2], span=_span(p)), p[2])


def p_expr_primary(p: Any) -> None:
    """expr : primary"""
    p[0] = p[1]


def p_primary_name(p: Any) -> None:
    """primary : NAME"""
    p[0] = Ident(p[1], span=_span(p))


def p_primary_number(p: Any) -> None:
    """primary : INT
    | FLOAT"""
    p[0] = Number(p[1], span=_span(p))


def p_primary_string(p: Any) -> None:
    """primary : STRING"""
    p[0] = String(p[1], span=_span(p))


def p_primary_duration(p: Any) -> None:
    """primary : DURATION"""
    ns, text = p[1]
    p[0] = Duration(ns, text, span=_span(p))


def p_primary_regex(p: Any) -> None:
    """primary : REGEX"""
    p[0] = Regex(p[1], span=_span(p))


def p_primary_bool(p: Any) -> None:
    """primary : TRUE
    | FALSE"""
    p[0] = Bool(p.slice[1].type == "TRUE", span=_span(p))


def p_primary_call(p: Any) -> None:
    """primary : call"""
    p[0] = p[1]


def p_primary_group(p: Any) -> None:
    """primary : LPAREN expr RPAREN"""
    p[0] = p[2]


def p_primary_list_empty(p: Any) -> None:
    """primary : LBRACKET RBRACKET"""
    p[0] = List(span=_span(p))


def p_primary_list(p: Any) -> None:
    """primary : LBRACKET items RBRACKET"""
    items = tuple(p[2])
    p[0] = _nest(List(items, span=_span(p)), *items)


def p_items_more(p: Any) -> None:
    """items : items COMMA expr"""
    p[0] = [*p[1], p[3]]


def p_items_one(p: Any) -> None:
    """items : expr"""
    p[0] = [p[1]]


def p_call_empty(p: Any) -> None:
    """call : NAME LPAREN RPAREN"""
    p[0] = Call(p[1], span=_span(p))


def p_call_args(p: Any) -> None:
    """call : NAME LPAREN arguments RPAREN"""
    args: list[Expr] = []
    kwargs: list[Keyword] = []
    for arg in p[3]:
        if isinstance(arg, Keyword):
            if any(k.name == arg.name for k in kwargs):
                raise DslSyntaxError(
                    f"{p[1]}() got the named argument '{arg.name}' twice",
                    Span(arg.span.line, arg.span.col, len(arg.name)),
                    _state().stream.source,
                )
            kwargs.append(arg)
        elif kwargs:
            raise DslSyntaxError(
                f"positional argument after named argument '{kwargs[-1].name}=': "
                "put positional arguments first",
                arg.span,
                _state().stream.source,
            )
        else:
            args.append(arg)
    call = Call(p[1], tuple(args), tuple(kwargs), span=_span(p))
    p[0] = _nest(call, *args, *(k.value for k in kwargs))


def p_arguments_more(p: Any) -> None:
    """arguments : arguments COMMA argument"""
    p[0] = [*p[1], p[3]]


def p_arguments_one(p: Any) -> None:
    """arguments : argument"""
    p[0] = [p[1]]


def p_argument_positional(p: Any) -> None:
    """argument : value"""
    p[0] = p[1]


def p_argument_named(p: Any) -> None:
    """argument : NAME ASSIGN expr"""
    p[0] = Keyword(p[1], p[3], span=_span(p))


def p_value(p: Any) -> None:
    """value : expr
    | comparison"""
    p[0] = p[1]


def p_comparison(p: Any) -> None:
    """comparison : EQ
    | NE
    | LT
    | LE
    | GT
    | GE"""
    p[0] = OpRef(OPS[p.slice[1].type], span=_span(p))


def p_empty(p: Any) -> None:
    """empty :"""
    p[0] = None


def _describe(tok: Any, stream: TokenStream) -> str:
    if tok.type == "SEP" and tok.value != ";":
        return "end of line"
    text = stream.text_of(tok)
    return f"'{text[:30]}...'" if len(text) > 30 else f"'{text}'"


def _expected(state: int) -> list[str]:
    """What the parser would have accepted in `state`, spelled as in the EBNF."""
    names = [t for t in _PARSER.action.get(state, {}) if t in SPELLING]
    return sorted({SPELLING[t].replace("( ", "").replace(" )", "").split(" | ")[0] for t in names})


def _mismatched(tok: Any, source: str) -> bool:
    opened = getattr(tok, "opened", None)
    return opened is not None and (source[opened] == "(") != (tok.type == "RPAREN")


def p_error(tok: Any) -> None:
    stream = _state().stream
    source = stream.source
    if tok is None:
        message = "unexpected end of script"
        if stream.opens:
            line, col = stream.positions.line_col(stream.opens[-1])
            opener = stream.source[stream.opens[-1]]
            closer = ")" if opener == "(" else "]"
            message += f": missing '{closer}' to close the '{opener}' at {line}:{col}"
        elif stream.last is not None and stream.last.type == "LET":
            message += ": expected a name after 'let'"
        elif stream.last is not None and stream.last.type not in ENDERS:
            message += f": expected an expression after '{stream.text_of(stream.last)}'"
        raise DslSyntaxError(message, stream.positions.end_span(), source)
    message = f"unexpected {_describe(tok, stream)}"
    prev_tok = getattr(tok, "prev", None)
    prev = prev_tok.type if prev_tok is not None else None
    if tok.type == "RPAREN" and getattr(tok, "unmatched", False):
        message += ": no '(' to close"
    elif tok.type in ("RPAREN", "RBRACKET") and _mismatched(tok, source):
        line, col = stream.positions.line_col(tok.opened)
        closer = ")" if source[tok.opened] == "(" else "]"
        message += f": missing '{closer}' to close the '{source[tok.opened]}' at {line}:{col}"
    elif tok.type == "RBRACKET" and getattr(tok, "unmatched", False):
        message += ": no '[' to close"
    elif tok.type == "RPAREN" and prev == "COMMA":
        message += ": expected an argument after ','"
    elif tok.type == "RBRACKET" and prev == "COMMA":
        message += ": expected an item after ','"
    elif tok.type == "COMMA" and not getattr(tok, "depth", 0):
        message += ": not inside a call (does an earlier ')' close too much?)"
    elif tok.type == "COMMA" and prev in ("LPAREN", "COMMA"):
        message += ": expected an argument before it"
    elif prev == "LET":
        message += ": expected a name after 'let'"
    elif tok.type == "ASSIGN":
        message += ": use '==' to compare (named arguments are only allowed in calls)"
    elif tok.type in ("EQ", "NE", "LT", "LE", "GT", "GE", "MATCH", "NOMATCH") and prev in ENDERS:
        message += ": comparisons do not chain, write (a < b) and (b < c)"
    elif stream.last_newline and tok.type in ("PLUS", "TIMES", "DIVIDE", "MOD", "AND", "OR"):
        message += ": a line cannot start with an operator; end the previous line with it"
    elif prev in ENDERS and tok.type in ENDERS - {"RPAREN"} | {"LPAREN", "NOT", "LET"}:
        if getattr(tok, "depth", 0):
            message += ": missing ',' or an operator before it?"
        else:
            message += ": missing an operator before it, or a ';' or newline between statements?"
    elif prev_tok is not None and prev not in ENDERS and prev not in ("LPAREN", "COMMA", "SEP"):
        message += f": expected an expression after '{stream.text_of(prev_tok)}'"
    else:
        expected = _expected(_PARSER.statestack[-1]) if _PARSER.statestack else []
        if 0 < len(expected) <= 3:
            message += ": expected " + " or ".join(expected)
    raise DslSyntaxError(message, stream.span_of(tok), source)


# Built once at import; tables are never written to disk (no parsetab.py).
_PARSER: Any = yacc.yacc(
    debug=False,
    write_tables=False,
    errorlog=yacc.NullLogger(),
    tabmodule="kapacitor_dsl_parsetab_never_written",
)
_LOCK = threading.Lock()  # PLY parsers keep per-parse state on the parser object


def parse(source: str) -> Script:
    """Parse a script. Raises DslSyntaxError (only) on bad input."""
    global _current
    stream = TokenStream(source)
    with _LOCK:
        _current = _State(stream)
        try:
            result = _PARSER.parse(lexer=_Annotating(stream), tracking=True)
        except DslError as exc:
            if not exc.source:
                exc.source = source
            raise
        except RecursionError:
            raise DslSyntaxError("script nested too deeply", Span(1, 1), source) from None
        finally:
            _current = None
    if not isinstance(result, Script):  # pragma: no cover - the grammar always yields one
        raise DslSyntaxError("empty parse", Span(1, 1), source)
    return result


class _Annotating:
    """Wraps the token stream to note, on each token, facts p_error wants to know."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream

    # PLY reads these when it reduces an empty rule with tracking on.
    @property
    def lineno(self) -> int:
        return int(self.stream.lexer.lineno)

    @property
    def lexpos(self) -> int:
        return int(self.stream.lexer.lexpos)

    def token(self) -> Any:
        before = self.stream.last
        depth = len(self.stream.opens)
        tok = self.stream.token()
        if tok is not None:
            tok.prev = before
            tok.depth = depth
            tok.unmatched = tok.type in ("RPAREN", "RBRACKET") and depth == 0
        return tok


def parse_expression(source: str) -> Expr:
    """Parse a source holding exactly one expression (a where clause, a REPL line)."""
    script = parse(source)
    if len(script.statements) != 1 or isinstance(script.statements[0], Let):
        span = script.statements[1].span if len(script.statements) > 1 else Span(1, 1)
        raise DslSyntaxError("expected a single expression", span, source)
    statement: Statement = script.statements[0]
    assert not isinstance(statement, Let)
    return statement


# --- the grammar as EBNF -------------------------------------------------------------------


def grammar_rules() -> dict[str, list[list[str]]]:
    """The parser's productions, by rule name in definition order, as lists of symbols."""
    rules: dict[str, list[list[str]]] = {}
    for prod in _PARSER.productions[1:]:  # [0] is PLY's augmented start rule
        name: str = prod.name
        symbols: list[str] = list(prod.prod) if prod.len else []
        rules.setdefault(name, []).append(symbols)
    return rules


def grammar_ebnf() -> str:
    """The grammar in EBNF: the parser's rules followed by the lexical rules."""
    rules = grammar_rules()
    width = max(len(name) for name in rules)
    lines = ["(* syntax: generated from kapacitor/dsl/parser.py; see the precedence table *)"]
    for name, alternatives in rules.items():
        rendered = [" ".join(SPELLING.get(s, s) for s in alt) for alt in alternatives]
        head = f"{name:<{width}} = "
        body = f"\n{' ' * width} | ".join(rendered)
        lines.append((head + body).rstrip() + " ;")
    return "\n".join(lines) + "\n\n" + _tokens.LEXICAL_EBNF + "\n"


def _main(argv: list[str]) -> int:
    if argv == ["--ebnf"]:
        sys.stdout.write(grammar_ebnf())
        return 0
    if len(argv) == 1:
        with open(argv[0], encoding="utf-8") as f:
            source = f.read()
        try:
            print(parse(source))
        except DslError as exc:
            print(exc.render(argv[0]), file=sys.stderr)
            return 1
        return 0
    print("usage: python -m kapacitor.dsl.parser (--ebnf | SCRIPT)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
