"""The metric suite; metrics read predictions, never models."""
