"""r1data: curate R1-style reasoning data (dedup, decontaminate, filter, rejection-sample) and train on it."""

__version__ = "0.1.0"
