"""Built-in real datasets, converted to the data contract on load.

`load_builtin(BuiltinDataset.HOMEDEPOT)` reads the published files (from the shared data
folder, or the OBD wheel from the download cache) and returns a `Dataset` whose tables
went through `schema.conform`.  Each source has its own small module, whose docstring
says how its fields map onto the contract:

| name | module | tables |
|---|---|---|
| ``obd-{random,bts}-{all,men,women}`` | `obd` | items, users, events (impression, click) |
| ``homedepot`` | `homedepot` | items, queries, judgments |
| ``amazon-games`` | `amazon_games` | items, events (purchase) |
| ``taobao``, ``tmall`` | `taobao` | items, events (click, cart, purchase) |
| ``icecat`` | `icecat` | items |

Missing files raise `DatasetUnavailableError`; a file the converter cannot read raises
`DatasetFormatError` naming the file, the row and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path

from paretorec.data.datasets.amazon_games import load_amazon_games
from paretorec.data.datasets.errors import DatasetFormatError, DatasetUnavailableError
from paretorec.data.datasets.homedepot import load_homedepot
from paretorec.data.datasets.icecat import load_icecat
from paretorec.data.datasets.obd import ObdCampaign, ObdPolicy, fetch_obd, load_obd
from paretorec.data.datasets.taobao import load_taobao, load_tmall
from paretorec.types import Dataset

__all__ = [
    "BuiltinDataset",
    "DatasetFormatError",
    "DatasetUnavailableError",
    "ObdCampaign",
    "ObdPolicy",
    "fetch_obd",
    "load_amazon_games",
    "load_builtin",
    "load_homedepot",
    "load_icecat",
    "load_obd",
    "load_taobao",
    "load_tmall",
]


class BuiltinDataset(StrEnum):
    """The built-in datasets, by the name a user types."""

    OBD_RANDOM_ALL = "obd-random-all"
    OBD_RANDOM_MEN = "obd-random-men"
    OBD_RANDOM_WOMEN = "obd-random-women"
    OBD_BTS_ALL = "obd-bts-all"
    OBD_BTS_MEN = "obd-bts-men"
    OBD_BTS_WOMEN = "obd-bts-women"
    HOMEDEPOT = "homedepot"
    AMAZON_GAMES = "amazon-games"
    TAOBAO = "taobao"
    TMALL = "tmall"
    ICECAT = "icecat"


_Loader = Callable[[Path | None, Path | None], Dataset]


def _obd(
    policy: ObdPolicy, campaign: ObdCampaign, source: Path | None, cache: Path | None
) -> Dataset:
    return load_obd(policy, campaign, wheel=source, cache=cache)


def _shared(load: Callable[[Path | None], Dataset]) -> _Loader:
    def loader(source: Path | None, cache: Path | None) -> Dataset:
        del cache  # only the OBD wheel is downloaded and cached
        return load(source)

    return loader


_LOADERS: dict[BuiltinDataset, _Loader] = {
    BuiltinDataset.OBD_RANDOM_ALL: partial(_obd, ObdPolicy.RANDOM, ObdCampaign.ALL),
    BuiltinDataset.OBD_RANDOM_MEN: partial(_obd, ObdPolicy.RANDOM, ObdCampaign.MEN),
    BuiltinDataset.OBD_RANDOM_WOMEN: partial(_obd, ObdPolicy.RANDOM, ObdCampaign.WOMEN),
    BuiltinDataset.OBD_BTS_ALL: partial(_obd, ObdPolicy.BTS, ObdCampaign.ALL),
    BuiltinDataset.OBD_BTS_MEN: partial(_obd, ObdPolicy.BTS, ObdCampaign.MEN),
    BuiltinDataset.OBD_BTS_WOMEN: partial(_obd, ObdPolicy.BTS, ObdCampaign.WOMEN),
    BuiltinDataset.HOMEDEPOT: _shared(load_homedepot),
    BuiltinDataset.AMAZON_GAMES: _shared(load_amazon_games),
    BuiltinDataset.TAOBAO: _shared(load_taobao),
    BuiltinDataset.TMALL: _shared(load_tmall),
    BuiltinDataset.ICECAT: _shared(load_icecat),
}


def load_builtin(
    name: BuiltinDataset, *, source: Path | None = None, cache: Path | None = None
) -> Dataset:
    """Load a built-in dataset in the data contract's shape.

    `source` overrides where the files are: the data set's folder for the shared sets
    (``homedepot/``, ``taobao/``, ...), the ``obp`` wheel file for the OBD sets.  `cache`
    is the folder the OBD wheel is downloaded to (default ``cache_dir()/"obd"``); the other
    sets do not use it.
    """
    return _LOADERS[BuiltinDataset(name)](source, cache)
