"""Helpers of the Verification panel: worker jobs (plain data out) and chip drawing."""
