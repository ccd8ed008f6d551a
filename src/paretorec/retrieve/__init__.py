"""Candidate retrieval: lexical (BM25), dense (embeddings) and hybrid (fused).

```python
lexical = LexicalIndex.build(catalog)
dense = DenseIndex.build(item_vectors, catalog)          # rows aligned with the catalog
hybrid = HybridRetriever(lexical, dense, fusion=ReciprocalRankFusion())
hybrid.search("18v drill", query_vector, k=10, filters=Filters(in_stock=True))
hybrid.add_items(new_items, new_vectors)                  # searchable at once
```

Every search returns `Candidates` (ids, positions, scores, per-retriever scores) that honour
`Filters` exactly. Indexes save to a folder and load from it (JSON, .npy, bm25s's and
faiss's own files; no pickle).
"""

from paretorec.retrieve.bm25 import Bm25Params
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import EXACT_MAX_ITEMS, DenseIndex, DenseMethod, HnswParams
from paretorec.retrieve.filters import Filters
from paretorec.retrieve.fusion import (
    Fusion,
    Normalization,
    ReciprocalRankFusion,
    ScoreFusion,
    reciprocal_rank_fusion,
    score_fusion,
)
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.tokenize import tokenize_product_text
from paretorec.retrieve.tuning import FusionTuning, evaluate_runs, tune_fusion_weight

__all__ = [
    "EXACT_MAX_ITEMS",
    "Bm25Params",
    "Candidates",
    "DenseIndex",
    "DenseMethod",
    "Filters",
    "Fusion",
    "FusionTuning",
    "HnswParams",
    "HybridRetriever",
    "LexicalIndex",
    "Normalization",
    "ReciprocalRankFusion",
    "ScoreFusion",
    "evaluate_runs",
    "item_texts",
    "reciprocal_rank_fusion",
    "score_fusion",
    "tokenize_product_text",
    "tune_fusion_weight",
]
