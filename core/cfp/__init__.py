"""CFP (Celebrities in Frontal-Profile): protocol files, cached stem features, per-fold evaluation."""
