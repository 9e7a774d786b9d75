"""The one base of every error caused by the user's inputs or environment.

The plugin and the fixture object catch ``AgoraBenchError`` and show its message as a clean failure or a
usage error, never a traceback; anything else is a bug of ours and keeps its traceback. Each subclass lives
beside the code that raises it and its message says what to do.
"""


class AgoraBenchError(Exception):
    """A bad option, input file, model name, missing package or key, damaged store, ...: the user can fix it."""
