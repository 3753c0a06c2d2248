"""The user-facing layer: the command line (:mod:`.cli` and its helpers), reports
(:mod:`.report`) and the benchmark suites (:mod:`.bench`, :mod:`.bench_full`).

Everything here may import the library; nothing in the library imports this package.
"""
