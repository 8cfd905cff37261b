"""Experiments built from the package's parts: `table2` trains and judges the paper's Table II rows
(`seqdraw reproduce table2`). They sit above the yardstick and import from every layer below."""
