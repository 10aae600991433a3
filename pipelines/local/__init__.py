"""Local executor for rendered SageMaker pipeline definitions (no AWS, no containers)."""
