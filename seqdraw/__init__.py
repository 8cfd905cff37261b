"""seqdraw: draw house-number images from digit strings (Sun et al., seqDRAW)."""
__version__ = "0.1.0"
