"""errors.py: argparse's errors are the one-line UserError of every other bad input."""
import pytest

from structnet.errors import Parser, UserError


def test_parser_errors_are_user_errors():
    ap = Parser(prog="structnet x")
    ap.add_argument("--n", type=int)
    with pytest.raises(UserError, match=r"^structnet x: argument --n: invalid int value: 'q'$"):
        ap.parse_args(["--n", "q"])
    with pytest.raises(UserError, match="unrecognized arguments: --m"):
        ap.parse_args(["--m"])
