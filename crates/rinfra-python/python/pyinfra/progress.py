"""pyinfra's progress spinner; rinfra's own progress display is in the engine, so this only
calls back as items complete."""

from contextlib import contextmanager


@contextmanager
def progress_spinner(items, prefix_message=None):
    yield lambda item: None
