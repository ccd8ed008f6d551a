"""Multi-objective optimization: Pareto utilities, scalarizations and search."""
