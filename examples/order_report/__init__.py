"""The order-report example pipeline (handlers, ASL definitions, CloudFormation template)."""
