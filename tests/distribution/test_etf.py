"""The External Term Format codec (actors.dist.etf): the BEAM's term_to_binary /
binary_to_term, with the term mapping of docs/api.md ("Terms").

The rules checked against a real BEAM (``erl``, one run for the whole module):
our encoding of each term is byte for byte ``term_to_binary(T, [{minor_version,
2}])`` (UTF-8 atoms, the default from OTP 26), the BEAM decodes it to a term
``=:=`` the expected one, and we decode the BEAM's encoding to the expected
Python value. Hostile input is a ValueError (or RecursionError for nesting),
never a crash and never an allocation the input does not pay for.

(This directory is ``tests/distribution``, not ``tests/dist``: pytest never
collects a directory named ``dist``, its default ``norecursedirs``.)
"""
from __future__ import annotations

import base64
import math
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import actors
from actors import Down, Exit

from actors.dist.etf import (
    Atom,
    BitString,
    Codec,
    ErlFun,
    ExternalPid,
    ExternalPort,
    ExternalRef,
    FrozenList,
    FrozenMap,
    ImproperList,
    decode,
    decode_from,
    encode,
    reason_to_term,
    term_to_reason,
)

A = Atom
NODE = A("nonode@nohost")


def _atom_src(text: str) -> str:
    return f"list_to_atom([{','.join(str(ord(c)) for c in text)}])"


# (Erlang expression, the Python value it maps to): encoded both ways, byte-exact.
CASES: list[tuple[str, Any]] = [
    ("0", 0), ("255", 255), ("256", 256), ("-1", -1),
    ("2147483647", 2**31 - 1), ("-2147483648", -2**31),
    ("2147483648", 2**31), ("-2147483649", -2**31 - 1),
    ("18446744073709551615", 2**64 - 1), ("18446744073709551616", 2**64),
    ("-18446744073709551616", -2**64), ("(1 bsl 1000)", 2**1000), ("-(1 bsl 1000)", -2**1000),
    ("(1 bsl 2040)", 2**2040), ("-((1 bsl 4000) + 12345)", -(2**4000 + 12345)),
    ("1.5", 1.5), ("-2.25", -2.25), ("3.141592653589793", math.pi), ("1.0e300", 1e300),
    ("5.0e-324", 5e-324),
    ("ok", A("ok")), ("true", True), ("false", False), ("undefined", None),
    ("'hello world'", A("hello world")), ("''", A("")),
    (_atom_src("héllo"), A("héllo")), (_atom_src("λx"), A("λx")),
    (_atom_src("λ" * 255), A("λ" * 255)), (_atom_src("a" * 255), A("a" * 255)),
    ("<<>>", ""), ("<<\"abc\">>", "abc"), ("<<255,0>>", b"\xff\x00"),
    ("unicode:characters_to_binary([104,233,955])", "héλ"),
    ("<<0:65536/unit:8>>", "\0" * 65536),
    ("{}", ()), ("{1,2}", (1, 2)), ("{ok, <<\"x\">>, [1,2]}", (A("ok"), "x", [1, 2])),
    ("list_to_tuple(lists:seq(1,300))", tuple(range(1, 301))),
    ("[]", []), ("[1,2,3]", [1, 2, 3]), ("\"abc\"", [97, 98, 99]), ("[1,300]", [1, 300]),
    ("lists:seq(1,1000)", list(range(1, 1001))), ("lists:duplicate(70000, 7)", [7] * 70000),
    ("[[]]", [[]]), ("[a|b]", ImproperList([A("a")], A("b"))),
    ("[1,2|3]", ImproperList([1, 2], 3)), ("[{x}|<<\"t\">>]", ImproperList([(A("x"),)], "t")),
    ("[a, b | #{}]", ImproperList([A("a"), A("b")], {})),
    ("#{}", {}), ("#{a => 1, b => 2}", {A("a"): 1, A("b"): 2}),
    ("#{1 => x, a => y, {t} => z, [l] => w, <<\"s\">> => v}",
     {1: A("x"), A("a"): A("y"), (A("t"),): A("z"), FrozenList([A("l")]): A("w"), "s": A("v")}),
    ("#{#{a => 1} => 2, [] => 3}", {FrozenMap({A("a"): 1}): 2, FrozenList(): 3}),
    ("#{{[1]} => [#{}]}", {(FrozenList([1]),): [{}]}),
    ("list_to_pid(\"<0.1.2>\")", ExternalPid(NODE, 1, 2, 0)),
    ("list_to_ref(\"#Ref<0.1.2.3>\")", ExternalRef(NODE, 0, (3, 2, 1))),
    ("[alias | list_to_ref(\"#Ref<0.1.2.3>\")]", ImproperList([A("alias")], ExternalRef(NODE, 0, (3, 2, 1)))),
    ("list_to_port(\"#Port<0.5>\")", ExternalPort(NODE, 5, 0)),
    ("<<1:4>>", BitString(b"\x10", 4)), ("<<255, 3:2>>", BitString(b"\xff\xc0", 2)),
    ("{[#{k => {1.5, <<\"v\">>}}], undefined, true}", ([{A("k"): (1.5, "v")}], None, True)),
]

# Terms whose value the test cannot write down: decoded and re-encoded by us,
# they must come back byte for byte (funs, a fresh ref, an alias).
OPAQUE = ["fun erlang:self/0", "fun(X) -> {X, self()} end", "make_ref()", "alias()",
          "self()", "hd(erlang:ports())"]


@pytest.fixture(scope="module")
def beam(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One erl run: for each CASES expression, term_to_binary of it and whether
    our encoding decodes to a term =:= to it; for each OPAQUE one, its encoding.
    Our encodings are extra cases: 5-word refs of another node, compressed terms."""
    erl = shutil.which("erl")
    if erl is None:
        reason = "erl (Erlang/OTP) is not installed: the comparisons with the BEAM are skipped"
        print(reason)
        pytest.skip(reason)
    extra = [("binary_to_term(term_to_binary(lists:seq(1,2000), [compressed]))", list(range(1, 2001))),
             ("list_to_tuple([ok | lists:duplicate(5000, <<\"abc\">>)])", (A("ok"),) + ("abc",) * 5000)]
    lines = []
    for src, value in CASES + extra:
        ours = base64.b64encode(encode(value)).decode()
        lines.append(f"{{{src}, <<\"{ours}\">>}}")
    for src in OPAQUE:
        lines.append(f"{{{src}, <<>>}}")
    five = ExternalRef("a@b", 7, (1, 2, 3, 4, 5))
    script = tmp_path_factory.mktemp("erl") / "cases.erl"
    script.write_text(
        "Cases = [\n" + ",\n".join(lines) + "],\n"
        "lists:foreach(fun({T, B}) ->\n"
        "    Same = case B of <<>> -> skip; _ -> binary_to_term(base64:decode(B)) =:= T end,\n"
        "    io:format(\"~s ~s~n\", [base64:encode(term_to_binary(T, [{minor_version, 2}])), Same])\n"
        "end, Cases),\n"
        f"Five = binary_to_term(base64:decode(<<\"{base64.b64encode(encode(five)).decode()}\">>)),\n"
        "io:format(\"five ~s ~s~n\", [base64:encode(term_to_binary(Five, [{minor_version, 2}])), "
        "node(Five)]),\n"
        "Big = term_to_binary(lists:duplicate(5000, {ok, <<\"x\">>}), [compressed, {minor_version, 2}]),\n"
        "io:format(\"compressed ~s~n\", [base64:encode(Big)]).\n", encoding="utf-8")
    out = subprocess.run([erl, "-noshell", "-eval", f'file:script("{script}"), halt().'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.split("\n")
    n = len(CASES) + len(extra)
    results = [row.split(" ") for row in rows[:n + len(OPAQUE)]]
    five_row = rows[n + len(OPAQUE)].split(" ")
    return {
        "cases": [(base64.b64decode(b), same) for b, same in results[:n]],
        "extra": list(zip(extra, results[len(CASES):n])),
        "opaque": [base64.b64decode(b) for b, _ in results[n:]],
        "five": (base64.b64decode(five_row[1]), five_row[2], five),
        "compressed": base64.b64decode(rows[n + len(OPAQUE) + 1].split(" ")[1]),
    }


@pytest.mark.parametrize("i", range(len(CASES)), ids=[src[:40] for src, _ in CASES])
def test_agrees_with_the_beam_byte_for_byte(beam: dict[str, Any], i: int) -> None:
    """encode(v) is term_to_binary(T) exactly; the BEAM decodes it to T (=:=);
    decode(term_to_binary(T)) == v, of the same Python type."""
    src, value = CASES[i]
    theirs, same = beam["cases"][i]
    assert same == "true", f"erl decodes our {value!r} to something else than {src}"
    assert encode(value) == theirs
    back = decode(theirs)
    assert back == value and type(back) is type(value)


def test_the_beam_reads_our_larger_encodings(beam: dict[str, Any]) -> None:
    """A term inflated from a compressed binary and a 5001-tuple: the BEAM
    decodes ours to them."""
    for (src, value), (theirs, same) in beam["extra"]:
        assert same == "true", src
        assert decode(base64.b64decode(theirs)) == value


def test_opaque_terms_from_the_beam_go_back_unchanged(beam: dict[str, Any]) -> None:
    """Funs (export and local), refs, aliases, pids and ports decode to value
    types that re-encode byte for byte."""
    kinds = []
    for theirs in beam["opaque"]:
        term = decode(theirs)
        kinds.append(type(term))
        assert encode(term) == theirs
        assert decode(encode(term)) == term and hash(decode(theirs)) == hash(term)
    assert kinds == [ErlFun, ErlFun, ExternalRef, ExternalRef, ExternalPid, ExternalPort]


def test_five_word_refs_travel_both_ways(beam: dict[str, Any]) -> None:
    """A reference with 5 id words (OTP 24+ sends them; OTP 28 always) of
    another node: the BEAM reads ours and sends back the same bytes."""
    theirs, node, five = beam["five"]
    assert node == "a@b"
    assert theirs == encode(five)
    assert decode(theirs) == five and len(decode(theirs).ids) == 5


def test_compressed_terms_from_the_beam(beam: dict[str, Any]) -> None:
    """term_to_binary(T, [compressed]) decodes to T; ours compresses only when
    it is smaller, and decodes back too."""
    data = beam["compressed"]
    assert data[1] == 80
    assert decode(data) == [(A("ok"), "x")] * 5000
    ours = encode([(A("ok"), "x")] * 5000, compressed=6)
    assert ours[1] == 80 and len(ours) < len(encode([(A("ok"), "x")] * 5000))
    assert decode(ours) == [(A("ok"), "x")] * 5000
    assert encode(A("ok"), compressed=9) == encode(A("ok"))


# -- the mapping, in Python --------------------------------------------------------------

def test_a_str_never_becomes_an_atom_and_atom_matches_str() -> None:
    """str travels as a UTF-8 binary; Atom is a str subclass equal to its text."""
    assert encode("ok")[1] == 109 and encode(A("ok"))[1] == 119
    assert A("ok") == "ok" and hash(A("ok")) == hash("ok") and isinstance(A("ok"), str)
    assert type(decode(encode("ok"))) is str and type(decode(encode(A("ok")))) is Atom
    assert repr(A("ok")) == "Atom('ok')"


def test_binaries_decode_to_str_when_utf8_else_bytes() -> None:
    """Valid UTF-8 -> str; anything else (lone surrogates, overlongs, stray
    continuation bytes, truncated sequences) -> bytes, unchanged."""
    for raw in [b"\xed\xa0\x80", b"\xc0\x80", b"\x80", b"abc\xe2\x82", b"\xf4\x90\x80\x80",
                b"\xff" * 9, bytes(range(256))]:
        assert decode(encode(raw)) == raw
    for text in ["", "plain ascii long enough for the fast path", "é", "€", "𝄞", "\U0010ffff"]:
        assert decode(encode(text.encode())) == text


def test_atoms_are_limited_to_255_characters() -> None:
    """An atom has at most 255 characters: Atom() refuses more, and so does
    the decoder for a longer one on the wire."""
    with pytest.raises(ValueError, match="255"):
        A("a" * 256)
    long = b"\x83\x76\x01\x00" + b"a" * 256
    with pytest.raises(ValueError, match="255"):
        decode(long)
    with pytest.raises(TypeError, match="name"):
        A(5)  # type: ignore[arg-type]


def test_old_atom_float_and_pid_formats_decode() -> None:
    """ATOM_EXT/SMALL_ATOM_EXT (Latin-1), FLOAT_EXT, PID_EXT, NEW_REFERENCE_EXT,
    REFERENCE_EXT and PORT_EXT, as older nodes send them."""
    assert decode(b"\x83\x64\x00\x02ok") == A("ok")
    assert decode(b"\x83\x73\x02\xe9a") == A("éa")
    assert decode(b"\x83\x64\x00\x04true") is True
    assert decode(b"\x83\x63" + b"1.50000000000000000000e+00".ljust(31, b"\0")) == 1.5
    node = b"\x64\x00\x03a@b"
    assert decode(b"\x83\x67" + node + b"\0\0\0\x01\0\0\0\x02\x03") == ExternalPid("a@b", 1, 2, 3)
    assert decode(b"\x83\x72\x00\x02" + node + b"\x01\0\0\0\x05\0\0\0\x06") == ExternalRef("a@b", 1, (5, 6))
    assert decode(b"\x83\x65" + node + b"\0\0\0\x09\x02") == ExternalRef("a@b", 2, (9,))
    assert decode(b"\x83\x66" + node + b"\0\0\0\x09\x02") == ExternalPort("a@b", 9, 2)
    assert encode(ExternalPort("a@b", 2**40, 1))[1] == 120  # V4_PORT_EXT
    assert decode(encode(ExternalPort("a@b", 2**40, 1))) == ExternalPort("a@b", 2**40, 1)


def test_improper_lists_round_trip_and_join_chained_tails() -> None:
    """[a | b] is an ImproperList both ways; a list whose tail is itself a list
    segment (LIST_EXT or STRING_EXT) is one list, however long the chain."""
    tag = ImproperList([A("alias")], ExternalRef("n@h", 1, (1, 2, 3)))
    assert decode(encode(tag)) == tag and list(tag) == [A("alias")] and tag.tail.ids == (1, 2, 3)
    chained = b"\x83" + b"\x6c\0\0\0\x01\x61\x01" * 100_000 + b"\x6b\x00\x02\x05\x06"
    assert decode(chained) == [1] * 100_000 + [5, 6]
    improper_chain = b"\x83\x6c\0\0\0\x01\x61\x01\x6c\0\0\0\x01\x61\x02\x61\x03"
    assert decode(improper_chain) == ImproperList([1, 2], 3)
    with pytest.raises(ValueError, match="tail"):
        ImproperList([1], [2])
    with pytest.raises(ValueError, match="empty"):
        ImproperList([], 2)
    assert ImproperList([1], 2) != ImproperList([1], 3) and repr(ImproperList([1], 2)) == "ImproperList([1], 2)"


def test_map_keys_that_python_cannot_hash_or_tell_apart() -> None:
    """List and map keys decode to FrozenList/FrozenMap and encode back as
    lists/maps; a FrozenList is not equal to the tuple of its items. Keys that
    Python conflates (ok vs <<"ok">>, 1 vs 1.0) make the map a ValueError."""
    m = {FrozenList([1, 2]): A("l"), (1, 2): A("t"), FrozenMap({A("k"): FrozenList([1])}): 0}
    assert decode(encode(m)) == m
    assert encode(FrozenList([1, 2])) == encode([1, 2]) and encode(FrozenMap({1: 2})) == encode({1: 2})
    assert FrozenList([1, 2]) != (1, 2) and FrozenMap({1: 2}) == FrozenMap([(1, 2)])
    clash = b"\x83\x74\0\0\0\x02" + b"\x77\x02ok\x61\x01" + b"\x6d\0\0\0\x02ok\x61\x02"
    with pytest.raises(ValueError, match="equal in Python"):
        decode(clash)
    clash = b"\x83\x74\0\0\0\x02\x61\x01\x61\x01" + b"\x46" + struct.pack(">d", 1.0) + b"\x61\x02"
    with pytest.raises(ValueError, match="equal in Python"):
        decode(clash)


def test_big_ints_and_floats() -> None:
    """Integers of any size and sign; floats exact; NaN and infinities refused."""
    for v in [0, -0, 2**63 - 1, -2**63, 2**64, -(2**64) + 1, 2**1000, -(2**1000), 3**5000, -(7**3000)]:
        assert decode(encode(v)) == v
    for f in [0.0, -0.0, 1e-310, 1.7976931348623157e308, -math.pi]:
        assert decode(encode(f)) == f and math.copysign(1, decode(encode(f))) == math.copysign(1, f)
    for bad in [math.nan, math.inf, -math.inf]:
        with pytest.raises(ValueError, match="finite"):
            encode(bad)


def test_unsupported_types_raise_type_error_naming_the_type() -> None:
    """Nothing is pickled: an object of another type is a TypeError naming it."""
    class Thing:
        pass
    for bad, name in [(Thing(), "Thing"), ({1, 2}, "set"), (1j, "complex"), ([object()], "object")]:
        with pytest.raises(TypeError, match=name):
            encode(bad)


def test_codec_hooks_map_pids_refs_and_unknown_types() -> None:
    """make_pid/make_ref turn decoded pids/refs into local objects; default
    maps an unknown type (and subclasses, e.g. a NamedTuple, before they would
    travel as their base type) or returns NotImplemented to decline."""
    from typing import NamedTuple

    class Local:
        def __init__(self, n: int) -> None:
            self.n = n

    class Down(NamedTuple):
        ref: Any
        reason: Any

    def default(o: Any) -> Any:
        if isinstance(o, Local):
            return ExternalPid("me@h", o.n, 0, 1)
        if isinstance(o, Down):
            return (A("DOWN"), o.ref, A(o.reason))
        return NotImplemented

    codec = Codec(make_pid=lambda p: ("pid", p.id), make_ref=lambda r: ("ref", r.ids), default=default)
    data = codec.encode([Local(7), Down(ExternalRef("me@h", 1, (9,)), "normal")])
    assert decode(data) == [ExternalPid("me@h", 7, 0, 1), (A("DOWN"), ExternalRef("me@h", 1, (9,)), A("normal"))]
    assert codec.decode(data) == [("pid", 7), (A("DOWN"), ("ref", (9,)), A("normal"))]
    assert encode(Down(1, 2)) == encode((1, 2))          # without the hook: a tuple
    with pytest.raises(TypeError, match="Thing"):
        codec.encode(type("Thing", (), {})())
    with pytest.raises(TypeError, match="make_pid"):
        Codec(make_pid=5)  # type: ignore[arg-type]


def test_decode_from_reads_framed_terms() -> None:
    """decode_from returns the term and where it ends, so that terms can be
    read one after another from one buffer; decode wants exactly one term."""
    buf = bytearray(b"junk" + encode((A("a"), 1)) + encode(A("b"), compressed=0) +
                    encode(list(range(3000)), compressed=1))
    t1, end = decode_from(buf, 4)
    t2, end = decode_from(buf, end)
    t3, end = decode_from(memoryview(buf), end)
    assert (t1, t2, t3, end) == ((A("a"), 1), A("b"), list(range(3000)), len(buf))
    with pytest.raises(ValueError, match="after the term"):
        decode(encode(1) + b"\x00")
    with pytest.raises(ValueError, match="past the end"):
        decode_from(encode(1), 3)


# -- hostile input -----------------------------------------------------------------------

VALID = encode((A("ok"), [1, 300, 2**70, -5, 1.5], {A("k"): "v", 1: b"\xff"}, ImproperList([A("alias")],
               ExternalRef("n@h", 1, (1, 2, 3, 4, 5))), ExternalPid("n@h", 1, 2, 3), BitString(b"\x10", 4),
               "é" * 5, [], (), None, True, [[[]]], ExternalPort("n@h", 2**40, 1)))


def test_truncation_at_every_offset_is_a_value_error() -> None:
    """Every prefix of a valid encoding is refused with ValueError."""
    for cut in range(len(VALID)):
        with pytest.raises(ValueError):
            decode(VALID[:cut])
    assert decode(VALID)[0] == A("ok")


@pytest.mark.parametrize("data", [
    b"\x83\x6c\xff\xff\xff\xff\x61\x01",            # a list of 4 G elements, 2 bytes given
    b"\x83\x68\xff",                                  # a tuple of 255, none given
    b"\x83\x69\xff\xff\xff\xff",                      # a large tuple
    b"\x83\x74\x7f\xff\xff\xff\x61\x01\x61\x01",    # a map of 2 G pairs
    b"\x83\x6d\xff\xff\xff\xff",                      # a 4 GiB binary
    b"\x83\x6f\xff\xff\xff\xff\x00",                  # a 4 G-byte bignum
    b"\x83\x6b\xff\xff",                              # a 64 K string
    b"\x83\x76\xff\xff",                              # a 64 KiB atom
    b"\x83\x4d\xff\xff\xff\xff\x04",                  # a bit string
    b"\x83\x70\xff\xff\xff\xff",                      # a fun of 4 GiB
    b"\x83\x5a\x00\x06\x77\x01a\0\0\0\0" + b"\0" * 24,  # a ref of 6 words
    b"\x83\x5a\x00\x00\x77\x01a\0\0\0\0",            # a ref of 0 words
    b"\x83\x58\x61\x01" + b"\0" * 12,                 # a pid whose node is not an atom
    b"\x83\x6e\x01\x02\x05",                          # a big with sign byte 2
    b"\x83\xff", b"\x83\x52\x00", b"\x83\x75", b"\x84\x61\x01", b"", b"\x83",  # bad tags, version
    b"\x83\x77\x02\xc3\x28",                          # an atom that is not UTF-8
    b"\x83\x4d\0\0\0\x01\x09\xff",                    # 9 bits in the last byte
    b"\x83\x63" + b"x" * 31,                          # a FLOAT_EXT that is no float
    b"\x83\x71\x77\x01m\x77\x01f\x62\0\0\0\x01",     # an export with an INTEGER_EXT arity
])
def test_hostile_input_is_a_value_error(data: bytes) -> None:
    """Length claims beyond the input, bad tags, bad fields: ValueError, and
    nothing allocated for the claim."""
    with pytest.raises(ValueError):
        decode(data)


def test_compressed_size_claims_are_bounded() -> None:
    """A compressed term may not claim more than deflate can produce from the
    bytes given, nor more than max_inflated; a zlib bomb inflates no further
    than its claim; a bad stream or a wrong claim is a ValueError."""
    bomb = zlib.compress(b"\x6a" + b"\0" * 50_000_000, 9)           # ~50 KB
    with pytest.raises(ValueError, match="claims"):
        decode(b"\x83\x50\xff\xff\xff\xff" + bomb[:10])
    with pytest.raises(ValueError, match="claims"):
        Codec(max_inflated=1 << 20).decode(b"\x83\x50" + (50_000_001).to_bytes(4, "big") + bomb)
    with pytest.raises(ValueError, match="inflate"):
        decode(b"\x83\x50\x00\x00\x00\x10" + bomb)                   # claims 16 bytes: more follow
    with pytest.raises(ValueError):
        decode(b"\x83\x50" + (50_000_001).to_bytes(4, "big") + bomb)  # inflates, then bytes after NIL
    with pytest.raises(ValueError, match="zlib"):
        decode(b"\x83\x50\x00\x00\x00\x02" + b"garbage!")
    with pytest.raises(ValueError, match="inflate"):
        decode(b"\x83\x50\x00\x00\x00\x05" + zlib.compress(b"\x61\x01"))


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    """100,000 nested tuples, lists or maps: RecursionError, decoding and
    encoding; the codec still works afterwards."""
    for opener, closer in [(b"\x68\x01", b"\x6a"), (b"\x6c\0\0\0\x01", b"\x6a" * 0 + b"\x6a"),
                           (b"\x74\0\0\0\x01\x61\x01", b"\x6a")]:
        with pytest.raises(RecursionError):
            decode(b"\x83" + opener * 100_000 + closer)
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(RecursionError):
        encode(nested)
    deep: Any = 1
    for _ in range(100_000):
        deep = {1: (deep,)}
    with pytest.raises(RecursionError):
        encode(deep)
    assert decode(encode([[1]])) == [[1]]


def test_value_types_check_their_fields() -> None:
    """The wire value types refuse what cannot travel."""
    with pytest.raises(ValueError, match="1 to 5"):
        ExternalRef("a@b", 0, (1, 2, 3, 4, 5, 6))
    with pytest.raises(ValueError, match="2\\*\\*32"):
        ExternalPid("a@b", 2**32, 0, 0)
    with pytest.raises(TypeError, match="node"):
        ExternalPid(5, 0, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bits"):
        BitString(b"\x01", 0)
    with pytest.raises(ValueError, match="NEW_FUN_EXT"):
        ErlFun(b"\x61\x01")


# -- Down, Exit and exit reasons (docs/api.md, "Terms") ---------------------------------------

PID = ExternalPid(NODE, 1, 2, 0)                 # list_to_pid("<0.1.2>")
REF = ExternalRef(NODE, 0, (3, 2, 1))            # list_to_ref("#Ref<0.1.2.3>")
P_SRC, R_SRC = 'list_to_pid("<0.1.2>")', 'list_to_ref("#Ref<0.1.2.3>")'

# (what we encode, the Erlang term it must be): checked with =:= by the BEAM.
SIGNALS_OUT: list[tuple[Any, str]] = [
    *[(Down(REF, PID, reason), f"{{'DOWN', {R_SRC}, process, {P_SRC}, {reason}}}")
      for reason in ("normal", "kill", "killed", "shutdown", "noproc", "noconnection")],
    (Exit(PID, "normal"), f"{{'EXIT', {P_SRC}, normal}}"),
    (Exit(PID, ("shutdown", "why")), f"{{'EXIT', {P_SRC}, {{shutdown, <<\"why\">>}}}}"),
    (Down(REF, PID, ValueError("bad value")),
     f"{{'DOWN', {R_SRC}, process, {P_SRC}, {{'ValueError', <<\"bad value\">>}}}}"),
    (Exit(PID, "anything else"), f"{{'EXIT', {P_SRC}, <<\"anything else\">>}}"),
    (Exit(PID, A("my_reason")), f"{{'EXIT', {P_SRC}, my_reason}}"),
    (Exit(None, "noconnection"), "{'EXIT', undefined, noconnection}"),
    (Down(REF, (A("name"), A("n@h")), "noproc"), f"{{'DOWN', {R_SRC}, process, {{name, 'n@h'}}, noproc}}"),
]

# Erlang expressions evaluated in order (bindings kept): each prints
# term_to_binary of its value for us to decode.
SIGNALS_IN = [
    # a real monitor's DOWN and a real trapped EXIT
    "begin {P1, R1} = spawn_monitor(fun() -> ok end), receive D1 = {'DOWN', R1, _, _, _} -> D1 end end",
    "begin process_flag(trap_exit, true), P2 = spawn_link(fun() -> exit(shutdown) end), "
    "receive X2 = {'EXIT', P2, _} -> X2 end end",
    "begin P3 = spawn_link(fun() -> exit({shutdown, restart}) end), receive X3 = {'EXIT', P3, _} -> X3 end end",
    "begin R4 = erlang:monitor(process, no_such_name), receive D4 = {'DOWN', R4, _, _, _} -> D4 end end",
    "begin {P5, R5} = spawn_monitor(fun() -> error(badarg) end), receive D5 = {'DOWN', R5, _, _, _} -> D5 end end",
    # not these shapes: they stay tuples
    "{'DOWN', make_ref(), port, hd(erlang:ports()), normal}",
    "{'DOWN', 1, process, self(), normal}",
    "{'EXIT', foo, bar}",
    "{'EXIT', self(), normal, extra}",
]


@pytest.fixture(scope="module")
def beam_signals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One erl run: =:= of our encoding of each SIGNALS_OUT value with its
    Erlang term; term_to_binary of each SIGNALS_IN expression; and whether a
    process survives the exit reason of our ``Exit(pid, "normal")`` (and, for
    contrast, the plain str "normal": a binary)."""
    erl = shutil.which("erl")
    if erl is None:
        reason = "erl (Erlang/OTP) is not installed: the comparisons with the BEAM are skipped"
        print(reason)
        pytest.skip(reason)

    def b64(term: Any) -> str:
        return base64.b64encode(encode(term)).decode()

    out_lines = ",\n".join(f"{{{src}, <<\"{b64(value)}\">>}}" for value, src in SIGNALS_OUT)
    in_lines = ",\n".join(f"E{i} = {src}" for i, src in enumerate(SIGNALS_IN))
    in_vars = ", ".join(f"E{i}" for i in range(len(SIGNALS_IN)))
    script = tmp_path_factory.mktemp("erl") / "signals.erl"
    script.write_text(
        "logger:set_primary_config(level, none),\n"     # the crash below reports nothing
        "lists:foreach(fun({T, B}) -> io:format(\"~s~n\", [binary_to_term(base64:decode(B)) =:= T]) end, [\n"
        + out_lines + "]),\n"
        + in_lines + ",\n"
        "lists:foreach(fun(T) -> io:format(\"~s~n\", [base64:encode(term_to_binary(T, [{minor_version, 2}]))]) end, ["
        + in_vars + "]),\n"
        # the ping follows the exit signal (signals between two processes keep
        # their order): a pong means the signal did not kill it
        "Survives = fun(Reason) ->\n"
        "    P = spawn(fun Loop() -> receive {ping, From} -> From ! {pong, self()}, Loop() end end),\n"
        "    M = monitor(process, P), exit(P, Reason), P ! {ping, self()},\n"
        "    Alive = receive {pong, P} -> true; {'DOWN', M, process, P, _} -> false end,\n"
        "    demonitor(M, [flush]), exit(P, kill), Alive end,\n"
        f"{{'EXIT', _, Normal}} = binary_to_term(base64:decode(<<\"{b64(Exit(PID, 'normal'))}\">>)),\n"
        f"io:format(\"~s ~s~n\", [Survives(Normal), Survives(binary_to_term(base64:decode(<<\"{b64('normal')}\">>)))]).\n",
        encoding="utf-8")
    out = subprocess.run([erl, "-noshell", "-eval", f'file:script("{script}"), halt().'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.split("\n")
    n_out, n_in = len(SIGNALS_OUT), len(SIGNALS_IN)
    return {
        "same": rows[:n_out],
        "theirs": [base64.b64decode(row) for row in rows[n_out:n_out + n_in]],
        "survives": rows[n_out + n_in].split(" "),
    }


@pytest.mark.parametrize("i", range(len(SIGNALS_OUT)), ids=[repr(v)[:60] for v, _ in SIGNALS_OUT])
def test_down_and_exit_reach_the_beam_as_its_own_messages(beam_signals: dict[str, Any], i: int) -> None:
    """Down(ref, pid, reason) is {'DOWN', Ref, process, Pid, Reason} and
    Exit(pid, reason) is {'EXIT', Pid, Reason}; the reasons normal, kill,
    killed, shutdown, noproc, noconnection and {shutdown, X} are atoms, an
    exception is {ClassName, Message}, any other reason travels as itself."""
    value, src = SIGNALS_OUT[i]
    assert beam_signals["same"][i] == "true", f"erl decodes our {value!r} to something else than {src}"


def test_the_beam_reads_our_normal_as_normal(beam_signals: dict[str, Any]) -> None:
    """An exit signal with the reason of our Exit(pid, "normal") does not kill
    a BEAM process that is not trapping exits; the binary <<"normal">> (what
    a plain str is) would."""
    assert beam_signals["survives"] == ["true", "false"]


def test_down_and_exit_from_the_beam_decode_to_down_and_exit(beam_signals: dict[str, Any]) -> None:
    """A real monitor's DOWN and a real trapped EXIT decode to Down/Exit with
    the reasons a local process would see ("normal", "shutdown", ("shutdown",
    x)), and encode back byte for byte; other tuples of those shapes stay
    tuples."""
    down, shut, shut_tuple, noproc, crash, port_down, not_ref, not_pid, four = (
        decode(theirs) for theirs in beam_signals["theirs"])
    assert type(down) is Down and type(down.ref) is ExternalRef and type(down.pid) is ExternalPid
    assert down.reason == "normal" and type(down.reason) is str
    assert type(shut) is Exit and type(shut.pid) is ExternalPid
    assert shut.reason == "shutdown" and type(shut.reason) is str
    assert type(shut_tuple) is Exit and shut_tuple.reason == ("shutdown", A("restart"))
    assert type(shut_tuple.reason[0]) is str
    assert type(noproc) is Down and noproc.pid == (A("no_such_name"), NODE) and noproc.reason == "noproc"
    assert type(crash) is Down and crash.reason[0] == A("badarg") and type(crash.reason[1]) is list
    for term, theirs in zip((down, shut, shut_tuple, noproc, crash), beam_signals["theirs"]):
        assert encode(term) == theirs
    assert type(port_down) is tuple and port_down[0] == A("DOWN") and port_down[2] == A("port")
    assert type(not_ref) is tuple and not_ref[1] == 1
    assert type(not_pid) is tuple and not_pid == (A("EXIT"), A("foo"), A("bar"))
    assert type(four) is tuple and len(four) == 4


def test_reason_to_term_and_back() -> None:
    """reason_to_term: the atom reasons become atoms, ("shutdown", x) a tuple
    with the atom shutdown, an exception (Atom(ClassName), str(exc)), anything
    else is unchanged; term_to_reason undoes the first two."""
    for name in ("normal", "kill", "killed", "shutdown", "noproc", "noconnection"):
        term = reason_to_term(name)
        assert term == name and type(term) is Atom
        back = term_to_reason(term)
        assert back == name and type(back) is str
    term = reason_to_term(("shutdown", {"k": 1}))
    assert term == ("shutdown", {"k": 1}) and type(term[0]) is Atom
    assert type(term_to_reason(term)[0]) is str
    term = reason_to_term(KeyError("missing"))
    assert term == ("KeyError", "'missing'") and type(term[0]) is Atom and type(term[1]) is str

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert reason_to_term(Unprintable()) == ("Unprintable", "<exception str() failed>")
    for other in ("other", "Normal", 42, None, A("normal"), ("shutdown",), ("shutdown", 1, 2),
                  (A("shutdown"), 1), ["normal"]):
        assert reason_to_term(other) is other
    for other in ("normal", A("other"), (A("shutdown"), 1, 2), ("shutdown", 1), 42):
        assert term_to_reason(other) is other


def test_down_and_exit_of_the_runtime_travel_through_the_node_hooks() -> None:
    """The Down and Exit messages the runtime delivers encode through a
    Codec whose default maps Pid/Ref (as the node layer's does) and decode,
    with make_pid/make_ref mapping back, to equal Down/Exit messages; a
    crash's exception travels as {ClassName, Message}."""
    async def crash() -> None:
        raise ValueError("boom")

    async def main() -> tuple[Any, Any]:
        _, ref = actors.spawn_monitor(crash)
        down = await actors.receive(Down, timeout=5)
        actors.Process.flag("trap_exit", True)
        actors.spawn_link(crash)
        exit_msg = await actors.receive(Exit, timeout=5)
        return down, exit_msg

    down, exit_msg = actors.run(main)
    assert type(down) is Down and type(exit_msg) is Exit
    table: dict[Any, Any] = {}

    def default(o: Any) -> Any:
        if isinstance(o, (actors.Pid, actors.Ref)):
            wire = (ExternalPid("py@h", len(table), 0, 1) if isinstance(o, actors.Pid)
                    else ExternalRef("py@h", 1, (len(table),)))
            table[wire] = o
            return wire
        return NotImplemented

    codec = Codec(default=default, make_pid=table.__getitem__, make_ref=table.__getitem__)
    crash_reason = (A("ValueError"), "boom")
    wire_down = codec.encode(down)
    assert wire_down == encode((A("DOWN"), ExternalRef("py@h", 1, (0,)), A("process"),
                                ExternalPid("py@h", 1, 0, 1), crash_reason))
    assert codec.decode(wire_down) == Down(down.ref, down.pid, crash_reason)
    assert type(codec.decode(wire_down)) is Down
    back = codec.decode(codec.encode(exit_msg))
    assert type(back) is Exit and back == Exit(exit_msg.pid, crash_reason)
    assert codec.decode(codec.encode(Exit(exit_msg.pid, "killed"))).reason == "killed"
    with pytest.raises(TypeError, match="cannot encode a Ref"):
        encode(down)                        # without the hook a Ref cannot travel


# -- the property --------------------------------------------------------------------------

def _normal(term: Any) -> Any:
    """What a Python term decodes back to: bytes that are valid UTF-8 become
    str, the atoms true/false/undefined become True/False/None, tuples shaped
    like a Down or an Exit become one (with reasons through term_to_reason)."""
    if type(term) is Down:
        return Down(_normal(term.ref), _normal(term.pid), term_to_reason(_normal(reason_to_term(term.reason))))
    if type(term) is Exit:
        return Exit(_normal(term.pid), term_to_reason(_normal(reason_to_term(term.reason))))
    if type(term) is Atom and term in _SPECIAL:
        return _SPECIAL[term]
    if type(term) is bytes:
        try:
            return term.decode("utf-8")
        except UnicodeDecodeError:
            return term
    if type(term) is tuple:
        t = tuple(_normal(x) for x in term)
        if (len(t) == 5 and type(t[0]) is Atom and t[0] == "DOWN" and type(t[1]) is ExternalRef
                and type(t[2]) is Atom and t[2] == "process"):
            return Down(t[1], t[3], term_to_reason(t[4]))
        if len(t) == 3 and type(t[0]) is Atom and t[0] == "EXIT" and (type(t[1]) is ExternalPid or t[1] is None):
            return Exit(t[1], term_to_reason(t[2]))
        return t
    if type(term) is list:
        return [_normal(x) for x in term]
    if type(term) is dict:
        return {k: _normal(v) for k, v in term.items()}
    if type(term) is ImproperList:
        return ImproperList([_normal(x) for x in term.items], _normal(term.tail))
    return term


# Atoms named true/false/undefined decode as True/False/None (_normal), which as
# keys would clash with 1 and 0 in Python: the keys leave them out.
_SPECIAL = {"true": True, "false": False, "undefined": None}
_key_atoms = st.text(max_size=8).filter(lambda s: s not in _SPECIAL).map(Atom)
_keys = st.recursive(st.integers() | st.text(max_size=8) | _key_atoms | st.booleans(),
                     lambda inner: st.tuples(inner, inner), max_leaves=4)
_pids = st.builds(ExternalPid, st.just("n@h"), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                  st.integers(0, 2**32 - 1))
_refs = st.builds(ExternalRef, st.just("n@h"), st.integers(0, 2**32 - 1),
                  st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5))
_reasons = st.sampled_from(["normal", "kill", "killed", "shutdown", "noproc", "noconnection", "other",
                            Atom("normal"), Atom("other")])
_leaves = (st.integers() | st.integers(min_value=-(2**300), max_value=2**300)
           | st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.none()
           | st.text() | st.binary() | st.text(max_size=255).map(Atom) | _pids | _refs
           | st.tuples(st.sampled_from([Atom("DOWN"), Atom("EXIT")]), _pids | _refs | st.none(), _reasons))
_terms = st.recursive(
    _leaves,
    lambda inner: (st.lists(inner) | st.lists(inner).map(tuple)
                   | st.dictionaries(_keys, inner, max_size=5)
                   | st.builds(Down, _refs, _pids | inner, _reasons | inner)
                   | st.builds(Exit, _pids | st.none(), _reasons | st.tuples(st.just("shutdown"), inner) | inner)
                   | st.builds(ImproperList, st.lists(inner, min_size=1),
                               inner.filter(lambda t: type(t) not in (list, ImproperList)))),
    max_leaves=20)


# The strategy's repr spells out its big-integer bounds (hypothesis warns past 30 kB).
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=300, deadline=None)
@given(_terms)
def test_round_trip_property(term: Any) -> None:
    """decode(encode(t)) == t for every Python term of the mapping (binaries that
    are valid UTF-8 coming back as str), and encoding is deterministic."""
    data = encode(term)
    assert decode(data) == _normal(term)
    assert encode(decode(data)) == encode(_normal(term))
    assert decode_from(data + b"tail")[1] == len(data)


def test_the_module_is_a_compiled_extension() -> None:
    """The codec is the compiled actors.dist._etf (no pure-Python fallback)."""
    import actors.dist._etf as etf
    assert Path(etf.__file__).suffix in (".so", ".pyd")
