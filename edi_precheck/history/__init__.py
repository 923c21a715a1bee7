"""History across submissions: what was sent, so a dose too early or a claim sent twice is
seen before it goes (`units.frequency`, `claim.duplicate`)."""
