"""Metrics analytics: anomaly detection, forecasting, capacity planning, live Prometheus source."""
