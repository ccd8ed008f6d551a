"""The two ways loading a built-in dataset fails: its files are not there, or they are wrong."""

from __future__ import annotations


class DatasetUnavailableError(RuntimeError):
    """A dataset's files are missing and cannot be fetched; the message says what to do."""


class DatasetFormatError(ValueError):
    """A file of a dataset holds something the converter cannot turn into the contract.

    `where` names the place: ``row N`` counts data records from 1 with the header not
    counted (for a CSV without quoted line breaks that is line N + 1); JSON sources say
    ``record N`` (0-based index in the array) and give the record's id.
    """

    def __init__(self, source: str, where: str | None, reason: str) -> None:
        self.source = source
        self.where = where
        self.reason = reason
        place = f"{source}, {where}" if where else source
        super().__init__(f"{place}: {reason}")
