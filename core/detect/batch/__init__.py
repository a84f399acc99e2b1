"""Batch detection: inputs (:mod:`~core.detect.batch.inputs`), the resumable, shardable
run (:mod:`~core.detect.batch.run`) and what it has written (:mod:`~core.detect.batch.ledger`).
"""
