"""Data layer: dataset specs, strict loaders, split protocols, profiles."""
