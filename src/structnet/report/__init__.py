"""Reports: tables beside the paper, figures, summaries, benchmarks."""
