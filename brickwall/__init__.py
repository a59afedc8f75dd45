"""brickwall: a Pulumi toolkit for a secured Azure Databricks topology."""
