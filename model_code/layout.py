"""Names that run outside CDK too: where data capture lands and the log groups AWS creates.

Imported by the CDK code (grants, acknowledgements), the drift runner Lambda (bundled beside
it), the lab's local endpoint and the teardown scan (``ops/teardown/residue.py``), so each name has
one spelling. Standard library only: it runs in Lambda, in SageMaker containers and at synth.
"""

from __future__ import annotations

# The production variant of every endpoint of the platform. Blue/green updates need the same
# variant name across endpoint configs (SageMaker developer guide, "Blue/Green Deployments").
VARIANT = "AllTraffic"

# Data capture: the endpoint config's DestinationS3Uri is s3://<artifacts>/<CAPTURE_PREFIX>;
# SageMaker writes <CAPTURE_PREFIX>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
# (SageMaker developer guide, "Capture data from real-time endpoint").
CAPTURE_PREFIX = "capture"

# Log groups SageMaker creates at run time (SageMaker developer guide, "Log Amazon SageMaker
# AI events with Amazon CloudWatch"): one per endpoint, and one shared group per job type
# whose streams are named <job name>/<host>.
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
PROCESSING_JOB_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TRAINING_JOB_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
JOB_LOG_GROUPS = (PROCESSING_JOB_LOG_GROUP, TRAINING_JOB_LOG_GROUP)
# Log groups other services name after the function, project or delivery stream.
LAMBDA_LOG_GROUP_PREFIX = "/aws/lambda/"
CODEBUILD_LOG_GROUP_PREFIX = "/aws/codebuild/"
FIREHOSE_LOG_GROUP_PREFIX = "/aws/kinesisfirehose/"
SERVICE_LOG_GROUP_PREFIXES = (
    LAMBDA_LOG_GROUP_PREFIX,
    FIREHOSE_LOG_GROUP_PREFIX,
    CODEBUILD_LOG_GROUP_PREFIX,
)


def capture_base(endpoint: str, variant: str = VARIANT, prefix: str = CAPTURE_PREFIX) -> str:
    """The key prefix of one variant's captured requests: ``<prefix>/<endpoint>/<variant>/``."""
    return f"{prefix.strip('/')}/{endpoint}/{variant}/"


def endpoint_log_group(endpoint: str) -> str:
    """The log group SageMaker creates for an endpoint's containers."""
    return f"{ENDPOINT_LOG_GROUP_PREFIX}{endpoint}"
