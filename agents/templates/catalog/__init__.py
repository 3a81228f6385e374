"""The built-in domain templates, written as Python data (validated when imported)."""
