"""boto3 against a deployed copy of the platform (issue 23): the client side of every
cloud command. Imports core, pipelines and model_code; never infra, aws_cdk or labctl."""
