"""Local emulation of the platform (issue 23): the endpoint, the one local registry and the
lab's stages. Imports ops, core, pipelines and model_code; never infra, aws_cdk or labctl."""
