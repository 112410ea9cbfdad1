r"""Text from a target or a suite made safe to print on a terminal.

A target's words (a question, an extracted value, an error message) can hold escape sequences:
clear the screen, set the window title, recolour what follows, or the same through the 8-bit
C1 controls, and the bidirectional overrides can reorder what a line shows. Everything the CLI
prints of them goes through `inert` (for `Console.print`: each control character shown as an
escape, `\x1b`, and rich markup escaped) or `visible` (the same for `click.echo`, which has no
markup), so the text reads as itself.
"""

from __future__ import annotations

import re

from rich.markup import escape

__all__ = ["inert", "visible"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC, CSI, BEL, CR, NUL...), DEL, and the bidirectional overrides."""


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    r"""Text for `click.echo`: each control character shown as an escape.

    Args:
        text: Untrusted text; anything else is converted with `str()` first.

    Returns:
        The text with every C0 and C1 control, DEL and bidirectional override as `\x9b` or
        `\u202e`; nothing else changed.
    """
    return _CONTROL.sub(_shown, str(text))


def inert(text: object) -> str:
    r"""Text for `Console.print`: each control character shown as an escape, markup escaped.

    Args:
        text: Untrusted text; anything else is converted with `str()` first.

    Returns:
        One line that prints as the text reads (`\x1b[2J` for a clear-screen sequence).
    """
    return escape(visible(text))
