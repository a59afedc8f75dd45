"""brickwall: a Pulumi toolkit for a secured Azure Databricks topology."""

# The toolkit's release: `python -m brickwall --version`.
__version__ = "0.5.0"
