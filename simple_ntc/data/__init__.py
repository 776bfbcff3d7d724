"""Reading corpora into examples and batching them."""
