"""Pure planning code (addresses, names, rule tables): no Pulumi imports, property-tested."""
