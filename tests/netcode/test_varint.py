"""mugkit.runtime.varint: the LEB128 varints shared by the hash encoding and the wire codec."""

import pytest

from mugkit.netcode import codec
from mugkit.runtime import hashing
from mugkit.runtime.varint import MAX_VARINT_BYTES, read_varint, write_varint


def written(n):
    out = bytearray()
    write_varint(n, out)
    return bytes(out)


@pytest.mark.parametrize("n, data", [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"),
                                     (300, b"\xac\x02"), (2**21, b"\x80\x80\x80\x01")])
def test_known_encodings(n, data):
    assert written(n) == data
    assert read_varint(b"\xff" + data + b"\xff", 1) == (n, 1 + len(data))


def test_big_values_round_trip():
    for n in [2**63 - 1, 2**64, 2**70 + 12345, 3**500]:
        data = written(n)
        assert read_varint(data, 0) == (n, len(data))


def test_truncated_varint_is_a_value_error():
    with pytest.raises(ValueError, match=r"^truncated varint at byte 2$"):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(ValueError, match=r"^truncated varint at byte 0$"):
        read_varint(b"", 0)


def test_non_minimal_varint_is_overlong():
    with pytest.raises(ValueError, match=r"^overlong varint at byte 1: not in the fewest bytes$"):
        read_varint(b"\x00\x80\x00", 1)  # 0 in two bytes


def test_varint_longer_than_the_limit_is_overlong():
    longest = b"\xff" * (MAX_VARINT_BYTES - 1) + b"\x01"
    assert read_varint(longest, 0) == (2 ** (7 * MAX_VARINT_BYTES - 6) - 1, MAX_VARINT_BYTES)
    with pytest.raises(ValueError, match=rf"^overlong varint at byte 0: longer than {MAX_VARINT_BYTES} bytes$"):
        read_varint(b"\xff" * MAX_VARINT_BYTES + b"\x01", 0)
    with pytest.raises(ValueError, match=r"longer than 3 bytes"):
        read_varint(b"\x80\x80\x80\x01", 0, max_bytes=3)


def test_the_codec_reports_bad_varints_as_codec_errors():
    with pytest.raises(codec.CodecError, match=r"^overlong varint at byte 1: not in the fewest bytes$"):
        codec.decode(b"\x03\x80\x00")  # the int 0 with a padded varint
    with pytest.raises(codec.CodecError, match=r"^truncated varint at byte 2$"):
        codec.decode(b"\x03\x80")


def test_hashing_keeps_its_name_and_its_output():
    assert hashing.write_varint is write_varint
    # computed before the writer moved out of hashing.py: the hash must not change
    value = {"a": [1, 2**70, -0.0, "x" * 200, b"y" * 300, (True, None)], 5: list(range(300))}
    assert hashing.digest(value) == "a5250f78b551e3ca"


def test_the_codec_does_not_import_the_hash_module():
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(codec))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "runtime.varint" in imported and not any("hashing" in (m or "") for m in imported)
