"""Progress lines for long steps: on stderr, one line per stage, silent unless asked for."""

from __future__ import annotations

import sys

__all__ = ["reporter"]


def reporter(progress, prefix):
    """A function ``say(message)`` for ``progress``: ``False``/``None`` says nothing, ``True``
    prints ``[prefix] message`` on stderr, a callable receives ``message``.

    >>> lines = []
    >>> say = reporter(lines.append, "fast")
    >>> say("attempt 1 of 3")
    >>> lines
    ['attempt 1 of 3']
    >>> reporter(False, "fast")("nothing")
    """
    if callable(progress):
        return progress
    if progress:

        def say(message):
            print(f"[{prefix}] {message}", file=sys.stderr, flush=True)

        return say
    return _silent


def _silent(message):
    return None
