"""What every writer shares: its error, and the description of one file to produce."""


class WriterError(Exception):
    """The file could not be written (disk full, permission, bad shape, a layout the format can't hold):
    the message says why."""
