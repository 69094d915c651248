"""lawn: a warehouse-native growth system built on dbt."""

__version__ = "0.1.0"
