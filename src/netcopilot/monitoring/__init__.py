"""Monitoring of the answers in production: drift of what users ask and of the model's
confidence, quality from feedback per week and per user segment (the fairness check), alerts,
and A/B tests of model variants.

    rows      one row per stored answer, with segment labels computed at read time
    drift     PSI of the intent mix and of binned confidence; optional embedding shift
    quality   helpful-answer rate, clarification and low-confidence rates, latency; flagged segments
    report    the `netcopilot monitor` report;  plot: its PNG
    alerts    thresholds -> alert lines; webhook delivery
    ab        deterministic variant assignment, outcomes per variant, the promote/keep decision
"""

from netcopilot.monitoring.ab import assignment, variant_for

__all__ = ["assignment", "variant_for"]
