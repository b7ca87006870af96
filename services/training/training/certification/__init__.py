"""Certification: certifications, revocation, career levels, standing, the expiry sweep and its gauges (R4, R5)."""
