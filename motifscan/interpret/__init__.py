"""Jobs that explain a model or a motif set (variant effects, attribution, enrichment, calibration)."""
