"""Training tasks registered in :data:`core.train.task.TASKS` (one module each)."""
