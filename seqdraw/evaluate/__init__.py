"""Evaluation: the multi-digit classifier (the paper's judge), metrics, and the Table II report."""
