"""Judging a synthesized cloud assembly: ``rehearsal`` (would it deploy and run) and ``review``
(the reference-architecture review). Imports core, pipelines and model_code; never infra or
aws_cdk (``tests/test_layers.py``)."""
