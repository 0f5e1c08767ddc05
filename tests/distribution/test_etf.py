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


# -- the property --------------------------------------------------------------------------

def _normal(term: Any) -> Any:
    """What a Python term decodes back to: bytes that are valid UTF-8 become
    str, the atoms true/false/undefined become True/False/None."""
    if type(term) is Atom and term in _SPECIAL:
        return _SPECIAL[term]
    if type(term) is bytes:
        try:
            return term.decode("utf-8")
        except UnicodeDecodeError:
            return term
    if type(term) is tuple:
        return tuple(_normal(x) for x in term)
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
_leaves = (st.integers() | st.integers(min_value=-(2**300), max_value=2**300)
           | st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.none()
           | st.text() | st.binary() | st.text(max_size=255).map(Atom)
           | st.builds(ExternalPid, st.just("n@h"), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                       st.integers(0, 2**32 - 1))
           | st.builds(ExternalRef, st.just("n@h"), st.integers(0, 2**32 - 1),
                       st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5)))
_terms = st.recursive(
    _leaves,
    lambda inner: (st.lists(inner) | st.lists(inner).map(tuple)
                   | st.dictionaries(_keys, inner, max_size=5)
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
