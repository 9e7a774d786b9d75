"""The one base of every error caused by the user's inputs or environment.

The plugin and the fixture object catch ``AgoraBenchError`` and show its message as a clean failure or a
usage error, never a traceback; anything else is a bug of ours and keeps its traceback. Each subclass lives
beside the code that raises it and its message says what to do.
"""


class AgoraBenchError(Exception):
    """A bad option, input file, model name, missing package or key, damaged store, ...: the user can fix it."""


def user_error_in(exc: BaseException) -> AgoraBenchError | None:
    """The AgoraBenchError behind ``exc``, if any: inspect and asyncio wrap errors raised inside a model call
    (ExceptionGroup, ``raise ... from``), and the user should still read our sentence, not a traceback."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AgoraBenchError):
            return current
        stack.extend(getattr(current, "exceptions", ()) or ())
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return None
