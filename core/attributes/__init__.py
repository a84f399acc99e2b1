"""Face attributes: CelebA data, LMLE (clusters, quintuplets, loss, cluster-wise kNN), baselines, metrics (ADR 0011)."""
