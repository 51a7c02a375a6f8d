"""Fabric validation: reading NCCL test results (``nccl``) and judging them as rules."""
