"""Threat detection in network data: supervised (NSL-KDD), rules, threat intelligence."""
