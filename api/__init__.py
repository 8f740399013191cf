"""salesplan jobs API."""
