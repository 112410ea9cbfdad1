"""How every listing names one run of a conversation: `suite/id`, then `#repeat` after the first.

The terminal (`evalkit compare`, `evalkit rescore`, `evalkit record --from-run`) and the
comparison's typed differences all write it this way, so a name copied from one is found in the
others. The reports' tables have their own spaced form (`suite / id (repeat 1)`), and JUnit's
test case names keep `id[repeat]` under the suite's class name (the convention of a parametrized
case, which CI's test history keys on).
"""

from __future__ import annotations

__all__ = ["conversation_label"]


def conversation_label(suite: str, conversation_id: str, repeat: int = 0) -> str:
    """The one name of a conversation run.

    Args:
        suite: The suite's name.
        conversation_id: The conversation's id.
        repeat: Which repetition (0-based); the first is not marked.

    Returns:
        `suite/id` for the first repeat, `suite/id#2` for the third.
    """
    tail = f"#{repeat}" if repeat else ""
    return f"{suite}/{conversation_id}{tail}"
