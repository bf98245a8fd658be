"""Channel adapters. Importing this package registers every built-in adapter."""
from app.channels import email, line, phone, simple, x  # noqa: F401  (adapters register themselves)
