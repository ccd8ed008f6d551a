"""Each objective y_k as a pure function of a ranked list and its context, in [0, 1]."""
