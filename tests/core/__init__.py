"""Tests of the pure core: keys, claims, signing, inspection, and the CLI over it."""
