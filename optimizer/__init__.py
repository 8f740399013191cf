"""salesplan optimization engine."""
