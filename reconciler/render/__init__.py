"""Views of a plan: text, JSON and markdown, all rendered from the plan's JSON document."""
