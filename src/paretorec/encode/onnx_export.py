"""Export a sentence-transformers model to ONNX, and quantize it to int8.

`export_onnx(model, folder)` writes one self-contained folder, which `OnnxEncoder`
reads without PyTorch:

- ``model.onnx``: the transformer, its pooling (mean over the attention mask, or the
  first token) and L2 normalization as one graph, float32, traced by PyTorch's
  TorchScript-based ONNX exporter (``torch.onnx.export(..., dynamo=False)``; opset 17;
  batch and sequence length are dynamic; the transformer is loaded with eager attention,
  which traces to plain MatMul and Softmax nodes and gives the same vectors as the
  sentence-transformers model to a cosine of 1.00000);
- ``model.int8.onnx``: the same graph with the weights of every MatMul quantized to
  int8 per output channel, activations quantized on the fly
  (``onnxruntime.quantization.quantize_dynamic``, ``QInt8``, ``per_channel=True``,
  ``op_types_to_quantize=["MatMul"]``; the token-embedding table stays float32).  On
  512 Home Depot titles with MiniLM, per-channel weights keep the mean cosine to the
  float32 vectors at 0.992 where per-tensor ones give 0.955, and quantizing the
  embedding table as well brings nothing in speed;
- ``tokenizer.json``: the model's fast tokenizer (the Hugging Face `tokenizers` format);
- ``encoder.json``: what the encoder needs besides (the source model's name, dimension,
  maximum sequence length, lower-casing, prompts, input names) and how the files were
  made; written last, so a folder with ``encoder.json`` is complete.

onnxruntime's own session-level graph optimizations run when `OnnxEncoder` loads the
graph; fusing it further offline (``onnxruntime.transformers.optimizer``: Attention,
SkipLayerNormalization, BiasGelu) was tried and measured no faster on 2 cores.

Everything is read from the local model folder (``local_files_only``): an export never
touches the network.  Before writing ``encoder.json`` the export checks the ONNX graph
against PyTorch on a few texts.  Models over 2 GB (the protobuf limit of one ONNX file)
are not supported.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paretorec.encode.models import (
    BUNDLED_MODEL_NAME,
    ModelSpec,
    read_model_spec,
    resolve_model,
)
from paretorec.encode.onnx_encoder import (
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FP32_FILE,
    MODEL_INT8_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
    Precision,
)

OPSET = 17
_CHECK_TEXTS = (
    "cordless drill",
    "18V lithium-ion cordless drill driver kit with two batteries",
    "",
)
_CHECK_MIN_COSINE = 0.9999


@dataclass(frozen=True)
class OnnxExport:
    """The files of one export: the folder, and the float32 and int8 graphs in it."""

    folder: Path
    model_fp32: Path
    model_int8: Path | None
    metadata: dict[str, Any]


def export_onnx(
    folder: Path,
    model: str | Path = BUNDLED_MODEL_NAME,
    *,
    quantize: bool = True,
    max_seq_length: int | None = None,
    overwrite: bool = False,
) -> OnnxExport:
    """Export `model` (a local sentence-transformers folder, the bundled MiniLM by
    default) to ONNX in `folder`, and an int8 copy unless `quantize` is false.

    `max_seq_length` overrides the model's own token limit (it is recorded, not baked
    into the graph).  A folder that already holds an export raises `FileExistsError`
    unless `overwrite`.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    model_folder, name = resolve_model(model)
    spec = read_model_spec(model_folder)
    folder = Path(folder)
    if (folder / METADATA_FILE).exists() and not overwrite:
        raise FileExistsError(f"{folder} already holds an ONNX export (pass overwrite=True)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA_FILE).unlink(missing_ok=True)

    tokenizer: Any = AutoTokenizer.from_pretrained(
        str(spec.transformer_folder), local_files_only=True
    )
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{model_folder}: the model has no fast tokenizer to export")
    network: Any = AutoModel.from_pretrained(
        str(spec.transformer_folder), local_files_only=True, attn_implementation="eager"
    )
    network.eval()
    limit = _sequence_limit(spec, tokenizer, network, max_seq_length)
    if max_seq_length is not None and max_seq_length != spec.max_seq_length:
        name = f"{name}#max{max_seq_length}"
    input_names = [n for n in tokenizer.model_input_names if n in _INPUTS]
    if "input_ids" not in input_names or "attention_mask" not in input_names:
        raise ValueError(f"{model_folder}: the tokenizer gives {input_names}, not ids and mask")

    wrapper = _Pooled(network, spec.pooling, input_names)
    check_texts = [spec.document_prompt + t for t in _CHECK_TEXTS]
    sample = tokenizer(
        check_texts, padding=True, truncation=True, max_length=limit, return_tensors="pt"
    )
    args = tuple(sample[n] for n in input_names)
    fp32_path = folder / MODEL_FP32_FILE
    with torch.no_grad(), _quiet():
        reference = wrapper(*args).numpy()
        axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
        axes["sentence_embedding"] = {0: "batch"}
        with _replacing(fp32_path) as temporary:
            torch.onnx.export(
                wrapper,
                args,
                str(temporary),
                input_names=input_names,
                output_names=["sentence_embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )

    int8_path: Path | None = None
    if quantize:
        int8_path = folder / MODEL_INT8_FILE
        with _replacing(int8_path) as temporary, _quiet():
            _quantize(fp32_path, temporary)
    else:
        (folder / MODEL_INT8_FILE).unlink(missing_ok=True)
    with _replacing(folder / TOKENIZER_FILE) as temporary:
        tokenizer.backend_tokenizer.save(str(temporary))

    metadata = _metadata(name, spec, tokenizer, network, limit, input_names, quantize)
    _check_export(folder, metadata, check_texts, reference)
    with _replacing(folder / METADATA_FILE) as temporary:
        temporary.write_text(json.dumps(metadata, indent=2) + "\n")
    return OnnxExport(folder, fp32_path, int8_path, metadata)


_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _Pooled(network: Any, pooling: str, input_names: list[str]) -> Any:
    """The transformer, pooling and normalization as one torch module whose positional
    inputs follow `input_names`."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features = dict(zip(input_names, inputs, strict=True))
            hidden = self.network(**features).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return Pooled().eval()


def _sequence_limit(spec: ModelSpec, tokenizer: Any, network: Any, override: int | None) -> int:
    """sentence-transformers' rule: the configured limit, else the smaller of the
    tokenizer's and the position embeddings' limits."""
    positions = int(getattr(network.config, "max_position_embeddings", 512))
    if override is not None:
        if not 2 <= override <= positions:
            raise ValueError(f"max_seq_length must be in [2, {positions}], got {override}")
        return override
    if spec.max_seq_length is not None:
        return spec.max_seq_length
    return min(positions, int(getattr(tokenizer, "model_max_length", positions)))


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )


def _metadata(
    name: str,
    spec: ModelSpec,
    tokenizer: Any,
    network: Any,
    limit: int,
    input_names: list[str],
    quantize: bool,
) -> dict[str, Any]:
    import onnxruntime
    import torch
    import transformers

    return {
        "format": FORMAT_VERSION,
        "source_model": name,
        "dimension": int(network.config.hidden_size),
        "max_seq_length": limit,
        "do_lower_case": spec.do_lower_case,
        "query_prompt": spec.query_prompt,
        "document_prompt": spec.document_prompt,
        "pooling": spec.pooling,
        "pad_token": tokenizer.pad_token,
        "pad_token_id": int(tokenizer.pad_token_id),
        "inputs": input_names,
        "files": {
            Precision.FP32.value: MODEL_FP32_FILE,
            Precision.INT8.value: MODEL_INT8_FILE if quantize else None,
        },
        "tokenizer": TOKENIZER_FILE,
        "opset": OPSET,
        "quantization": {
            "method": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": True,
            "op_types_to_quantize": ["MatMul"],
        }
        if quantize
        else None,
        "exported_with": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }


def _check_export(
    folder: Path, metadata: dict[str, Any], texts: list[str], reference: np.ndarray[Any, Any]
) -> None:
    """The float32 graph must reproduce PyTorch's vectors (the texts already carry the
    document prompt, so they are passed through the raw tokenizer path)."""
    encoder = OnnxEncoder.from_metadata(folder, metadata, precision=Precision.FP32)
    vectors = encoder.encode_prepared(texts)
    cosine = float(np.min(np.sum(vectors * reference, axis=1)))
    if cosine < _CHECK_MIN_COSINE:
        raise RuntimeError(
            f"the ONNX export of {metadata['source_model']} disagrees with PyTorch "
            f"(min cosine {cosine:.6f} < {_CHECK_MIN_COSINE})"
        )


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracing warnings and the quantizer's advice to
    pre-process (shape inference adds nothing to this graph: measured, same vectors)."""
    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.setLevel(logging.ERROR)
        try:
            yield
        finally:
            root.setLevel(level)
