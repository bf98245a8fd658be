"""Channel adapters. Importing this package registers every built-in adapter."""
from app.channels import simple  # noqa: F401  (registers api, web)
