"""Data: digit strings, the shared 32x64 preprocessing, synthetic house numbers, real SVHN, shards."""
