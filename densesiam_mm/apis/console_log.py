# Copyright (c) densesiam_mm contributors. All rights reserved.
"""A console a newcomer can read; the log file keeps everything.

Before its first iteration an mmengine run prints the whole environment,
the whole config, the hook order and one ``paramwise_options`` line per
parameter and option (about 490 lines for the demo). :func:`readable_console`
adds :class:`ConsoleDigestFilter` to the console handler(s) of a logger
only: those records still reach the log file in full, and the console gets
one line saying where they are. :func:`silence_known_warnings` drops
warnings that carry no information for a run of this project.
"""
import logging
import warnings

#: (how a record starts, what it is) of the records kept out of the console
HIDDEN_RECORDS = (
    ('paramwise_options -- ', 'per-parameter optimizer options'),
    ('Config:\n', 'the config'),
    ('\n' + '-' * 60 + '\nSystem environment:', 'the environment'),
    ('Hooks will be executed in the following order', 'the hook order'),
    # mmengine's CheckpointHook about its own use of FileClient
    ('"FileClient" will be deprecated', 'mmengine deprecation notes'),
    ('"HardDiskBackend" is the alias', 'mmengine deprecation notes'),
)

#: (message regex, category, why it is safe to drop)
KNOWN_WARNINGS = (
    # mmpretrain's ColorJitter adjusts saturation with mmcv.adjust_color on
    # the pillow backend, which uses only `alpha` -- exactly the saturation
    # factor it passes; mmcv warns about it once per process and worker.
    ("Only use 'alpha' for pillow backend", UserWarning),
    # setuptools about mmengine's / mim's import of pkg_resources
    ('pkg_resources is deprecated', UserWarning),
)


class ConsoleDigestFilter(logging.Filter):
    """Drop :data:`HIDDEN_RECORDS` from a console handler, counting them."""

    def __init__(self) -> None:
        super().__init__('densesiam_console')
        self.hidden = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ''
        for start, what in HIDDEN_RECORDS:
            if message.startswith(start):
                self.hidden[what] = self.hidden.get(what, 0) + 1
                return False
        return True


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler)


def log_files(logger: logging.Logger) -> list:
    return [
        h.baseFilename for h in logger.handlers
        if isinstance(h, logging.FileHandler)
    ]


def readable_console(logger: logging.Logger) -> logging.Logger:
    """Add a :class:`ConsoleDigestFilter` to the console handlers of
    ``logger`` (idempotent). File handlers are untouched."""
    for handler in logger.handlers:
        if _is_console(handler) and not any(
                isinstance(f, ConsoleDigestFilter) for f in handler.filters):
            handler.addFilter(ConsoleDigestFilter())
    return logger


def silence_known_warnings() -> None:
    """Ignore :data:`KNOWN_WARNINGS` in this process and the data-loader
    workers it forks."""
    for message, category in KNOWN_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category)
