"""The embedded toy world: verifiable task families, a tokenizer and a tiny base model."""
