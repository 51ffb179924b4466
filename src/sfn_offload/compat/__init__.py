"""Compatibility with other libraries' wire shapes and APIs (see :mod:`.py2sfn`)."""
