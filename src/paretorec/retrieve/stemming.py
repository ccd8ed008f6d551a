"""A light, deterministic English plural stemmer for product words.

Light on purpose: product search mostly needs ``bolts`` to meet ``bolt`` and ``batteries``
to meet ``battery``; a full Snowball stemmer also folds ``lighting`` into ``light`` and
``fitted`` into ``fit``, which helps recall a little and costs precision in product titles,
and it would add a dependency whose output the saved indexes would then depend on.

Rules, first match wins, on words of 4 letters or more (shorter words are unchanged):

1. ``-ies`` → ``-y``, unless the word ends in ``-eies`` or ``-aies`` (batteries → battery)
2. ``-sses``, ``-shes``, ``-ches``, ``-xes``, ``-zzes`` → drop ``-es`` (boxes → box,
   brushes → brush, inches → inch, glasses → glass)
3. ``-ss``, ``-us``, ``-is``, ``-ous`` → unchanged (glass, cactus, chassis, various)
4. ``-s`` → drop it (bolts → bolt, tiles → tile, hoses → hose)
"""

from __future__ import annotations

__all__ = ["stem_plural"]

_MIN_LENGTH = 4
_DROP_ES = ("sses", "shes", "ches", "xes", "zzes")
_KEEP_S = ("ss", "us", "is")


def stem_plural(word: str) -> str:
    """The singular of a plural English word by the rules above; other words unchanged."""
    if len(word) < _MIN_LENGTH or not word.endswith("s"):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith(_DROP_ES):
        return word[:-2]
    if word.endswith(_KEEP_S):
        return word
    return word[:-1]
