"""Scoring: the batch transform pipeline (CDK) and its schedule; the definition is
``pipelines/scoring_pipeline.py``."""
