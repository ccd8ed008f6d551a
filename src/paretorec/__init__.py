"""paretorec: multi-objective optimization of e-commerce search and recommendation."""
