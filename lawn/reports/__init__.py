"""Cadence reports: `lawn report --cadence daily|weekly|monthly|quarterly` (docs/cadence_reports.md).

Every report is a function of (warehouse, cadence, as-of date): each mart read is filtered to
data on or before the as-of date, no value comes from the wall clock, and the rendering is
deterministic, so re-rendering a past date reproduces the report that date's run archived."""
