"""The mock's JSON body parser against V8 itself: `JSON.parse` run by Node on the same bytes.

Real Unleash 8.2.0 here runs on Node v20.20.2 (`node --version` of the `node` that serves
scripts/real-unleash.sh's instance; CI installs Node 20 with apt when it is missing). Unleash
reads bodies with `express.json({strict: false})` (body-parser 1.20): raw-body decodes the bytes
with iconv-lite (Node's StringDecoder, then one leading byte-order mark stripped), and a
`JSON.parse` error goes out unchanged as `400 {"message": error.message}` — checked on the
running 8.2.0 for `["a\\"{", 1 2]`, `{not json`, `nope` and strings of astral characters, whose
positions V8 counts in UTF-16 code units. So the message Unleash would send is Node's
`error.message`, and that is what each generated body's mock message is compared with. For a
valid body the parsed values are compared as `JSON.stringify` prints them.

The id's `Number()` coercion (js_number, which Ajv's coerceTypes applies to the DELETE id) is
compared the same way. One long-lived `node` process answers batches over stdin/stdout, one
JSON line each. Without Node these tests are skipped, except under CI (`CI=true`), where they
fail.

The mock reads most bodies with Python's C parser and falls back to its port of V8's algorithm
for the rest (malformed: V8's message; nested too deep for the C parser). The last two tests,
which need no Node, hold the two to each other on the same generated bodies and on those bodies
nested thousands of levels deep: same verdict, same value (float sign, key order, duplicate
names, `__proto__`, lone surrogates included).
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mock_server.errors import BodyParserError
from mock_server.node import javascript as node_json
from mock_server.node.body_parser import parse_json_body
from mock_server.node.javascript import js_number

DRAWN = 3  # bodies drawn per example, each also sent cut short at TRUNCATIONS points
TRUNCATIONS = 7
EXAMPLES = 100  # 100 * 3 * (1 + 7) = 2,400 bodies a run

# A request is a JSON line: ["parse", [base64 bodies]] decodes each body as raw-body and
# iconv-lite do, parses it, and prints the value as JSON.stringify does; ["number", [strings]]
# answers String(Number(s)) for each.
NODE_SCRIPT = r"""
const { StringDecoder } = require("string_decoder");
const lines = require("readline").createInterface({ input: process.stdin });
const number = (text) => String(Number(text));
const parse = (b64) => {
  const decoder = new StringDecoder("utf8");
  let text = decoder.write(Buffer.from(b64, "base64")) + decoder.end();
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return [true, "{}"];  // body-parser's empty body
  let value;
  try { value = JSON.parse(text); } catch (error) { return [false, error.message]; }
  return [true, JSON.stringify(value)];
};
lines.on("line", (line) => {
  const [kind, items] = JSON.parse(line);
  process.stdout.write(JSON.stringify(items.map(kind === "parse" ? parse : number)) + "\n");
});
"""


class Node:
    def __init__(self, executable: str) -> None:
        self.process = subprocess.Popen(
            [executable, "-e", NODE_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def _ask(self, kind: str, items: list[str]) -> list[Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps([kind, items]) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def parse(self, bodies: list[bytes]) -> list[tuple[bool, str]]:
        encoded = [base64.b64encode(body).decode() for body in bodies]
        return [tuple(answer) for answer in self._ask("parse", encoded)]

    def number(self, texts: list[str]) -> list[str]:
        return self._ask("number", texts)

    def close(self) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    executable = shutil.which("node")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing under CI: the V8 differential test cannot run")
        pytest.skip("node is not installed: the V8 differential test needs it")
    process = Node(executable)
    yield process
    process.close()


def _parse(text: str) -> Any:
    """`JSON.parse` as the mock runs it: checked, and built if it was left unbuilt."""
    value = node_json.parse_lazily(text)
    return value.value if isinstance(value, node_json.Unbuilt) else value


def mock_parse(body: bytes) -> tuple[bool, Any]:
    try:
        parsed = parse_json_body(body)
    except BodyParserError as exc:
        return False, exc.message
    return True, parsed.value if isinstance(parsed, node_json.Unbuilt) else parsed


# --- generated bodies, weighted toward where V8's parser has a special case ------------------

_WHITESPACE = st.sampled_from(["", "", "", " ", "\t", "\n", "\r\n", "  "])
_ODD_SPACE = st.sampled_from(["\u00a0", "\v", "\f", "\u2028", "\ufeff", "\u3000"])
# Valid escapes, surrogates paired and lone, bad escapes, and a lone backslash.
_ESCAPES = st.sampled_from(
    [
        *[r"\"", r"\\", r"\/", r"\b", r"\f", r"\n", r"\r", r"\t", r"\u0041", r"\ud83d\ude00"],
        *[r"\ud800", r"\udfff", r"\U0041", r"\x41", r"\u12", r"\u12g4", r"\'", r"\0"],
        "\\",
    ]
)
_STRING_CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_characters='"\\'),  # astral and control included
    st.sampled_from(["é", "😀", "\U0010ffff", "\x00", "\x1f", "\x7f", "\u2028", "{", "[", ","]),
    _ESCAPES,
)
_STRINGS = st.lists(_STRING_CHARS, max_size=12).map(lambda parts: '"' + "".join(parts) + '"')
_NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.tuples(  # sign, integer part, fraction and exponent, each valid or not
        st.sampled_from(["", "", "-", "+", "--"]),
        st.sampled_from(["0", "7", "12", "00", "01", "", "."]),
        st.sampled_from(["", "", ".5", ".", ".05", "..5"]),
        st.sampled_from(["", "", "e5", "E+2", "e-07", "e", "e+", "E-"]),
    ).map("".join),
    st.sampled_from(
        [
            *["-0", "1e400", "-1e400", "1E+2", "5e-324", "0.1", "-", "1.", "1e", ".5", "+1"],
            *["0x10", "Infinity", "-Infinity", "NaN", "01", "-01", "1.e5"],
        ]
    ),
    st.integers(300, 5000).map(lambda n: "9" * n),  # past a double's range and int()'s limit
)
_LITERALS = st.sampled_from(
    ["true", "false", "null", "tru", "fals", "nul", "True", "undefined", "nan", "t", "nulll"]
)


def _array(items: list[tuple[str, str]]) -> str:
    return "[" + ",".join(f"{ws}{item}" for item, ws in items) + "]"


def _object(members: list[tuple[str, str, str]]) -> str:
    return "{" + ",".join(f"{key}{ws}:{value}" for key, value, ws in members) + "}"


_KEYS = st.one_of(
    _STRINGS,
    st.sampled_from(
        [
            '"1"',
            '"0"',
            '"10"',
            '"01"',
            '"-1"',
            '"4294967295"',
            '"__proto__"',
            '"a"',
            "a",
            "'a'",
            "1",
        ]
    ),
)
_VALUES = st.recursive(
    st.one_of(_STRINGS, _NUMBERS, _LITERALS),
    lambda inner: st.one_of(
        st.lists(st.tuples(inner, _WHITESPACE), max_size=5).map(_array),
        st.lists(st.tuples(_KEYS, inner, _WHITESPACE), max_size=5).map(_object),
    ),
    max_leaves=12,
)


@st.composite
def _deep(draw: st.DrawFn) -> str:
    """Nesting past Python's recursion limit, closed right, wrong or not at all. At most
    3,000 levels: past about 4,000, Node's JSON.stringify overflows its stack."""
    opener, closer, levels = draw(
        st.sampled_from([("[", "]", 1), ('{"a":', "}", 1), ('[{"k":[', "]}]", 3)])
    )
    depth = draw(st.integers(900 // levels, 3000 // levels))
    inner = draw(_VALUES)
    ending = draw(st.sampled_from(["right", "short", "wrong", "open", "extra"]))
    closing = closer * depth
    if ending == "short":
        closing = closer * (depth - 1)
    elif ending == "wrong":
        cut = draw(st.integers(0, len(closing) - 1))
        closing = closing[:cut] + draw(st.sampled_from("]},x 1")) + closing[cut + 1 :]
    elif ending == "open":
        closing = ""
    elif ending == "extra":
        closing += draw(st.sampled_from(["]", ",", " x", "1"]))
    return opener * depth + inner + closing


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid-looking document with a few edits: truncation, insertion, deletion, swaps."""
    text = draw(_WHITESPACE) + draw(_VALUES) + draw(_WHITESPACE)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["truncate", "insert", "delete", "replace", "space"]))
        if edit == "truncate":
            text = text[:at]
        elif edit == "space":
            text = text[:at] + draw(_ODD_SPACE) + text[at:]
        else:
            new = draw(st.sampled_from([*'{}[]:,"\\ -0123456789.eE+tfnux\x01', "😀", "é"]))
            if edit == "insert":
                text = text[:at] + new + text[at:]
            elif edit == "delete":
                text = text[:at] + text[at + 1 :]
            else:
                text = text[:at] + new + text[at + 1 :]
    return text


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    text = draw(
        st.one_of(
            _mutated(),
            _mutated(),
            _mutated(),
            _VALUES,
            _deep(),
            st.sampled_from(
                [
                    "",
                    " ",
                    "NaN",
                    "Infinity",
                    "undefined",
                    "[object Object]",
                    "{}",
                    "[]",
                    '["a\\"{", 1 2]',
                    "\ufeff{}",
                ]
            ),
            st.text(max_size=30),
        )
    )
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # bytes that are not UTF-8, or a byte-order mark
        at = draw(st.integers(0, len(raw)))
        junk = draw(
            st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xef\xbb\xbf"])
        )
        raw = raw[:at] + junk + raw[at:]
    return raw


def with_truncations(body: bytes) -> list[bytes]:
    """The body, and the body cut at evenly spread points: every parser state meets the end of
    input somewhere (cuts may split a UTF-8 sequence, as a short read would)."""
    step = len(body) / (TRUNCATIONS + 1)
    return [body] + [body[: round(step * (i + 1))] for i in range(TRUNCATIONS)]


def _same_value(mine: Any, node_printed: str) -> bool:
    """Does the mock's value print as Node printed its own? Values nested past Python's
    recursion limit are compared item by item instead, without recursing (and so without the
    property order, which stringify checks)."""
    try:
        return node_json.stringify(mine) == node_printed
    except RecursionError:
        pairs = [(mine, _parse(node_printed))]
    while pairs:
        left, right = pairs.pop()
        if isinstance(left, dict) and isinstance(right, dict):
            if left.keys() != right.keys():
                return False
            pairs.extend((value, right[key]) for key, value in left.items())
        elif isinstance(left, list) and isinstance(right, list):
            if len(left) != len(right):
                return False
            pairs.extend(zip(left, right, strict=True))
        elif node_json.stringify(left) != node_json.stringify(right):
            return False
    return True


def test_body_parser_answers_what_v8s_json_parse_answers(node: Node) -> None:
    compared = 0

    # No shrinking: a batch shrinks slowly, and a failure names its body already.
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(bodies(), min_size=DRAWN, max_size=DRAWN))
    def compare(drawn: list[bytes]) -> None:
        nonlocal compared
        batch = [cut for body in drawn for cut in with_truncations(body)]
        for body, (node_ok, node_text) in zip(batch, node.parse(batch), strict=True):
            mine_ok, mine = mock_parse(body)
            assert mine_ok == node_ok, (body, mine, node_text)
            if node_ok:
                assert _same_value(mine, node_text), (body, mine, node_text)
            else:
                assert mine == node_text, body
            compared += 1

    compare()
    assert compared >= 2_000


_NUMERIC_TEXTS = st.one_of(
    st.text(alphabet="0123456789abcdefxXoObBeE+-. _\u00a0\t", max_size=12),
    st.tuples(
        st.sampled_from(["0x", "0X", "0o", "0b", "0B", "-0x", ""]),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=1200),
    ).map("".join),
    st.sampled_from(["Infinity", "-Infinity", "+Infinity", "infinity", "1e400", "\u2028 7 \ufeff"]),
)


def test_js_number_answers_what_numbers_constructor_answers(node: Node) -> None:
    @settings(
        max_examples=20,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
    )
    @given(st.lists(_NUMERIC_TEXTS, min_size=25, max_size=25))
    def compare(texts: list[str]) -> None:
        for text, expected in zip(texts, node.number(texts), strict=True):
            assert node_json.number_to_string(js_number(text)) == expected, text

    compare()


# --- the C parser (parse's fast path) against the V8 port, no Node needed --------------------
# `parse` answers with the C parser wherever it can and falls back to the port: both must read
# every text alike (same verdict, same value: types, -0, key order, lone surrogates), and the
# port's two modes (only checking; building) must fail alike.


def _same(left: Any, right: Any) -> bool:
    """Equal as values (float sign and key order included), compared without recursing."""
    pairs = [(left, right)]
    while pairs:
        a, b = pairs.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            pairs.extend((a[key], b[key]) for key in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pairs.extend(zip(a, b, strict=True))
        elif isinstance(a, float):
            if a != b or math.copysign(1, a) != math.copysign(1, b):
                return False
        elif a != b:
            return False
    return True


def _verdict(parse: Callable[[str], Any], text: str) -> tuple[bool, Any]:
    try:
        return True, parse(text)
    except ValueError as exc:
        return False, str(exc)


def _check_only(text: str) -> None:
    node_json._V8Parser(text, build=False).parse()


def _decoded(body: bytes) -> str:
    return body.decode("utf-8", "replace").removeprefix("\ufeff")


# Levels that wrap a value, as (opener, closer, what the level makes of the value inside):
# arrays and objects, names plain and escaped, a duplicate name, __proto__, an array-index
# name, siblings before and after, white space.
_LEVELS = [
    ("[", "]", lambda v: [v]),
    ('{"a":', "}", lambda v: {"a": v}),
    ('{"__proto__":', "}", lambda v: {"__proto__": v}),
    ('{"a":1,"a":', "}", lambda v: {"a": v}),
    ('{"1":0,"b":', "}", lambda v: {"1": 0.0, "b": v}),
    ('{"\\u00e9\\ud800":', "}", lambda v: {"é\ud800": v}),
    ("[null,", ",2]", lambda v: [None, v, 2.0]),
    ('{"x":[],"y":', ',"z":-0}', lambda v: {"x": [], "y": v, "z": -0.0}),
    ("[ \n", "\t]", lambda v: [v]),
    ('{ "s" : ', " } ", lambda v: {"s": v}),
]


def _nest(levels: list[int], inner: str) -> str:
    openers = "".join(_LEVELS[i][0] for i in levels)
    return openers + inner + "".join(_LEVELS[i][1] for i in reversed(levels))


_SHALLOW = 100  # levels the C parser reads at any stack depth


@st.composite
def _wrapped(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A generated body nested past the C parser's depth by a repeated pattern of levels
    (innermost last)."""
    inner = draw(st.one_of(_VALUES, bodies().map(_decoded)))
    pattern = draw(st.lists(st.integers(0, len(_LEVELS) - 1), min_size=1, max_size=4))
    levels = pattern * (draw(st.integers(1_100, 4_000)) // len(pattern) + 1)
    return inner, levels


_PORT_SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_PORT_SETTINGS
@given(bodies())
def test_the_c_parser_and_the_v8_port_read_every_text_alike(body: bytes) -> None:
    text = _decoded(body)
    port_ok, port = _verdict(node_json.parse_v8, text)
    checked_ok, checked = _verdict(_check_only, text)
    assert (checked_ok, checked if not checked_ok else None) == (port_ok, None if port_ok else port)
    try:
        c_ok, c_value = _verdict(node_json.parse_shallow, text)
    except RecursionError:  # nested too deep for it: the port alone answers (see below)
        return
    assert c_ok == port_ok, text
    if c_ok:
        assert _same(c_value, port), text
        assert _same(_parse(text), port), text
    else:
        assert _verdict(_parse, text) == (False, port), text


@settings(_PORT_SETTINGS, max_examples=200)
@given(_wrapped())
def test_the_port_reads_deep_nesting_as_the_c_parser_reads_it_shallow(
    case: tuple[str, list[int]],
) -> None:
    """The C parser reads the body inside the innermost levels; the port must read it inside
    thousands more alike (the body may close some of them: it affects only the innermost)."""
    inner, levels = case
    try:
        shallow_ok, expected = _verdict(node_json.parse_shallow, _nest(levels[-_SHALLOW:], inner))
    except RecursionError:  # the body is itself deep: the V8 test compares it with Node
        return
    text = _nest(levels, inner)
    ok, value = _verdict(node_json.parse_v8, text)
    assert ok == shallow_ok, text[-300:]
    if ok:
        for index in reversed(levels[:-_SHALLOW]):
            expected = _LEVELS[index][2](expected)
        assert _same(value, expected)
    # parse answers the same; checking alone fails alike; parse_lazily defers the building.
    parsed_ok, parsed = _verdict(_parse, text)
    assert parsed_ok == ok and (_same(parsed, value) if ok else parsed == value)
    checked_ok, checked = _verdict(_check_only, text)
    assert checked_ok == ok and (ok or checked == value)
    lazily_ok, lazily = _verdict(node_json.parse_lazily, text)
    if isinstance(lazily, node_json.Unbuilt):
        lazily = lazily.value
    assert lazily_ok == ok and (_same(lazily, value) if ok else lazily == value)
