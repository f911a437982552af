"""What every writer shares: its error, and what "no compression" is called."""


def uncompressed(compression):
    """True for no compression: "none", or none given (an older job or a caller that left it out)."""
    return compression in (None, "", "none")


class WriterError(Exception):
    """The file could not be written (disk full, permission, bad shape, a layout the format can't hold):
    the message says why."""
