"""The trainer service: trains DP synthesizers and samples from them."""
