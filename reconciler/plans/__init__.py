"""Plans as pure data: what will change, field by field, and the exact requests that will be sent."""
