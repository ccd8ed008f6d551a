"""A fitted ranker: the network, its feature spec and its tasks; predict, save, load.

A saved ranker is a folder of two files: `ranker.json` (format, tasks, the network's
`RankerConfig`, the `FeatureSpec`) and `weights.safetensors` (every parameter and
buffer, the dense features' standardization included). Nothing is pickled. `load`
refuses a folder that lacks either file, has another format, or whose weights do not
match the network the JSON describes, saying which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file
from scipy.special import expit

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec, RankerFeatures
from paretorec.rank.models import Batch, MultiTaskModel, build_model

CONFIG_FILE = "ranker.json"
WEIGHTS_FILE = "weights.safetensors"
FORMAT = "paretorec-ranker"
FORMAT_VERSION = 1
PREDICT_BATCH = 8192


class RankerFormatError(ValueError):
    """A ranker folder that is missing, incomplete or inconsistent."""


def to_batch(features: RankerFeatures, rows: NDArray[np.int64] | slice) -> Batch:
    """The tensors of `rows` of `features` (text vectors gathered, zeros where missing)."""
    index = features.text_index[rows]
    if features.spec.text_dimension > 0:
        table = features.text_table
        text = np.where((index >= 0)[..., None], table[np.maximum(index, 0)], np.float32(0.0))
    else:
        text = np.zeros((index.shape[0], index.shape[1], 0), dtype=np.float32)
    return Batch(
        ids=torch.from_numpy(np.ascontiguousarray(features.ids[rows])),
        dense=torch.from_numpy(np.ascontiguousarray(features.dense[rows])),
        position=torch.from_numpy(np.ascontiguousarray(features.position[rows])),
        text=torch.from_numpy(np.ascontiguousarray(text, dtype=np.float32)),
    )


class Ranker:
    """A trained multi-task ranker (build it with `train_ranker` or `Ranker.load`)."""

    def __init__(self, model: MultiTaskModel, *, metadata: Mapping[str, Any] | None = None) -> None:
        self.model = model
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.model.tasks

    @property
    def spec(self) -> FeatureSpec:
        return self.model.spec

    @property
    def config(self) -> RankerConfig:
        return self.model.config

    def _check(self, features: RankerFeatures) -> None:
        if features.spec != self.spec:
            mine, theirs = self.spec.to_json(), features.spec.to_json()
            differ = [k for k in mine if mine[k] != theirs.get(k)]
            raise ValueError(
                f"features do not match the ranker's: they differ in {', '.join(differ)} "
                "(build them with build_candidate_features(dataset, ranker.spec, ...))"
            )

    @torch.no_grad()
    def predict_logits(
        self, features: RankerFeatures, *, batch_size: int = PREDICT_BATCH
    ) -> dict[str, NDArray[np.float32]]:
        """Every named output of the network as logits, (n,) each."""
        self._check(features)
        self.model.eval()
        n = len(features)
        parts: dict[str, list[NDArray[np.float32]]] = {}
        for start in range(0, n, batch_size):
            out = self.model(to_batch(features, slice(start, min(start + batch_size, n))))
            for name, logits in out.items():
                parts.setdefault(name, []).append(logits.numpy().astype(np.float32))
        if n == 0:
            return dict.fromkeys(self.tasks, np.zeros(0, dtype=np.float32))
        return {name: np.concatenate(p) for name, p in parts.items()}

    def predict(
        self, features: RankerFeatures, *, batch_size: int = PREDICT_BATCH
    ) -> dict[str, NDArray[np.float32]]:
        """P(task) of every row for each task, (n,) each: over the exposure space, so
        p('purchase') is the probability that showing the item leads to a purchase."""
        logits = self.predict_logits(features, batch_size=batch_size)
        return {t: expit(logits[t].astype(np.float64)).astype(np.float32) for t in self.tasks}

    def save(self, folder: Path) -> None:
        """Write `ranker.json` and `weights.safetensors` into `folder` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        description = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tasks": list(self.tasks),
            "config": self.config.to_json(),
            "spec": self.spec.to_json(),
            "metadata": self.metadata,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(description, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> Ranker:
        """The ranker saved in `folder`; `RankerFormatError` says what is wrong."""
        folder = Path(folder)
        if not folder.is_dir():
            raise RankerFormatError(f"no ranker folder at {folder}")
        missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / f).is_file()]
        if missing:
            raise RankerFormatError(
                f"{folder} is not a complete ranker: missing {', '.join(missing)}"
            )
        try:
            raw = json.loads((folder / CONFIG_FILE).read_text())
        except json.JSONDecodeError as error:
            raise RankerFormatError(f"{folder / CONFIG_FILE} is not valid JSON: {error}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise RankerFormatError(f"{folder / CONFIG_FILE} is not a {FORMAT} description")
        if raw.get("format_version") != FORMAT_VERSION:
            raise RankerFormatError(
                f"{folder / CONFIG_FILE} has format version {raw.get('format_version')}, "
                f"this paretorec reads {FORMAT_VERSION}"
            )
        try:
            config = RankerConfig.from_json(raw["config"])
            spec = FeatureSpec.from_json(raw["spec"])
            tasks = tuple(str(t) for t in raw["tasks"])
            model = build_model(spec, config, tasks)
        except (KeyError, TypeError, ValueError) as error:
            raise RankerFormatError(f"{folder / CONFIG_FILE} is inconsistent: {error!r}") from None
        try:
            state = load_file(str(folder / WEIGHTS_FILE))
        except Exception as error:  # safetensors raises its own error types
            raise RankerFormatError(f"{folder / WEIGHTS_FILE} is unreadable: {error}") from None
        expected = model.state_dict()
        absent = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        wrong = sorted(k for k in set(expected) & set(state) if state[k].shape != expected[k].shape)
        if absent or extra or wrong:
            problems = [
                f"missing {absent[:3]}" if absent else "",
                f"unexpected {extra[:3]}" if extra else "",
                f"wrong shape {wrong[:3]}" if wrong else "",
            ]
            raise RankerFormatError(
                f"{folder / WEIGHTS_FILE} does not match {CONFIG_FILE}: "
                + "; ".join(p for p in problems if p)
            )
        model.load_state_dict(state)
        model.eval()
        return cls(model, metadata=raw.get("metadata") or {})
