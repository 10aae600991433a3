"""Tearing one deployed copy down with boto3: ``residue`` (what a copy leaves outside its stacks:
finder and sweeper) and ``plan`` (stacks, destroy order, the run and its report). Never infra
or aws_cdk (``tests/test_layers.py``); the command line is ``labctl/teardown.py``."""
