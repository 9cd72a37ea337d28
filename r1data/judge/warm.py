"""Imported once by the judge's fork server (r1data/judge/math.py): math-verify imported and its parser warmed, so
that every worker forked from the server starts ready. Importing it anywhere else only costs the warm-up."""

from r1data.judge.math import warm_up

warm_up()
