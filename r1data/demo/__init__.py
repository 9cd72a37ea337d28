"""The built-in demo: a generated problem set with known answers and planted duplicates (`data`), and the
demo run itself, which is a pipeline recipe (`pipeline.yaml`) run in one process."""

from r1data.demo.data import TRAIN_FILES, arithmetic, code_problems, generate, write_arithmetic, write_code_problems

__all__ = ["TRAIN_FILES", "arithmetic", "code_problems", "generate", "write_arithmetic", "write_code_problems"]
