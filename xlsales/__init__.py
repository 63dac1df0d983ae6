"""xlsales: Excel-native sales-team management."""

__version__ = "0.1.0"
