"""Evaluation: ranking and beyond-accuracy metrics, off-policy estimators, reports."""
