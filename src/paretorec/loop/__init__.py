"""The learning loop: serve with propensities, learn from the shop's own log, promote only
what off-policy evaluation approves, and watch the live traffic drift from the training
window.

- `retrain`: a candidate policy trained off-policy on the log since the last version,
  judged against the promoted one on the latest held-back rounds (`gate`); `ranker`:
  the same for the multi-task ranker (the list its expected rewards would serve).
- `drift`: population stability index of live distributions against a reference.
- `replay`: the online counts of events logged since the served recommender was trained,
  replayed at restart.
"""

from paretorec.loop.drift import DriftMonitor, DriftReference, psi
from paretorec.loop.gate import Comparison, Decision, GateRule
from paretorec.loop.retrain import RetrainConfig, RetrainResult, retrain, write_report

__all__ = [
    "Comparison",
    "Decision",
    "DriftMonitor",
    "DriftReference",
    "GateRule",
    "RetrainConfig",
    "RetrainResult",
    "psi",
    "retrain",
    "write_report",
]
