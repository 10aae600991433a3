"""The platform model without CDK or boto3: profiles and their rules, account names and ARNs,
the release file, the async and shadow contracts, the idle-cost model and the pipeline settings.
Imports only the standard library, ``pipelines`` and ``model_code`` (nothing of ``infra``)."""
